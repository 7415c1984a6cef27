"""Lateral connection from the Fast to the Slow pathway."""
from __future__ import annotations

import torch
import torch.nn as nn

from slowfast.models.norm import ActFactory, INPLACE_RELU, NormFactory


class FuseFastToSlow(nn.Module):
    """Time-strided convolution (`k x 1 x 1`, stride alpha, `ratio * C_fast` channels) + BN + ReLU,
    concatenated to the Slow features.

    Input `[slow B x C_s x T x H x W, fast B x C_f x alpha*T x H x W]`,
    output `[slow B x (C_s + ratio*C_f) x T x H x W, fast unchanged]`.
    """

    def __init__(
        self,
        dim_in: int,
        fusion_conv_channel_ratio: int,
        fusion_kernel: int,
        alpha: int,
        norm: NormFactory = nn.BatchNorm3d,
        relu: ActFactory = INPLACE_RELU,
    ):
        super().__init__()
        self.conv_f2s = nn.Conv3d(
            dim_in,
            dim_in * fusion_conv_channel_ratio,
            kernel_size=(fusion_kernel, 1, 1),
            stride=(alpha, 1, 1),
            padding=(fusion_kernel // 2, 0, 0),
            bias=False,
        )
        self.bn = norm(dim_in * fusion_conv_channel_ratio)
        self.relu = relu()

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = xs
        fuse = self.relu(self.bn(self.conv_f2s(fast)))
        if fuse.shape[2] != slow.shape[2]:
            raise ValueError(
                f"lateral connection: Fast pathway has {fast.shape[2]} frames, which with stride alpha gives "
                f"{fuse.shape[2]}, but the Slow pathway has {slow.shape[2]}; the Fast clip must have alpha times "
                "the Slow frames"
            )
        return [torch.cat([slow, fuse], dim=1), fast]
