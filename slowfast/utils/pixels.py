"""Pixel normalisation shared by the data pipeline and the model's input step."""
from __future__ import annotations

from typing import Sequence, Union

import torch

Stats = Union[Sequence[float], torch.Tensor]


def normalize_pixels(clips: torch.Tensor, mean: Stats, std: Stats) -> torch.Tensor:
    """uint8 `[B x] C x T x H x W` -> float32 `(x / 255 - mean[c]) / std[c]` (`C` values each), contiguous,
    on the clips' device. One formula (`x * 1 / (255 std) - mean / std`), so the floats are the same
    whether it runs in a loader worker or in the model after the uint8 batch reached its device."""
    mean = torch.as_tensor(mean, dtype=torch.float32, device=clips.device).view(-1, 1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32, device=clips.device).view(-1, 1, 1, 1)
    out = clips.to(torch.float32, memory_format=torch.contiguous_format)
    return out.mul_(1.0 / (255.0 * std)).sub_(mean / std)
