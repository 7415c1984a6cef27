"""Inference-time preparation of a video model: `optimize_for_inference(model)`.

Measured on a 2-core AVX2 CPU (see GETTING_STARTED.md, "Speed") and kept because each step pays:
- batch norm folded into the preceding convolution (eval-mode BN is an affine map per channel, so
  `BN(conv(x)) = conv'(x)` with scaled weights and a bias): one pass over each activation less;
- weights and activations in `channels_last_3d` (N, T, H, W, C in memory), and on CPU the 1xkxk and
  kx1x1 convolutions run as 2-D convolutions on views of it (`slowfast.models.conv`), which oneDNN
  runs much faster than its 3-D ones (a model built on CPU by `build_model` already has these).

The result is a new module (the argument is left untouched) that takes the usual contiguous
`[slow, fast]` inputs (and boxes for detection) and returns what the original returns in eval mode.
It cannot be trained: `.train()` raises.
"""
from __future__ import annotations

import copy
import logging
import warnings

import torch
import torch.nn as nn

from slowfast.models.conv import apply_memory_format, preferred_memory_format
from slowfast.models.norm import SubBatchNorm3d, is_batch_norm

logger = logging.getLogger(__name__)

# (convolution, batch norm) attribute pairs in which the BN directly follows the convolution in forward().
# Keyed by class name so that this file needs no import of every block; a pair missing here only means
# that BN is not folded (optimize_for_inference logs how many BN layers are left).
CONV_BN_PAIRS = {
    "ResNetStem": [("conv", "bn")],
    "FuseFastToSlow": [("conv_f2s", "bn")],
    "BottleneckTransform": [("a", "a_bn"), ("b", "b_bn"), ("c", "c_bn")],
    "BasicTransform": [("a", "a_bn"), ("b", "b_bn")],
    "ResBlock": [("branch1", "branch1_bn")],
    "NonLocal": [("conv_out", "bn")],
}


def bn_scale_shift(bn: nn.Module) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Eval-mode batch norm as `x * scale + shift` per channel, or None when it uses batch statistics."""
    if isinstance(bn, SubBatchNorm3d):  # eval: the affine-free `bn`, then the shared weight and bias
        inner = bn_scale_shift(bn.bn)
        if inner is None:
            return None
        scale, shift = inner
        return scale * bn.weight, shift * bn.weight + bn.bias
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm) or bn.running_mean is None:
        return None
    scale = torch.rsqrt(bn.running_var + bn.eps)
    shift = -bn.running_mean * scale
    if bn.affine:
        scale, shift = scale * bn.weight, shift * bn.weight + bn.bias
    return scale, shift


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv3d, bn: nn.Module) -> nn.Conv3d | None:
    """A convolution with a bias computing `bn(conv(x))` in eval mode (None if `bn` cannot be folded)."""
    ss = bn_scale_shift(bn)
    if ss is None or not isinstance(conv, (nn.Conv2d, nn.Conv3d)) or conv.out_channels != ss[0].numel():
        return None
    scale, shift = (t.to(conv.weight.dtype) for t in ss)
    fused = copy.deepcopy(conv)
    fused.weight.copy_(conv.weight * scale.view(-1, *([1] * (conv.weight.dim() - 1))))
    bias = shift if conv.bias is None else conv.bias * scale + shift
    fused.bias = nn.Parameter(bias.detach().clone())
    return fused


def fold_batch_norms(model: nn.Module) -> int:
    """Fold, in place, every BN of CONV_BN_PAIRS into its convolution (the BN becomes nn.Identity).
    The model must be in eval mode. Returns the number of BN layers folded."""
    n = 0
    for module in model.modules():
        for conv_name, bn_name in CONV_BN_PAIRS.get(type(module).__name__, ()):
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if conv is None or bn is None or not is_batch_norm(bn):
                continue
            fused = fold_conv_bn(conv, bn)
            if fused is not None:
                setattr(module, conv_name, fused)
                setattr(module, bn_name, nn.Identity())
                n += 1
    return n


def to_memory_format(xs: list[torch.Tensor], memory_format: torch.memory_format) -> list[torch.Tensor]:
    """The pathway inputs in `memory_format` (5-D tensors only; a no-op when already there)."""
    return [x.contiguous(memory_format=memory_format) if x.dim() == 5 else x for x in xs]


class InferenceModel(nn.Module):
    """Eval-only wrapper around a prepared copy of a VideoNet (`self.model`): converts the pathway inputs
    to the model's memory format, then calls it.

    forward(xs, boxes=None): xs `[slow B x 3 x T x H x W, fast B x 3 x alpha*T x H x W]` (any memory
    format), boxes `N x 5` for detection; returns `B x num_classes` (or `N x num_classes`) scores.
    """

    def __init__(self, model: nn.Module, memory_format: torch.memory_format = torch.contiguous_format):
        super().__init__()
        self.model = model
        self.memory_format = memory_format
        super().train(False)

    def train(self, mode: bool = True):
        if mode:
            raise RuntimeError("optimize_for_inference returns an eval-only model (batch norms are folded); "
                               "train the original model instead")
        return super().train(False)

    @property
    def is_detection(self) -> bool:
        return getattr(self.model, "is_detection", False)

    @property
    def num_pathways(self) -> int:
        return self.model.num_pathways

    def forward_features(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Backbone features, as `VideoNet.forward_features` (in the model's memory format)."""
        return self.model.forward_features(to_memory_format(list(xs), self.memory_format))

    def forward(self, xs: list[torch.Tensor], boxes: torch.Tensor | None = None) -> torch.Tensor:
        xs = to_memory_format(list(xs), self.memory_format)
        return self.model(xs) if boxes is None else self.model(xs, boxes)


