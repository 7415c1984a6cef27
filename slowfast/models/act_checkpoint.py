"""Activation checkpointing (MODEL.ACT_CHECKPOINT): a backbone stage run under non-reentrant
`torch.utils.checkpoint`, so that only its input is kept for the backward pass and its inner activations
are recomputed there. Same gradients as without it (the recomputation runs the same operations, with the
RNG state restored), less memory, about one more forward pass of compute.

BatchNorm layers update their running statistics in the first forward pass only: during the
recomputation the stage's BN layers run with momentum 0 (running = 1 x running + 0 x batch statistic,
exact) and `num_batches_tracked` is put back afterwards, so the statistics end the step bit-identical to
a run without checkpointing (the recomputation runs the very same kernels, as checkpoint requires).
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint


@contextlib.contextmanager
def _bn_stats_frozen(module: nn.Module):
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    saved = [(m.momentum, None if m.num_batches_tracked is None else m.num_batches_tracked.clone()) for m in bns]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, tracked) in zip(bns, saved):
            m.momentum = momentum
            if tracked is not None:
                m.num_batches_tracked.copy_(tracked)


def run_checkpointed(module: nn.Module, xs: list[torch.Tensor]) -> list[torch.Tensor]:
    """`module(xs)` with its activations recomputed in the backward pass (plain call when no gradient is
    being recorded)."""
    if not torch.is_grad_enabled():
        return module(xs)
    return checkpoint(module, xs, use_reentrant=False,
                      context_fn=lambda: (contextlib.nullcontext(), _bn_stats_frozen(module)))
