"""Readers (and small writers) for the AVA v2.1 / v2.2 files on disk, as PySlowFast lays them out.

Layout (``DATA.PATH_TO_DATA_DIR`` = ``ava/``)::

    ava/frames/<video_id>/<video_id>_000001.jpg ...   30 fps JPEGs of minutes 15..30 of each movie
    ava/frame_lists/{train,val}.csv                   which frames belong to which video
    ava/annotations/ava_{train,val}_v2.2.csv          ground truth, one row per (box, action)
    ava/annotations/ava_{train,val}_predicted_boxes.csv   person proposals with detector scores
    ava/annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt   evaluated classes
    ava/annotations/ava_val_excluded_timestamps_v2.2.csv             key frames left out of scoring

File formats:

* frame list: a header line ``original_vido_id video_idx frame_id path labels`` (sic), then
  space-separated rows ``<video_id> <video_idx> <frame_id> <video_id>/<video_id>_000001.jpg ""``;
  ``frame_id`` counts from 0, ``path`` is relative to the frame folder, ``labels`` is unused.
* ground truth CSV, no header: ``video_id,timestamp,x1,y1,x2,y2,action_id,person_id`` (v2.0 files
  lack ``person_id``); coordinates normalised to ``[0, 1]``, ``action_id`` counts from 1.
* proposal CSV, no header: ``video_id,timestamp,x1,y1,x2,y2,action_id,score`` with ``action_id``
  empty or ``-1`` (7-column rows without it are accepted too); the score is the last column.
* label map (protobuf text): ``item { name: "..." id: N }`` blocks; the full action list spells them
  ``label { name: "..." label_id: N label_type: ... }``; both are read.
* exclusions CSV: ``video_id,timestamp`` rows.

Timestamp -> frame rule.  Each movie is cut to ``[900 s, 1801 s)`` and extracted at 30 fps, so file
``<video_id>_%06d.jpg`` number ``n`` (1-based) shows time ``900 + (n - 1) / 30`` s.  Key frames are
annotated at 1 fps for seconds 902..1798; the key frame of second ``sec`` is entry
``(sec - 900) * 30`` (0-based) of the video's frame list, i.e. file number ``(sec - 900) * 30 + 1``.

Error policy: a malformed row (wrong column count, non-numeric field, non-UTF-8 bytes) raises
:class:`AvaFormatError` naming file and line; so does a frame list whose frame ids have a gap or a
repeat, or whose file names do not match the frame ids (:func:`validate_frame_list`).  The readers
take ``problems`` (a list) to collect every problem instead (tools/check_dataset.py runs these same
checks that way; see :mod:`slowfast.formats.problems`).  Recoverable problems are counted in a ``stats``
``collections.Counter`` and logged once per file: boxes outside ``[0, 1]`` are clipped
(``stats["clipped_boxes"]``), boxes with no area after clipping are dropped
(``stats["degenerate_boxes"]``).
"""
from __future__ import annotations

import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from slowfast.formats.problems import AvaFormatError, Problem, ava_lines, raise_problems, report

logger = logging.getLogger(__name__)

# Frame rate of the extracted frames.
FPS = 30
# Second of the movie shown by the first extracted frame.
CLIP_START_SEC = 900
# Annotated key-frame seconds of AVA (902..1798 inclusive).
VALID_SECONDS = range(902, 1799)
FRAME_LIST_HEADER = "original_vido_id video_idx frame_id path labels"

Box = Tuple[float, float, float, float]
Key = Tuple[str, int]  # (video_id, timestamp seconds)



def sec_to_frame(sec: int, fps: int = FPS, start_sec: int = CLIP_START_SEC) -> int:
    """0-based frame-list index of the key frame of second ``sec`` (see module docstring)."""
    return (sec - start_sec) * fps


def frame_file_name(video_id: str, frame_index: int, ext: str = "jpg") -> str:
    """Relative path ``<video_id>/<video_id>_%06d.<ext>`` of 0-based frame ``frame_index`` (files count from 1)."""
    return f"{video_id}/{video_id}_{frame_index + 1:06d}.{ext}"


# --------------------------------------------------------------------------- parsing helpers