def optimize_for_inference(model: nn.Module, cfg=None, fold_bn: bool = True,
                           memory_format: torch.memory_format | None = None) -> nn.Module:
    """An eval-only copy of `model` prepared for fast inference on the device its weights are on.

    BN layers are folded into the preceding convolutions (`fold_bn`) and the copy is converted to
    `memory_format` (default: `preferred_memory_format` of the device). `model` itself (or the module
    inside a DistributedDataParallel wrapper) is not modified.

    `cfg` is deprecated: it was never used. Passing one still works in this release, with a
    DeprecationWarning; the parameter goes in the next (call `optimize_for_inference(model)`, and pass
    `fold_bn` / `memory_format` by keyword).
    """
    if cfg is not None:
        warnings.warn("optimize_for_inference(model, cfg): the cfg argument is unused and will be removed; call "
                      "optimize_for_inference(model) (fold_bn and memory_format by keyword)", DeprecationWarning,
                      stacklevel=2)
    inner = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
    if isinstance(inner, InferenceModel):
        return inner
    param = next(inner.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    if memory_format is None:
        memory_format = preferred_memory_format(device)
    prepared = copy.deepcopy(inner).eval()
    for p in prepared.parameters():
        p.requires_grad_(False)
    folded = fold_batch_norms(prepared) if fold_bn else 0
    left = sum(1 for m in prepared.modules() if is_batch_norm(m))
    as_2d = apply_memory_format(prepared, memory_format, device)
    logger.info("optimize_for_inference: %d batch norms folded (%d left), memory format %s, %d convolutions as "
                "2-D ones", folded, left, str(memory_format).replace("torch.", ""), as_2d)
    return InferenceModel(prepared, memory_format)


def inference_model(cfg, model: nn.Module) -> nn.Module:
    """The model the test loops run: `optimize_for_inference(model)` when TEST.OPTIMIZE_MODEL, else
    `model` in eval mode."""
    if cfg.TEST.OPTIMIZE_MODEL:
        return optimize_for_inference(model)
    return model.eval()
