"""Output heads: clip classification and per-box (RoI) action classification."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from torchvision.ops import roi_align

_ACTS = {"softmax": lambda: nn.Softmax(dim=1), "sigmoid": nn.Sigmoid, "none": nn.Identity}


class ResNetBasicHead(nn.Module):
    """Per-pathway global average pooling, concatenation, dropout, linear classifier.

    Input: list of `B x C_p x T_p x H_p x W_p`; output `B x num_classes` logits when training and
    `act(logits)` (softmax by default) in eval mode. Pooling is adaptive, so any input size works.
    """

    def __init__(self, dim_in: Sequence[int], num_classes: int, dropout_rate: float = 0.0, act: str = "softmax"):
        super().__init__()
        self.num_pathways = len(dim_in)
        for p in range(self.num_pathways):
            self.add_module(f"pathway{p}_avgpool", nn.AdaptiveAvgPool3d(1))
        if dropout_rate > 0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(sum(dim_in), num_classes, bias=True)
        self.act = _ACTS[act]()

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat([getattr(self, f"pathway{p}_avgpool")(x).flatten(1) for p, x in enumerate(xs)], dim=1)
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)
        return x if self.training else self.act(x)


class ContextBranch(nn.Module):
    """Non-local context for RoI features (the SlowFast 16x8 AVA entry).

    Each region feature (query) attends over the positions of its clip's globally (temporally) pooled
    feature map (keys and values), embedded-Gaussian style; the attended context is projected back to
    `dim` channels and returned, to be concatenated to the region feature.

    regions `N x dim`, region_batch `N` (clip index of each region), clip_maps `B x dim x H x W`
    -> `N x dim`.
    """

    def __init__(self, dim: int, dim_inner: int | None = None):
        super().__init__()
        dim_inner = dim_inner or dim // 2
        self.dim_inner = dim_inner
        self.conv_theta = nn.Linear(dim, dim_inner)
        self.conv_phi = nn.Conv2d(dim, dim_inner, 1)
        self.conv_g = nn.Conv2d(dim, dim_inner, 1)
        self.conv_out = nn.Linear(dim_inner, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, regions: torch.Tensor, region_batch: torch.Tensor, clip_maps: torch.Tensor) -> torch.Tensor:
        q = self.conv_theta(regions)  # N x C'
        k = self.conv_phi(clip_maps).flatten(2)[region_batch]  # N x C' x HW
        v = self.conv_g(clip_maps).flatten(2)[region_batch]  # N x C' x HW
        attn = (torch.einsum("nc,ncm->nm", q, k) * self.dim_inner**-0.5).softmax(dim=1)
        ctx = torch.einsum("nm,ncm->nc", attn, v)
        return self.norm(self.conv_out(ctx))


class ResNetRoIHead(nn.Module):
    """AVA detection head: per pathway, temporal average pooling (`s{p}_tpool`), RoIAlign of each box
    on the res5 map (`s{p}_roi`, the 2D box replicated in time), spatial max pooling (`s{p}_spool`);
    concatenation over pathways, optional context branch, dropout, linear layer, per-class sigmoid.

    Inputs: feature list `[B x C_p x T_p x H x W]` and `boxes` `N x 5` = (batch index, x1, y1, x2, y2)
    in input pixels. Output `N x num_classes` logits in training, sigmoid scores in eval mode.
    """

    def __init__(
        self,
        dim_in: Sequence[int],
        num_classes: int,
        resolution: int = 7,
        scale_factor: int = 16,
        dropout_rate: float = 0.0,
        act: str = "sigmoid",
        aligned: bool = True,
        context_branch: bool = False,
    ):
        super().__init__()
        self.num_pathways = len(dim_in)
        self.resolution = resolution
        self.spatial_scale = 1.0 / scale_factor
        self.aligned = aligned
        for p in range(self.num_pathways):
            self.add_module(f"s{p}_tpool", nn.AdaptiveAvgPool3d((1, None, None)))
            self.add_module(f"s{p}_spool", nn.MaxPool2d(resolution, stride=1))
        if context_branch:
            self.context = ContextBranch(sum(dim_in))
        if dropout_rate > 0:
            self.dropout = nn.Dropout(dropout_rate)
        dim = sum(dim_in) * (2 if context_branch else 1)
        self.projection = nn.Linear(dim, num_classes, bias=True)
        self.act = _ACTS[act]()

    def forward(self, xs: list[torch.Tensor], boxes: torch.Tensor) -> torch.Tensor:
        boxes = boxes.to(dtype=xs[0].dtype)
        pooled, maps = [], []
        for p, x in enumerate(xs):
            fmap = getattr(self, f"s{p}_tpool")(x).squeeze(2)  # B x C x H x W
            maps.append(fmap)
            rois = roi_align(fmap, boxes, (self.resolution, self.resolution), self.spatial_scale, 0, self.aligned)
            pooled.append(getattr(self, f"s{p}_spool")(rois).flatten(1))  # N x C
        x = torch.cat(pooled, dim=1)
        if hasattr(self, "context"):
            # Global clip map per pathway, resized to the Slow map's size before concatenation.
            size = maps[0].shape[-2:]
            clip_maps = torch.cat([nn.functional.adaptive_avg_pool2d(m, size) for m in maps], dim=1)
            x = torch.cat([x, self.context(x, boxes[:, 0].long(), clip_maps)], dim=1)
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)
        return x if self.training else self.act(x)
