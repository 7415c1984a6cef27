"""3-D convolutions computed as 2-D convolutions on channels-last views (a CPU speed-up, same results).

Every convolution of a SlowFast network factorises in time or in space: `1 x k x k` kernels (per frame)
and `k x 1 x 1` kernels (temporal, or the 1x1x1 projections). On a `channels_last_3d` tensor
(memory order N, T, H, W, C) both are plain 2-D convolutions on a free view:

- `1 x k x k`, temporal stride 1: the frames as a batch, `(N*T) x C x H x W` in channels_last;
- `k x 1 x 1`, spatial stride 1: `N x C x T x (H*W)` in channels_last, kernel `k x 1`.

oneDNN's 2-D kernels are much faster than its 3-D ones on this kind of CPU (measured per layer on a
2-core AVX2 machine, one thread: a 1x1x1 256->64 conv at 8x56^2 37 ms contiguous / 128 ms as a
channels_last 3-D conv / 43 ms as a 2-D conv; a 3x1x1 32->8 conv at 32x56^2 98 / 138 / 5 ms).
Other kernels (the 5x7x7 Fast stem) stay 3-D convolutions. The outputs are channels_last_3d.

Under autograd (a training step) the `k x 1 x 1` kernels with k > 1 run as channels_last_3d 3-D
convolutions instead: the backward pass of their `k x 1` 2-D form is slow in oneDNN. Measured forward +
backward on SlowFast 8x8 R50 (224^2, batch 2, 2 threads, each layer timed alone): 1024->256 3x1x1 at
8x14^2 185 ms as 2-D vs 111 ms 3-D; 640->256 3x1x1 at 8x28^2 616 vs 266 ms; summed over the network's
convolutions 7.35 s (all 2-D) vs 6.02 s (this rule). Forward only, the two forms cost the same.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

CL3D = torch.channels_last_3d


def conv_mode(conv: nn.Conv3d) -> str:
    """"frames" (1 x k x k), "temporal" (k x 1 x 1) or "3d" for a zero-padded Conv3d with tuple padding."""
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        return "3d"
    (kt, kh, kw), (st, sh, sw), (pt, ph, pw) = conv.kernel_size, conv.stride, conv.padding
    if kt == 1 and st == 1 and pt == 0:
        return "frames"
    if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0) and conv.dilation[1:] == (1, 1):
        return "temporal"
    return "3d"


class Conv3dAs2d(nn.Conv3d):
    """An nn.Conv3d (same parameters, same state-dict keys) whose forward runs the 2-D convolution that
    its kernel factorises into (see the module docstring). Input `N x C x T x H x W` in any memory format,
    output `N x C' x T' x H' x W'` in channels_last_3d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=CL3D)
        mode = conv_mode(self)
        w = self.weight
        if mode == "frames":
            n, c, t, h, wd = x.shape
            frames = x.transpose(1, 2).reshape(n * t, c, h, wd)
            out = F.conv2d(frames, w.squeeze(2), self.bias, self.stride[1:], self.padding[1:], self.dilation[1:],
                           self.groups)
            return out.reshape(n, t, *out.shape[1:]).transpose(1, 2).contiguous(memory_format=CL3D)
        if mode == "temporal" and self.kernel_size[0] > 1 and torch.is_grad_enabled() and w.requires_grad:
            return super().forward(x).contiguous(memory_format=CL3D)  # see the module docstring
        if mode == "temporal":
            n, c, t, h, wd = x.shape
            out = F.conv2d(x.flatten(3), w.flatten(3), self.bias, (self.stride[0], 1), (self.padding[0], 0),
                           (self.dilation[0], 1), self.groups)
            return out.unflatten(3, (h, wd)).contiguous(memory_format=CL3D)
        return super().forward(x)


def use_2d_convolutions(model: nn.Module) -> int:
    """Make, in place, every plain nn.Conv3d of `model` a Conv3dAs2d (parameters, their memory and the
    state-dict keys are kept; only forward changes). Returns how many convolutions were changed."""
    n = 0
    for m in model.modules():
        if type(m) is nn.Conv3d and conv_mode(m) != "3d":
            m.__class__ = Conv3dAs2d
            n += 1
    return n


def preferred_memory_format(device: torch.device | str) -> torch.memory_format:
    """Memory format for 5-D activations and conv weights on `device`: channels_last_3d on CPU (with the
    2-D convolutions above) and on CUDA (cuDNN's fast paths, tensor cores under AMP)."""
    return CL3D if torch.device(device).type in ("cpu", "cuda") else torch.contiguous_format


@torch.no_grad()
def convert_weights(model: nn.Module, memory_format: torch.memory_format) -> None:
    """Store, in place, every parameter of the rank `memory_format` is for (5 for channels_last_3d,
    4 for channels_last) in that format; the values are unchanged."""
    rank = 5 if memory_format == CL3D else 4
    for p in model.parameters():
        if p.dim() == rank:
            p.data = p.data.contiguous(memory_format=memory_format)


def apply_memory_format(model: nn.Module, memory_format: torch.memory_format, device: torch.device | str) -> int:
    """Put `model` (in place) in `memory_format` for `device`: 5-D weights converted and, for
    channels_last_3d on CPU, 3-D convolutions run as 2-D ones (Conv3dAs2d). Values, parameters and
    state-dict keys are unchanged. Returns the number of convolutions made Conv3dAs2d."""
    if memory_format != torch.contiguous_format:
        convert_weights(model, memory_format)
    if memory_format == CL3D and torch.device(device).type == "cpu":
        return use_2d_convolutions(model)
    return 0
