"""Training loop: builders only (model, loaders, optimizer, schedule); no model or dataset details, and
what differs between classification and detection comes from the run's task (`engine.tasks`).

Per epoch: reproducible shuffling and augmentation seeds (a resumed run sees the same data as an
uninterrupted one), lr set every iteration from the fractional epoch, progress line with ETA and a
JSON stats line every LOG_PERIOD iterations, TensorBoard scalars, a checkpoint every
CHECKPOINT_PERIOD epochs (and after the last; every TRAIN.CHECKPOINT_ITER_PERIOD iterations too, resumed
exactly in the middle of the epoch: `engine.resume`), validation every EVAL_PERIOD epochs, training curves in
OUTPUT_DIR/plots/ after each validation and the last epoch. Epoch stats lines count the clips each process
trained on (`clips_per_rank`).
"""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch
import torch.nn as nn

from slowfast import checkpoint as cu
from slowfast.config.validation import world_size
from slowfast.datasets.build import build_loader, shuffle_loader
from slowfast.engine import acceleration as accel
from slowfast.engine.common import device_for, load_weights_for_training, setup_run
from slowfast.engine.multigrid import Schedule, build_schedule
from slowfast.engine.optim_step import OptimizerStep
from slowfast.engine.resume import IterCheckpoints, ResumePoint, reseed_main
from slowfast.engine.tasks import Task, build_task
from slowfast.models import build_model
from slowfast.models.build import prepare_for_training
from slowfast.models.norm import aggregate_sub_bn_stats, is_batch_norm
from slowfast.solver import build_optimizer, set_lr
from slowfast.utils import distributed as du
from slowfast.utils.logging import log_json_stats
from slowfast.utils.meters import TrainMeter, progress_line
from slowfast.visualization.tensorboard import TensorboardWriter
from slowfast.visualization.training_curves import update_run_plots

logger = logging.getLogger(__name__)


def seed_epoch(cfg, loader, epoch: int, start_iter: int = 0) -> None:
    """Seed everything random in epoch `epoch` from (RNG_SEED, epoch) alone; a resumed epoch starts at
    `start_iter` with the seeds an uninterrupted run had there (`engine.resume`)."""
    shuffle_loader(loader, epoch, cfg.RNG_SEED, start_iter)
    seed = cfg.RNG_SEED * 100003 + epoch * 1009 + du.get_rank()
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if start_iter:
        reseed_main(cfg, epoch, start_iter)


