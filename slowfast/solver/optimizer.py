"""Optimizer: SGD (momentum, optional Nesterov) or AdamW, with BN parameters in their own group
(weight decay BN.WEIGHT_DECAY, usually 0) and all other parameters at SOLVER.WEIGHT_DECAY."""
from __future__ import annotations

import torch
import torch.nn as nn

from slowfast.models.norm import is_batch_norm


def _is_norm(module: nn.Module) -> bool:
    return is_batch_norm(module) or isinstance(module, (nn.LayerNorm, nn.GroupNorm))


def param_groups(model: nn.Module, weight_decay: float, bn_weight_decay: float) -> list[dict]:
    """Split trainable parameters into [non-BN (weight_decay), BN (bn_weight_decay)] groups."""
    bn, other, seen = [], [], set()
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            (bn if _is_norm(module) else other).append(p)
    groups = [{"params": other, "weight_decay": weight_decay, "name": "non_bn"}]
    if bn:
        groups.append({"params": bn, "weight_decay": bn_weight_decay, "name": "bn"})
    return groups


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.SOLVER.WEIGHT_DECAY, cfg.BN.WEIGHT_DECAY)
    s = cfg.SOLVER
    if s.OPTIMIZING_METHOD == "sgd":
        return torch.optim.SGD(groups, lr=s.BASE_LR, momentum=s.MOMENTUM, dampening=s.DAMPENING,
                               nesterov=s.NESTEROV and s.MOMENTUM > 0 and s.DAMPENING == 0)
    if s.OPTIMIZING_METHOD == "adamw":
        return torch.optim.AdamW(groups, lr=s.BASE_LR)
    raise ValueError(f"unknown SOLVER.OPTIMIZING_METHOD {s.OPTIMIZING_METHOD!r}")
