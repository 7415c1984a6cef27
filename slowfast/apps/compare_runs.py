"""Is run B really better than run A? The paired difference of a test metric on the same test set.

    python tools/compare_runs.py A B [--json] [--metric top1|top5|mAP] [--samples 1000] [--seed 0]
        [--cfg CONFIG | --labelmap L.pbtxt --groundtruth GT.csv [--exclusions EXCL.csv] [--version 2019]]

A and B are prediction files or run folders (OUTPUT_DIR of a test):
- classification: per-video scores `.npz` (the test's `test_scores.npz`, or the file results.json names);
- AVA: detections `.csv` (the test's `detections.csv`), scored against the ground truth of `--labelmap`,
  `--groundtruth` (and `--exclusions`), or of a config (`--cfg`, else a run folder's `config.yaml`).

Both runs are scored on the same bootstrap resamples of the test videos (whole videos, a fixed seed):
prints B - A, its 95 % paired-bootstrap interval and the paired bootstrap p-value (the share of resampled
differences at least as far from the observed one as it is from 0; exactly 1 for identical predictions).
Files of different test sets (other videos or labels) are refused with one line naming the difference.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from slowfast.evaluation import bootstrap
from slowfast.evaluation.ava import AvaFormatError, evaluate
from slowfast.evaluation.classification import video_correct
from slowfast.evaluation.ensemble import EnsembleError, read_video_scores


class CompareError(ValueError):
    """Inputs that cannot be compared (one line naming the culprit)."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="compare_runs", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("a", help="run A: prediction file (.npz / .csv) or run folder")
    p.add_argument("b", help="run B: prediction file (.npz / .csv) or run folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--metric", choices=("top1", "top5", "mAP"),
                   help="default: top1 for classification, mAP for AVA")
    p.add_argument("--samples", type=int, default=bootstrap.SAMPLES, help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=bootstrap.SEED, help="seed of the resamples (default 0)")
    p.add_argument("--cfg", help="AVA: the runs' config, for the label map, ground truth and exclusions")
    p.add_argument("--labelmap", help="AVA: label map .pbtxt")
    p.add_argument("--groundtruth", help="AVA: ground-truth CSV")
    p.add_argument("--exclusions", help="AVA: excluded key frames CSV")
    p.add_argument("--version", default=None, help="AVA: scorer rules 2018|2019|2020 (default: the config's or 2019)")
    return p


def prediction_file(path: str) -> str:
    """The prediction file of `path`: itself, or in a run folder the file its results.json names
    (scores_file / detections_file), else test_scores.npz or detections.csv."""
    if not os.path.exists(path):
        raise CompareError(f"{path}: no such file or folder")
    if not os.path.isdir(path):
        return path
    named = []
    results = os.path.join(path, "results.json")
    if os.path.isfile(results):
        with open(results, encoding="utf-8") as f:
            r = json.load(f)
        named = [r.get(k) for k in ("scores_file", "detections_file") if r.get(k)]
        named += [os.path.join(path, os.path.basename(n)) for n in named]  # the folder moved or another cwd
    for candidate in named + [os.path.join(path, n) for n in ("test_scores.npz", "detections.csv")]:
        if os.path.isfile(candidate):
            return candidate
    raise CompareError(f"{path}: a run folder without test predictions (test_scores.npz or detections.csv); "
                       "run the test first")


def _kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".npz", ".csv"):
        raise CompareError(f"{path}: expected a per-video scores .npz (classification) or a detections .csv (AVA)")
    return "classification" if ext == ".npz" else "ava"


