"""Mid-epoch checkpoints and the exact resume from one (TRAIN.CHECKPOINT_ITER_PERIOD).

Every TRAIN.CHECKPOINT_ITER_PERIOD iterations inside an epoch (never after its last one: the epoch's own
checkpoint follows), the master process writes `checkpoint_epoch_NNNNN_iter_IIIIII.pyth` (N completed epochs,
I iterations of the next one done; `checkpoint.iteration_checkpoint_path`) holding, beside the usual model /
optimizer / epoch / cfg, a "train_state":

    epoch            the 0-based epoch in progress (= the file's completed epochs)
    next_iter        the iteration to continue at
    iters_per_epoch  len(loader) when it was saved
    layout           what the rest of the epoch's order depends on: processes, per-process batch, items in
                     the training set, the dataset's class and folder, DATA_LOADER.NUM_WORKERS
    meter            the epoch's running sums (loss, errors, clips), so epoch statistics cover the whole epoch

Resuming from it (TRAIN.AUTO_RESUME, or TRAIN.CHECKPOINT_FILE_PATH) continues at `next_iter` of that epoch:
`datasets.build.shuffle_loader(loader, epoch, seed, start_iter)` skips the batches already trained on (the
same per-(seed, epoch) permutation, items seeded per item), the lr follows the iteration as before, and the
meters, progress line and ETA count from there. So the parameters after the epoch are those of an
uninterrupted run with the same TRAIN.CHECKPOINT_ITER_PERIOD: at each such boundary both runs reseed the
main process's random generators from (RNG_SEED, epoch, iteration, rank) (mixup, dropout draws).

Layout rule: a different number of processes, per-process batch, training-set size or dataset class would
make "iteration k" mean other samples, so resuming is refused in one line saying what to set (or to move the
mid-epoch file aside and restart that epoch from its start). A different NUM_WORKERS or data folder is only
logged: the order and (with per-item seeds, Kinetics-format datasets) the items stay the same.
"""
from __future__ import annotations

import logging

from slowfast import checkpoint as cu
from slowfast.datasets.resume_sampler import ResumableDistributedSampler
from slowfast.datasets.seeding import seed_generators
from slowfast.utils import distributed as du
from slowfast.utils.seeds import derive_seed

logger = logging.getLogger(__name__)

_STRICT = ("world_size", "batch_per_process", "items", "dataset")  # a difference changes the rest of the epoch
_METER_SCALARS = ("loss", "top1", "top5", "grad_norm")


def data_layout(cfg, loader) -> dict:
    """What the order of an epoch's remaining batches depends on (stored in mid-epoch checkpoints)."""
    items = len(loader.dataset) if hasattr(loader.dataset, "__len__") else None
    return {"world_size": du.get_world_size(), "batch_per_process": loader.batch_size, "items": items,
            "dataset": type(loader.dataset).__name__, "data_dir": cfg.DATA.PATH_TO_DATA_DIR,
            "num_workers": cfg.DATA_LOADER.NUM_WORKERS}


def reseed_main(cfg, epoch: int, next_iter: int) -> None:
    """Seed the main process's torch / numpy / random generators from (RNG_SEED, epoch, iteration, rank)."""
    seed_generators(derive_seed("iteration", cfg.RNG_SEED, epoch, next_iter, du.get_rank()))


def meter_state(meter) -> dict:
    """The running sums of a TrainMeter (what its epoch statistics average)."""
    out = {"samples": meter.samples, "iters": meter.iters, "replaced_videos": meter.replaced_videos}
    for name in _METER_SCALARS:
        m = getattr(meter, name)
        out[name] = [m.total, m.count]
    return out


def restore_meter(meter, state: dict) -> None:
    for key in ("samples", "iters", "replaced_videos"):
        setattr(meter, key, int(state.get(key, 0)))
    for name in _METER_SCALARS:
        total, count = state.get(name, (0.0, 0))
        m = getattr(meter, name)
        m.total, m.count = float(total), int(count)


