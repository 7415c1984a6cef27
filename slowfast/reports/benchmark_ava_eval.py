"""Benchmark the AVA evaluator on a synthetic case the size of AVA v2.2 val.

Builds ~15k key frames with ~57k ground-truth (box, action) rows over the
60-class AVA label map, and detections scoring every class for every detected
person (~1M rows), writes them as AVA CSV files, then times reading and
scoring and prints rows/s.

    python tools/benchmark_ava_eval.py [--frames 15000] [--round-scores 4]
        [--version 2019] [--repeat 3] [--workdir DIR]

``--round-scores 4`` writes scores with 4 decimals as PySlowFast does, which
creates many tied scores (the slow, exact path for ties at the 50-per-frame
cap).  Run it pinned to one core, e.g. ``taskset -c 0 python ...``.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from slowfast.evaluation.ava import evaluate, read_boxes_csv, read_labelmap
from slowfast.evaluation.ava.evaluate import RULES

AVA60_IDS = [1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 22, 24, 26, 27, 28, 29, 30, 34, 36,
             37, 38, 41, 43, 45, 46, 47, 48, 49, 51, 52, 54, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66,
             67, 68, 69, 70, 72, 73, 74, 76, 77, 78, 79, 80]


def random_boxes(rng, n):
    """[n, 4] x1, y1, x2, y2 boxes inside [0, 1]."""
    x1, y1 = rng.uniform(0, 0.7, n), rng.uniform(0, 0.5, n)
    return np.stack([x1, y1, x1 + rng.uniform(0.1, 0.3, n), y1 + rng.uniform(0.2, 0.5, n)], axis=1)


def synth(rng, frames, round_scores):
    """-> (gt columns, det columns) as lists of per-row arrays."""
    videos = np.array(["vid%04d" % (i // 900) for i in range(frames)])
    stamps = 902 + np.arange(frames) % 900
    persons = 1 + (rng.random(frames) < 0.1)                   # ~1.1 labelled people per frame
    p_frame = np.repeat(np.arange(frames), persons)
    p_box = random_boxes(rng, p_frame.size)
    labels = rng.integers(2, 6, p_frame.size)                  # ~3.5 actions per person
    g_person = np.repeat(np.arange(p_frame.size), labels)
    g_action = rng.choice(AVA60_IDS, g_person.size)
    gt = (videos[p_frame[g_person]], stamps[p_frame[g_person]], p_box[g_person], g_action, g_person)
    # detections: every person found with a jittered box, plus 2% spurious boxes
    d_frame = np.r_[p_frame, rng.integers(0, frames, p_frame.size // 50)]
    d_box = np.r_[np.clip(p_box + rng.normal(0, 0.02, p_box.shape), 0, 1), random_boxes(rng, p_frame.size // 50)]
    rows = np.repeat(np.arange(d_frame.size), len(AVA60_IDS))
    action = np.tile(AVA60_IDS, d_frame.size)
    score = rng.random(rows.size) ** 3
    truth = set(zip(g_person.tolist(), g_action.tolist()))
    hit = np.array([(r, a) in truth for r, a in zip(rows.tolist(), action.tolist())]) & (rows < p_frame.size)
    score[hit] = np.minimum(1.0, score[hit] + rng.uniform(0.2, 0.8, hit.sum()))
    if round_scores:
        score = np.round(score, round_scores)
    det = (videos[d_frame[rows]], stamps[d_frame[rows]], d_box[rows], action, score)
    return gt, det


def write_csv(path, cols, fmt_last):
    videos, stamps, boxes, action, last = cols
    with open(path, "w") as f:
        for v, t, b, a, x in zip(videos.tolist(), stamps.tolist(), boxes.tolist(), action.tolist(), last.tolist()):
            f.write("%s,%04d,%r,%r,%r,%r,%d,%s\n" % (v, t, b[0], b[1], b[2], b[3], a, fmt_last(x)))


def build_files(workdir, frames, round_scores, seed=0):
    rng = np.random.default_rng(seed)
    gt, det = synth(rng, frames, round_scores)
    paths = {k: os.path.join(workdir, n) for k, n in
             [("labelmap", "labelmap.pbtxt"), ("groundtruth", "gt.csv"), ("detections", "det.csv"),
              ("exclusions", "excl.csv")]}
    with open(paths["labelmap"], "w") as f:
        f.write("".join('item {\n  name: "action %02d"\n  id: %d\n}\n' % (i, i) for i in AVA60_IDS))
    write_csv(paths["groundtruth"], gt, str)
    write_csv(paths["detections"], det, repr if not round_scores else (lambda x: "%.*f" % (round_scores, x)))
    with open(paths["exclusions"], "w") as f:
        f.write("".join("%s,%04d\n" % (gt[0][i], gt[1][i]) for i in range(0, gt[3].size, 997)))
    return paths, gt[3].size, det[3].size


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=15000)
    p.add_argument("--round-scores", type=int, default=0, help="decimals to round scores to (0: full precision)")
    p.add_argument("--version", default="2019", choices=sorted(RULES))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workdir", help="where to write the CSV files (default: a temporary directory)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or tmp
        os.makedirs(workdir, exist_ok=True)
        t0 = time.perf_counter()
        paths, n_gt, n_det = build_files(workdir, args.frames, args.round_scores)
        print("synthetic case: %d key frames, %d ground-truth rows, %d detection rows (built in %.1f s)"
              % (args.frames, n_gt, n_det, time.perf_counter() - t0))
        rules = RULES[args.version]
        excl = paths["exclusions"] if rules.uses_exclusions else None
        best = None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            lm = read_labelmap(paths["labelmap"])
            gt = read_boxes_csv(paths["groundtruth"], rules.gt_columns, rules.key_format, rules.gt_column8)
            det = read_boxes_csv(paths["detections"], rules.det_columns, rules.key_format, "score")
            t1 = time.perf_counter()
            result = evaluate(lm, gt, det, exclusions=excl, version=args.version)
            t2 = time.perf_counter()
            if best is None or t2 - t0 < best[0]:
                best = (t2 - t0, t1 - t0, t2 - t1)
        total, read, score = best
        rows = n_gt + n_det
        print("version %s: mAP %.4f" % (args.version, result.mAP))
        print("best of %d: read %.2f s, score %.2f s, total %.2f s" % (args.repeat, read, score, total))
        print("throughput: %.0f rows/s end to end (%.0f rows/s scoring only)" % (rows / total, rows / score))

