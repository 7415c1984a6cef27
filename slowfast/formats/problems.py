"""The one implementation of each dataset-file check, used two ways: the loaders raise on the first
problem, the dataset checker (tools/check_dataset.py, :mod:`slowfast.data_prep.check`) collects every
problem of every file. A :class:`Problem` names the file and the line.

Every reader in :mod:`slowfast.formats` that checks rows takes ``problems``: ``None`` (the loaders)
raises ``error`` at the first problem; a list (the checker) gets each problem appended and reading goes
on with the next line::

    rows = read_video_list_rows(path, " ", DatasetFormatError)             # raises at the first
    rows = read_video_list_rows(path, " ", DatasetFormatError, problems)   # collects them all
    raise_problems(check_label_range([(r.line, r.label) for r in rows], num_classes, path),
                   DatasetFormatError)

Checks: non-UTF-8 lines (:func:`text_lines`), Kinetics-format ``path label`` rows
(:func:`slowfast.formats.kinetics.read_video_list_rows`) and their label range
(:func:`slowfast.formats.kinetics.check_label_range`); the AVA frame-list rules are
:func:`slowfast.formats.ava_frames.read_frame_list_rows` and
:func:`slowfast.formats.ava_frames.validate_frame_list`, the box-CSV rules
:func:`slowfast.formats.ava_boxes.read_box_rows` and :func:`slowfast.formats.ava_boxes.check_action_range`.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Iterator, List, Optional, Sequence


class AvaFormatError(ValueError):
    """An AVA file (box CSV, label map, frame list, exclusions) that cannot be read; the message names
    file, line and problem."""


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


def display_name(path) -> str:
    """How the strict readers (the evaluator's) name a file in their messages: its base name."""
    return os.path.basename(str(path)) or str(path)


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


def ava_lines(path: str, problems: Optional[List[Problem]] = None) -> Iterator[tuple[int, str]]:
    """:func:`text_lines` of an AVA file: a missing file is a FileNotFoundError naming it, a line that is
    not UTF-8 an :class:`AvaFormatError` naming file and line (or, with ``problems``, a problem)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"AVA file not found: {path}")
    return text_lines(path, AvaFormatError, problems)


def missing_file(path: str, what: str) -> Optional[Problem]:
    """A ``missing_file`` problem ("<what> not found") when ``path`` is not a file, else ``None``."""
    return None if os.path.isfile(path) else Problem(path, None, "missing_file", f"{what} not found")
