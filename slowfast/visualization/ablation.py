"""Pathway ablations of a two-pathway SlowFast model, as context managers over forward hooks.

``ablated(model, variant)`` changes what the model computes while inside and restores it on exit:

- ``full``: nothing changed;
- ``no_fast``: the Fast pathway's input is zero (after the model's own normalisation of uint8 inputs: the
  pathway sees the mean pixel), so only what the lateral connections carry of a blank clip reaches Slow;
- ``no_lateral``: every Fast -> Slow lateral connection (``s*_fuse``, :class:`FuseFastToSlow`) adds zeros
  in place of its features, so the Slow pathway computes alone and the two meet only in the head;
- ``no_slow``: the Slow pathway's input is zero.

The hooks sit on the modules, so they work on the model that inference runs (``optimize_for_inference``
wraps a copy whose modules keep their names under ``model.``; enter ``ablated`` with the model that is called).
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn

VARIANTS = ("full", "no_fast", "no_lateral", "no_slow")
TITLES = {"full": "full model", "no_fast": "Fast input zeroed", "no_lateral": "laterals zeroed",
          "no_slow": "Slow input zeroed"}


def _zero_input_hook(pathway: int):
    def hook(_module, args):
        xs = list(args[0])
        xs[pathway] = torch.zeros_like(xs[pathway])
        return (xs, *args[1:])
    return hook


def _zero_lateral_hook(_module, args, output):
    slow_channels = args[0][0].shape[1]
    slow, fast = output
    return [torch.cat([slow[:, :slow_channels], torch.zeros_like(slow[:, slow_channels:])], dim=1), fast]


def fusion_modules(model: nn.Module) -> list[nn.Module]:
    """The lateral connections (modules named ``s<k>_fuse``) in forward order."""
    return [m for name, m in model.named_modules() if name.split(".")[-1].endswith("_fuse")
            and name.split(".")[-1][:-5].lstrip("s").isdigit()]


@contextlib.contextmanager
def ablated(model: nn.Module, variant: str) -> Iterator[nn.Module]:
    """``model`` computing ``variant`` (one of :data:`VARIANTS`) while inside."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ablation {variant!r}; choose one of {list(VARIANTS)}")
    handles = []
    if variant != "full":
        fusions = fusion_modules(model)
        stem = next((m for name, m in model.named_modules() if name.split(".")[-1] == "s1"), None)  # "model.s1" too
        if stem is None or not fusions:
            raise ValueError("pathway ablation needs a two-pathway SlowFast model (MODEL.ARCH slowfast): this model "
                             "has no 's1' stem with lateral connections 's*_fuse'")
        if variant == "no_lateral":
            handles = [m.register_forward_hook(_zero_lateral_hook) for m in fusions]
        else:
            handles = [stem.register_forward_pre_hook(_zero_input_hook(1 if variant == "no_fast" else 0))]
    try:
        yield model
    finally:
        for h in handles:
            h.remove()
