"""Kinetics-format video lists: one ``path label`` row per video (UTF-8; the separator is
DATA.PATH_LABEL_SEPARATOR, a space meaning any white space), read with every problem named by file and
line (see :mod:`slowfast.formats.problems`). Multi-label lists (DATA.MULTI_LABEL, Charades-style): one
``path id,id,...`` row per video, the label ids comma-separated without spaces (``videos/a.mp4 3,7``)."""
from __future__ import annotations

import os
from typing import Iterable, List, NamedTuple, Optional

from slowfast.formats.problems import Problem, report, text_lines


class VideoListRow(NamedTuple):
    """One ``path label`` row of a Kinetics-format CSV: 1-based line, the path as written, the label."""

    line: int
    path: str
    label: int


def read_video_list_rows(csv_path: str, separator: str, error: type[Exception],
                         problems: Optional[List[Problem]] = None) -> List[VideoListRow]:
    """The rows of a Kinetics-format CSV (``path<separator>label``, UTF-8; a space separator means any
    white space). Problems: a line without exactly two fields, a label that is not an integer (kind
    ``parse``), bytes that are not UTF-8 (``encoding``). Label range: :func:`check_label_range`."""
    rows = []
    for number, line in text_lines(csv_path, error, problems):
        parts = line.split(separator) if separator != " " else line.split()
        if len(parts) != 2:
            report(Problem(csv_path, number, "parse", f"expected 'path{separator}label', got {line!r}"), problems, error)
            continue
        try:
            rows.append(VideoListRow(number, parts[0], int(parts[1])))
        except ValueError:
            report(Problem(csv_path, number, "parse", f"label {parts[1]!r} is not an integer"), problems, error)
    return rows


class MultiLabelRow(NamedTuple):
    """One ``path id,id,...`` row of a multi-label CSV: 1-based line, the path as written, the label ids."""

    line: int
    path: str
    labels: tuple


def label_ids(field: str, repeats: bool = False) -> tuple:
    """``"3,7"`` -> (3, 7); ValueError naming the culprit for an empty or non-integer id, or a repeated one
    unless `repeats`."""
    ids = []
    for part in field.split(","):
        try:
            ids.append(int(part))
        except ValueError:
            raise ValueError(f"label id {part!r} of {field!r} is not an integer") from None
        if not repeats and ids[-1] in ids[:-1]:
            raise ValueError(f"label id {ids[-1]} is repeated in {field!r}")
    return tuple(ids)


def read_multi_label_rows(csv_path: str, separator: str, error: type[Exception],
                          problems: Optional[List[Problem]] = None) -> List[MultiLabelRow]:
    """The rows of a multi-label CSV (``path<separator>id,id,...``, UTF-8; a space separator means any
    white space). Problems (kind ``parse``): a line without exactly two fields, an id list with an empty,
    non-integer or repeated id; ``encoding`` as :func:`read_video_list_rows`. Range: :func:`check_label_range`
    on each id."""
    rows = []
    for number, line in text_lines(csv_path, error, problems):
        parts = line.split(separator) if separator != " " else line.split()
        if len(parts) != 2:
            report(Problem(csv_path, number, "parse", f"expected 'path{separator}id,id,...', got {line!r}"), problems,
                   error)
            continue
        try:
            rows.append(MultiLabelRow(number, parts[0], label_ids(parts[1])))
        except ValueError as e:
            report(Problem(csv_path, number, "parse", str(e)), problems, error)
    return rows


def resolve_video_path(csv_path: str, path: str, prefix: str) -> str:
    """The file a CSV row names: joined to ``prefix`` (DATA.PATH_PREFIX) when given, else as written
    when absolute, else relative to the CSV's folder."""
    if prefix:
        return os.path.join(prefix, path)
    return path if os.path.isabs(path) else os.path.join(os.path.dirname(os.path.abspath(csv_path)), path)


def check_label_range(rows: Iterable[tuple[int, int]], num_classes: int, path: str) -> List[Problem]:
    """Problems (kind ``label_range``) of ``(line, label)`` rows whose class label is outside
    ``0..num_classes-1`` (MODEL.NUM_CLASSES)."""
    return [Problem(path, line, "label_range", f"label {label} is outside 0..{num_classes - 1} "
                                               f"(MODEL.NUM_CLASSES {num_classes})")
            for line, label in rows if not 0 <= label < num_classes]
