"""AVA checks of the dataset checker (:mod:`slowfast.data_prep.check`, whose docstring lists them): frame
lists, box CSVs (ground truth, proposals), exclusions, the label map and the key-frame clips' JPEGs."""
from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np

from slowfast.datasets.ava import annotation_path, clip_frame_indices, resolve_dirs
from slowfast.formats import ava_boxes, ava_frames, ava_gt
from slowfast.formats.ava_csv import read_exclusions
from slowfast.formats.ava_labels import read_labelmap
from slowfast.formats.problems import AvaFormatError, Problem, missing_file, text_lines


def _lines(path: str, problems: List[Problem]) -> Iterable[Tuple[int, str]]:
    """The non-blank lines of ``path``; lines that are not UTF-8 go to ``problems``."""
    return text_lines(path, ValueError, problems)


# --------------------------------------------------------------------------- AVA: frame lists


@dataclass
class VideoFrames:
    """A video's frames from the frame lists: ``frames[i] = (file, line, path)`` in frame-id order."""

    frames: List[Tuple[str, int, str]]


def check_frame_list(path: str, frame_dir: str, videos: Dict[str, VideoFrames]) -> List[Problem]:
    """Problems of one frame list: the loader's header, row and per-video checks
    (:func:`slowfast.formats.ava_frames.read_frame_list_rows`, :func:`~slowfast.formats.ava_frames.validate_frame_list`),
    every one collected; adds its videos to ``videos`` (a video already there is a problem)."""
    missing = missing_file(path, "frame list")
    if missing:
        return [missing]
    out: List[Problem] = []
    rows = ava_frames.read_frame_list_rows(path, out)
    owner = {vid: frames.frames[0][0] for vid, frames in videos.items()}
    out += ava_frames.validate_frame_list(rows, path, owner)
    for vid, vrows in ava_frames.frames_by_id(rows).items():
        videos.setdefault(vid, VideoFrames([(path, r.line, os.path.join(frame_dir, r.path)) for r in vrows]))
    return sorted(out, key=lambda p: p.line)


# --------------------------------------------------------------------------- AVA: box files


def check_box_csv(path: str, proposals: bool, cfg, videos: Optional[Dict[str, VideoFrames]],
                  keys: Optional[Set[Tuple[str, int]]] = None, what: str = "", evaluated: bool = False) -> List[Problem]:
    """Problems of a ground-truth (``proposals=False``) or proposal CSV; key frames are added to ``keys``.
    ``videos``: the frame lists' videos (``None``: not checked against them); ``evaluated``: the
    evaluator's ground truth (AVA.GROUNDTRUTH_FILE), whose rows of videos outside the frame lists it
    counts. Duplicate and unknown-video rows are found by the evaluator's rules (:mod:`slowfast.formats.ava_gt`)."""
    missing = missing_file(path, what or ("proposals file" if proposals else "ground-truth file"))
    if missing:
        return [missing]
    num_classes, ava = cfg.MODEL.NUM_CLASSES, cfg.AVA
    lo, hi = ava.KEYFRAME_START_SEC, ava.KEYFRAME_END_SEC
    out: List[Problem] = []
    rows = ava_boxes.read_box_rows(path, proposals, out)  # the loader's row rules, every problem collected
    out += ava_boxes.check_action_range(rows, path, num_classes)
    if not proposals:
        out += _duplicates(path, rows)
    if videos is not None:
        out += _unknown_videos(path, rows, videos, evaluated)
    for r in rows:
        number, vid, sec, box = r.line, r.video, r.sec, r.box
        text = ",".join(f"{v:g}" for v in box)
        if proposals and not 0.0 <= r.score <= 1.0:
            out.append(Problem(path, number, "no_score", f"score {r.score:g} outside [0, 1] (a ground-truth "
                               "file, whose last column is the person id, used as proposals?)"))
        if not lo <= sec <= hi:
            out.append(Problem(path, number, "timestamp_window", f"timestamp {sec} outside the key-frame window "
                               f"{lo}..{hi} (AVA.KEYFRAME_START_SEC..AVA.KEYFRAME_END_SEC)"))
        if any(not 0.0 <= v <= 1.0 for v in box):
            out.append(Problem(path, number, "box_outside", f"box {text} outside the frame "
                               "(coordinates are normalised to [0, 1])"))
        elif box[2] <= box[0] or box[3] <= box[1]:
            out.append(Problem(path, number, "box_empty", f"box {text} has no area (x2 <= x1 or y2 <= y1)"))
        if videos is not None:
            if vid not in videos:
                continue
            frame = ava_frames.sec_to_frame(sec, ava.FPS, ava.START_SEC)
            if not 0 <= frame < len(videos[vid].frames):
                out.append(Problem(path, number, "keyframe_range", f"key frame {vid},{sec} is frame {frame}, but the "
                                   f"video has {len(videos[vid].frames)} frames (AVA.START_SEC {ava.START_SEC}, AVA.FPS {ava.FPS})"))
                continue
        if keys is not None:
            keys.add((vid, sec))
    return sorted(out, key=lambda p: p.line or 0)


