"""Training-clip augmentation on uint8 frames: scale jitter, random crop, flip, normalisation in one pass.

`train_clip(frames, ...)` draws the same random parameters, in the same order from the same generator,
as the float pipeline of `slowfast.datasets.transforms` (short side to `randint(min, max)`, crop offsets
`randint` y then x, flip if `rand() < p`), but computes only the crop: each output pixel is the bilinear
sample (align_corners=False, edges replicated) of the source frame at the position the full resize would
have read it from, taken by OpenCV's `warpAffine` directly on the uint8 frame. The full-size resized clip
and the float copy of the whole frames are never made; the only float work is the final normalisation of
the `C x T x crop x crop` result. Pixel values agree with the float pipeline up to uint8 rounding of the
interpolated values (at most 1/255 before normalisation, plus OpenCV's 1/32-pixel sample positions).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import cv2
import numpy as np
import torch

from slowfast.datasets.sampling import rand, randint
from slowfast.utils.pixels import normalize_pixels


def scaled_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) after scaling the short side to `short_side` (long side floored), as
    `transforms.short_side_scale`."""
    if height <= width:
        return short_side, int(math.floor(width * short_side / height))
    return int(math.floor(height * short_side / width)), short_side


def draw_train_params(height: int, width: int, jitter: Sequence[int], crop: int, flip_prob: float,
                      rng: Optional[torch.Generator] = None) -> dict:
    """The random parameters of one training view, drawn in the float pipeline's order."""
    short = randint(jitter[0], jitter[1], rng)
    new_h, new_w = scaled_size(height, width, short)
    if new_h < crop or new_w < crop:
        raise ValueError(f"random_crop: crop {crop} larger than the {new_w}x{new_h} clip")
    y0 = randint(0, new_h - crop, rng)
    x0 = randint(0, new_w - crop, rng)
    flip = flip_prob > 0 and rand(rng) < flip_prob
    return {"size": (new_h, new_w), "offset": (y0, x0), "flip": flip}


def crop_of_resize(frames: np.ndarray, size: tuple[int, int], offset: tuple[int, int], crop: int,
                   flip: bool = False) -> np.ndarray:
    """`T x H x W x C` uint8 -> `T x crop x crop x C` uint8: the `crop`^2 window at `offset` (y, x) of the
    frames bilinearly resized to `size` (h, w), optionally mirrored left-right, without resizing the rest."""
    t, h, w = frames.shape[:3]
    sy, sx = h / size[0], w / size[1]
    y0, x0 = offset
    # Output pixel (u, v) reads source ((u + x0 + 0.5) * sx - 0.5, (v + y0 + 0.5) * sy - 0.5).
    m = np.array([[sx, 0.0, (x0 + 0.5) * sx - 0.5], [0.0, sy, (y0 + 0.5) * sy - 0.5]], dtype=np.float64)
    if flip:  # output column u reads what column crop - 1 - u would have
        m[0] = [-sx, 0.0, (x0 + crop - 0.5) * sx - 0.5]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    out = np.empty((t, crop, crop, frames.shape[3]), dtype=np.uint8)
    for i in range(t):
        out[i] = cv2.warpAffine(frames[i], m, (crop, crop), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return out


def train_crop_uint8(frames: torch.Tensor, jitter: Sequence[int], crop: int, flip_prob: float,
                     reverse_channels: bool = False, rng: Optional[torch.Generator] = None) -> torch.Tensor:
    """`T x H x W x 3` uint8 frames -> `3 x T x crop x crop` uint8 training view (before normalisation;
    channels reversed when asked), contiguous."""
    if frames.dim() != 4 or frames.dtype != torch.uint8:
        raise ValueError(f"training view: expected T x H x W x C uint8 frames, got {frames.dtype} {tuple(frames.shape)}")
    p = draw_train_params(frames.shape[1], frames.shape[2], jitter, crop, flip_prob, rng)
    cropped = crop_of_resize(np.ascontiguousarray(frames.numpy()), p["size"], p["offset"], crop, p["flip"])
    clip = torch.from_numpy(cropped).permute(3, 0, 1, 2)
    return (clip.flip(0) if reverse_channels else clip).contiguous()


def train_clip(frames: torch.Tensor, jitter: Sequence[int], crop: int, flip_prob: float, mean: Sequence[float],
               std: Sequence[float], reverse_channels: bool = False,
               rng: Optional[torch.Generator] = None) -> torch.Tensor:
    """`T x H x W x 3` uint8 frames -> normalised `3 x T x crop x crop` float training view."""
    clip = train_crop_uint8(frames, jitter, crop, flip_prob, False, rng)
    clip = normalize_pixels(clip, mean, std)
    return clip.flip(0) if reverse_channels else clip
