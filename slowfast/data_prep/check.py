"""Everything a run would trip on, found in seconds and without a GPU: ``tools/check_dataset.py``, and
(the cheap part) the checks ``tools/run_net.py`` makes before the first iteration.

Every problem is a :class:`~slowfast.datasets.validation.Problem` with the file and line it is about,
printed ``file:line: message``. All problems are collected; nothing stops at the first. The rules the
readers apply are not restated here: the checker runs the readers' own checks in their collecting mode
(:mod:`slowfast.datasets.validation`, :func:`slowfast.formats.ava_frames.read_frame_list_rows`,
:func:`~slowfast.formats.ava_frames.validate_frame_list`, :func:`~slowfast.formats.ava_boxes.read_box_rows`,
the evaluator's label-map and exclusions readers), so a problem reads as the error the run would raise.

Kinetics (``{split}.csv`` in ``DATA.PATH_TO_DATA_DIR``): lines that do not parse, labels outside
``0..MODEL.NUM_CLASSES-1``, repeated videos, ``classnames.json`` of another size than
``MODEL.NUM_CLASSES``; not cheap: missing videos, undecodable videos and (``decode`` decodes every frame)
truncated ones, whose frames stop before the count their container states (``truncated_video``, an error:
the loader leaves out the test views past the cut and replaces the video in training). A one-frame video
or a still image passes: the loader reads it. A split read from tar shards (folder or URL) is checked by
:mod:`slowfast.data_prep.check_shards` (``decode``: every shard read and every sample decoded from memory).

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
``classnames.json`` (at a URL of shards: theirs, read as the index is; else one more than the largest
training label).
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

from slowfast.checkpoint import checkpoint_dir
from slowfast.checkpoint.errors import WEIGHTS_HINT
from slowfast.data_prep.check_ava import check_ava, label_map_ids
from slowfast.data_prep.check_kinetics import check_kinetics, classnames_size
from slowfast.data_prep.check_shards import num_classes_from_url
from slowfast.datasets.ava import annotation_path
from slowfast.datasets.shards import is_url
from slowfast.engine.tasks import build_task
from slowfast.formats.kinetics import read_video_list_rows
from slowfast.formats.problems import AvaFormatError, Problem

logger = logging.getLogger(__name__)


# Kinds that tools/run_net.py logs as warnings instead of refusing to start.
WARN_ONLY = {"num_classes_mismatch"}


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
        elif name == "charades":
            from slowfast.data_prep.check_charades import check_charades

            out += check_charades(cfg, names, cheap)
        else:
            logger.info("check_dataset: no checks for dataset %r (splits %s)", name, names)
    return out


def check_output_dir(cfg) -> List[Problem]:
    """OUTPUT_DIR (and OUTPUT_DIR/checkpoints when training) can be created and written to. A checkpoint
    folder made only for this check is removed again (training creates it when it saves), so a run that
    stops before then leaves no empty OUTPUT_DIR/checkpoints behind."""
    folders = [cfg.OUTPUT_DIR] + ([checkpoint_dir(cfg.OUTPUT_DIR)] if cfg.TRAIN.ENABLE else [])
    out = []
    for folder in folders:
        made = not os.path.isdir(folder) and folder != cfg.OUTPUT_DIR
        try:
            os.makedirs(folder, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".write_test_", dir=folder)
            os.close(fd)
            os.remove(tmp)
            if made:
                os.rmdir(folder)
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
    return [Problem(path, None, "checkpoint", f"checkpoint not found ({key}); {WEIGHTS_HINT}")
            for key, path in named if not os.path.isfile(path)]


def resolve_num_classes(cfg):
    """``cfg`` itself, or when ``MODEL.NUM_CLASSES`` is 0 a copy with it taken from the dataset (module
    docstring).  Raises ``ValueError`` naming the file when it cannot be derived."""
    if cfg.MODEL.NUM_CLASSES != 0:
        return cfg
    name = dataset_for(cfg, "train" if cfg.TRAIN.ENABLE else "test")
    if name == "ava" or build_task(cfg).is_detection:
        path = annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE)
        try:
            num = max(label_map_ids(path))
        except (OSError, AvaFormatError) as err:
            raise ValueError(f"MODEL.NUM_CLASSES 0 needs the label map: {err}") from err
        source = path
    else:
        source = os.path.join(cfg.DATA.PATH_TO_DATA_DIR, "classnames.json")
        if is_url(cfg.DATA.PATH_TO_DATA_DIR):  # shards at a URL: their classnames.json
            num, source = num_classes_from_url(cfg.DATA.PATH_TO_DATA_DIR)
        elif os.path.isfile(source):
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