def set_sync_bn_groups(model: nn.Module, group_size: int) -> None:
    """Make every SyncBatchNorm synchronise within groups of `group_size` consecutive ranks
    (0 or >= world size: all processes). Every rank creates every group, as torch.distributed requires."""
    import torch.distributed as dist

    world, rank = du.get_world_size(), du.get_rank()
    if group_size <= 0 or group_size >= world:
        return
    groups = [dist.new_group(list(range(start, start + group_size))) for start in range(0, world, group_size)]
    mine = groups[rank // group_size]
    for m in model.modules():
        if isinstance(m, nn.SyncBatchNorm):
            m.process_group = mine


def freeze_bn(model: nn.Module) -> int:
    """Put every BN layer in eval mode (running statistics used and not updated); returns how many."""
    n = 0
    for m in model.modules():
        if is_batch_norm(m):
            m.eval()
            n += 1
    return n


def train_epoch(cfg, task: Task, model, loader, optimizer, scaler, meter: TrainMeter, epoch: int,
                tb: TensorboardWriter, sched: Schedule | None = None, iters: IterCheckpoints | None = None) -> dict:
    sched = sched or build_schedule(cfg, log=False)  # lr and stats keys (MULTIGRID.*: engine.multigrid)
    model.train()
    if cfg.BN.FREEZE:
        freeze_bn(model)
    device = device_for(cfg)
    meter.reset()
    n_iters = len(loader)
    start = iters.begin_epoch(epoch, meter) if iters else 0  # > 0: resumed mid-epoch (meter sums restored)
    stepper = OptimizerStep(cfg, optimizer, scaler, n_iters)  # TRAIN.GRAD_ACCUM_STEPS, SOLVER.CLIP_GRAD_*
    for it, (inputs, labels, _, extra) in enumerate(loader, start):
        data_ready = time.perf_counter()  # the wait for this batch (dt_data) ends here
        lr = sched.lr(epoch + stepper.group_start(it) / n_iters)
        set_lr(optimizer, lr)
        labels = labels.to(device, non_blocking=True)
        inputs, labels = task.augment_batch(inputs, labels, device)  # MIXUP.*: mixed clips, soft targets
        with accel.autocast(cfg, device):  # TRAIN.MIXED_PRECISION: bf16 / fp16 on CUDA
            preds = task.forward(model, inputs, extra, device)
            loss = task.loss(preds, labels)
        if not math.isfinite(loss.item()):
            raise FloatingPointError(f"loss is {loss.item()} at epoch {epoch + 1}, iteration {it + 1}; lowering "
                                     "SOLVER.BASE_LR or enabling warm-up usually helps")
        grad_norm = stepper.backward(loss, it)

        loss_v, top1, top5 = task.train_metrics(preds, labels, loss, device)
        meter.update(loss_v, lr, labels.shape[0], top1, top5, replaced=extra.get("retries", 0),
                     data_ready=data_ready, grad_norm=grad_norm)
        task.check_replaced(meter.replaced_videos, epoch)
        if (it + 1) % cfg.LOG_PERIOD == 0 or it + 1 == n_iters:
            stats = {**meter.iter_stats(epoch, it, world_size(cfg)), **accel.peak_memory_stats(device),
                     **sched.iter_stats(inputs)}
            logger.info(progress_line(stats))
            log_json_stats(stats, logger)
            tb.add_scalars({"loss": loss_v, "lr": lr, **({"top1_err": top1, "top5_err": top5} if top1 is not None
                                                          else {})}, epoch * n_iters + it, "train/")
        if iters:
            iters.after_iter(epoch, it, n_iters, meter)  # TRAIN.CHECKPOINT_ITER_PERIOD
    if iters:
        iters.end_epoch(loader, epoch)  # a resumed epoch's skipped batches readable again (precise BN)
    stats = task.name_epoch_stats({**meter.epoch_stats(epoch), **accel.peak_memory_stats(device),
                                   "clips_per_rank": du.all_gather_objects(meter.samples)})
    log_json_stats(stats, logger)
    replaced = stats[task.replaced_key]
    if replaced:
        logger.warning("epoch %d: %d %s were replaced by others (see the warnings above for their paths)",
                       epoch + 1, replaced, task.replaced_what)
    return stats


@torch.no_grad()
def eval_epoch(task: Task, model, loader, epoch: int, tb: TensorboardWriter) -> dict:
    """Single-view validation: top-1/top-5 error (classification) or AVA mAP (detection). The dataset learns
    the epoch (per-item seeds), so random val views (DATA.VAL_VIEW random) are drawn anew each epoch."""
    if hasattr(getattr(loader, "dataset", None), "set_epoch"):  # detection builds its own loader (None here)
        loader.dataset.set_epoch(epoch)
    stats = {"_type": "val_epoch", "epoch": epoch + 1, **task.evaluate(model, loader)}
    log_json_stats(stats, logger)
    tb.add_scalars({k: v for k, v in stats.items() if k not in ("_type", "epoch")}, epoch + 1, "val/")
    return stats


def update_precise_bn(cfg, task: Task, model, loader) -> None:
    """Recompute BN statistics over BN.NUM_BATCHES_PRECISE training batches (fvcore precise BN)."""
    from fvcore.nn.precise_bn import get_bn_modules, update_bn_stats

    if not get_bn_modules(model):
        return
    device = device_for(cfg)

    class _Call(nn.Module):  # precise BN calls model(batch); route the batch through `task.forward`
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, batch):
            inputs, _, _, extra = batch
            return task.forward(self.inner, inputs, extra, device)

    num = min(cfg.BN.NUM_BATCHES_PRECISE, len(loader))
    update_bn_stats(_Call(model), iter(loader), num)


def prepare_bn_for_evaluation(cfg, task: Task, model, loader, precise: bool) -> None:
    """Make the BN statistics that evaluation uses final for this epoch: precise statistics first (when
    `precise`), then sub-batch BN statistics folded into the test-time BN. In this order because precise
    BN runs the model in training mode, where sub-batch BNs update their split statistics, not the
    test-time ones (PySlowFast's `train_net.py` runs them in this order too)."""
    if precise:
        update_precise_bn(cfg, task, model, loader)
    aggregate_sub_bn_stats(model)