class _BadRow(ValueError):
    """A row that does not parse: ``kind`` and message of its :class:`Problem`."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _number(text: str, what: str, kind=float, problem: str = "parse"):
    """``kind(text)`` or a :class:`_BadRow` naming the field."""
    try:
        return kind(text)
    except ValueError:
        raise _BadRow(problem, f"{what} is not a{'n integer' if kind is int else ' number'}: {text!r}") from None


# --------------------------------------------------------------------------- frame lists


@dataclass
class FrameLists:
    """Frames of every video, in frame-list order.

    ``video_names[i]`` is the id of video index ``i``; ``frame_paths[i]`` lists its frame files
    (absolute or joined with the frame folder) ordered by ``frame_id``.
    """

    video_names: List[str]
    frame_paths: List[List[str]]

    def video_index(self) -> Dict[str, int]:
        return {name: i for i, name in enumerate(self.video_names)}


@dataclass(frozen=True)
class FrameListRow:
    """One row of a frame list: ``video_id video_idx frame_id path`` and its 1-based line number."""

    video: str
    video_idx: int
    frame_id: int
    path: str
    line: int


FRAME_LIST_HEADERS = (["original_vido_id", "video_idx"], ["original_video_id", "video_idx"])


def read_frame_list_rows(path: str, problems: Optional[List[Problem]] = None) -> List[FrameListRow]:
    """The rows of one frame-list file, header checked.

    Problems: a bad header (``frame_list_header``; a first line that looks like a row is then read as
    one), a row without 5 space-separated columns or with non-integer ids (``parse``), bytes that are
    not UTF-8 (``encoding``). ``problems=None`` raises the first; a list collects them all and keeps
    every row that parses.

    Raises:
        FileNotFoundError: the file is missing.
        AvaFormatError: (without ``problems``) the first problem, naming file and line.
    """
    lines = ava_lines(path, problems)
    first = next(lines, None)
    if first is None or first[1].split()[:2] not in FRAME_LIST_HEADERS:
        report(Problem(path, first[0] if first else 1, "frame_list_header",
                       f"expected the header {FRAME_LIST_HEADER!r}"), problems, AvaFormatError)
        if first is not None and len(first[1].split()) == 5:
            lines = iter([first, *lines])  # headerless: still read the rows
    rows = []
    for number, line in lines:
        row = line.split()
        if len(row) != 5:
            report(Problem(path, number, "parse", f"expected 5 space-separated columns, got {len(row)}: {line!r}"),
                   problems, AvaFormatError)
            continue
        bad = next((what for what, text in (("video_idx", row[1]), ("frame_id", row[2])) if not _is_int(text)), None)
        if bad:
            report(Problem(path, number, "parse", f"{bad} is not an integer: {row[1 if bad == 'video_idx' else 2]!r}"),
                   problems, AvaFormatError)
            continue
        rows.append(FrameListRow(row[0], int(row[1]), int(row[2]), row[3], number))
    return rows


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def validate_frame_list(rows: Sequence[FrameListRow], path: str,
                        owner: Optional[Dict[str, str]] = None) -> List[Problem]:
    """Every problem of the frame-list rows of file ``path``, by line; none means frames can be
    indexed by ``frame_id`` (key frame of second ``sec`` = entry ``sec_to_frame(sec)``).

    Per video: ``frame_id`` runs 0, 1, ... without gaps (``frame_list_gap``: a missing line would
    shift every later frame) or repeats (``frame_list_duplicate``), ``video_idx`` is the same on every
    row (``frame_list_idx``), and the file of frame ``frame_id`` is
    ``<video_id>/<video_id>_<frame_id + 1:06d>.<ext>`` (``frame_name``; :func:`frame_file_name`, any
    image extension). ``owner``: ``{video: file}`` of the frame lists read before, updated with this
    file's videos; a video already listed in another file is a ``frame_list_duplicate``.
    """
    problems: List[Problem] = []
    by_video: Dict[str, List[FrameListRow]] = {}
    for r in rows:
        by_video.setdefault(r.video, []).append(r)
        expected = frame_file_name(r.video, r.frame_id, os.path.splitext(r.path)[1].lstrip(".") or "jpg")
        if r.path != expected:
            problems.append(Problem(path, r.line, "frame_name", f"frame_id {r.frame_id} of video {r.video!r} is "
                                                                f"file {r.path!r}; the loaders expect {expected!r}"))
    for video, vrows in by_video.items():
        if owner is not None:
            if owner.setdefault(video, path) != path:
                problems.append(Problem(path, vrows[0].line, "frame_list_duplicate",
                                        f"video {video!r} is also listed in {owner[video]}"))
        idx_rows = {}
        for r in vrows:
            idx_rows.setdefault(r.video_idx, r)
        if len(idx_rows) > 1:
            (a, ra), (b, rb) = list(idx_rows.items())[:2]
            problems.append(Problem(path, rb.line, "frame_list_idx",
                                    f"video {video!r} has video_idx {b} here and {a} on line {ra.line}"))
        seen: Dict[int, FrameListRow] = {}
        for r in vrows:
            if r.frame_id in seen:
                problems.append(Problem(path, r.line, "frame_list_duplicate", f"frame_id {r.frame_id} of video "
                                        f"{video!r} listed twice (also on line {seen[r.frame_id].line})"))
            else:
                seen[r.frame_id] = r
        ordered = sorted(seen.values(), key=lambda r: r.frame_id)
        if ordered and ordered[0].frame_id != 0:
            r = ordered[0]
            missing = f" (frames 0..{r.frame_id - 1} missing)" if r.frame_id > 0 else ""
            problems.append(Problem(path, r.line, "frame_list_gap",
                                    f"video {video!r} starts at frame_id {r.frame_id}, expected 0{missing}"))
        for prev, r in zip(ordered, ordered[1:]):
            if r.frame_id != prev.frame_id + 1:
                problems.append(Problem(path, r.line, "frame_list_gap", f"gap in video {video!r}: frame_id "
                                        f"{r.frame_id} follows frame_id {prev.frame_id} (line {prev.line}); frames "
                                        f"{prev.frame_id + 1}..{r.frame_id - 1} are missing (key frames after the "
                                        "gap would point at the wrong time)"))
    return sorted(problems, key=lambda p: p.line)


def frames_by_id(rows: Sequence[FrameListRow]) -> Dict[str, List[FrameListRow]]:
    """``{video: its rows ordered by frame_id}`` in order of first appearance; a repeated frame_id keeps
    its first row."""
    frames: Dict[str, Dict[int, FrameListRow]] = {}
    for r in rows:
        frames.setdefault(r.video, {}).setdefault(r.frame_id, r)
    return {video: [f[k] for k in sorted(f)] for video, f in frames.items()}


def read_frame_lists(paths: Sequence[str], frame_dir: str) -> FrameLists:
    """Read frame-list files (see module docstring) into :class:`FrameLists`.

    Video indices are assigned in order of first appearance over all files (the ``video_idx``
    column is checked to be an integer, constant per video, but not trusted).  Each file is checked
    with :func:`validate_frame_list`; a video listed in two files is an error.

    Raises:
        FileNotFoundError: a list file is missing.
        AvaFormatError: bad header, wrong column count, non-integer ids, a gap, repeat or misnamed frame,
            a video in two files (names file and line).
    """
    frames: Dict[str, List[str]] = {}
    owner: Dict[str, str] = {}
    for path in paths:
        rows = read_frame_list_rows(path)
        raise_problems(validate_frame_list(rows, path, owner), AvaFormatError)
        for video, vrows in frames_by_id(rows).items():
            frames[video] = [os.path.join(frame_dir, r.path) for r in vrows]
    names = list(frames)
    return FrameLists(names, [frames[n] for n in names])


def write_frame_list(path: str, videos: Sequence[Tuple[str, int]], ext: str = "jpg") -> None:
    """Write a frame list for ``videos`` = ``[(video_id, num_frames), ...]`` (paths as in :func:`frame_file_name`)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(FRAME_LIST_HEADER + "\n")
        for video_idx, (video_id, num_frames) in enumerate(videos):
            for frame in range(num_frames):
                f.write(f'{video_id} {video_idx} {frame} {frame_file_name(video_id, frame, ext)} ""\n')


