"""Optimizer: SGD (momentum, optional Nesterov) or AdamW, with BN parameters in their own group
(weight decay BN.WEIGHT_DECAY, usually 0) and all other parameters at SOLVER.WEIGHT_DECAY.

With SOLVER.HEAD_LR_MULT != 1 the head's parameters (names starting `head.`) get groups of their own with
`lr_scale` = HEAD_LR_MULT; `slowfast.solver.set_lr` sets every group's lr to schedule lr x its `lr_scale`,
so the multiplier holds through warm-up and the whole schedule. (With the default 1 the groups are the
same as before, so optimizer states of older checkpoints still load.) Frozen parameters
(requires_grad False) are in no group."""
from __future__ import annotations

import torch
import torch.nn as nn

from slowfast.config.errors import ConfigError
from slowfast.models.norm import is_batch_norm


def _is_norm(module: nn.Module) -> bool:
    return is_batch_norm(module) or isinstance(module, (nn.LayerNorm, nn.GroupNorm))


HEAD_PREFIX = "head."


def param_groups(model: nn.Module, weight_decay: float, bn_weight_decay: float,
                 head_lr_mult: float = 1.0) -> list[dict]:
    """Split trainable parameters into [non-BN (weight_decay), BN (bn_weight_decay)] groups; with
    `head_lr_mult` != 1, the head's parameters form further groups "head_non_bn" / "head_bn" with that
    `lr_scale` (the others have lr_scale 1)."""
    split_head = head_lr_mult != 1.0
    buckets: dict[tuple[bool, bool], list] = {}
    seen = set()
    for mod_name, module in model.named_modules():
        in_head = split_head and (mod_name + ".").startswith(HEAD_PREFIX)
        for p in module.parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            buckets.setdefault((in_head, _is_norm(module)), []).append(p)
    if split_head and not any(head for head, _ in buckets):
        raise ConfigError(f"SOLVER.HEAD_LR_MULT is {head_lr_mult} but the model has no trainable parameter under "
                         f"{HEAD_PREFIX!r}")
    groups = [{"params": buckets.get((False, False), []), "weight_decay": weight_decay, "name": "non_bn",
               "lr_scale": 1.0}]
    for (head, norm), params in sorted(buckets.items()):
        if (head, norm) != (False, False):
            groups.append({"params": params, "weight_decay": bn_weight_decay if norm else weight_decay,
                           "name": ("head_" if head else "") + ("bn" if norm else "non_bn"),
                           "lr_scale": head_lr_mult if head else 1.0})
    return groups


def build_optimizer(cfg, model: nn.Module) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg.SOLVER.WEIGHT_DECAY, cfg.BN.WEIGHT_DECAY, cfg.SOLVER.HEAD_LR_MULT)
    s = cfg.SOLVER
    if s.OPTIMIZING_METHOD == "sgd":
        return torch.optim.SGD(groups, lr=s.BASE_LR, momentum=s.MOMENTUM, dampening=s.DAMPENING,
                               nesterov=s.NESTEROV and s.MOMENTUM > 0 and s.DAMPENING == 0)
    if s.OPTIMIZING_METHOD == "adamw":
        return torch.optim.AdamW(groups, lr=s.BASE_LR)
    raise ValueError(f"unknown SOLVER.OPTIMIZING_METHOD {s.OPTIMIZING_METHOD!r}")
