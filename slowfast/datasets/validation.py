"""Checks of dataset files that either raise (the loaders) or return every problem found (the
dataset checker, tools/check_dataset.py). A `Problem` names the file and the line.

    problems = check_label_range(rows, num_classes, path)        # Kinetics-format CSV labels
    problems = ava_io.validate_frame_list(rows, path)            # AVA frame lists
    raise_problems(problems, DatasetFormatError)                 # the first one as an error
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence


class UnreadableDataError(RuntimeError):
    """Too many input files (videos, frames) could not be read for the run to go on; names the last one."""


@dataclass(frozen=True)
class Problem:
    """One defect of a dataset file: `path line N: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path} line {self.line}: {self.message}"


def raise_problems(problems: Sequence[Problem], error: type[Exception]) -> None:
    """Raise `error` with the first problem (and how many more there are); nothing when there are none."""
    if problems:
        more = f" (and {len(problems) - 1} more problems in this file)" if len(problems) > 1 else ""
        raise error(str(problems[0]) + more)


def check_label_range(rows: Iterable[tuple[int, int]], num_classes: int, path: str) -> list[Problem]:
    """Problems for `(line, label)` rows whose class label is outside `0..num_classes-1` (MODEL.NUM_CLASSES)."""
    return [Problem(path, line, f"label {label} is outside 0..{num_classes - 1} (MODEL.NUM_CLASSES {num_classes})")
            for line, label in rows if not 0 <= label < num_classes]
