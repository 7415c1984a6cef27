"""Model complexity with fvcore: FLOPs per view (one multiply-add = one flop) and parameter counts."""
from __future__ import annotations

import logging

import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis, parameter_count

from slowfast.config.loader import num_pathways


def dummy_inputs(cfg, size: int, batch: int = 1, device: str | torch.device = "cpu"):
    """Inputs for one view of `size x size` pixels: the pathway list (and boxes for detection).

    The widest pathway gets DATA.NUM_FRAMES frames; the Slow pathway NUM_FRAMES / alpha.
    """
    t = cfg.DATA.NUM_FRAMES
    if num_pathways(cfg) == 2:
        frames = [t // cfg.SLOWFAST.ALPHA, t]
    else:
        frames = [t]
    xs = [torch.zeros(batch, cfg.DATA.INPUT_CHANNEL_NUM[p], n, size, size, device=device) for p, n in enumerate(frames)]
    if cfg.DETECTION.ENABLE:
        boxes = torch.tensor([[b, 0.0, 0.0, size - 1.0, size - 1.0] for b in range(batch)], device=device)
        return (xs, boxes)
    return (xs,)


def count_flops(model: nn.Module, inputs: tuple, by_module: bool = False):
    """GFLOPs of one forward pass on `inputs` (fvcore convention: a multiply-add counts as one flop)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            analysis = FlopCountAnalysis(model, inputs)
            analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            logging.getLogger("fvcore").setLevel(logging.ERROR)
            total = analysis.total() / 1e9
            if by_module:
                return total, {k: v / 1e9 for k, v in analysis.by_module().items()}
            return total
    finally:
        model.train(was_training)


def count_params(model: nn.Module) -> int:
    return parameter_count(model)[""]


def model_summary(model: nn.Module, cfg, size: int | None = None) -> dict:
    """GFLOPs per view at `size` (default DATA.TEST_CROP_SIZE) and parameters in millions."""
    size = size or cfg.DATA.TEST_CROP_SIZE
    device = next(model.parameters()).device
    gflops = count_flops(model, dummy_inputs(cfg, size, device=device))
    return {"gflops": round(gflops, 3), "params_m": round(count_params(model) / 1e6, 3)}
