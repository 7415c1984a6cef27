"""Training curves of one or several runs, overlaid: loss, learning rate, top-1 error / mAP and the time per
iteration (data wait vs compute) per epoch, read from each run's log.txt (`json_stats` lines).

    python tools/plot_logs.py RUN_DIR [RUN_DIR ...] [--out DIR]

Writes loss.png, lr.png, top1_err.png (classification) or mAP.png (AVA), time.png and curves.png (all of
them side by side) into DIR (default: RUN_DIR/plots with one run; give --out with several), each run in
its own colour, named by its folder; prints the files and one summary line per run. A folder without
log.txt, or whose log has no training stats lines, is an error of one line naming it (exit status 2).
"""
from __future__ import annotations

import argparse
import os
import sys

from slowfast.utils.io import OutputIsInputError, OutputWriteError, refuse_overwriting_inputs
from slowfast.visualization.training_curves import PANELS, plot_runs
from slowfast.visualization.training_log import TrainingLog, TrainingLogError, read_training_log

# dt_data / dt above this: the run waits for its data loader more than it computes (input-bound).
INPUT_BOUND_FRACTION = 0.3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="a run's OUTPUT_DIR (holding log.txt), or a log file")
    parser.add_argument("--out", default=None, help="folder for the PNGs (default: RUN_DIR/plots with one run)")
    return parser


def run_labels(paths: list[str]) -> list[str]:
    """Legend names: each run's folder name, with as many parent folders as it takes to tell runs apart."""
    parts = [os.path.normpath(os.path.abspath(os.path.dirname(p) or "." if os.path.isfile(p) else p)).split(os.sep)
             for p in paths]
    for depth in range(1, max(len(p) for p in parts) + 1):
        labels = ["/".join(p[-depth:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [f"{label} ({i + 1})" for i, label in enumerate(labels)]  # the same folder twice


def summary_line(label: str, log: TrainingLog) -> str:
    """One line per run: epochs, the last training loss, the last and best validation metric, the data wait."""
    parts = [label, f"{max(log.train, default=0)} epochs"]
    if log.train:
        parts.append(f"train loss {log.train[max(log.train)].get('loss', float('nan')):.4g}")
    for key, best in (("top1_err", min), ("mAP", max)):
        vals = {e: s[key] for e, s in log.val.items() if isinstance(s.get(key), (int, float))}
        if vals:
            e_best = best(vals, key=vals.get)
            parts.append(f"val {key} {vals[max(vals)]:.4g} (best {vals[e_best]:.4g} at epoch {e_best})")
    last = log.train.get(max(log.train, default=0), {})
    if last.get("dt") and "dt_data" in last:
        frac = last["dt_data"] / last["dt"]
        parts.append(f"data wait {100 * frac:.0f}% of the iteration"
                     + (" (input-bound)" if frac > INPUT_BOUND_FRACTION else ""))
    if log.skipped:
        parts.append(f"{log.skipped} unreadable stats lines skipped")
    return " | ".join(parts)


def plot_logs(run_dirs: list[str], out: str | None) -> list[str]:
    """Read every run, draw them into `out`; returns the files written (TrainingLogError, OutputIsInputError:
    an input problem)."""
    if out is None:
        if len(run_dirs) > 1:
            raise TrainingLogError(f"{len(run_dirs)} runs given: say where their overlaid curves go with --out DIR")
        out = os.path.join(run_dirs[0] if os.path.isdir(run_dirs[0]) else os.path.dirname(run_dirs[0]), "plots")
    logs = [read_training_log(d) for d in run_dirs]
    names = [f"{name}.png" for name, _ in PANELS] + ["curves.png"]
    refuse_overwriting_inputs({"--out": [os.path.join(out, n) for n in names]},
                              {"RUN_DIR": [log.path for log in logs]})
    labels = run_labels(run_dirs)
    written = plot_runs(list(zip(labels, logs)), out)
    for label, log in zip(labels, logs):
        print(summary_line(label, log))
    return written


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        written = plot_logs(args.runs, args.out)
    except (TrainingLogError, OutputIsInputError, OutputWriteError, PermissionError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
