"""The optimizer step of the training loop: gradient accumulation (TRAIN.GRAD_ACCUM_STEPS), gradient
clipping (SOLVER.CLIP_GRAD_VAL, SOLVER.CLIP_GRAD_L2NORM) and the gradient norm of the stats lines.

Accumulation: the loader's batches (TRAIN.BATCH_SIZE clips over all processes: "micro-batches") are taken
in groups of k = TRAIN.GRAD_ACCUM_STEPS; each micro-batch's loss is divided by the group's size before its
backward pass, and the optimizer steps once per group, so a group acts on the weights as one batch of
k x TRAIN.BATCH_SIZE clips would (exactly, for parts without BatchNorm: BN normalises, and updates its
running statistics, per micro-batch). An epoch still has len(loader) iterations, with ceil(len / k)
optimizer steps (a last, shorter group steps too, its losses divided by its own size); the lr is set
from the fractional epoch at the start of each group, so it advances per optimizer step. SOLVER.BASE_LR
is the lr of the effective batch k x TRAIN.BATCH_SIZE.

Clipping happens after the gradients are unscaled (GradScaler.unscale_, fp16 mixed precision) and
before the step: first each element to [-CLIP_GRAD_VAL, CLIP_GRAD_VAL], then the total L2 norm to
CLIP_GRAD_L2NORM (None or 0: off). `grad_norm` is the total L2 norm of the unscaled gradients before
any clipping. Non-finite gradients: under fp16 loss scaling an overflow, which the GradScaler skips (no
step, so no `grad_norm` for the stats: None); otherwise (float32, bf16) a FloatingPointError before the
step, so that the weights stay finite and the message says where it happened.
"""
from __future__ import annotations

import math

import torch


class OptimizerStep:
    """Backward pass and, at the end of each accumulation group, the optimizer step."""

    def __init__(self, cfg, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler, iters_per_epoch: int):
        self.optimizer = optimizer
        self.scaler = scaler
        self.k = int(cfg.TRAIN.GRAD_ACCUM_STEPS)
        self.n = iters_per_epoch
        self.clip_val = float(cfg.SOLVER.CLIP_GRAD_VAL or 0.0)
        self.clip_norm = float(cfg.SOLVER.CLIP_GRAD_L2NORM or 0.0)

    def group_start(self, it: int) -> int:
        """First iteration of the accumulation group of iteration `it` (the lr is set there)."""
        return it - it % self.k

    def steps_at(self, it: int) -> bool:
        return (it + 1) % self.k == 0 or it + 1 == self.n

    def _params(self) -> list[torch.Tensor]:
        return [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]

    def backward(self, loss: torch.Tensor, it: int) -> float | None:
        """Backward pass of iteration `it`'s loss; on a group's last iteration also unscale, measure,
        clip and step. Returns the gradient norm before clipping on a step, None otherwise."""
        start = self.group_start(it)
        if it == start:
            self.optimizer.zero_grad(set_to_none=True)
        size = min(self.k, self.n - start)
        self.scaler.scale(loss / size if size > 1 else loss).backward()
        if not self.steps_at(it):
            return None
        self.scaler.unscale_(self.optimizer)
        params = self._params()
        norm = torch.nn.utils.get_total_norm([p.grad for p in params]) if params else torch.zeros(())
        if not math.isfinite(float(norm)) and not self.scaler.is_enabled():
            bad = sum(not bool(p.grad.isfinite().all()) for p in params)
            raise FloatingPointError(f"gradients are not finite ({bad} of {len(params)} parameter tensors) at iteration "
                                     f"{it + 1} of the epoch; the weights were not updated (under TRAIN.MIXED_PRECISION "
                                     "see GETTING_STARTED.md, Precision; else lowering SOLVER.BASE_LR usually helps)")
        if self.clip_val > 0:
            torch.nn.utils.clip_grad_value_(params, self.clip_val)
        if self.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(params, self.clip_norm)
        self.scaler.step(self.optimizer)  # skipped by an enabled GradScaler when the norm is not finite
        self.scaler.update()
        return float(norm) if math.isfinite(float(norm)) else None
