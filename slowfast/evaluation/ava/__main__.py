"""Command line: ``python -m slowfast.evaluation.ava --labelmap L.pbtxt
--groundtruth GT.csv --detections DET.csv [--exclusions EXCL.csv]
[--output results.json] [--plot ap.png] [--version 2018|2019|2020]
[--skip-bad-rows] [--bootstrap N [--seed S]]``.

Prints the per-class AP table sorted by name, the mean and the warning
summary; exits 2 (the input-error status of every tool of this project) with one line
``error: FILE line N: problem`` on unreadable input, when --output or --plot names an input file, or
when an output cannot be written.
"""

import argparse
import json
import sys

from .evaluate import RULES, evaluate
from slowfast.formats.problems import AvaFormatError
from slowfast.utils.io import atomic_write, overwrite_refused


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval_ava", description="AVA frame-level mAP@0.5 IoU (official ActivityNet rules).")
    p.add_argument("-l", "--labelmap", required=True, help="label map pbtxt (item { name: ... id: N })")
    p.add_argument("-g", "--groundtruth", required=True, help="ground-truth CSV")
    p.add_argument("-d", "--detections", required=True, help="detections CSV")
    p.add_argument("-e", "--exclusions", help="CSV of video_id,timestamp key frames to ignore (2018/2019)")
    p.add_argument("--version", default="2019", choices=sorted(RULES),
                   help="official scorer rules to reproduce (default 2019: exclusions, 50 detections per frame)")
    p.add_argument("-o", "--output", help="write results as JSON to this file")
    p.add_argument("--plot", help="write a bar chart of per-class AP to this PNG")
    p.add_argument("--skip-bad-rows", action="store_true", help="skip and report unreadable rows instead of failing")
    p.add_argument("--bootstrap", type=int, default=0, metavar="N",
                   help="also print the mAP's 95%% bootstrap interval over N resamples of the videos (e.g. 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --bootstrap resamples (default 0)")
    return p


def plot_per_class(result, path: str) -> None:
    """Horizontal bar chart of per-class AP, sorted by name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(result.per_class)
    values = [0.0 if result.per_class[n] != result.per_class[n] else result.per_class[n] for n in names]
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(names) + 1)))
    ax.barh(range(len(names)), values)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("AP@0.5 IoU")
    ax.set_title("AVA per-class AP, mAP %.4f (%s rules)" % (result.mAP, result.version))
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)


def print_interval(result, samples: int, seed: int) -> dict:
    """Print the mAP's 95 % bootstrap interval over the videos of ``result.matches``; -> it and the
    per-class intervals (``mAP_ci``, ``per_class_ci``) for ``--output``."""
    import time

    t0 = time.perf_counter()
    m = result.matches
    intervals = m.bootstrap(samples, seed)
    print("mAP 95%% bootstrap interval [%s] (%d resamples of %d videos, seed %d, %.1f s)"
          % (", ".join("n/a" if v is None else "%.4f" % v for v in intervals["mAP_ci"]), samples, m.num_videos,
             seed, time.perf_counter() - t0))
    return {**intervals, "bootstrap": {"samples": samples, "seed": seed, "level": 0.95, "unit": "video"}}


def main(argv=None, parser=None, after=None) -> int:
    """``parser``: a parser extended by a caller (default :func:`build_parser`); ``after(args, result)``:
    called after printing (e.g. figures), its return value is the exit status."""
    args = (parser or build_parser()).parse_args(argv)
    if overwrite_refused({"--output": args.output, "--plot": args.plot},
                         {"--labelmap": args.labelmap, "--groundtruth": args.groundtruth,
                          "--detections": args.detections, "--exclusions": args.exclusions}):
        return 2
    try:
        result = evaluate(args.labelmap, args.groundtruth, args.detections, args.exclusions,
                          version=args.version, skip_bad_rows=args.skip_bad_rows,
                          keep_matches=args.bootstrap > 0 or bool(getattr(args, "pr_curves", None)))
    except (AvaFormatError, ValueError, OSError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    print(result.table())
    if result.messages:
        print("\nwarnings:")
        for message in result.messages:
            print("  - " + message)
    extra = print_interval(result, args.bootstrap, args.seed) if args.bootstrap > 0 else {}
    try:
        if args.output:
            atomic_write(args.output, lambda f: json.dump({**result.to_dict(), **extra}, f, indent=2, sort_keys=True),
                         "w")
        if args.plot:
            plot_per_class(result, args.plot)
    except OSError as exc:  # OutputWriteError: no space left, read-only, forbidden (names the file)
        print("error: %s" % exc, file=sys.stderr)
        return 2
    return after(args, result) if after else 0


if __name__ == "__main__":
    sys.exit(main())