def train(cfg) -> None:
    """Train MODEL on TRAIN.DATASET as configured; checkpoints go to OUTPUT_DIR/checkpoints."""
    setup_run(cfg)
    task = build_task(cfg)
    accel.keep_freed_memory()  # large activations reuse freed heap instead of fresh zero-filled pages
    device = device_for(cfg)
    model = build_model(cfg, device=device)
    for note in prepare_for_training(cfg, model):  # MODEL.FROZEN_STAGES, DETACH_FINAL_FC, ACT_CHECKPOINT
        logger.info(note)
    accel.configure_backends(device)  # cudnn.benchmark on CUDA
    for note in accel.prepare_for_mixed_precision(cfg, model, device):  # bf16: fp32 score layers, CPU conv guard
        logger.info(note)
    if du.is_master() and cfg.LOG_MODEL_INFO:
        from slowfast.models.inputs import dummy_inputs
        from slowfast.utils.complexity import model_summary

        logger.info("model: %s", model_summary(model, dummy_inputs(cfg, cfg.DATA.TEST_CROP_SIZE, device=device)))
    optimizer = build_optimizer(cfg, model)
    scaler = accel.grad_scaler(cfg, device)  # enabled for fp16 autocast only
    resumed = {}  # "train_state" of a mid-epoch checkpoint (engine.resume)
    start_epoch = load_weights_for_training(cfg, model, optimizer, scaler, state_out=resumed)
    if du.get_world_size() > 1:
        if cfg.BN.NORM_TYPE == "sync_batchnorm":
            if device.type != "cuda":
                raise RuntimeError("BN.NORM_TYPE sync_batchnorm needs GPUs (NUM_GPUS > 0)")
            set_sync_bn_groups(model, cfg.BN.NUM_SYNC_DEVICES)
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device] if device.type == "cuda" else None,
            find_unused_parameters=task.find_unused_parameters)
    step_model = accel.maybe_compile(cfg, model)  # MODEL.COMPILE; checkpoints are written from `model`
    train_loader = build_loader(cfg, "train")
    val_loader = task.build_val_loader() if cfg.TRAIN.EVAL_PERIOD > 0 else None
    sched = build_schedule(cfg)  # MULTIGRID.*: phases of shapes and batches, their epochs and lr
    meter = TrainMeter(len(train_loader), sched.max_epoch, window=max(cfg.LOG_PERIOD, 1))
    tb = TensorboardWriter(cfg, enabled=cfg.TENSORBOARD.ENABLE and du.is_master())
    logger.info("training from epoch %d to %d, %d iterations per epoch, %d process(es)", start_epoch + 1,
                sched.max_epoch, len(train_loader), du.get_world_size())
    written = []  # checkpoints this run saved: the only ones TRAIN.CHECKPOINT_KEEP may delete
    resume = ResumePoint.from_checkpoint(cfg, resumed.get("train_state"), start_epoch, train_loader)
    iters = IterCheckpoints(cfg, model, optimizer, scaler, train_loader, written, resume)
    for epoch in range(start_epoch, sched.max_epoch):
        sched.start_epoch(train_loader, meter, epoch)
        seed_epoch(cfg, train_loader, epoch, resume.start_iter_of(epoch))
        train_epoch(cfg, task, step_model, train_loader, optimizer, scaler, meter, epoch, tb, iters=iters)
        last = epoch + 1 == sched.max_epoch
        eval_due = sched.eval_due(epoch)  # TRAIN.EVAL_PERIOD (MULTIGRID.EVAL_FREQ per long-cycle phase)
        precise = cfg.BN.USE_PRECISE_STATS and (eval_due or last or sched.phase_ends(epoch))  # multigrid: phase ends
        prepare_bn_for_evaluation(cfg, task, model, train_loader, precise)
        if du.is_master() and ((epoch + 1) % cfg.TRAIN.CHECKPOINT_PERIOD == 0 or last):
            path = cu.save_checkpoint(cu.checkpoint_path(cfg.OUTPUT_DIR, epoch + 1), model, optimizer, epoch + 1,
                                      cfg, scaler if scaler.is_enabled() else None)
            logger.info("saved %s", path)
            written.append(path)
            cu.prune_checkpoints(cfg.OUTPUT_DIR, cfg.TRAIN.CHECKPOINT_KEEP, written)
        du.barrier()
        if eval_due:
            eval_epoch(task, model, val_loader, epoch, tb)
        if du.is_master() and (eval_due or last):  # OUTPUT_DIR/plots/: loss, lr, top-1 / mAP from log.txt
            update_run_plots(cfg.OUTPUT_DIR)
    tb.close()
