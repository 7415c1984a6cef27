"""Kinetics-format video lists: one ``path label`` row per video (UTF-8; the separator is
DATA.PATH_LABEL_SEPARATOR, a space meaning any white space), read with every problem named by file and
line (see :mod:`slowfast.formats.problems`)."""
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
