"""Normalization layers: plain BN, sub-batch BN (statistics over fixed-size sub-batches), sync BN; and
the two layer factories every block takes, built once per network (`slowfast.models.video_net`):
`norm(num_features)`, with the norm type, eps and momentum bound (:func:`get_norm`), and `relu()`
(:func:`relu_factory`, in place or not)."""
from __future__ import annotations

from functools import partial
from typing import Callable

import torch
import torch.nn as nn

NormFactory = Callable[[int], nn.Module]  # num_features -> normalization layer
ActFactory = Callable[[], nn.Module]  # () -> activation layer


class SubBatchNorm3d(nn.Module):
    """BatchNorm3d whose training statistics are computed per sub-batch of `B / num_splits` clips.

    The report computes BN statistics within each 8 clips whatever the per-device batch; with a
    per-process batch of 8 * k, use num_splits = k. Training uses `split_bn` on the input reshaped to
    `(B / k) x (C * k) x T x H x W`; `aggregate_stats()` folds the split statistics into `bn`, which
    is used at test time. Key names (`bn`, `split_bn`) follow PySlowFast.
    """

    def __init__(self, num_features: int, num_splits: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.num_splits = num_splits
        self.num_features = num_features
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.bn = nn.BatchNorm3d(num_features, eps=eps, momentum=momentum, affine=False)
        self.split_bn = nn.BatchNorm3d(num_features * num_splits, eps=eps, momentum=momentum, affine=False)

    def aggregate_stats(self) -> None:
        """Copy the mean/variance of the sub-batch statistics into `bn` (for evaluation)."""
        k, c = self.num_splits, self.num_features
        mean = self.split_bn.running_mean.view(k, c)
        var = self.split_bn.running_var.view(k, c)
        self.bn.running_mean.copy_(mean.mean(0))
        self.bn.running_var.copy_(var.mean(0) + ((mean - mean.mean(0)) ** 2).mean(0))
        self.bn.num_batches_tracked.copy_(self.split_bn.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: B x C x T x H x W, B divisible by num_splits when training."""
        if self.training:
            b, c, t, h, w = x.shape
            if b % self.num_splits:
                raise ValueError(f"SubBatchNorm3d: batch {b} not divisible by num_splits {self.num_splits}")
            x = self.split_bn(x.reshape(b // self.num_splits, c * self.num_splits, t, h, w)).view(b, c, t, h, w)
        else:
            x = self.bn(x)
        return x * self.weight.view(1, -1, 1, 1, 1) + self.bias.view(1, -1, 1, 1, 1)


def is_batch_norm(module: nn.Module) -> bool:
    """True for every batch-norm flavour used here: (Sync)BatchNorm and SubBatchNorm3d."""
    return isinstance(module, (nn.modules.batchnorm._BatchNorm, SubBatchNorm3d))


def get_norm(norm_type: str = "batchnorm", num_splits: int = 1, eps: float = 1e-5, momentum: float = 0.1) -> NormFactory:
    """The factory `norm(num_features) -> nn.Module` of the chosen normalization, with `eps` and
    `momentum` (and, for "sub_batchnorm", `num_splits`) bound."""
    if norm_type == "batchnorm":
        return partial(nn.BatchNorm3d, eps=eps, momentum=momentum)
    if norm_type == "sub_batchnorm":
        return partial(SubBatchNorm3d, num_splits=num_splits, eps=eps, momentum=momentum)
    if norm_type == "sync_batchnorm":
        return partial(nn.SyncBatchNorm, eps=eps, momentum=momentum)
    raise ValueError(f"unknown norm type {norm_type!r}")


def relu_factory(inplace: bool = True) -> ActFactory:
    """The factory `relu() -> nn.ReLU` (RESNET.INPLACE_RELU: in place or not; same results either way)."""
    return partial(nn.ReLU, inplace)


INPLACE_RELU = relu_factory(True)  # the blocks' default activation


def aggregate_sub_bn_stats(model: nn.Module) -> int:
    """Fold sub-batch statistics of every SubBatchNorm3d into its test-time BN; returns how many."""
    n = 0
    for m in model.modules():
        if isinstance(m, SubBatchNorm3d):
            m.aggregate_stats()
            n += 1
    return n