def _duplicates(path: str, rows: Sequence[ava_boxes.BoxRow]) -> List[Problem]:
    """A ``duplicate_row`` problem per ground-truth row that repeats an earlier one."""
    codes: Dict[Tuple[str, int], int] = {}
    key = np.array([codes.setdefault((r.video, r.sec), len(codes)) for r in rows], dtype=np.int64)
    boxes = np.array([r.box for r in rows], dtype=np.float64).reshape(-1, 4)
    _, groups = ava_gt.duplicate_rows(key, boxes, np.array([r.action for r in rows], dtype=np.int64),
                                      np.array([r.line for r in rows], dtype=np.int64))
    return [Problem(path, line, "duplicate_row", f"row repeats line {first} (same video, timestamp, box and "
                    "action); the evaluator counts it once") for first, copies in groups for line in copies]


def _unknown_videos(path: str, rows: Sequence[ava_boxes.BoxRow], videos, evaluated: bool) -> List[Problem]:
    """An ``unknown_video`` problem per video of ``rows`` that the frame lists lack, at its first line."""
    found = ava_gt.rows_of_videos([r.video for r in rows], [r.line for r in rows], lambda v: v not in videos)
    def fate(n: int) -> str:
        if not evaluated:
            return "its rows are skipped"
        return (f"the evaluator counts its {n} row{'s' * (n > 1)} as missed ground truth, as the official scorer "
                "counts all ground truth")
    return [Problem(path, first, "unknown_video", f"video {vid} is not in the frame lists ({fate(n)})")
            for vid, (first, n) in found.items()]


def check_exclusions(path: str, videos: Optional[Dict[str, VideoFrames]]) -> List[Problem]:
    """Rows the evaluator cannot read (its own reader, :func:`slowfast.formats.ava_csv.read_exclusions`,
    all collected) and excluded videos the frame lists lack."""
    missing = missing_file(path, "exclusions file")
    if missing:
        return [missing]
    try:
        _, errors = read_exclusions(path, "int", skip_bad_rows=True)
    except UnicodeDecodeError as err:
        return [Problem(path, None, "encoding", f"not UTF-8 text ({err.reason})")]
    out = [Problem(path, line, "parse", message) for line, message in errors]
    if videos is not None:
        bad = {line for line, _ in errors}
        for number, line in _lines(path, out):
            vid = line.split(",")[0].strip()
            if number not in bad and vid not in videos:
                out.append(Problem(path, number, "unknown_video", f"excluded video {vid} is not in the frame lists"))
    return sorted(out, key=lambda p: p.line or 0)


def label_map_ids(path: str) -> Dict[int, int]:
    """``{class id: line}`` of a label map, read by the evaluator's reader
    (:func:`slowfast.formats.ava_labels.read_labelmap`); raises :class:`AvaFormatError` (with file and line)."""
    labels = read_labelmap(path)
    return dict(zip(labels.ids.tolist(), labels.lines))


_LINE = re.compile(r"^(.*?) line (\d+): (.*)$", re.S)


def _from_error(path: str, err: Exception, kind: str = "parse") -> Problem:
    """A reader's "<file> line <n>: <message>" error as a Problem."""
    match = _LINE.match(str(err))
    if match:
        return Problem(path, int(match.group(2)), kind, match.group(3))
    return Problem(path, None, kind, str(err).replace(f"{path}: ", ""))


