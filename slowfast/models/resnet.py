"""3D ResNet building blocks: residual transforms, blocks and multi-pathway stages."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn as nn

from slowfast.models.nonlocal_block import NonLocal
from slowfast.models.norm import ActFactory, INPLACE_RELU, NormFactory


class BottleneckTransform(nn.Module):
    """`t x 1 x 1` (a) -> `1 x 3 x 3` (b, spatial stride and dilation) -> `1 x 1 x 1` (c), BN after each.

    The temporal kernel `t` sits in the first 1x1 conv, as in SlowFast. Input `B x C_in x T x H x W`,
    output `B x C_out x T x H/s x W/s`. The last BN is marked `transform_final_bn` for optional zero-init.
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        stride: int,
        dim_inner: int,
        num_groups: int = 1,
        stride_1x1: bool = False,
        dilation: int = 1,
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        s1, s3 = (stride, 1) if stride_1x1 else (1, stride)
        self.a = nn.Conv3d(
            dim_in, dim_inner, (temporal_kernel, 1, 1), stride=(1, s1, s1), padding=(temporal_kernel // 2, 0, 0),
            bias=False,
        )
        self.a_bn = norm(dim_inner)
        self.a_relu = relu()
        self.b = nn.Conv3d(
            dim_inner, dim_inner, (1, 3, 3), stride=(1, s3, s3), padding=(0, dilation, dilation),
            dilation=(1, dilation, dilation), groups=num_groups, bias=False,
        )
        self.b_bn = norm(dim_inner)
        self.b_relu = relu()
        self.c = nn.Conv3d(dim_inner, dim_out, 1, bias=False)
        self.c_bn = norm(dim_out)
        self.c_bn.transform_final_bn = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a_relu(self.a_bn(self.a(x)))
        x = self.b_relu(self.b_bn(self.b(x)))
        return self.c_bn(self.c(x))


class BasicTransform(nn.Module):
    """`t x 3 x 3` (a, spatial stride) -> `1 x 3 x 3` (b), BN after each (ResNet-18/34 style)."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        stride: int,
        dim_inner: int = 0,
        num_groups: int = 1,
        stride_1x1: bool = False,
        dilation: int = 1,
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        self.a = nn.Conv3d(
            dim_in, dim_out, (temporal_kernel, 3, 3), stride=(1, stride, stride),
            padding=(temporal_kernel // 2, dilation, dilation), dilation=(1, dilation, dilation), bias=False,
        )
        self.a_bn = norm(dim_out)
        self.a_relu = relu()
        self.b = nn.Conv3d(dim_out, dim_out, (1, 3, 3), padding=(0, dilation, dilation),
                           dilation=(1, dilation, dilation), bias=False)
        self.b_bn = norm(dim_out)
        self.b_bn.transform_final_bn = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b_bn(self.b(self.a_relu(self.a_bn(self.a(x)))))


TRANSFORMS = {"bottleneck_transform": BottleneckTransform, "basic_transform": BasicTransform}


class ResBlock(nn.Module):
    """`relu(branch1(x) + branch2(x))`; branch1 is a strided 1x1x1 projection when the shape changes."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        stride: int,
        dim_inner: int,
        trans_func: type[nn.Module] = BottleneckTransform,
        num_groups: int = 1,
        stride_1x1: bool = False,
        dilation: int = 1,
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1 = nn.Conv3d(dim_in, dim_out, 1, stride=(1, stride, stride), bias=False)
            self.branch1_bn = norm(dim_out)
        self.branch2 = trans_func(
            dim_in, dim_out, temporal_kernel, stride, dim_inner, num_groups=num_groups, stride_1x1=stride_1x1,
            dilation=dilation, norm=norm, relu=relu,
        )
        self.relu = relu()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.branch1_bn(self.branch1(x)) if hasattr(self, "branch1") else x
        return self.relu(shortcut + self.branch2(x))


@dataclass(frozen=True)
class StageSpec:
    """One ResNet stage (res2..res5) of every pathway, as :class:`ResStage` builds it.

    Per-pathway fields are sequences indexed by pathway; `temporal_kernels[p][i]` is the temporal
    kernel of block i of pathway p. Only the first block of a pathway changes width (`dim_in[p]` ->
    `dim_out[p]`) and spatial stride (`stride[p]`). Non-local blocks follow the blocks listed in
    `nonlocal_inds[p]`; `nonlocal_pool[p]` pools their keys and values, `nonlocal_group[p]` splits the
    clip into that many temporal chunks that attend within themselves.
    """

    dim_in: Sequence[int]
    dim_out: Sequence[int]
    dim_inner: Sequence[int]
    temporal_kernels: Sequence[Sequence[int]]
    stride: Sequence[int]
    num_blocks: int
    dilation: Optional[Sequence[int]] = None  # None: 1 for every pathway
    nonlocal_inds: Sequence[Sequence[int]] = ((),)
    nonlocal_pool: Optional[Sequence[Sequence[int]]] = None
    nonlocal_group: Optional[Sequence[int]] = None  # None: 1 for every pathway
    nonlocal_instantiation: str = "softmax"
    trans_func: type[nn.Module] = BottleneckTransform
    num_groups: int = 1
    stride_1x1: bool = False


class ResStage(nn.Module):
    """One ResNet stage (res2..res5) for every pathway (:class:`StageSpec`): `pathway{p}_res{i}` blocks,
    each optionally followed by a non-local block `pathway{p}_nonlocal{i}`.

    Input and output are lists of `B x C x T x H x W` tensors; T is never changed.
    """

    def __init__(self, spec: StageSpec, norm: NormFactory = nn.BatchNorm3d, relu: ActFactory = INPLACE_RELU):
        super().__init__()
        self.num_pathways = len(spec.dim_in)
        self.num_blocks = spec.num_blocks
        self.nonlocal_group = list(spec.nonlocal_group or [1] * self.num_pathways)
        dilation = list(spec.dilation or [1] * self.num_pathways)
        for p in range(self.num_pathways):
            if len(spec.temporal_kernels[p]) != spec.num_blocks:
                raise ValueError(f"pathway {p}: {len(spec.temporal_kernels[p])} temporal kernels for "
                                 f"{spec.num_blocks} blocks")
            for i in range(spec.num_blocks):
                block = ResBlock(
                    spec.dim_in[p] if i == 0 else spec.dim_out[p], spec.dim_out[p], spec.temporal_kernels[p][i],
                    spec.stride[p] if i == 0 else 1, spec.dim_inner[p], spec.trans_func, spec.num_groups,
                    spec.stride_1x1, dilation[p], norm, relu,
                )
                self.add_module(f"pathway{p}_res{i}", block)
                if i in spec.nonlocal_inds[p]:
                    pool = spec.nonlocal_pool[p] if spec.nonlocal_pool is not None else None
                    nl = NonLocal(spec.dim_out[p], spec.dim_out[p] // 2, pool, spec.nonlocal_instantiation, norm)
                    self.add_module(f"pathway{p}_nonlocal{i}", nl)

    def _nonlocal(self, nl: nn.Module, x: torch.Tensor, group: int) -> torch.Tensor:
        if group == 1:
            return nl(x)
        # Split the clip into `group` temporal chunks that attend within themselves.
        b, c, t, h, w = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * group, t // group, c, h, w).permute(0, 2, 1, 3, 4)
        x = nl(x)
        return x.permute(0, 2, 1, 3, 4).reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for p, x in enumerate(xs):
            for i in range(self.num_blocks):
                x = getattr(self, f"pathway{p}_res{i}")(x)
                nl = getattr(self, f"pathway{p}_nonlocal{i}", None)
                if nl is not None:
                    x = self._nonlocal(nl, x, self.nonlocal_group[p])
            out.append(x)
        return out
