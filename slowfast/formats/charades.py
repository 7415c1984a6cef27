"""PySlowFast's Charades frame-list layout (multi-label video classification from extracted frames).

A frame list (``train.csv``, ``val.csv``) is UTF-8 text, fields separated by white space, with the header
``original_vido_id video_id frame_id path labels`` (PySlowFast's spelling; ``original_video_id`` is
accepted too) and then one row per frame::

    original_vido_id video_id frame_id path labels
    46GP8 0 0 46GP8/46GP8-000001.jpg ""
    46GP8 0 1 46GP8/46GP8-000002.jpg 5,12
    46GP8 0 2 46GP8/46GP8-000003.jpg "5"

``labels`` are the frame's class ids, comma-separated (``""`` or empty quotes: none; surrounding quotes
are ignored). A video is the rows sharing ``original_vido_id``, its frames ordered by ``frame_id``; its
labels are the union of its frames' labels (what PySlowFast's Charades loader uses at test time). Every
problem names file and line (:mod:`slowfast.formats.problems`).
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

from slowfast.formats.kinetics import check_label_range, label_ids
from slowfast.formats.problems import Problem, report, text_lines

HEADER = ("original_vido_id", "video_id", "frame_id", "path", "labels")
_HEADER_SPELLINGS = (HEADER, ("original_video_id",) + HEADER[1:])


class FrameRow(NamedTuple):
    """One frame row: 1-based line, the video name, the frame id, the frame path as written, the label ids."""

    line: int
    video: str
    frame_id: int
    path: str
    labels: tuple


class FrameListVideo(NamedTuple):
    """One video of a frame list: its name, the line of its first row, its frame paths in ``frame_id``
    order (as written), and the sorted union of its frames' label ids."""

    name: str
    line: int
    paths: tuple
    labels: tuple


def parse_frame_labels(field: str) -> tuple:
    """``'5,12'`` / ``'"5,12"'`` -> (5, 12); ``'""'`` -> (); ValueError naming a non-integer id."""
    field = field.strip('"')
    return label_ids(field, repeats=True) if field else ()


def _parse_row(path: str, number: int, line: str) -> FrameRow:
    """One frame row; ValueError with the problem for a wrong field count, frame id or label id."""
    parts = line.split()
    if len(parts) != len(HEADER):
        raise ValueError(f"expected 5 fields '{' '.join(HEADER)}', got {len(parts)}: {line!r}")
    try:
        frame_id = int(parts[2])
    except ValueError:
        raise ValueError(f"frame_id {parts[2]!r} is not an integer") from None
    return FrameRow(number, parts[0], frame_id, parts[3], parse_frame_labels(parts[4]))


def read_frame_list_rows(path: str, error: type[Exception],
                         problems: Optional[List[Problem]] = None) -> List[FrameRow]:
    """The frame rows of a Charades frame list. Problems: a first line that is not the header (kind
    ``header``), a row without 5 fields or with a non-integer frame id or label id (``parse``), non-UTF-8
    bytes (``encoding``)."""
    rows: List[FrameRow] = []
    seen_header = False
    for number, line in text_lines(path, error, problems):
        if not seen_header:
            seen_header = True
            if tuple(line.split()) not in _HEADER_SPELLINGS:
                report(Problem(path, number, "header", f"expected the header '{' '.join(HEADER)}', got {line!r}"),
                       problems, error)
            continue
        try:
            rows.append(_parse_row(path, number, line))
        except ValueError as e:
            report(Problem(path, number, "parse", str(e)), problems, error)
    return rows


def check_frame_label_range(rows: List[FrameRow], num_classes: int, path: str) -> List[Problem]:
    """Problems (kind ``label_range``) of frame rows with a label id outside ``0..num_classes-1``."""
    return check_label_range([(r.line, label) for r in rows for label in r.labels], num_classes, path)


def group_videos(rows: List[FrameRow]) -> List[FrameListVideo]:
    """The videos of frame rows, in order of first appearance; frames sorted by ``frame_id`` (stable)."""
    by_video: Dict[str, List[FrameRow]] = {}
    for row in rows:
        by_video.setdefault(row.video, []).append(row)
    videos = []
    for name, frames in by_video.items():
        frames = sorted(frames, key=lambda r: r.frame_id)
        labels = tuple(sorted({label for r in frames for label in r.labels}))
        videos.append(FrameListVideo(name, min(r.line for r in frames), tuple(r.path for r in frames), labels))
    return videos
