"""Everything a run would trip on, found in seconds and without a GPU: ``tools/check_dataset.py``, and
(the cheap part) the checks ``tools/run_net.py`` makes before the first iteration.

Every problem is a :class:`~slowfast.formats.problems.Problem` with the file and line it is about,
printed ``file:line: message``. All problems are collected; nothing stops at the first. The rules the
readers apply are not restated here: the checker runs the readers' own checks in their collecting mode
(:mod:`slowfast.formats.problems`, :func:`slowfast.formats.ava_frames.read_frame_list_rows`,
:func:`~slowfast.formats.ava_frames.validate_frame_list`, :func:`~slowfast.formats.ava_boxes.read_box_rows`,
the evaluator's label-map and exclusions readers), so a problem reads as the error the run would raise.

Kinetics (``{split}.csv`` in ``DATA.PATH_TO_DATA_DIR``): lines that do not parse, labels outside
``0..MODEL.NUM_CLASSES-1``, repeated videos, ``classnames.json`` of another size than
``MODEL.NUM_CLASSES``; not cheap: missing videos, undecodable videos (``decode``).

AVA (the files of :mod:`slowfast.datasets.ava`): missing files (frame lists, box CSVs, proposals,
label map, ground truth, exclusions), box-CSV rows that do not parse, action ids outside
``1..MODEL.NUM_CLASSES``, label-map ids beyond ``MODEL.NUM_CLASSES``, proposals without a score in
``[0, 1]``, timestamps outside ``AVA.KEYFRAME_START_SEC..AVA.KEYFRAME_END_SEC``, boxes outside the frame
or without area; not cheap: frame lists with a bad header, gaps or repeated frame ids, names other than
``<video>/<video>_%06d.jpg``, box rows of videos the frame lists lack, key frames past a video's end,
exclusions naming unknown videos, a split whose box files give no key frame of those videos, missing
JPEGs of the key-frame clips (unreadable ones with ``decode``).

``MODEL.NUM_CLASSES 0`` means "from the dataset": :func:`resolve_num_classes` takes the largest id of
``AVA.LABEL_MAP_FILE`` (AVA's 60 evaluated classes go up to id 80, so 80) or the size of Kinetics'
``classnames.json`` (else one more than the largest training label).
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import cv2

from slowfast.data_prep.video_io import probe_video
from slowfast.formats import ava_boxes, ava_frames
from slowfast.datasets.ava import annotation_path, clip_frame_indices, resolve_dirs
from slowfast.formats.ava_csv import read_exclusions
from slowfast.formats.ava_labels import read_labelmap
from slowfast.formats.kinetics import check_label_range, read_video_list_rows, resolve_video_path
from slowfast.formats.problems import AvaFormatError, Problem, text_lines
from slowfast.checkpoint.store import checkpoint_dir

logger = logging.getLogger(__name__)


# Kinds that tools/run_net.py logs as warnings instead of refusing to start.
WARN_ONLY = {"num_classes_mismatch"}


def _lines(path: str, problems: List[Problem]) -> Iterable[Tuple[int, str]]:
    """The non-blank lines of ``path``; lines that are not UTF-8 go to ``problems``."""
    return text_lines(path, ValueError, problems)


def _missing(path: str, what: str) -> Optional[Problem]:
    return None if os.path.isfile(path) else Problem(path, None, "missing_file", f"{what} not found")


# --------------------------------------------------------------------------- Kinetics


def check_kinetics_csv(csv_path: str, num_classes: int, separator: str = " ", prefix: str = "",
                       files: bool = True, decode: bool = False) -> List[Problem]:
    """Problems of one Kinetics split file (module docstring): the loader's row and label-range checks
    (:mod:`slowfast.formats.problems`), collected, and repeated videos; ``files``: check the videos
    exist, ``decode``: and that they decode."""
    missing = _missing(csv_path, "split file")
    if missing:
        return [missing]
    out: List[Problem] = []
    rows = read_video_list_rows(csv_path, separator, ValueError, out)
    out += check_label_range([(r.line, r.label) for r in rows], num_classes, csv_path)
    first_line: Dict[str, int] = {}
    for number, path, _ in rows:
        if path in first_line:
            out.append(Problem(csv_path, number, "duplicate", f"{path} is already listed on line {first_line[path]}"))
            continue
        first_line[path] = number
        if files or decode:
            video = resolve_video_path(csv_path, path, prefix)
            reason = probe_video(video) if decode else (None if os.path.isfile(video) else "missing (no such file)")
            if reason:
                kind = "missing_video" if reason.startswith("missing") else "undecodable"
                out.append(Problem(csv_path, number, kind, f"video {video}: {reason}"))
    if not rows and not out:
        out.append(Problem(csv_path, None, "empty", "no videos listed"))
    return sorted(out, key=lambda p: p.line or 0)


def classnames_size(path: str) -> int:
    """Number of classes in a ``classnames.json`` (name -> id) file; JSON errors propagate."""
    with open(path, encoding="utf-8") as f:
        return len(json.load(f))


def check_kinetics(cfg, splits: Sequence[str], decode: bool = False, cheap: bool = False) -> List[Problem]:
    root, num_classes = cfg.DATA.PATH_TO_DATA_DIR, cfg.MODEL.NUM_CLASSES
    out = []
    names = os.path.join(root, "classnames.json")
    if os.path.isfile(names):
        try:
            size = classnames_size(names)
            if size != num_classes:
                out.append(Problem(names, None, "num_classes_mismatch",
                                   f"{size} classes but MODEL.NUM_CLASSES is {num_classes} (set it to {size}, or 0)"))
        except (ValueError, TypeError) as err:
            out.append(Problem(names, None, "parse", f"not a JSON name -> id object ({err})"))
    for split in splits:
        out += check_kinetics_csv(os.path.join(root, f"{split}.csv"), num_classes, cfg.DATA.PATH_LABEL_SEPARATOR,
                                  cfg.DATA.PATH_PREFIX, files=not cheap, decode=decode and not cheap)
    return out


# --------------------------------------------------------------------------- AVA: frame lists


@dataclass
class VideoFrames:
    """A video's frames from the frame lists: ``frames[i] = (file, line, path)`` in frame-id order."""

    frames: List[Tuple[str, int, str]]


