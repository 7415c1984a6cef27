"""Learning-rate schedules, evaluated at a fractional epoch (epoch + iteration / iterations per epoch).

- "cosine": half-period cosine, lr(e) = END + (BASE - END) * 0.5 * (cos(pi * e / MAX_EPOCH) + 1)
  (the report's eta * 0.5 * (cos(pi * n / n_max) + 1) with END = 0);
- "steps_with_relative_lrs": lr(e) = BASE * LRS[i] for the last i with STEPS[i] <= e (10x drops for AVA);
- both with a linear warm-up from WARMUP_START_LR to the schedule's value at WARMUP_EPOCHS.
"""
from __future__ import annotations

import math


def cosine_lr(epoch: float, base_lr: float, max_epoch: float, end_lr: float = 0.0) -> float:
    return end_lr + (base_lr - end_lr) * 0.5 * (math.cos(math.pi * epoch / max_epoch) + 1.0)


def steps_lr(epoch: float, base_lr: float, steps: list, lrs: list) -> float:
    idx = max(i for i, s in enumerate(steps) if s <= epoch) if epoch >= steps[0] else 0
    return base_lr * lrs[idx]


def policy_lr(cfg, epoch: float) -> float:
    """The schedule's lr without warm-up."""
    s = cfg.SOLVER
    if s.LR_POLICY == "cosine":
        return cosine_lr(epoch, s.BASE_LR, s.MAX_EPOCH, s.COSINE_END_LR)
    if s.LR_POLICY == "steps_with_relative_lrs":
        return steps_lr(epoch, s.BASE_LR, list(s.STEPS), list(s.LRS))
    raise ValueError(f"unknown SOLVER.LR_POLICY {s.LR_POLICY!r}")


def lr_at(cfg, epoch: float) -> float:
    """Learning rate at fractional epoch `epoch`, warm-up included."""
    warmup = cfg.SOLVER.WARMUP_EPOCHS
    if epoch < warmup:
        start, end = cfg.SOLVER.WARMUP_START_LR, policy_lr(cfg, warmup)
        return start + (end - start) * epoch / warmup
    return policy_lr(cfg, epoch)


def set_lr(optimizer, lr: float) -> None:
    """Every group's lr = `lr` x the group's `lr_scale` (1 when absent; SOLVER.HEAD_LR_MULT for the head)."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
