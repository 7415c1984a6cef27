"""Deprecated: the AVA files on disk are read by :mod:`slowfast.formats` (frame lists, FPS,
sec_to_frame, frame_file_name: :mod:`slowfast.formats.ava_frames`; box CSVs:
:mod:`slowfast.formats.ava_boxes`; write_box_csv: :mod:`slowfast.formats.ava_csv`; label maps:
:mod:`slowfast.formats.ava_labels`; AvaFormatError: :mod:`slowfast.formats.problems`)."""
import warnings

from slowfast.formats.ava_boxes import Box, BoxRow, Key, check_action_range, read_box_csv, read_box_rows
from slowfast.formats.ava_csv import write_box_csv
from slowfast.formats.ava_frames import (CLIP_START_SEC, FPS, FRAME_LIST_HEADER, FRAME_LIST_HEADERS, VALID_SECONDS,
                                         FrameListRow, FrameLists, frame_file_name, frames_by_id, read_frame_list_rows,
                                         read_frame_lists, sec_to_frame, validate_frame_list, write_frame_list)
from slowfast.formats.ava_labels import read_label_map, write_label_map
from slowfast.formats.problems import AvaFormatError

__all__ = ["AvaFormatError", "Box", "BoxRow", "CLIP_START_SEC", "FPS", "FRAME_LIST_HEADER", "FRAME_LIST_HEADERS",
           "FrameListRow", "FrameLists", "Key", "VALID_SECONDS", "check_action_range", "frame_file_name",
           "frames_by_id", "read_box_csv", "read_box_rows", "read_frame_list_rows", "read_frame_lists",
           "read_label_map", "sec_to_frame", "validate_frame_list", "write_box_csv", "write_frame_list",
           "write_label_map"]

MOVED_TO = "slowfast.formats"
warnings.warn("slowfast.datasets.ava_io is deprecated: import from slowfast.formats (ava_frames, ava_boxes, "
              "ava_csv, ava_labels, problems)", DeprecationWarning, stacklevel=2)
