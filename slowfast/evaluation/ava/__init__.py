"""AVA frame-level mAP@0.5 IoU, identical to ActivityNet's official scorer.

Library use::

    from slowfast.evaluation.ava import evaluate
    result = evaluate("labelmap.pbtxt", "gt.csv", "det.csv", exclusions="excl.csv")
    result.mAP, result.per_class, result.warnings

Command line: ``python -m slowfast.evaluation.ava --help`` or
``tools/eval_ava.py``.  The rules are listed in :mod:`.evaluate`.
"""

from .evaluate import RULES, AvaResult, evaluate, official_frame_order
from slowfast.formats.ava_boxes import BoxRows, read_boxes_csv
from slowfast.formats.ava_csv import make_key, read_exclusions, write_box_rows, write_detections_csv
from slowfast.formats.ava_labels import LabelMap, read_labelmap
from slowfast.formats.problems import AvaFormatError
from .predictions import detections_to_rows, write_predictions_csv

__all__ = [
    "RULES",
    "AvaFormatError",
    "AvaResult",
    "BoxRows",
    "LabelMap",
    "evaluate",
    "make_key",
    "detections_to_rows",
    "official_frame_order",
    "read_boxes_csv",
    "read_exclusions",
    "read_labelmap",
    "write_box_rows",
    "write_detections_csv",
    "write_predictions_csv",
]
