"""Device-dependent speed settings of the training loop, chosen from the config and the device: mixed
precision (TRAIN.MIXED_PRECISION; TEST.PRECISION of the test loops, see slowfast.deploy.precision), cuDNN autotuning, torch.compile (MODEL.COMPILE), the CPU allocator,
and peak-memory figures for the stats lines. (The model's memory format, MODEL.MEMORY_FORMAT, is set by
`build_model`.)

None of these changes what is computed beyond floating-point rounding (and the reduced precision that
AMP asks for): the loss curve of a run is the same with and without them.
"""
from __future__ import annotations

import ctypes
import logging
import resource
import sys

import torch
import torch.nn as nn

from slowfast.deploy.precision import device_supports, prepare_for_bf16_training, resolve_precision

logger = logging.getLogger(__name__)


def amp_dtype(cfg, device: torch.device) -> torch.dtype | None:
    """Autocast dtype for TRAIN.MIXED_PRECISION: on CUDA bfloat16 where the GPU supports it (no loss
    scaling needed), else float16 (with a GradScaler); on a CPU with bfloat16 units (AVX512-BF16 / AMX)
    bfloat16. None = full precision (also on other CPUs, where bfloat16 would be emulated: slower; unless
    SLOWFAST_EMULATED_BF16=1, see slowfast.deploy.precision)."""
    if not cfg.TRAIN.MIXED_PRECISION or device.type not in ("cuda", "cpu"):
        return None
    if device.type == "cpu":
        return torch.bfloat16 if device_supports(torch.bfloat16, device) else None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def grad_scaler(cfg, device: torch.device) -> torch.amp.GradScaler:
    """A GradScaler that is enabled only for float16 autocast (bfloat16 has float32's range)."""
    return torch.amp.GradScaler("cuda", enabled=amp_dtype(cfg, device) == torch.float16)


def prepare_for_mixed_precision(cfg, model: nn.Module, device: torch.device) -> list[str]:
    """Under bf16 TRAIN.MIXED_PRECISION, make `model` (in place, state-dict keys kept) keep its score layers
    in float32 and, on CPU, run in float32 the 3-D convolutions whose bf16 weight gradient oneDNN gets wrong
    (slowfast.deploy.precision.prepare_for_bf16_training). Returns the log lines saying so."""
    if amp_dtype(cfg, device) != torch.bfloat16:
        return []
    counts = prepare_for_bf16_training(model, device)
    note = f"TRAIN.MIXED_PRECISION: bf16 autocast, {counts['score_layers']} score layer(s) in float32"
    if device.type == "cpu":
        note += (f"; {counts['guarded_convolutions']} 3-D convolutions run in float32 when the clip is shorter than "
                 "their temporal kernel (oneDNN's bf16 weight gradient is wrong there)")
    return [note]


def autocast(cfg, device: torch.device):
    """The autocast context of a training or evaluation step (a no-op without mixed precision)."""
    dtype = amp_dtype(cfg, device)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None)


def inference_dtype(cfg, device: torch.device) -> torch.dtype | None:
    """Autocast dtype of TEST.PRECISION on `device` (None = float32); a ConfigError naming the key where the
    device cannot run it (bf16 on a CPU without bfloat16 units, fp16 on CPU). See slowfast.deploy.precision."""
    return resolve_precision(cfg.TEST.PRECISION, device, "TEST.PRECISION")


def configure_backends(device: torch.device) -> None:
    """cuDNN autotuning on CUDA (fixed training shapes: the fastest algorithm is picked once per shape)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning every large block to the
    system: activations of video models are tens of MB each, above malloc's mmap threshold, so by default
    each one is a fresh mapping whose pages the kernel zero-fills on first touch, every iteration.
    Process-wide; returns False (and changes nothing) where glibc is not the allocator."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**30))
    except (OSError, AttributeError):
        return False


def maybe_compile(cfg, model: nn.Module) -> nn.Module:
    """torch.compile(model) when MODEL.COMPILE, else `model`. The compiled module shares the parameters
    of `model`; checkpoints are written from `model` itself (state-dict keys without a compile prefix)."""
    if not cfg.MODEL.COMPILE:
        return model
    logger.info("compiling the model with torch.compile (the first iterations are slow)")
    return torch.compile(model)


def peak_memory_stats(device: torch.device) -> dict:
    """Peak memory so far, for the stats lines: `max_rss_gib` of this process (CPU RAM) and, on CUDA,
    `peak_mem_gib` (the most memory tensors occupied on the GPU)."""
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out = {"max_rss_gib": round(rss_kib / 2**20, 3)}
    if device.type == "cuda":
        out["peak_mem_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    return out
