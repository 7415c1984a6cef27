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

Training under bfloat16 autocast (`prepare_for_bf16_training`, TRAIN.MIXED_PRECISION) keeps the same parts
in float32: the score layers (`Float32Linear`, same state-dict keys), the losses (computed in float32 by
the tasks), BN statistics (float32 buffers, accumulated in float32 from the bf16 activations). On CPU it
also works around a oneDNN bug (`Conv3dBf16Guard`): the weight gradient of a bfloat16 3-D convolution
whose input is shorter in time than its (dilated) temporal kernel comes back as garbage (NaN, Inf,
1e36) on AVX512 CPUs without bf16 units, where oneDNN emulates bf16 (its `jit_bf16:avx512_core`
backward-weights kernel; torch 2.14.1). Such convolutions run in float32 (tests/test_bf16_training.py).

SLOWFAST_EMULATED_BF16=1 (environment) lets bf16 run on a CPU without bf16 units, emulated and slower
than float32: for checking bf16 numerics on any machine, not for speed.
"""
from __future__ import annotations

import copy
import logging
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from slowfast.config.errors import ConfigError
from slowfast.models.conv import Conv3dAs2d

logger = logging.getLogger(__name__)
EMULATED_BF16_ENV = "SLOWFAST_EMULATED_BF16"
_WARNED: list = []  # the emulation warning is logged once per process

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def cpu_has_bf16_units() -> bool:
    """True when this CPU has bfloat16 arithmetic units torch uses (AVX512-BF16 or AMX tiles)."""
    cpu = getattr(torch, "cpu", None)
    checks = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(bool(check()) for check in checks if check is not None)


def emulated_bf16_forced() -> bool:
    """SLOWFAST_EMULATED_BF16: "1" = run bf16 on CPUs without bf16 units too (emulated); unset or "0" = no.
    Any other value is a ConfigError naming the variable."""
    value = os.environ.get(EMULATED_BF16_ENV, "0").strip()
    if value not in ("0", "1", ""):
        raise ConfigError(f"environment variable {EMULATED_BF16_ENV} is {value!r}; set it to 1 (allow emulated "
                          "bf16 on a CPU without bf16 units) or 0 (the default)")
    return value == "1"


def cpu_runs_bf16() -> bool:
    """Whether bf16 autocast is used on this CPU: it has bf16 units, or SLOWFAST_EMULATED_BF16=1 (with a
    warning: emulated bf16 is slower than float32)."""
    if cpu_has_bf16_units():
        return True
    if emulated_bf16_forced():
        if not _WARNED:
            _WARNED.append(EMULATED_BF16_ENV)
            logger.warning("%s=1: bf16 on a CPU without bf16 units is emulated, slower than float32 (for "
                           "checking numerics only)", EMULATED_BF16_ENV)
        return True
    return False


def device_supports(dtype: torch.dtype, device: torch.device) -> bool:
    """Whether `device` runs `dtype` autocast (natively; on CPU bf16 also emulated when forced)."""
    if device.type == "cuda":
        return dtype == torch.float16 or torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return dtype == torch.bfloat16 and cpu_runs_bf16()
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
               f"emulated and slower than float32; {EMULATED_BF16_ENV}=1 forces it, for checking numerics)")
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


class Float32Linear(nn.Linear):
    """An nn.Linear (same parameters, same state-dict keys) computed in float32 inside autocast regions too."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return F.linear(x.float(), self.weight.float(), None if self.bias is None else self.bias.float())


def conv3d_weight_grad_at_risk(conv: nn.Conv3d, x: torch.Tensor) -> bool:
    """The oneDNN bug's conditions (module docstring): CPU bf16 autocast, a weight gradient to compute, and
    an input shorter in time than the dilated temporal kernel. Measured over 984 shapes (depth 1-6, kernel
    depth 1-5, padding, stride, 16/64 channels): every wrong gradient had such an input; the rule also
    takes a few harmless cases (depth 1 with a kernel of 3, temporal stride 2)."""
    if x.device.type != "cpu" or not torch.is_autocast_enabled("cpu"):
        return False
    if torch.get_autocast_dtype("cpu") != torch.bfloat16 or not (torch.is_grad_enabled() and conv.weight.requires_grad):
        return False
    return x.shape[2] < conv.dilation[0] * (conv.kernel_size[0] - 1) + 1


class Conv3dBf16Guard:
    """Mixin of the guarded convolution classes: the forward pass in float32 where
    `conv3d_weight_grad_at_risk`, else the convolution's own (bf16 under autocast)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if conv3d_weight_grad_at_risk(self, x):
            with torch.autocast(device_type="cpu", enabled=False):
                return super().forward(x.float())
        return super().forward(x)


class GuardedConv3d(Conv3dBf16Guard, nn.Conv3d):
    """nn.Conv3d with the bf16 weight-gradient guard (same parameters and state-dict keys)."""


class GuardedConv3dAs2d(Conv3dBf16Guard, Conv3dAs2d):
    """Conv3dAs2d (slowfast.models.conv) with the bf16 weight-gradient guard."""


_GUARDED = {nn.Conv3d: GuardedConv3d, Conv3dAs2d: GuardedConv3dAs2d}


def prepare_for_bf16_training(model: nn.Module, device: torch.device) -> dict:
    """Make, in place, `model` train under bf16 autocast as the module docstring says: every head's score
    layer a Float32Linear and, on CPU, every 3-D convolution guarded. Parameters, their memory and the
    state-dict keys are kept. Returns how many modules of each kind were changed."""
    counts = {"score_layers": 0, "guarded_convolutions": 0}
    for module in model.modules():
        if type(getattr(module, "projection", None)) is nn.Linear:
            module.projection.__class__ = Float32Linear
            counts["score_layers"] += 1
        if torch.device(device).type == "cpu" and type(module) in _GUARDED:
            module.__class__ = _GUARDED[type(module)]
            counts["guarded_convolutions"] += 1
    return counts
