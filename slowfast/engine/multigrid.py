"""Multigrid training in the training loop (MULTIGRID.*; schedule: `solver.multigrid`, batches:
`datasets.multigrid`): the number of epochs, each long-cycle phase set on the training loader when it
begins, the phase's learning rate, the validation epochs (MULTIGRID.EVAL_FREQ), and which epochs end a phase (precise BN statistics are recomputed
there, at the shape the next epochs leave behind, when BN.USE_PRECISE_STATS is on).

The model needs no change between shapes: MULTIGRID.* requires MODEL.HEAD_POOLING global (the head pools
whatever size reaches it) and BN.NORM_TYPE stays as configured (PySlowFast instead rebuilds the model
with sub-batch / sync BN per phase from MULTIGRID.BN_BASE_SIZE).
"""
from __future__ import annotations

import logging

from slowfast.config.validation import world_size
from slowfast.datasets import multigrid as mgd
from slowfast.solver import lr_at
from slowfast.solver import multigrid as mgs

logger = logging.getLogger(__name__)


class Schedule:
    """Epochs and lr of a run; `Multigrid` when MULTIGRID.LONG_CYCLE / SHORT_CYCLE is on."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.max_epoch = cfg.SOLVER.MAX_EPOCH

    def start_epoch(self, loader, meter, epoch: int) -> None:
        """Prepare `loader` for epoch `epoch` (0-based)."""

    def lr(self, epoch: float) -> float:
        return lr_at(self.cfg, epoch)

    def phase_ends(self, epoch: int) -> bool:
        return False

    def eval_due(self, epoch: int) -> bool:
        """Validate after epoch `epoch` (0-based): every TRAIN.EVAL_PERIOD epochs and after the last."""
        period = self.cfg.TRAIN.EVAL_PERIOD
        return period > 0 and ((epoch + 1) % period == 0 or epoch + 1 == self.max_epoch)

    def iter_stats(self, inputs) -> dict:
        """Extra keys of the training stats lines."""
        return {}


class Multigrid(Schedule):
    def __init__(self, cfg, log: bool = True):
        super().__init__(cfg)
        self.phases = mgs.schedule(cfg)
        self.max_epoch = self.phases[-1].end
        self.current = None
        for line in mgs.describe(self.phases) if log else []:
            logger.info(line)

    def start_epoch(self, loader, meter, epoch: int) -> None:
        phase = mgs.phase_at(self.phases, epoch)
        if phase is not self.current:
            mgd.apply_phase(self.cfg, loader.dataset, phase)
            pattern = mgd.batch_pattern(self.cfg, phase, world_size(self.cfg))
            loader.batch_sampler.set_pattern(pattern)
            logger.info("epoch %d: multigrid phase of %d frames x %d^2, batches (crop, clips per process) %s, "
                        "%d iterations per epoch", epoch + 1, phase.frames, phase.crop, pattern, len(loader))
            self.current = phase
        meter.epoch_iters, meter.max_epoch = len(loader), self.max_epoch

    def lr(self, epoch: float) -> float:
        return mgs.multigrid_lr(self.cfg, self.phases, epoch)

    def phase_ends(self, epoch: int) -> bool:
        return any(p.end == epoch + 1 for p in self.phases)

    def eval_due(self, epoch: int) -> bool:
        """Long cycle with TRAIN.EVAL_PERIOD > 0: about MULTIGRID.EVAL_FREQ validations per phase, the last at
        its end (PySlowFast's rule), and after the last epoch."""
        if not self.cfg.MULTIGRID.LONG_CYCLE or self.cfg.TRAIN.EVAL_PERIOD <= 0:
            return super().eval_due(epoch)
        p = mgs.phase_at(self.phases, epoch)
        period = max((p.end - p.start) // self.cfg.MULTIGRID.EVAL_FREQ + 1, 1)
        return (p.end - 1 - epoch) % period == 0 or epoch + 1 == self.max_epoch

    def iter_stats(self, inputs) -> dict:
        """The shape of the batch (clips, channels, frames, height, width per pathway)."""
        return {"clip_shape": [list(x.shape) for x in inputs]}


def build_schedule(cfg, log: bool = True) -> Schedule:
    """The run's schedule (lr and stats keys depend on the config alone; `log`: list the phases)."""
    return Multigrid(cfg, log) if mgs.enabled(cfg) else Schedule(cfg)
