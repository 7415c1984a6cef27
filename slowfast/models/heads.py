"""Output heads: clip classification and per-box (RoI) action classification."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import roi_align

_ACTS = {"softmax": lambda: nn.Softmax(dim=1), "sigmoid": nn.Sigmoid, "none": nn.Identity}


class PoolToKernel(nn.Module):
    """Average pooling with a fixed `kernel` (t, h, w) and stride 1, shrunk to the input's size along any
    dimension where the input is smaller; `kernel=None` pools each dimension to 1 (global average).

    `B x C x T x H x W` -> `B x C x T' x H' x W'` with `T' = T - min(t, T) + 1` (same for H, W).
    """

    def __init__(self, kernel: Optional[Sequence[int]] = None):
        super().__init__()
        self.kernel = None if kernel is None else tuple(int(k) for k in kernel)
        if self.kernel is not None and (len(self.kernel) != 3 or min(self.kernel) < 1):
            raise ValueError(f"PoolToKernel: kernel must be 3 positive sizes (t, h, w), got {kernel}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel is None:
            return F.adaptive_avg_pool3d(x, 1)
        return F.avg_pool3d(x, tuple(min(k, int(s)) for k, s in zip(self.kernel, x.shape[2:])), stride=1)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel or 'global'}"


class ResNetBasicHead(nn.Module):
    """Per-pathway average pooling, concatenation, dropout, linear classifier at every pooled position.

    `pool_sizes[p]` is pathway p's pooling kernel (t, h, w) (see `PoolToKernel`), `None` = global. As in
    PySlowFast's `head_helper.ResNetBasicHead`, the kernel is the size of the feature map at the training
    input, so a larger test input (256 for a 224 training crop: an 8 x 8 map, 7 x 7 kernel) gives a grid of
    class scores (2 x 2), each passed through the activation and then averaged. With global pooling (or
    inputs of the training size) there is one position and the two agree.

    Input: list of `B x C_p x T_p x H_p x W_p`; output `B x num_classes`: logits averaged over the grid when
    training, `mean over the grid of act(logits)` (softmax by default) in eval mode.
    """

    def __init__(self, dim_in: Sequence[int], num_classes: int, dropout_rate: float = 0.0, act: str = "softmax",
                 pool_sizes: Optional[Sequence[Optional[Sequence[int]]]] = None):
        super().__init__()
        self.num_pathways = len(dim_in)
        pool_sizes = list(pool_sizes) if pool_sizes is not None else [None] * self.num_pathways
        if len(pool_sizes) != self.num_pathways:
            raise ValueError(f"ResNetBasicHead: {self.num_pathways} pathways but {len(pool_sizes)} pool sizes")
        for p in range(self.num_pathways):
            self.add_module(f"pathway{p}_avgpool", PoolToKernel(pool_sizes[p]))
        if dropout_rate > 0:
            self.dropout = nn.Dropout(dropout_rate)
        self.projection = nn.Linear(sum(dim_in), num_classes, bias=True)
        self.act = nn.Softmax(dim=-1) if act == "softmax" else _ACTS[act]()

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        pooled = [getattr(self, f"pathway{p}_avgpool")(x) for p, x in enumerate(xs)]
        x = torch.cat(pooled, dim=1).permute(0, 2, 3, 4, 1)  # B x T' x H' x W' x C
        if hasattr(self, "dropout"):
            x = self.dropout(x)
        x = self.projection(x)  # B x T' x H' x W' x num_classes
        if not self.training:
            x = self.act(x)
        return x.mean(dim=(1, 2, 3))


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
        # Box coordinates and RoIAlign in float32 at least, also under autocast (bf16 would round pixels).
        boxes = boxes.to(dtype=torch.promote_types(xs[0].dtype, torch.float32))
        pooled, maps = [], []
        for p, x in enumerate(xs):
            fmap = getattr(self, f"s{p}_tpool")(x).squeeze(2)  # B x C x H x W
            maps.append(fmap)
            with torch.autocast(device_type=fmap.device.type, enabled=False):
                rois = roi_align(fmap.to(boxes.dtype), boxes, (self.resolution, self.resolution), self.spatial_scale,
                                 0, self.aligned)
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
