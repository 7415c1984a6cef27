"""Pieces shared by the training and test loops: per-process set-up, the device, a batch's clips on
the device, and checkpoint selection."""
from __future__ import annotations

import logging
import os
import random

import numpy as np
import torch

from slowfast import checkpoint as cu
from slowfast.checkpoint.cfg_diff import FINE_TUNE_EXEMPT_KEYS
from slowfast.solver import multigrid as mgs
from slowfast.utils import distributed as du
from slowfast.utils.logging import setup_logging

logger = logging.getLogger(__name__)


def setup_run(cfg) -> None:
    """Logging (master to stdout + OUTPUT_DIR/log.txt), seeds, output folder."""
    os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    setup_logging(cfg.OUTPUT_DIR, du.get_rank())
    seed = cfg.RNG_SEED + du.get_rank()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if cfg.NUM_GPUS == 0:
        # Two CPU processes on a small machine oversubscribe cores with the default thread count.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, du.get_world_size())))


def device_for(cfg) -> torch.device:
    if cfg.NUM_GPUS > 0 and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def to_device(inputs, device: torch.device) -> list[torch.Tensor]:
    """A batch's pathway list on `device` (what the tasks' `model_inputs` start from). uint8 training clips
    (DATA.NORMALIZE_ON_DEVICE) cross as uint8, 4x less data, and the model normalises them."""
    return [x.to(device, non_blocking=True) for x in inputs]


def load_weights_for_training(cfg, model, optimizer, scaler=None, state_out: dict | None = None) -> int:
    """Resume from OUTPUT_DIR (TRAIN.AUTO_RESUME) or initialise from TRAIN.CHECKPOINT_FILE_PATH.

    Auto-resume takes the newest checkpoint that can be read (`cu.resume_latest`: unreadable newer ones
    are reported and renamed aside, nothing is fully unpickled); temporary files of an interrupted save
    are removed first. Both compare the stored config with `cfg` (`cu.load_checkpoint`); fine-tuning from
    TRAIN.CHECKPOINT_FILE_PATH exempts the head and task keys (`FINE_TUNE_EXEMPT_KEYS`). A stored epoch past
    SOLVER.MAX_EPOCH is a CheckpointError (it would train nothing). Returns the number of completed epochs
    to start after; `state_out` receives a mid-epoch checkpoint's "train_state" (`engine.resume`), not when
    TRAIN.CHECKPOINT_EPOCH_RESET starts anew.
    """
    if du.is_master():
        cu.remove_stale_temp_files(cfg.OUTPUT_DIR)
    du.barrier()
    last, epoch = (cu.resume_latest(cfg.OUTPUT_DIR, model, optimizer, scaler, set_aside_unreadable=du.is_master(),
                                    cfg=cfg, state_out=state_out) if cfg.TRAIN.AUTO_RESUME else (None, 0))
    if last:
        check_epoch_in_schedule(cfg, last, epoch, "use another OUTPUT_DIR to train anew")
        logger.info("resumed from %s (epoch %d done)", last, epoch)
        return epoch
    path = cfg.TRAIN.CHECKPOINT_FILE_PATH
    if path:
        reset = cfg.TRAIN.CHECKPOINT_EPOCH_RESET
        epoch = cu.load_checkpoint(
            path, model, None if reset else optimizer, checkpoint_type=cfg.TRAIN.CHECKPOINT_TYPE,
            allow_partial=cfg.TRAIN.CHECKPOINT_PARTIAL_LOAD, expected_dropped=("head.",),
            inflate=cfg.TRAIN.CHECKPOINT_INFLATE, allow_unsafe=cfg.TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE,
            cfg=cfg, cfg_exempt=FINE_TUNE_EXEMPT_KEYS, state_out=None if reset else state_out,
        )
        if not reset:
            check_epoch_in_schedule(cfg, path, epoch, "set TRAIN.CHECKPOINT_EPOCH_RESET True to start at epoch 0")
        logger.info("initialised from %s%s", path, " (epoch reset)" if reset else f" (epoch {epoch})")
        return 0 if reset else epoch
    return 0


def check_epoch_in_schedule(cfg, path: str, epoch: int, remedy: str) -> None:
    """A CheckpointError (one line) when a training run would start after its last epoch: the stored
    epoch of `path` is past SOLVER.MAX_EPOCH (test-only runs, TRAIN.ENABLE False, are not checked)."""
    last = mgs.schedule(cfg)[-1].end if mgs.enabled(cfg) else cfg.SOLVER.MAX_EPOCH  # MULTIGRID.*: its epochs
    if cfg.TRAIN.ENABLE and epoch > last:
        raise cu.CheckpointError(
            f"{path} stores epoch {epoch}, past this run's schedule (SOLVER.MAX_EPOCH {cfg.SOLVER.MAX_EPOCH}"
            f"{f', multigrid: {last} epochs' if last != cfg.SOLVER.MAX_EPOCH else ''}): "
            f"training would do nothing; raise SOLVER.MAX_EPOCH or {remedy}")


def load_weights_for_testing(cfg, model) -> str:
    """Load the checkpoint that `slowfast.checkpoint.checkpoint_for_testing` chooses into `model` (its
    config compared with the run's); returns the path used."""
    choice = cu.checkpoint_for_testing(cfg)
    cu.load_checkpoint(choice.path, model, checkpoint_type=choice.checkpoint_type, allow_unsafe=choice.allow_unsafe,
                       cfg=cfg)
    logger.info("testing weights from %s", choice.path)
    return choice.path