class ResumePoint:
    """Where a run starts: `start_iter` of epoch `epoch` (0 and the first epoch: an ordinary start)."""

    def __init__(self, epoch: int = 0, start_iter: int = 0, meter: dict | None = None):
        self.epoch, self.start_iter, self.meter = epoch, start_iter, meter

    @classmethod
    def from_checkpoint(cls, cfg, train_state: dict | None, start_epoch: int, loader) -> "ResumePoint":
        """The resume point of a loaded checkpoint's "train_state" (None: the start of `start_epoch`);
        a CheckpointError (one line) when the run's data layout differs from the checkpoint's."""
        if not train_state or not train_state.get("next_iter"):
            return cls(start_epoch)
        epoch, k, n = int(train_state["epoch"]), int(train_state["next_iter"]), int(train_state["iters_per_epoch"])
        if epoch != start_epoch:
            raise cu.CheckpointError(f"the mid-epoch checkpoint's train_state says epoch {epoch + 1} but the file "
                                     f"stores {start_epoch} completed epochs: it was not written by this project")
        saved, now = train_state.get("layout", {}), data_layout(cfg, loader)
        differ = [f"{key} {saved.get(key)} -> {now[key]}" for key in _STRICT if saved.get(key) != now[key]]
        where = f"epoch {epoch + 1}, iteration {k + 1} of {n}"
        if differ or n != len(loader):
            differ += [] if n == len(loader) else [f"iterations per epoch {n} -> {len(loader)}"]
            raise cu.CheckpointError(
                f"cannot resume in the middle of an epoch ({where}) with another data layout: {', '.join(differ)}; "
                "run with the checkpoint's processes (NUM_GPUS / NUM_PROCESSES x NUM_SHARDS) and TRAIN.BATCH_SIZE, "
                "or move the mid-epoch checkpoint (checkpoint_epoch_*_iter_*.pyth) aside to restart that epoch")
        for key in ("num_workers", "data_dir"):
            if saved.get(key) != now[key]:
                logger.warning("resuming mid-epoch with %s %s (was %s): same sample order; items are seeded per item "
                               "(Kinetics-format datasets), so they are the same too", key, now[key], saved.get(key))
        logger.info("resuming in the middle of an epoch: %s", where)
        return cls(epoch, k, train_state.get("meter"))

    def start_iter_of(self, epoch: int) -> int:
        return self.start_iter if epoch == self.epoch else 0


class IterCheckpoints:
    """Mid-epoch checkpoints (TRAIN.CHECKPOINT_ITER_PERIOD) of a training run, and its resume point."""

    def __init__(self, cfg, model, optimizer, scaler, loader, written: list, resume: ResumePoint):
        self.cfg, self.model, self.optimizer, self.scaler = cfg, model, optimizer, scaler
        self.period = cfg.TRAIN.CHECKPOINT_ITER_PERIOD
        self.layout = data_layout(cfg, loader)
        self.written, self.resume = written, resume

    def begin_epoch(self, epoch: int, meter) -> int:
        """The iteration epoch `epoch` starts at; on a resumed epoch the meter gets the checkpoint's sums."""
        start = self.resume.start_iter_of(epoch)
        if start and self.resume.meter:
            restore_meter(meter, self.resume.meter)
        return start

    def end_epoch(self, loader, epoch: int) -> None:
        """Give a resumed epoch's loader its whole epoch back (precise BN reads it from its first batch on, as
        in an uninterrupted run); the sampler's order and the loader's generator are left as they are."""
        if not self.resume.start_iter_of(epoch):
            return
        sampler = getattr(loader.batch_sampler, "sampler", loader.sampler)
        if isinstance(sampler, ResumableDistributedSampler):
            sampler.skip = 0
        if hasattr(loader.dataset, "set_epoch"):
            loader.dataset.set_epoch(epoch, 0)

    def after_iter(self, epoch: int, it: int, n_iters: int, meter) -> None:
        """After iteration `it`: at a period boundary inside the epoch, save (master) and reseed (every rank)."""
        k = it + 1
        if self.period <= 0 or k % self.period or k >= n_iters:
            return
        if du.is_master():
            state = {"epoch": epoch, "next_iter": k, "iters_per_epoch": n_iters, "layout": self.layout,
                     "meter": meter_state(meter)}
            path = cu.save_checkpoint(cu.iteration_checkpoint_path(self.cfg.OUTPUT_DIR, epoch, k), self.model,
                                      self.optimizer, epoch, self.cfg,
                                      self.scaler if self.scaler.is_enabled() else None, {"train_state": state})
            logger.info("saved %s (epoch %d, %d of %d iterations done)", path, epoch + 1, k, n_iters)
            self.written.append(path)
            cu.prune_checkpoints(self.cfg.OUTPUT_DIR, self.cfg.TRAIN.CHECKPOINT_KEEP, self.written)
        reseed_main(self.cfg, epoch, k)