def _video_names(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The videos' names to pair A and B by: the paths as written, or their file names when only the
    folders differ (the same test set read from another place)."""
    if set(a.tolist()) == set(b.tolist()):
        return a, b
    base_a, base_b = (np.array([os.path.basename(v) for v in x.tolist()], dtype=str) for x in (a, b))
    if len(set(base_a.tolist())) == len(a) and set(base_a.tolist()) == set(base_b.tolist()):
        return base_a, base_b
    return a, b


def _aligned_scores(a_path: str, b_path: str):
    """(labels [N], scores A [N, C], scores B [N, C]) aligned by video; CompareError when the test sets differ."""
    a, b = read_video_scores(a_path), read_video_scores(b_path)
    a.videos, b.videos = _video_names(a.videos, b.videos)
    only_a = sorted(set(a.videos.tolist()) - set(b.videos.tolist()))
    only_b = sorted(set(b.videos.tolist()) - set(a.videos.tolist()))
    if only_a or only_b:
        first = (f"{only_a[0]!r} is only in A" if only_a else f"{only_b[0]!r} is only in B")
        raise CompareError(f"different test sets: A ({a_path}) has {len(a)} videos, B ({b_path}) has {len(b)}; "
                           f"{len(only_a)} only in A, {len(only_b)} only in B (e.g. {first})")
    if a.scores.shape[1] != b.scores.shape[1]:
        raise CompareError(f"different class counts: A ({a_path}) scores {a.scores.shape[1]} classes, "
                           f"B ({b_path}) {b.scores.shape[1]}")
    order = np.argsort(a.videos)
    b_order = np.argsort(b.videos)
    differ = np.flatnonzero(a.labels[order] != b.labels[b_order])
    if differ.size:
        v = a.videos[order][differ[0]]
        raise CompareError(f"different labels: video {str(v)!r} has label {a.labels[order][differ[0]]} in A "
                           f"({a_path}) but {b.labels[b_order][differ[0]]} in B ({b_path}); "
                           f"{differ.size} videos differ")
    return a.labels[order], a.scores[order], b.scores[b_order]


def compare_classification(a_path: str, b_path: str, metric: str, samples: int, seed: int) -> dict:
    labels, sa, sb = _aligned_scores(a_path, b_path)
    k = {"top1": 1, "top5": 5}[metric]
    stat_a = bootstrap.mean_statistic(video_correct(sa, labels, k), 100.0)
    stat_b = bootstrap.mean_statistic(video_correct(sb, labels, k), 100.0)
    out = bootstrap.paired_bootstrap(stat_a, stat_b, len(labels), samples, seed)
    return {"metric": metric, "unit": "percent", "num_videos": int(len(labels)), **out}


def ava_ground_truth(args) -> dict:
    """{"labelmap", "groundtruth", "exclusions", "version"} from the flags, or from a config (--cfg, or a run
    folder's config.yaml)."""
    if args.labelmap or args.groundtruth:
        if not (args.labelmap and args.groundtruth):
            raise CompareError("AVA: give both --labelmap and --groundtruth (or --cfg)")
        return {"labelmap": args.labelmap, "groundtruth": args.groundtruth, "exclusions": args.exclusions,
                "version": args.version or "2019"}
    cfg_file = args.cfg or next((os.path.join(p, "config.yaml") for p in (args.a, args.b)
                                 if os.path.isfile(os.path.join(p, "config.yaml"))), None)
    if cfg_file is None:
        raise CompareError("AVA detections need their ground truth: pass --cfg CONFIG or --labelmap L.pbtxt "
                           "--groundtruth GT.csv [--exclusions EXCL.csv]")
    from slowfast.config import load_config
    from slowfast.datasets.ava import annotation_path

    cfg = load_config(cfg_file, [])
    version = args.version or cfg.AVA.EVAL_VERSION
    return {"labelmap": annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE),
            "groundtruth": annotation_path(cfg, cfg.AVA.GROUNDTRUTH_FILE),
            "exclusions": annotation_path(cfg, cfg.AVA.EXCLUSION_FILE) if version != "2020" else None,
            "version": version}


def compare_ava(a_path: str, b_path: str, gt: dict, samples: int, seed: int) -> dict:
    ra, rb = (evaluate(gt["labelmap"], gt["groundtruth"], p, gt["exclusions"], version=gt["version"],
                       keep_matches=True) for p in (a_path, b_path))
    det_videos = []
    for m in (ra.matches, rb.matches):
        det_videos.append({m.videos[v] for v in np.unique(m.det_video).tolist()})
    if det_videos[0] != det_videos[1]:
        only_a, only_b = sorted(det_videos[0] - det_videos[1]), sorted(det_videos[1] - det_videos[0])
        first = (f"{only_a[0]!r} is only in A" if only_a else f"{only_b[0]!r} is only in B")
        raise CompareError(f"different test sets: the detections of A ({a_path}) cover {len(det_videos[0])} videos, "
                           f"B ({b_path}) {len(det_videos[1])} (e.g. {first})")
    videos = sorted(set(ra.matches.videos) | set(rb.matches.videos))
    out = bootstrap.paired_bootstrap(ra.matches.map_statistic(videos), rb.matches.map_statistic(videos),
                                     len(videos), samples, seed)
    return {"metric": "mAP", "unit": "AP", "num_videos": len(videos), **out}


def compare(args) -> dict:
    a_path, b_path = prediction_file(args.a), prediction_file(args.b)
    kinds = {_kind(a_path), _kind(b_path)}
    if len(kinds) != 1:
        raise CompareError(f"A ({a_path}) and B ({b_path}) are not the same kind of predictions")
    if args.samples < 1:
        raise CompareError(f"--samples must be >= 1, got {args.samples}")
    if kinds == {"classification"}:
        metric = args.metric or "top1"
        if metric == "mAP":
            raise CompareError("--metric mAP is for AVA detections; classification compares top1 or top5")
        out = compare_classification(a_path, b_path, metric, args.samples, args.seed)
    else:
        if args.metric not in (None, "mAP"):
            raise CompareError(f"--metric {args.metric} is for classification; AVA compares mAP")
        out = compare_ava(a_path, b_path, ava_ground_truth(args), args.samples, args.seed)
    return {"a_file": a_path, "b_file": b_path, **out}


def format_text(r: dict) -> str:
    pct = r["unit"] == "percent"
    fmt = (lambda v: "%.2f%%" % v) if pct else (lambda v: "%.4f" % v)
    dfmt = (lambda v: "%+.2f points" % v) if pct else (lambda v: "%+.4f" % v)
    low, high = ("n/a" if v is None else (("%+.2f" if pct else "%+.4f") % v) for v in r["ci"])
    return "\n".join([
        f"A: {r['a_file']}  {r['metric']} {fmt(r['a'])}",
        f"B: {r['b_file']}  {r['metric']} {fmt(r['b'])}",
        f"B - A: {dfmt(r['difference'])}, 95% paired-bootstrap interval [{low}, {high}], p = {r['p_value']:.4f} "
        f"({r['samples']} resamples of the {r['num_videos']} test videos, seed {r['seed']})",
    ])


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = compare(args)
    except (CompareError, EnsembleError, AvaFormatError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # a config error or an unreadable ground truth
        print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else format_text(result))
    return 0
