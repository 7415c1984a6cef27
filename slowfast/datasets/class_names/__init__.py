"""Class names of the public datasets, shipped with the package, and a reader for users' own lists.

Shipped lists (sources in ``README.md`` next to them); the position in a Kinetics list is the label
index of the official CSVs (classes sorted by name), an AVA id ``k`` scores model column ``k - 1``:

=============================  ===========================================================
name (``DEMO.LABEL_FILE_PATH``)  file
=============================  ===========================================================
``kinetics_400``               ``kinetics_400.txt`` (400 names, one per line)
``kinetics_600``               ``kinetics_600.txt`` (600)
``kinetics_700``               ``kinetics_700.txt`` (700)
``ava_v2.2``                   ``ava_action_list_v2.2.pbtxt`` (all 80 AVA actions, ids 1..80)
``ava_v2.2_activitynet_2019``  ``ava_action_list_v2.2_for_activitynet_2019.pbtxt`` (the 60 evaluated)
``synthetic_motion_4``         ``synthetic_motion_4.txt``: the 4 motion directions of the built-in
                               synthetic Kinetics-format set (:func:`slowfast.datasets.synthetic.class_velocity`)
=============================  ===========================================================

Own lists (:func:`read_class_names`): a JSON object ``{name: index}`` (0-based, PySlowFast's demo
format) or a JSON list, an AVA label map ``.pbtxt`` (1-based ids), or a text file with one name per line.
"""
from __future__ import annotations

import json
import os
from typing import List, Optional, Tuple

from slowfast.formats.ava_labels import read_labelmap
from slowfast.formats.problems import AvaFormatError

HERE = os.path.dirname(os.path.abspath(__file__))
BUILTIN = {
    "kinetics_400": "kinetics_400.txt",
    "kinetics_600": "kinetics_600.txt",
    "kinetics_700": "kinetics_700.txt",
    "ava_v2.2": "ava_action_list_v2.2.pbtxt",
    "ava_v2.2_activitynet_2019": "ava_action_list_v2.2_for_activitynet_2019.pbtxt",
    "synthetic_motion_4": "synthetic_motion_4.txt",
}
# MODEL.NUM_CLASSES of a classification config -> its shipped list (used when DEMO.LABEL_FILE_PATH is "").
KINETICS_BY_NUM_CLASSES = {400: "kinetics_400", 600: "kinetics_600", 700: "kinetics_700"}
# Detection configs with this many classes get the full AVA action list by default.
AVA_NUM_CLASSES = 80


class LabelFileError(ValueError):
    """A class-name file is missing, unreadable or does not fit the model; the message names the file."""


def builtin_path(name: str) -> str:
    """Absolute path of a shipped list by its name in :data:`BUILTIN`."""
    if name not in BUILTIN:
        raise LabelFileError(f"no shipped class-name list {name!r}; choose one of {sorted(BUILTIN)}")
    return os.path.join(HERE, BUILTIN[name])


def _read_json(path: str, num_classes: int) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LabelFileError(f"{path}: not valid JSON ({e})") from None
    if isinstance(data, list):
        names = [str(n) for n in data]
    elif isinstance(data, dict):
        index = {}
        for name, idx in data.items():
            if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < len(data):
                raise LabelFileError(f"{path}: class {name!r} has index {idx!r}; indices must be 0..{len(data) - 1}")
            if idx in index:
                raise LabelFileError(f"{path}: classes {index[idx]!r} and {name!r} share index {idx}")
            index[idx] = str(name)
        names = [index[i] for i in range(len(data))]
    else:
        raise LabelFileError(f"{path}: expected a JSON object {{name: index}} or a list of names")
    return names


def _read_lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\r\n") for line in f]
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise LabelFileError(f"{path} line {number}: empty class name")
    return lines


def _read_pbtxt(path: str, num_classes: int) -> List[str]:
    try:
        name_of = read_labelmap(path).name_of()
    except AvaFormatError as e:
        raise LabelFileError(str(e)) from None
    too_big = [i for i in name_of if i > num_classes]
    if too_big:
        raise LabelFileError(f"{path}: action id {max(too_big)} but the model has {num_classes} classes "
                             f"(MODEL.NUM_CLASSES; id k is column k - 1)")
    return [name_of.get(k + 1, f"id {k + 1}") for k in range(num_classes)]


def read_class_names(path: str, num_classes: int) -> List[str]:
    """Names of the ``num_classes`` model outputs, column order, from ``path`` (see module docstring).

    A ``.pbtxt`` label map may name a subset of the ids (e.g. the 60 evaluated AVA classes); columns it
    does not name are called ``"id K"``. Other formats must name exactly ``num_classes`` classes.

    Raises:
        LabelFileError: missing file, bad format, duplicate names, or a count that differs from
            ``num_classes`` (one line naming the file).
    """
    if not os.path.isfile(path):
        raise LabelFileError(f"class-name file not found: {path}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".pbtxt":
            return _read_pbtxt(path, num_classes)
        names = _read_json(path, num_classes) if ext == ".json" else _read_lines(path)
    except UnicodeDecodeError:
        raise LabelFileError(f"{path}: not a UTF-8 text file") from None
    if len(names) != num_classes:
        raise LabelFileError(f"{path}: {len(names)} class names but the model has {num_classes} classes "
                             f"(MODEL.NUM_CLASSES)")
    seen = {}
    for i, name in enumerate(names):
        if name in seen:
            raise LabelFileError(f"{path}: class name {name!r} appears twice (classes {seen[name]} and {i})")
        seen[name] = i
    return names


def resolve_label_file(label_file: str, num_classes: int, detection: bool) -> Optional[str]:
    """Path of the class-name file for a config: ``label_file`` (a path, or a name in :data:`BUILTIN`),
    else the shipped list that fits (Kinetics by class count; AVA for 80-class detection), else None."""
    if label_file:
        return builtin_path(label_file) if label_file in BUILTIN else label_file
    if detection and num_classes == AVA_NUM_CLASSES:
        return builtin_path("ava_v2.2")
    if not detection and num_classes in KINETICS_BY_NUM_CLASSES:
        return builtin_path(KINETICS_BY_NUM_CLASSES[num_classes])
    return None


def class_names_for(cfg, detection: bool) -> Tuple[List[str], str]:
    """``(names, source)`` for ``cfg``, a detection config or not: names of the ``MODEL.NUM_CLASSES``
    outputs from ``DEMO.LABEL_FILE_PATH`` (see :func:`resolve_label_file`); without a list, ``"class K"``."""
    num_classes = cfg.MODEL.NUM_CLASSES
    path = resolve_label_file(cfg.DEMO.LABEL_FILE_PATH, num_classes, detection)
    if path is None:
        return [f"class {k}" for k in range(num_classes)], "generic names (set DEMO.LABEL_FILE_PATH)"
    return read_class_names(path, num_classes), path
