"""Kinetics checks of the dataset checker (:mod:`slowfast.data_prep.check`, whose docstring lists them):
the split CSVs (``{split}.csv`` in ``DATA.PATH_TO_DATA_DIR``) and ``classnames.json``."""
from __future__ import annotations

import json
import os
from typing import Dict, List, Sequence

from slowfast.data_prep.check_shards import check_shard_split
from slowfast.data_prep.video_io import check_video
from slowfast.datasets.shards import shard_index_problems, uses_shards
from slowfast.formats.kinetics import check_label_range, read_multi_label_rows, read_video_list_rows, resolve_video_path
from slowfast.formats.problems import Problem, missing_file


def check_kinetics_csv(csv_path: str, num_classes: int, separator: str = " ", prefix: str = "",
                       files: bool = True, decode: bool = False, multi_label: bool = False) -> List[Problem]:
    """Problems of one Kinetics split file (module docstring): the loader's row and label-range checks
    (:mod:`slowfast.datasets.validation`), collected, and repeated videos; ``files``: check the videos
    exist, ``decode``: and that every frame the container states decodes
    (:func:`~slowfast.data_prep.video_io.check_video`; a truncated video is an error, ``truncated_video``:
    the loader does not stop on it, it quietly leaves out the test views past the cut and replaces the
    video in training, so the run's numbers are not those of the listed data)."""
    missing = missing_file(csv_path, "split file")
    if missing:
        return [missing]
    out: List[Problem] = []
    if multi_label:  # DATA.MULTI_LABEL: rows "path id,id,..."
        rows = read_multi_label_rows(csv_path, separator, ValueError, out)
        out += check_label_range([(r.line, label) for r in rows for label in r.labels], num_classes, csv_path)
    else:
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
            found = (check_video(video) if decode else
                     None if os.path.isfile(video) else ("missing_video", "missing (no such file)"))
            if found:
                out.append(Problem(csv_path, number, found[0], f"video {video}: {found[1]}"))
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
        if uses_shards(cfg, split):  # tar shards (tools/make_shards.py): their index; decode: every sample
            out += shard_index_problems(cfg, split) if cheap else check_shard_split(cfg, split, decode)
            continue
        found = check_kinetics_csv(os.path.join(root, f"{split}.csv"), num_classes, cfg.DATA.PATH_LABEL_SEPARATOR,
                                   cfg.DATA.PATH_PREFIX, files=not cheap, decode=decode and not cheap,
                                   multi_label=cfg.DATA.MULTI_LABEL)
        out += [_with_hint(p, split) for p in found]
    return out


_SPLIT_HINTS = {
    "test": "the test step (TEST.ENABLE) tests this split: tools/prepare_kinetics.py writes it (the val videos when "
            "there is no test folder), or copy val.csv to test.csv, or set TEST.ENABLE False",
    "val": "validation during training reads it: add SRC/val/ and prepare again, or set TRAIN.EVAL_PERIOD 0",
}


def _with_hint(problem: Problem, split: str) -> Problem:
    """A missing split file's problem with what reads that split and how to do without it."""
    if problem.kind != "missing_file" or split not in _SPLIT_HINTS:
        return problem
    return Problem(problem.file, problem.line, problem.kind, f"{problem.message}; {_SPLIT_HINTS[split]}")