def check_frame_list(path: str, frame_dir: str, videos: Dict[str, VideoFrames]) -> List[Problem]:
    """Problems of one frame list: the loader's header, row and per-video checks
    (:func:`slowfast.formats.ava_frames.read_frame_list_rows`, :func:`~slowfast.formats.ava_frames.validate_frame_list`),
    every one collected; adds its videos to ``videos`` (a video already there is a problem)."""
    missing = _missing(path, "frame list")
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
                  keys: Optional[Set[Tuple[str, int]]] = None, what: str = "") -> List[Problem]:
    """Problems of a ground-truth (``proposals=False``) or proposal CSV; key frames are added to ``keys``.
    ``videos``: the frame lists' videos (``None``: not checked against them)."""
    missing = _missing(path, what or ("proposals file" if proposals else "ground-truth file"))
    if missing:
        return [missing]
    num_classes, ava = cfg.MODEL.NUM_CLASSES, cfg.AVA
    lo, hi = ava.KEYFRAME_START_SEC, ava.KEYFRAME_END_SEC
    out: List[Problem] = []
    rows = ava_boxes.read_box_rows(path, proposals, out)  # the loader's row rules, every problem collected
    out += ava_boxes.check_action_range(rows, path, num_classes)
    unknown: Dict[str, int] = {}
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
                if vid not in unknown:
                    unknown[vid] = number
                    out.append(Problem(path, number, "unknown_video", f"video {vid} is not in the frame lists "
                                       "(its rows are skipped)"))
                continue
            frame = ava_frames.sec_to_frame(sec, ava.FPS, ava.START_SEC)
            if not 0 <= frame < len(videos[vid].frames):
                out.append(Problem(path, number, "keyframe_range", f"key frame {vid},{sec} is frame {frame}, but the "
                                   f"video has {len(videos[vid].frames)} frames (AVA.START_SEC {ava.START_SEC}, AVA.FPS {ava.FPS})"))
                continue
        if keys is not None:
            keys.add((vid, sec))
    return sorted(out, key=lambda p: p.line or 0)


