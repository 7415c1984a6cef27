"""Average the scores of several models' prediction files into one.

    python tools/ensemble.py [--mode ava|kinetics] --inputs A B ... --output OUT
        [--weights w1 w2 ...] [--missing average|zero]
        [--labelmap L.pbtxt --groundtruth GT.csv [--exclusions EXCL.csv]]   (AVA)

AVA: detection CSVs; scores are averaged per (video_id, timestamp, box,
action_id), so the members must share the proposal boxes.  Kinetics: per-video
``.npz`` score files, aligned by video.  ``--missing average`` (default)
averages a row or video over the files that have it, ``--missing zero`` counts
it as score 0 in the others.  Without ``--mode`` the mode follows the input
extension (.csv: ava, .npz: kinetics).  With ``--labelmap`` and
``--groundtruth`` the AVA members and result are scored (2019 rules); Kinetics
members and result are always scored (top-1, top-5, mean of both errors).
Rules in detail: ``slowfast/evaluation/ensemble.py``.
"""

import argparse
import os
import sys

from slowfast.evaluation import ensemble as ens
from slowfast.evaluation.ava import (
    evaluate,
    read_boxes_csv,
    read_exclusions,
    read_labelmap,
    write_box_rows,
)
from slowfast.evaluation.ava.evaluate import RULES
from slowfast.utils.io import overwrite_refused

EXTENSIONS = {".csv": "ava", ".npz": "kinetics"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ensemble", description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=sorted(set(EXTENSIONS.values())), help="default: from the input extension")
    p.add_argument("--inputs", nargs="+", required=True, help="prediction files of the members")
    p.add_argument("--output", required=True, help="where to write the averaged predictions")
    p.add_argument("--weights", nargs="+", type=float, help="one weight per input (default: all 1)")
    p.add_argument("--missing", choices=ens.MISSING, default="average",
                   help="a key absent from some inputs: average over the inputs that have it (default), "
                        "or count it as score 0 in the others")
    p.add_argument("--labelmap", help="AVA: label map, to score members and result")
    p.add_argument("--groundtruth", help="AVA: ground-truth CSV, to score members and result")
    p.add_argument("--exclusions", help="AVA: excluded key frames CSV")
    return p


def detect_mode(args) -> str:
    """--mode, or the mode all input extensions agree on."""
    if args.mode:
        return args.mode
    modes = {EXTENSIONS.get(os.path.splitext(p)[1].lower()) for p in args.inputs}
    if len(modes) != 1 or None in modes:
        raise ens.EnsembleError("cannot tell the mode from the input extensions (%s); pass --mode ava|kinetics"
                                % ", ".join(sorted({os.path.splitext(p)[1] or "none" for p in args.inputs})))
    return modes.pop()


def run_ava(args) -> None:
    if bool(args.labelmap) != bool(args.groundtruth) or (args.exclusions and not args.labelmap):
        raise ens.EnsembleError("scoring needs both --labelmap and --groundtruth (--exclusions is optional)")
    members = ens.read_ava_members(args.inputs)
    result = ens.ensemble_ava(members, args.weights, args.missing, name=os.path.basename(args.output))
    write_box_rows(args.output, result.rows)
    partial = int((result.members < len(members)).sum())
    print("%d files -> %d rows written to %s (%d rows in only some files: %s)"
          % (len(members), len(result.rows), args.output, partial,
             "averaged over the files that have them" if args.missing == "average" else "0 in the others"))
    if not args.labelmap:
        return
    rules = RULES["2019"]
    lm = read_labelmap(args.labelmap)
    gt = read_boxes_csv(args.groundtruth, rules.gt_columns, rules.key_format, rules.gt_column8)
    excl = read_exclusions(args.exclusions)[0] if args.exclusions else None
    for rows in members + [result.rows]:
        print("%-40s mAP@0.5IOU %.4f" % (rows.path, evaluate(lm, gt, rows, excl, version="2019").mAP))


def run_kinetics(args) -> None:
    if args.labelmap or args.groundtruth or args.exclusions:
        raise ens.EnsembleError("--labelmap/--groundtruth/--exclusions are for --mode ava")
    members = [ens.read_video_scores(p) for p in args.inputs]
    result, count = ens.ensemble_kinetics(members, args.weights, args.missing, name=os.path.basename(args.output))
    ens.write_video_scores(args.output, result)
    print("%d files -> %d videos written to %s (%d videos in only some files)"
          % (len(members), len(result), args.output, int((count < len(members)).sum())))
    print("%-40s %7s %7s %7s %10s" % ("file", "videos", "top1", "top5", "mean err"))
    for m in members + [result]:
        acc = ens.topk_accuracy(m.scores, m.labels)
        print("%-40s %7d %7.4f %7.4f %10.4f" % (m.path, acc["videos"], acc["top1"], acc["top5"], acc["mean_error"]))


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if overwrite_refused({"--output": args.output}, {"--inputs": args.inputs, "--labelmap": args.labelmap,
                                                     "--groundtruth": args.groundtruth, "--exclusions": args.exclusions}):
        return 2
    try:
        (run_ava if detect_mode(args) == "ava" else run_kinetics)(args)
    except (ValueError, OSError) as exc:  # AvaFormatError and EnsembleError are ValueErrors
        print("error: %s" % exc, file=sys.stderr)
        return 2
    return 0

