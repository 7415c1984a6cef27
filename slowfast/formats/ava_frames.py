"""AVA frames on disk and the frame lists that index them (PySlowFast's layout).

Layout (``DATA.PATH_TO_DATA_DIR`` = ``ava/``)::

    ava/frames/<video_id>/<video_id>_000001.jpg ...   30 fps JPEGs of minutes 15..30 of each movie
    ava/frame_lists/{train,val}.csv                   which frames belong to which video
    ava/annotations/ava_{train,val}_v2.2.csv          ground truth, one row per (box, action)
    ava/annotations/ava_{train,val}_predicted_boxes.csv   person proposals with detector scores
    ava/annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt   evaluated classes
    ava/annotations/ava_val_excluded_timestamps_v2.2.csv             key frames left out of scoring

The box CSVs are read by :mod:`slowfast.formats.ava_boxes`, the label maps by
:mod:`slowfast.formats.ava_labels`, the exclusions by :mod:`slowfast.formats.ava_csv`.

Frame list: a header line ``original_vido_id video_idx frame_id path labels`` (sic), then
space-separated rows ``<video_id> <video_idx> <frame_id> <video_id>/<video_id>_000001.jpg ""``;
``frame_id`` counts from 0, ``path`` is relative to the frame folder, ``labels`` is unused.

Timestamp -> frame rule.  Each movie is cut to ``[900 s, 1801 s)`` and extracted at 30 fps, so file
``<video_id>_%06d.jpg`` number ``n`` (1-based) shows time ``900 + (n - 1) / 30`` s.  Key frames are
annotated at 1 fps for seconds 902..1798; the key frame of second ``sec`` is entry
``(sec - 900) * 30`` (0-based) of the video's frame list, i.e. file number ``(sec - 900) * 30 + 1``.

Error policy: a malformed row (wrong column count, non-integer ids, non-UTF-8 bytes) raises
:class:`~slowfast.formats.problems.AvaFormatError` naming file and line; so does a frame list whose
frame ids have a gap or a repeat, or whose file names do not match the frame ids
(:func:`validate_frame_list`).  :func:`read_frame_list_rows` takes ``problems`` (a list) to collect
every problem instead (tools/check_dataset.py runs these same checks that way; see
:mod:`slowfast.formats.problems`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from slowfast.formats.problems import AvaFormatError, Problem, ava_lines, raise_problems, report

# Frame rate of the extracted frames.
FPS = 30
# Second of the movie shown by the first extracted frame.
CLIP_START_SEC = 900
# Annotated key-frame seconds of AVA (902..1798 inclusive).
VALID_SECONDS = range(902, 1799)
FRAME_LIST_HEADER = "original_vido_id video_idx frame_id path labels"


def sec_to_frame(sec: int, fps: int = FPS, start_sec: int = CLIP_START_SEC) -> int:
    """0-based frame-list index of the key frame of second ``sec`` (see module docstring)."""
    return (sec - start_sec) * fps


def frame_file_name(video_id: str, frame_index: int, ext: str = "jpg") -> str:
    """Relative path ``<video_id>/<video_id>_%06d.<ext>`` of 0-based frame ``frame_index`` (files count from 1)."""
    return f"{video_id}/{video_id}_{frame_index + 1:06d}.{ext}"


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
