"""Where the AVA files are: the frame, frame-list and annotation folders of the config."""
from __future__ import annotations

import os
from typing import Tuple

# Validation during training scores only key seconds divisible by this (PySlowFast's val split).
VAL_SECOND_STRIDE = 4


def _resolve(root: str, path: str, default: str) -> str:
    """``path`` if absolute, else ``root/path``; ``root/default`` when ``path`` is empty."""
    return os.path.join(root, path or default)


def resolve_dirs(cfg) -> Tuple[str, str, str]:
    """``(frame_dir, frame_list_dir, annotation_dir)`` by the rule in the module docstring."""
    root = cfg.DATA.PATH_TO_DATA_DIR
    return (
        _resolve(root, cfg.AVA.FRAME_DIR, "frames"),
        _resolve(root, cfg.AVA.FRAME_LIST_DIR, "frame_lists"),
        _resolve(root, cfg.AVA.ANNOTATION_DIR, "annotations"),
    )


def annotation_path(cfg, name: str) -> str:
    """AVA annotation file ``name`` (absolute, or in the annotation folder of :func:`resolve_dirs`)."""
    return name if os.path.isabs(name) else os.path.join(resolve_dirs(cfg)[2], name)

