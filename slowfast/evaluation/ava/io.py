"""Deprecated: the AVA evaluation file formats moved to :mod:`slowfast.formats` (label maps:
:mod:`slowfast.formats.ava_labels`; box CSVs: :mod:`slowfast.formats.ava_boxes`; exclusions, frame keys
and the writers: :mod:`slowfast.formats.ava_csv`; AvaFormatError: :mod:`slowfast.formats.problems`).
``slowfast.evaluation.ava`` still exports the public names."""
import warnings

from slowfast.formats.ava_boxes import BoxRows, read_boxes_csv
from slowfast.formats.ava_csv import (check_video_ids, make_key, read_exclusions, write_box_rows,
                                      write_detections_csv)
from slowfast.formats.ava_labels import LabelMap, read_labelmap
from slowfast.formats.problems import AvaFormatError

__all__ = ["AvaFormatError", "BoxRows", "LabelMap", "check_video_ids", "make_key", "read_boxes_csv",
           "read_exclusions", "read_labelmap", "write_box_rows", "write_detections_csv"]

MOVED_TO = "slowfast.formats"
warnings.warn("slowfast.evaluation.ava.io is deprecated: import from slowfast.evaluation.ava or "
              "slowfast.formats (ava_boxes, ava_csv, ava_labels, problems)", DeprecationWarning, stacklevel=2)
