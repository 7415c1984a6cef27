"""tools/eval_ava.py: AVA frame-level mAP on saved predictions (``slowfast.evaluation.ava``), plus
``--pr-curves DIR``: one precision-recall figure per class (``pr_<id>_<name>.png``, from the evaluation's
ranked detections, nothing re-read)."""
from __future__ import annotations

import sys

from slowfast.evaluation.ava.__main__ import build_parser, main as evaluate_main
from slowfast.utils.io import overwrite_refused
from slowfast.visualization.evaluation_figures import write_pr_curves


def pr_curves(result) -> list[tuple]:
    """(class id, name, AP, recall, precision) of every class of `result` (evaluated with keep_matches)."""
    m = result.matches
    return [(class_id, name, result.per_class_id[class_id], *m.pr_curve(c))
            for c, (class_id, name) in enumerate(zip(m.class_ids.tolist(), m.class_names))]


def _after(args, result) -> int:
    if args.pr_curves:
        try:
            written = write_pr_curves(pr_curves(result), args.pr_curves)
        except OSError as exc:  # OutputWriteError: no space left, read-only, forbidden (names the file)
            print("error: %s" % exc, file=sys.stderr)
            return 2
        print("precision-recall curves of %d classes in %s" % (len(written), args.pr_curves))
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    parser.add_argument("--pr-curves", metavar="DIR", help="write a precision-recall PNG per class into DIR")
    args, _ = parser.parse_known_args(argv)
    if args.pr_curves and overwrite_refused({}, {"--labelmap": args.labelmap, "--groundtruth": args.groundtruth,
                                                 "--detections": args.detections, "--exclusions": args.exclusions},
                                            {"--pr-curves": args.pr_curves}):
        return 2
    return evaluate_main(argv, parser, _after)
