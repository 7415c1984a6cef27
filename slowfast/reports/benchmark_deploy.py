"""The CPU's instruction-set level, and inference speed per precision and runtime (`tools/benchmark.py
--what model`): the optimised PyTorch model in float32 and, where the device has them, bf16 (and fp16 on
CUDA); its ONNX export in onnxruntime and OpenVINO (float32, and OpenVINO's bf16 hint on CPUs with bf16
units) when those are installed. Each row: what, precision, runtime, clips_s, max_abs_diff (largest score
difference to the float32 PyTorch model on the same random batch), or skipped with the reason.
"""
from __future__ import annotations

import os
import tempfile

import torch

from slowfast.deploy.export import export_onnx
from slowfast.deploy.precision import PRECISIONS, cpu_has_bf16_units, device_supports, with_precision
from slowfast.deploy.runtime import ExportedModel, runtime_available
from slowfast.models import build_model, optimize_for_inference

_LEVELS = (("amx", ("amx_bf16", "amx_tile")), ("avx512_bf16", ("avx512_bf16",)), ("avx512", ("avx512f",)),
           ("avx2", ("avx2",)))


def cpu_flags(path: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (Linux), empty where they cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_isa(flags: set[str] | None = None) -> dict:
    """{"level": amx | avx512_bf16 | avx512 | avx2 | baseline, "torch_capability" (the kernels torch
    dispatches to), "bf16_units" (torch's own check, used by TEST.PRECISION)}."""
    flags = cpu_flags() if flags is None else flags
    level = next((name for name, need in _LEVELS if any(f in flags for f in need)), "baseline")
    return {"level": level, "torch_capability": torch.backends.cpu.get_cpu_capability(),
            "bf16_units": cpu_has_bf16_units()}


def _rate_and_diff(net, args, ref, iters: int, batch: int, rate, device) -> dict:
    with torch.no_grad():
        out = net(*args)
        diff = float((out.float().cpu() - ref).abs().max())
        return {"clips_s": rate(lambda: net(*args), iters, batch, device), "max_abs_diff": diff}


def bench_runtimes(cfg, iters: int, batch: int, size: int, device: torch.device, rate, random_batch) -> list[dict]:
    """One row per (precision, runtime) of inference on a random batch; see the module docstring."""
    model = build_model(cfg, device=device).eval()
    xs, extra = random_batch(cfg, size, batch, device)
    args = (xs,) if "boxes" not in extra else (xs, extra["boxes"])
    net = optimize_for_inference(model)
    with torch.no_grad():
        ref = net(*args).float().cpu()
    rows = []
    for name, dtype in PRECISIONS.items():
        row = {"what": "inference", "precision": name, "runtime": "torch", "batch": batch, "size": size}
        if dtype is not None and not device_supports(dtype, device):
            rows.append({**row, "clips_s": None, "skipped": f"{device.type} has no {name} units (TEST.PRECISION refuses it)"})
            continue
        rows.append({**row, **_rate_and_diff(with_precision(net, dtype), args, ref, iters, batch, rate, device)})
    if device.type != "cpu":
        return rows
    with tempfile.TemporaryDirectory(prefix="slowfast_bench_") as tmp:
        path = os.path.join(tmp, "model.onnx")
        exported = False
        for runtime, hint in (("onnxruntime", "fp32"), ("openvino", "fp32"), ("openvino", "bf16")):
            row = {"what": "inference", "precision": hint, "runtime": runtime, "batch": batch, "size": size}
            if not (runtime_available(runtime) and runtime_available("onnx")):
                rows.append({**row, "clips_s": None, "skipped": f"pip install {runtime} onnx"})
                continue
            if hint == "bf16" and not cpu_has_bf16_units():
                rows.append({**row, "clips_s": None, "skipped": "this CPU has no bf16 units"})
                continue
            if not exported:
                export_onnx(net, [x[:1].cpu() for x in xs], None if len(args) == 1 else args[1][:1].cpu(), path)
                exported = True
            run = ExportedModel(path, runtime, torch.get_num_threads(), precision_hint=hint)
            rows.append({**row, **_rate_and_diff(run, args, ref, iters, batch, rate, device)})
    return rows


def runtime_lines(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        name = f"{r['what']} {r['precision']} {r['runtime']}"
        if r.get("clips_s") is None:
            out.append(f"{name}: skipped ({r['skipped']})")
        else:
            out.append(f"{name}: {r['clips_s']:.3f} clips/s, max |score - fp32 torch| {r['max_abs_diff']:.1e}")
    return out
