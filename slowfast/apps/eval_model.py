"""The model for inference on users' videos (demo, feature extraction): built, loaded, in eval mode.

:func:`load_eval_model` is the single place where that model is prepared; :func:`prepare_for_inference`
applies ``slowfast.models.optimize_for_inference`` when ``TEST.OPTIMIZE_MODEL`` (as the test loops do).
"""
from __future__ import annotations

import logging
import os

import torch

from slowfast.engine.common import device_for
from slowfast.models import build_model
from slowfast.models.optimize import inference_model
from slowfast.checkpoint import store as cu

logger = logging.getLogger(__name__)


class CheckpointMissingError(FileNotFoundError):
    """The config names no checkpoint to run (one line, says which keys were looked at)."""


def checkpoint_for(cfg) -> str:
    """``TEST.CHECKPOINT_FILE_PATH``, else the latest checkpoint in ``OUTPUT_DIR`` (what
    ``tools/run_net.py`` just trained). A demo with untrained weights would draw noise, so there is no
    further fallback."""
    path = cfg.TEST.CHECKPOINT_FILE_PATH
    if path:
        if not os.path.isfile(path):
            raise CheckpointMissingError(f"checkpoint file not found: {path} (TEST.CHECKPOINT_FILE_PATH)")
        return path
    last = cu.last_checkpoint(cfg.OUTPUT_DIR)
    if last:
        return last
    raise CheckpointMissingError(
        f"no checkpoint: TEST.CHECKPOINT_FILE_PATH is empty and {cu.checkpoint_dir(cfg.OUTPUT_DIR)} holds none; "
        "pass TEST.CHECKPOINT_FILE_PATH /path/to/model.pyth")


def prepare_for_inference(model: torch.nn.Module, cfg) -> torch.nn.Module:
    """The demo / feature model: ``optimize_for_inference(model)`` (BN folded, inference layouts)
    when ``TEST.OPTIMIZE_MODEL``, else ``model`` in eval mode; the same choice as the test loops."""
    return inference_model(cfg, model)


def load_eval_model(cfg):
    """-> ``(model, checkpoint path, device)``: ``build_model(cfg)`` with the weights of
    :func:`checkpoint_for`, prepared by :func:`prepare_for_inference`."""
    device = device_for(cfg)
    path = checkpoint_for(cfg)
    model = build_model(cfg, device=device)
    cu.load_checkpoint(path, model, checkpoint_type=cfg.TEST.CHECKPOINT_TYPE if cfg.TEST.CHECKPOINT_FILE_PATH else "pytorch")
    logger.info("weights from %s", path)
    return prepare_for_inference(model, cfg), path, device