def check_exclusions(path: str, videos: Optional[Dict[str, VideoFrames]]) -> List[Problem]:
    """Rows the evaluator cannot read (its own reader, :func:`slowfast.formats.ava_csv.read_exclusions`,
    all collected) and excluded videos the frame lists lack."""
    missing = _missing(path, "exclusions file")
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
    missing = _missing(path, "label map (AVA.LABEL_MAP_FILE)")
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
            out += [p for p in (_missing(path, "frame list") for path in lists) if p]
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
            out += check_box_csv(ann(name), False, cfg, videos, keys if train else None)
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


# --------------------------------------------------------------------------- entry points


def dataset_for(cfg, split: str) -> str:
    """The registry name the loader uses for ``split`` (:func:`slowfast.datasets.build.build_loader`)."""
    return (cfg.TRAIN.DATASET if split in ("train", "val") else cfg.TEST.DATASET).lower()


def splits_used(cfg) -> List[str]:
    """The splits ``tools/run_net.py`` will read: train (and val when validating) and test."""
    out = []
    if cfg.TRAIN.ENABLE:
        out.append("train")
        if cfg.TRAIN.EVAL_PERIOD > 0:
            out.append("val")
    if cfg.TEST.ENABLE:
        out.append("test")
    return out


def check_dataset(cfg, splits: Sequence[str], decode: bool = False, cheap: bool = False) -> List[Problem]:
    """Every problem of ``splits`` (see the module docstring); ``cheap``: only the checks that read the
    small files (no frame lists, no per-video or per-frame file access)."""
    by_name: Dict[str, List[str]] = defaultdict(list)
    for split in splits:
        by_name[dataset_for(cfg, split)].append(split)
    out = []
    for name, names in by_name.items():
        if name == "kinetics":
            out += check_kinetics(cfg, names, decode, cheap)
        elif name == "ava":
            out += check_ava(cfg, names, decode, cheap)
        else:
            logger.info("check_dataset: no checks for dataset %r (splits %s)", name, names)
    return out


def check_output_dir(cfg) -> List[Problem]:
    """OUTPUT_DIR (and OUTPUT_DIR/checkpoints when training) can be created and written to."""
    folders = [cfg.OUTPUT_DIR] + ([checkpoint_dir(cfg.OUTPUT_DIR)] if cfg.TRAIN.ENABLE else [])
    out = []
    for folder in folders:
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".write_test_", dir=folder)
            os.close(fd)
            os.remove(tmp)
        except OSError as err:
            out.append(Problem(folder, None, "output_dir", f"cannot write here ({err.strerror or err}); set OUTPUT_DIR "
                               "to a writable folder"))
            break
    return out