# --------------------------------------------------------------------------- box CSVs


@dataclass(frozen=True)
class BoxRow:
    """One row of a ground-truth or proposal CSV.

    ``box`` is ``(x1, y1, x2, y2)`` normalised to ``[0, 1]`` (already clipped); ``action`` is the
    1-based action id or ``-1`` (none); ``score`` is the detector score (proposals) or ``None``.
    """

    video: str
    sec: int
    box: Box
    action: int
    score: Optional[float]
    line: int


def _clip_box(box: Box) -> Tuple[Box, bool]:
    """Clamp to ``[0, 1]``; also say whether anything changed."""
    clipped = tuple(min(max(v, 0.0), 1.0) for v in box)
    return clipped, clipped != box


def _parse_box_row(line: str, number: int, proposals: bool) -> BoxRow:
    """One box-CSV row (module docstring), not clipped; raises :class:`_BadRow`."""
    row = line.split(",")
    if len(row) not in (7, 8):
        raise _BadRow("parse", f"expected 7 or 8 columns, got {len(row)}: {line!r}")
    sec = _number(row[1].strip(), "timestamp", int)
    box = tuple(_number(v, f"coordinate {name}") for v, name in zip(row[2:6], ("x1", "y1", "x2", "y2")))
    if not all(math.isfinite(v) for v in box):
        raise _BadRow("parse", f"box coordinates must be finite numbers, got {row[2:6]}")
    if proposals:
        if not row[-1].strip():
            raise _BadRow("no_score", f"no detector score in the last column ({row[-1]!r})")
        score = _number(row[-1], "score", problem="no_score")
        if not math.isfinite(score):
            raise _BadRow("no_score", f"score must be a finite number, got {row[-1]!r}")
        action_text = row[6].strip() if len(row) == 8 else ""
        action = -1 if action_text == "" else _number(action_text, "action_id", int)
    else:
        score = None
        action = _number(row[6], "action_id", int)
        if action < 1:
            raise _BadRow("action_range", f"action_id must be >= 1 in ground truth, got {action}")
    return BoxRow(row[0].strip(), sec, box, action, score, number)


