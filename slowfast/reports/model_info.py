"""Per-stage output shapes, GFLOPs per view and parameter counts of a configured model."""
from __future__ import annotations

import torch
import torch.nn as nn

from slowfast.models.inputs import dummy_inputs
from slowfast.utils.complexity import count_flops, count_params


def stage_shapes(model: nn.Module, cfg, size: int) -> list[tuple[str, list[tuple[int, ...]]]]:
    """Run one view of `size x size` and return [(stage name, [per-pathway C x T x H x W]), ...]."""
    inputs = dummy_inputs(cfg, size)
    xs = list(inputs[0])
    rows = [("input", [tuple(x.shape[1:]) for x in xs])]
    model.eval()
    with torch.no_grad():
        for name, module in model.stages():
            xs = module(xs)
            rows.append((name, [tuple(x.shape[1:]) for x in xs]))
    return rows


def describe(model: nn.Module, cfg, size: int) -> dict:
    """Shapes per stage, GFLOPs per view at `size`, parameters (millions)."""
    return {
        "stages": stage_shapes(model, cfg, size),
        "gflops": count_flops(model, dummy_inputs(cfg, size)),
        "params_m": count_params(model) / 1e6,
    }


def format_description(info: dict, size: int) -> str:
    lines = [f"{'stage':<10} output shapes (C x T x H x W per pathway) at {size}x{size}"]
    for name, shapes in info["stages"]:
        lines.append(f"{name:<10} " + "  ".join("x".join(map(str, s)) for s in shapes))
    lines.append(f"GFLOPs per view: {info['gflops']:.2f}")
    lines.append(f"parameters: {info['params_m']:.2f} M")
    return "\n".join(lines)


def description_json(info: dict, size: int, config: str | None = None) -> dict:
    """`describe`'s result as plain JSON values: GFLOPs and parameters (3 decimals), shapes per stage."""
    return {
        "config": config, "size": size,
        "gflops": round(info["gflops"], 3), "params_m": round(info["params_m"], 3),
        "stages": [{"name": name, "shapes": [list(s) for s in shapes]} for name, shapes in info["stages"]],
    }
