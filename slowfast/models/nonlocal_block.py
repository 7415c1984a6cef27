"""Non-local block (Wang et al., 2018)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from slowfast.models.norm import NormFactory


class NonLocal(nn.Module):
    """Space-time non-local block: `x + BN(W_out(f(theta(x), phi(x)) g(x)))`.

    Input and output `B x C x T x H x W`. theta, phi, g are 1x1x1 convs to `dim_inner` channels; keys and
    values (phi, g) are optionally max-pooled by `pool_size` ([T, H, W]). `instantiation`:
    "softmax" = embedded Gaussian (softmax of scaled dot products), "dot_product" = dot products
    divided by the number of key positions. The final BN is marked for zero-init (`transform_final_bn`)
    so that a new block starts as the identity. Key names follow PySlowFast.
    """

    def __init__(
        self,
        dim: int,
        dim_inner: int,
        pool_size: Sequence[int] | None = None,
        instantiation: str = "softmax",
        norm: NormFactory = nn.BatchNorm3d,
    ):
        super().__init__()
        if instantiation not in ("softmax", "dot_product"):
            raise ValueError(f"unknown non-local instantiation {instantiation!r}")
        self.dim_inner = dim_inner
        self.instantiation = instantiation
        self.conv_theta = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_phi = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_g = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_out = nn.Conv3d(dim_inner, dim, kernel_size=1)
        self.bn = norm(dim)
        self.bn.transform_final_bn = True
        self.use_pool = pool_size is not None and any(s > 1 for s in pool_size)
        if self.use_pool:
            self.pool = nn.MaxPool3d(kernel_size=list(pool_size), stride=list(pool_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, t, h, w = x.shape
        theta = self.conv_theta(x).flatten(2)  # B x C' x N
        kv = self.pool(x) if self.use_pool else x
        phi = self.conv_phi(kv).flatten(2)  # B x C' x M
        g = self.conv_g(kv).flatten(2)  # B x C' x M
        affinity = torch.einsum("bcn,bcm->bnm", theta, phi)  # B x N x M
        if self.instantiation == "softmax":
            affinity = (affinity * self.dim_inner**-0.5).softmax(dim=2)
        else:
            affinity = affinity / affinity.shape[2]
        out = torch.einsum("bnm,bcm->bcn", affinity, g).reshape(b, self.dim_inner, t, h, w)
        return x + self.bn(self.conv_out(out))
