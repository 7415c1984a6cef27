"""Model complexity with fvcore: FLOPs per view (one multiply-add = one flop) and parameter counts."""
from __future__ import annotations

import logging

import torch
import torch.nn as nn
from fvcore.nn import FlopCountAnalysis, parameter_count


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


def model_summary(model: nn.Module, inputs: tuple) -> dict:
    """GFLOPs of one view (`inputs`, e.g. `slowfast.models.inputs.dummy_inputs` at DATA.TEST_CROP_SIZE) and
    parameters in millions."""
    return {"gflops": round(count_flops(model, inputs), 3), "params_m": round(count_params(model) / 1e6, 3)}
