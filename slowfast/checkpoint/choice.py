"""Which checkpoint a test, a demo or a feature run uses: one policy for every path that evaluates weights.

In order: ``TEST.CHECKPOINT_FILE_PATH`` (of ``TEST.CHECKPOINT_TYPE``), else the newest checkpoint in
``OUTPUT_DIR/checkpoints`` (what ``tools/run_net.py`` just trained), else ``TRAIN.CHECKPOINT_FILE_PATH``
(of ``TRAIN.CHECKPOINT_TYPE``: the weights a fine-tuning run starts from). ``TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE``
applies to the two named files only, never to what lies in OUTPUT_DIR.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from slowfast.checkpoint.errors import WEIGHTS_HINT, CheckpointMissingError
from slowfast.checkpoint.store import checkpoint_dir, last_checkpoint


class CheckpointChoice(NamedTuple):
    path: str
    checkpoint_type: str  # "pytorch" or "caffe2"
    allow_unsafe: bool
    source: str  # the config key (or OUTPUT_DIR) the path came from


def checkpoint_for_testing(cfg) -> CheckpointChoice:
    """The checkpoint to evaluate (see the module docstring); a named file that does not exist, or no
    checkpoint at all, is a CheckpointMissingError naming the keys looked at."""
    unsafe = bool(cfg.TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE)
    if cfg.TEST.CHECKPOINT_FILE_PATH:
        return _named(cfg.TEST.CHECKPOINT_FILE_PATH, cfg.TEST.CHECKPOINT_TYPE, unsafe, "TEST.CHECKPOINT_FILE_PATH")
    last = last_checkpoint(cfg.OUTPUT_DIR)
    if last:
        return CheckpointChoice(last, "pytorch", False, "OUTPUT_DIR")
    if cfg.TRAIN.CHECKPOINT_FILE_PATH:
        return _named(cfg.TRAIN.CHECKPOINT_FILE_PATH, cfg.TRAIN.CHECKPOINT_TYPE, unsafe, "TRAIN.CHECKPOINT_FILE_PATH")
    raise CheckpointMissingError(
        f"no checkpoint to use: TEST.CHECKPOINT_FILE_PATH is empty, {checkpoint_dir(cfg.OUTPUT_DIR)} holds none "
        f"and TRAIN.CHECKPOINT_FILE_PATH is empty; pass TEST.CHECKPOINT_FILE_PATH /path/to/model.pyth ({WEIGHTS_HINT})")


def _named(path: str, checkpoint_type: str, allow_unsafe: bool, key: str) -> CheckpointChoice:
    if not os.path.isfile(path):
        raise CheckpointMissingError(f"checkpoint file not found: {path} ({key}); {WEIGHTS_HINT}")
    return CheckpointChoice(path, checkpoint_type, allow_unsafe, key)
