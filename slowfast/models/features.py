"""Features before the classifier: what the head's final linear layer (``head.projection``) receives.

For the clip head (:class:`~slowfast.models.heads.ResNetBasicHead`) that is each pathway's res5 map
averaged over time and space, concatenated over pathways: ``B x D`` with ``D = sum(C_p)``, e.g.
2048 + 256 = 2304 for SlowFast R50 / R101 (beta = 1/8). For the RoI head it is the per-box feature
(``N x D``). Taking the projection's actual input (a forward pre-hook) keeps this equal to what the
head classifies whatever pooling the head does; a head that applies the projection to a feature map
(fully convolutional testing, ``... x D``) has that map averaged to one vector per clip.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn

from slowfast.utils.distributed import unwrap


def feature_dim(model: nn.Module) -> int:
    """``D``: input features of the head's final linear layer."""
    return _projection(model).in_features


def _projection(model: nn.Module) -> nn.Linear:
    from slowfast.models.optimize import InferenceModel

    while not isinstance(model, InferenceModel) and isinstance(getattr(model, "model", None), nn.Module):
        model = model.model  # a wrapper such as slowfast.deploy's PrecisionModel: the model inside
    if isinstance(model, InferenceModel):  # optimize_for_inference's wrapper: the optimised copy inside
        model = model.model
    head = getattr(unwrap(model), "head", None)
    projection = getattr(head, "projection", None)
    projection = getattr(projection, "inner", projection)  # kept in float32 under autocast: the layer inside
    if not isinstance(projection, nn.Linear):
        raise TypeError(f"extract_features: {type(unwrap(model)).__name__} has no head.projection linear layer")
    return projection


@torch.no_grad()
def extract_features(model: nn.Module, inputs: List[torch.Tensor], boxes: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Run ``model`` on ``inputs`` (per-pathway ``B x C x T x H x W``; ``boxes`` ``N x 5`` for a
    detection model) and return the head's input: ``B x D`` (``N x D`` with boxes), float, on the
    inputs' device. The model's mode is left as it is (use eval mode for inference features)."""
    captured = []

    def hook(_module, args):
        captured.append(args[0])

    handle = _projection(model).register_forward_pre_hook(hook)
    try:
        model(inputs) if boxes is None else model(inputs, boxes)
    finally:
        handle.remove()
    x = captured[-1]
    if x.dim() > 2:  # B x ... x D feature map: one vector per clip
        x = x.reshape(x.shape[0], -1, x.shape[-1]).mean(dim=1)
    return x.float()