def read_box_rows(path: str, proposals: bool = False, problems: Optional[List[Problem]] = None) -> List[BoxRow]:
    """The rows of a ground-truth (``proposals=False``) or proposal CSV as written (not clipped).

    Problems: wrong column count, a field that is not a number, non-finite numbers, non-UTF-8 bytes
    (kinds ``parse``, ``encoding``), a proposal without a score (``no_score``), a ground-truth
    action id below 1 (``action_range``). ``problems=None`` raises the first as :class:`AvaFormatError`
    (file and line); a list collects them all and keeps the rows that parse.

    Raises:
        FileNotFoundError: ``path`` is missing.
    """
    rows = []
    for number, line in ava_lines(path, problems):
        try:
            rows.append(_parse_box_row(line, number, proposals))
        except _BadRow as bad:
            report(Problem(path, number, bad.kind, str(bad)), problems, AvaFormatError)
    return rows


def check_action_range(rows: Iterable[BoxRow], path: str, num_classes: int) -> List[Problem]:
    """Problems (kind ``action_range``) of rows whose action id is neither ``-1`` (a proposal without
    one) nor in ``1..num_classes`` (MODEL.NUM_CLASSES: the label map's ids)."""
    return [Problem(path, r.line, "action_range", f"action_id {r.action} outside 1..{num_classes} "
                                                  "(MODEL.NUM_CLASSES; the label map's ids)")
            for r in rows if not (r.action == -1 or 1 <= r.action <= num_classes)]


def read_box_csv(path: str, proposals: bool = False, stats: Optional[Counter] = None) -> List[BoxRow]:
    """Read a ground-truth (``proposals=False``) or proposal CSV (see module docstring) with
    :func:`read_box_rows`.

    Boxes outside ``[0, 1]`` are clipped (counted in ``stats["clipped_boxes"]``, one warning per
    file); boxes with no area left are dropped (``stats["degenerate_boxes"]``).

    Raises:
        FileNotFoundError: ``path`` is missing.
        AvaFormatError: wrong column count or non-numeric field, naming file and line.
    """
    stats = stats if stats is not None else Counter()
    rows, clipped_lines, degenerate_lines = [], [], []
    for row in read_box_rows(path, proposals):
        box, changed = _clip_box(row.box)
        if changed:
            clipped_lines.append(row.line)
            row = BoxRow(row.video, row.sec, box, row.action, row.score, row.line)
        if box[2] <= box[0] or box[3] <= box[1]:
            degenerate_lines.append(row.line)
            continue
        rows.append(row)
    if clipped_lines:
        stats["clipped_boxes"] += len(clipped_lines)
        logger.warning("%s: %d boxes outside [0, 1] clipped (lines %s)", path, len(clipped_lines), _some(clipped_lines))
    if degenerate_lines:
        stats["degenerate_boxes"] += len(degenerate_lines)
        logger.warning("%s: %d boxes without area skipped (lines %s)", path, len(degenerate_lines), _some(degenerate_lines))
    return rows


def _some(numbers: Sequence[int], most: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:most])
    return shown + (", ..." if len(numbers) > most else "")


def write_box_csv(path: str, rows: Iterable[Tuple[str, int, Box, int, float]], proposals: bool = False) -> None:
    """Write ``(video_id, sec, box, action_id, last)`` rows in the official layout: ground truth
    ``...,action_id,person_id`` (``last`` is the person id); proposals ``...,action_id,score``
    (``action_id`` -1 written empty, ``last`` is the score).  Timestamps as 4 digits, 3-decimal boxes."""
    with open(path, "w", encoding="utf-8") as f:
        for video, sec, box, action, last in rows:
            coords = ",".join(f"{v:.3f}" for v in box)
            if proposals:
                f.write(f"{video},{sec:04d},{coords},{'' if action == -1 else action},{last:.6f}\n")
            else:
                f.write(f"{video},{sec:04d},{coords},{action},{int(last)}\n")