def check_label_map(path: str, num_classes: int) -> List[Problem]:
    missing = missing_file(path, "label map (AVA.LABEL_MAP_FILE)")
    if missing:
        return [missing]
    try:
        ids = label_map_ids(path)
    except AvaFormatError as err:
        return [_from_error(path, err)]
    except UnicodeDecodeError as err:
        return [Problem(path, None, "encoding", f"not UTF-8 text ({err.reason})")]
    out = [Problem(path, line, "label_map_range", f"class id {cid} > MODEL.NUM_CLASSES {num_classes}: the model "
                   "has no output for it") for cid, line in ids.items() if cid > num_classes]
    # Fewer evaluated ids than outputs is normal (AVA trains 80 classes and evaluates 60).
    return out


# --------------------------------------------------------------------------- AVA: JPEGs


def check_clip_frames(cfg, videos: Dict[str, VideoFrames], keys: Set[Tuple[str, int]], decode: bool) -> List[Problem]:
    """Missing (with ``decode``: unreadable) JPEGs of the clips of key frames ``keys``, one problem per file."""
    need: Dict[str, Set[int]] = defaultdict(set)
    for vid, sec in keys:
        n = len(videos[vid].frames)
        center = ava_frames.sec_to_frame(sec, cfg.AVA.FPS, cfg.AVA.START_SEC)
        need[vid].update(clip_frame_indices(center, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, n).tolist())
    out = []
    for vid in sorted(need):
        for i in sorted(need[vid]):
            list_file, line, path = videos[vid].frames[i]
            if not os.path.isfile(path):
                out.append(Problem(list_file, line, "missing_jpeg", f"frame {path} of a key-frame clip is missing"))
            elif decode and cv2.imread(path, cv2.IMREAD_COLOR) is None:
                out.append(Problem(list_file, line, "unreadable_jpeg", f"frame {path} of a key-frame clip cannot be decoded"))
    return out


def check_ava(cfg, splits: Sequence[str], decode: bool = False, cheap: bool = False) -> List[Problem]:
    frame_dir, list_dir, _ = resolve_dirs(cfg)
    ann = lambda name: annotation_path(cfg, name)  # noqa: E731
    out: List[Problem] = []
    for split in splits:
        train = split == "train"
        videos: Optional[Dict[str, VideoFrames]] = None
        lists = [os.path.join(list_dir, name) for name in (cfg.AVA.TRAIN_LISTS if train else cfg.AVA.TEST_LISTS)]
        if cheap:  # only that the files are there
            out += [p for p in (missing_file(path, "frame list") for path in lists) if p]
            if not os.path.isdir(frame_dir):
                out.append(Problem(frame_dir, None, "missing_file", "frame folder (AVA.FRAME_DIR) not found"))
        else:
            videos = {}
            for path in lists:
                out += check_frame_list(path, frame_dir, videos)
        keys: Set[Tuple[str, int]] = set()
        gt = list(cfg.AVA.TRAIN_GT_BOX_LISTS) if train else [cfg.AVA.GROUNDTRUTH_FILE]
        proposals = list(cfg.AVA.TRAIN_PREDICT_BOX_LISTS if train else cfg.AVA.TEST_PREDICT_BOX_LISTS)
        for name in gt:
            out += check_box_csv(ann(name), False, cfg, videos, keys if train else None, evaluated=not train)
        for name in proposals:
            out += check_box_csv(ann(name), True, cfg, videos, None if train else keys)
        box_files = [ann(name) for name in (cfg.AVA.TRAIN_GT_BOX_LISTS if train else proposals)]
        negatives = train and cfg.AVA.TRAIN_NEGATIVE_PROPOSALS  # proposals alone make key frames then
        if videos is not None and not keys and not negatives and box_files and all(os.path.isfile(f) for f in box_files):
            out.append(Problem(box_files[0], None, "no_keyframes", "no key frame: no row of "
                               f"{', '.join(box_files)} is a key frame of a video of the frame lists (the loader "
                               "refuses a split without key frames)"))
        if not train or cfg.MODEL.NUM_CLASSES == 0:
            out += check_label_map(ann(cfg.AVA.LABEL_MAP_FILE), cfg.MODEL.NUM_CLASSES)
        if not train and cfg.AVA.EVAL_VERSION != "2020":
            out += check_exclusions(ann(cfg.AVA.EXCLUSION_FILE), videos)
        if videos is not None:
            out += check_clip_frames(cfg, videos, keys, decode)
    unique, seen = [], set()
    for p in out:  # val and test read the same files
        if (p.file, p.line, p.message) not in seen:
            seen.add((p.file, p.line, p.message))
            unique.append(p)
    return unique
