"""The one implementation of each dataset-file check, used two ways: the loaders raise on the first
problem, the dataset checker (tools/check_dataset.py, :mod:`slowfast.data_prep.check`) collects every
problem of every file. A :class:`Problem` names the file and the line.

Every reader here takes ``problems``: ``None`` (the loaders) raises ``error`` at the first problem;
a list (the checker) gets each problem appended and reading goes on with the next line::

    rows = read_video_list_rows(path, " ", DatasetFormatError)             # raises at the first
    rows = read_video_list_rows(path, " ", DatasetFormatError, problems)   # collects them all
    raise_problems(check_label_range([(r.line, r.label) for r in rows], num_classes, path),
                   DatasetFormatError)

Checks: non-UTF-8 lines (:func:`text_lines`), Kinetics-format ``path label`` rows
(:func:`read_video_list_rows`) and their label range (:func:`check_label_range`); the AVA frame-list
rules are :func:`slowfast.formats.ava_frames.read_frame_list_rows` and
:func:`slowfast.formats.ava_frames.validate_frame_list`, the box-CSV rules
:func:`slowfast.formats.ava_frames.read_box_rows` and :func:`slowfast.formats.ava_frames.check_action_range`.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator, List, NamedTuple, Optional, Sequence


class UnreadableDataError(RuntimeError):
    """Too many input files (videos, frames) could not be read for the run to go on; names the last one."""


@dataclass(frozen=True)
class Problem:
    """One defect of a dataset file: the file, the 1-based line (``None``: the whole file), a short
    ``kind`` tag (``label_range``, ``frame_list_gap``, ...; scripts filter on it) and the message.

    ``str()`` is the checker's ``file:line: message``; :meth:`error_text` the loaders' error wording
    ``file line N: message`` (as every reader's error in this project); :meth:`to_dict` is the
    ``--json`` record."""

    file: str
    line: Optional[int]
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"

    def error_text(self) -> str:
        return f"{self.file} line {self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"

    def to_dict(self) -> dict:
        return asdict(self)


def raise_problems(problems: Sequence[Problem], error: type[Exception]) -> None:
    """Raise `error` with the first problem (and how many more there are); nothing when there are none."""
    if problems:
        more = f" (and {len(problems) - 1} more problems in this file)" if len(problems) > 1 else ""
        raise error(problems[0].error_text() + more)


def report(problem: Problem, problems: Optional[List[Problem]], error: type[Exception]) -> None:
    """Append ``problem`` to ``problems``, or raise it as ``error`` when ``problems`` is ``None``."""
    if problems is None:
        raise error(problem.error_text())
    problems.append(problem)


def text_lines(path: str, error: type[Exception], problems: Optional[List[Problem]] = None) -> Iterator[tuple[int, str]]:
    """``(1-based line number, stripped line)`` of the non-blank lines of UTF-8 file ``path`` (a
    byte-order mark is allowed); a line that is not UTF-8 is a problem (kind ``encoding``) and skipped."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError as e:
                report(Problem(path, number, "encoding", f"not UTF-8 text ({e.reason})"), problems, error)
                continue
            if line:
                yield number, line


# --------------------------------------------------------------------------- Kinetics-format CSVs


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