def check_checkpoint_files(cfg) -> List[Problem]:
    """The checkpoint files the config names (TRAIN.CHECKPOINT_FILE_PATH when training, TEST.CHECKPOINT_FILE_PATH
    when testing) exist; their contents are read, safely, when the run loads them."""
    named = []
    if cfg.TRAIN.ENABLE and cfg.TRAIN.CHECKPOINT_FILE_PATH:
        named.append(("TRAIN.CHECKPOINT_FILE_PATH", cfg.TRAIN.CHECKPOINT_FILE_PATH))
    if cfg.TEST.ENABLE and cfg.TEST.CHECKPOINT_FILE_PATH:
        named.append(("TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH))
    return [Problem(path, None, "checkpoint", f"checkpoint not found ({key})")
            for key, path in named if not os.path.isfile(path)]


def resolve_num_classes(cfg):
    """``cfg`` itself, or when ``MODEL.NUM_CLASSES`` is 0 a copy with it taken from the dataset (module
    docstring).  Raises ``ValueError`` naming the file when it cannot be derived."""
    if cfg.MODEL.NUM_CLASSES != 0:
        return cfg
    name = dataset_for(cfg, "train" if cfg.TRAIN.ENABLE else "test")
    if name == "ava" or cfg.DETECTION.ENABLE:
        path = annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE)
        try:
            num = max(label_map_ids(path))
        except (OSError, AvaFormatError) as err:
            raise ValueError(f"MODEL.NUM_CLASSES 0 needs the label map: {err}") from err
        source = path
    else:
        source = os.path.join(cfg.DATA.PATH_TO_DATA_DIR, "classnames.json")
        if os.path.isfile(source):
            num = classnames_size(source)
        else:
            source = os.path.join(cfg.DATA.PATH_TO_DATA_DIR, "train.csv")
            rows = read_video_list_rows(source, cfg.DATA.PATH_LABEL_SEPARATOR, ValueError, []) if os.path.isfile(source) else []
            labels = [r.label for r in rows if r.label >= 0]
            if not labels:
                raise ValueError(f"MODEL.NUM_CLASSES 0 needs {os.path.dirname(source)}/classnames.json or a train.csv")
            num = max(labels) + 1
    logger.info("MODEL.NUM_CLASSES %d (from %s)", num, source)
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.NUM_CLASSES = num
    cfg.freeze()
    return cfg


def preflight(cfg) -> Tuple[List[Problem], List[Problem]]:
    """The checks ``tools/run_net.py`` makes before the first iteration, for every split it will use:
    ``(errors, warnings)``; a run starts only without errors."""
    problems = check_output_dir(cfg) + check_checkpoint_files(cfg) + check_dataset(cfg, splits_used(cfg), cheap=True)
    errors = [p for p in problems if p.kind not in WARN_ONLY]
    return errors, [p for p in problems if p.kind in WARN_ONLY]



def run_preflight(cfg):
    """What ``tools/run_net.py`` does before launching: resolve ``MODEL.NUM_CLASSES 0``, run
    :func:`preflight`, log its warnings.  Returns the config to run with, or ``None`` after printing
    every error to stderr (the run must not start)."""
    import sys
    import time

    start = time.monotonic()
    try:
        cfg = resolve_num_classes(cfg)
    except ValueError as err:
        print(f"dataset error: {err}", file=sys.stderr)
        return None
    errors, warnings = preflight(cfg)
    for p in warnings:
        logger.warning("dataset check: %s", p)
    if errors:
        print(f"the run cannot start: {len(errors)} problem(s) found before the first iteration "
              "(tools/check_dataset.py --cfg ... lists all of them, --decode also decodes the data):", file=sys.stderr)
        for p in errors:
            print(f"  {p}", file=sys.stderr)
        return None
    logger.info("dataset pre-flight checks passed for %s (%.1f s)", ",".join(splits_used(cfg)), time.monotonic() - start)
    return cfg

def main(argv=None) -> int:
    """``tools/check_dataset.py``: prints every problem as ``file:line: message`` (or JSON with
    ``--json``); exit code 0 only when there is none, 1 when there are, 2 for a bad config."""
    import argparse
    import sys
    import time

    from slowfast.config import ConfigError, load_config

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", required=True, help="the config the run will use")
    p.add_argument("--split", default="", help="comma-separated splits (default: those tools/run_net.py would read)")
    p.add_argument("--decode", action="store_true", help="also decode every video / key-frame clip JPEG")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    p.add_argument("opts", nargs="*", help="KEY VALUE config overrides, as for run_net.py")
    args = p.parse_intermixed_args(argv)
    logging.basicConfig(level=logging.WARNING)
    start = time.monotonic()
    try:
        cfg = resolve_num_classes(load_config(args.cfg, args.opts))
    except (ConfigError, ValueError) as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    splits = [s.strip() for s in args.split.split(",") if s.strip()] or splits_used(cfg)
    bad = [s for s in splits if s not in ("train", "val", "test")]
    if bad:
        p.error(f"--split: unknown split(s) {bad}; use train, val, test")
    problems = check_dataset(cfg, splits, decode=args.decode)
    seconds = time.monotonic() - start
    if args.json:
        print(json.dumps({"ok": not problems, "num_problems": len(problems), "splits": splits, "seconds": round(seconds, 3),
                          "problems": [q.to_dict() for q in problems]}, indent=1))
    else:
        for q in problems:
            print(q)
        print(f"{len(problems)} problem(s) in splits {','.join(splits)} ({seconds:.1f} s)"
              + ("" if problems else ": the dataset is clean"))
    return 1 if problems else 0
