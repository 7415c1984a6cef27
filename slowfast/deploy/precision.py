"""Reduced-precision inference (TEST.PRECISION): which devices can run it, and a wrapper that runs a model
under autocast with the parts whose precision matters kept in float32.

bfloat16 runs on CUDA GPUs that support it and on CPUs with bfloat16 units (AVX512-BF16 or AMX, as torch
reports them); float16 on CUDA only. Elsewhere `resolve_precision` refuses with one line naming the key:
autocast still *runs* on a CPU without bfloat16 units, but emulated and slower than float32, so asking for
it there is a mistake to report, not a setting to honour silently.

Kept in float32 under autocast (`PrecisionModel`): each head's final projection and its softmax / sigmoid
(`Float32`, swapped in for the head's `projection` and `act` modules), RoIAlign and the box coordinates
(the RoI head computes them in float32 itself), batch-norm statistics (buffers stay float32; at inference
they are folded into the convolutions, whose bias is added in the accumulator).
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from slowfast.config.errors import ConfigError

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_bf16_units() -> bool:
    """True when this CPU has bfloat16 arithmetic units torch uses (AVX512-BF16 or AMX tiles)."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def device_supports(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether `device` runs `dtype` autocast natively (not emulated)."""
    if device.type == "cuda":
        return dtype == torch.float16 or torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return dtype == torch.bfloat16 and cpu_has_bf16_units()
    return False


def resolve_precision(name: str, device: torch.device, key: str = "TEST.PRECISION") -> torch.dtype | None:
    """The autocast dtype of precision `name` on `device` (None = float32); a ConfigError naming `key`
    where the device cannot run it."""
    if name not in PRECISIONS:
        raise ConfigError(f"{key} is {name!r}; choose one of {list(PRECISIONS)}")
    dtype = PRECISIONS[name]
    if dtype is None or device_supports(dtype, torch.device(device)):
        return dtype
    if torch.device(device).type == "cpu" and dtype == torch.float16:
        why = "float16 inference is for CUDA GPUs only"
    elif torch.device(device).type == "cpu":
        why = ("this CPU has no bfloat16 units (torch reports neither AVX512-BF16 nor AMX; autocast would be "
               "emulated and slower than float32)")
    else:
        why = f"{device} does not support {name}"
    raise ConfigError(f"{key} {name}: {why}; set {key} fp32")


class Float32(nn.Module):
    """Runs `inner` with autocast off on float32 inputs (output float32), inside an autocast region or not."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return self.inner(x.float())


def keep_head_in_float32(model: nn.Module) -> int:
    """Wrap, in place, every head's `projection` and `act` (the score layer and softmax / sigmoid) in
    Float32. Returns how many modules were wrapped."""
    n = 0
    for module in list(model.modules()):
        if not hasattr(module, "projection") or not isinstance(module.projection, nn.Linear):
            continue
        for name in ("projection", "act"):
            inner = getattr(module, name, None)
            if isinstance(inner, nn.Module) and not isinstance(inner, Float32):
                setattr(module, name, Float32(inner))
                n += 1
    return n


class PrecisionModel(nn.Module):
    """An eval-mode model run under `torch.autocast(dtype)` on its device, its heads kept in float32 (see
    the module docstring); scores come back float32. Same call as the wrapped model:
    `(xs, boxes=None) -> scores`. Built from a copy: the model passed in is left untouched."""

    def __init__(self, model: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.model = copy.deepcopy(model).eval()
        self.dtype = dtype
        keep_head_in_float32(self.model)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("model"), name)

    def forward(self, xs, boxes=None):
        device = xs[0].device.type
        with torch.autocast(device_type=device, dtype=self.dtype):
            out = self.model(xs) if boxes is None else self.model(xs, boxes)
        return out.float()


def with_precision(model: nn.Module, dtype: torch.dtype | None) -> nn.Module:
    """`model` itself for float32 (dtype None), else a PrecisionModel."""
    return model if dtype is None else PrecisionModel(model, dtype)
