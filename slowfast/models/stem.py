"""The stem (conv1 + pool1) of each pathway."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from slowfast.models.norm import ActFactory, INPLACE_RELU, NormFactory


class ResNetStem(nn.Module):
    """conv1 (`t x 7 x 7`, spatial stride 2) + BN + ReLU + pool1 (`1 x 3 x 3` max, spatial stride 2).

    Input `B x C_in x T x H x W`, output `B x C_out x T x H/4 x W/4`; no temporal downsampling.
    """

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        temporal_kernel: int,
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        self.conv = nn.Conv3d(
            dim_in,
            dim_out,
            kernel_size=(temporal_kernel, 7, 7),
            stride=(1, 2, 2),
            padding=(temporal_kernel // 2, 3, 3),
            bias=False,
        )
        self.bn = norm(dim_out)
        self.relu = relu()
        self.pool_layer = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool_layer(self.relu(self.bn(self.conv(x))))


class VideoStem(nn.Module):
    """One ResNetStem per pathway (`pathway{i}_stem`); maps a list of clips to a list of features."""

    def __init__(
        self,
        dim_in: Sequence[int],
        dim_out: Sequence[int],
        temporal_kernels: Sequence[int],
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        self.num_pathways = len(dim_in)
        for p in range(self.num_pathways):
            stem = ResNetStem(dim_in[p], dim_out[p], temporal_kernels[p], norm, relu)
            self.add_module(f"pathway{p}_stem", stem)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        if len(xs) != self.num_pathways:
            raise ValueError(f"expected {self.num_pathways} pathway inputs, got {len(xs)}")
        return [getattr(self, f"pathway{p}_stem")(x) for p, x in enumerate(xs)]
