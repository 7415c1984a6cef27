"""Fine-tuning controls on a built VideoNet: frozen stages (MODEL.FROZEN_STAGES) and the linear probe
(MODEL.DETACH_FINAL_FC). Applied to training runs only (`slowfast.models.build.prepare_for_training`), so
that testing, feature extraction and Grad-CAM see the plain model.

Stage numbering (MMAction2's `frozen_stages`, shifted by one so that 0 means "nothing frozen"):
N = 1 freezes the stem `s1`; N = k (2..5) freezes `s1`..`sk`, with each frozen residual stage `sk` also its
incoming Fast->Slow lateral connection `s{k-1}_fuse` (SlowFast only). Frozen parameters get
`requires_grad=False` (the optimizer never sees them), and their BN layers stay in eval mode whenever
the model is put in training mode (`VideoNet.train`), so their running statistics are not updated.
"""
from __future__ import annotations

import torch.nn as nn

NUM_STAGES = 5  # s1 (stem) + s2..s5 (res2..res5)


def frozen_module_names(model: nn.Module, num_stages: int) -> list[str]:
    """Names of the backbone modules that MODEL.FROZEN_STAGES = `num_stages` freezes, in forward order."""
    if not 0 <= num_stages <= NUM_STAGES:
        raise ValueError(f"MODEL.FROZEN_STAGES is {num_stages}; the model has {NUM_STAGES} stages: choose 0..5")
    names = [n for n, _ in model.stages()]
    if num_stages == 0:
        return []
    last = names.index(f"s{num_stages}")
    return names[: last + 1]


def freeze_stages(model: nn.Module, num_stages: int) -> list[str]:
    """Freeze the first `num_stages` stages of `model` (a VideoNet); returns the frozen module names."""
    names = frozen_module_names(model, num_stages)
    for name in names:
        for p in getattr(model, name).parameters():
            p.requires_grad_(False)
    model.frozen_modules = tuple(names)
    model.train(model.training)  # puts the frozen BNs in eval mode now
    return names


def detach_final_fc(model: nn.Module) -> int:
    """Linear probe: the head receives detached features, and every parameter outside the head is frozen
    (no gradient reaches them; also keeps DistributedDataParallel free of unused parameters). BN layers
    outside the head still update their running statistics in training mode unless frozen by
    MODEL.FROZEN_STAGES 5. Returns the number of head parameters left trainable."""
    model.detach_features = True
    for name, p in model.named_parameters():
        if not name.startswith("head."):
            p.requires_grad_(False)
    return sum(p.numel() for p in model.head.parameters() if p.requires_grad)
