"""The AVA pixel pipelines: uint8 frames and boxes of a key frame -> the model's clip and input-pixel boxes.

``AVA.PREPROCESS "pyslowfast"`` (default; PySlowFast's ``cv2`` backend, :func:`pyslowfast_view`).  Boxes
are scaled to pixels and clamped to ``[0, W - 1] x [0, H - 1]``.  A short-side resize to ``S`` is
``cv2.resize(INTER_LINEAR)`` of the uint8 frames to ``S x floor(long * S / short)`` (skipped when the
short side is already ``S``), boxes multiplied by the long side's factor.  train:
``S = round(1 / U(1 / max, 1 / min))`` over ``DATA.TRAIN_JITTER_SCALES``, random ``DATA.TRAIN_CROP_SIZE``
crop (offsets in ``[0, H - size)``), horizontal flip with p = 0.5 (``DATA.RANDOM_FLIP``), only the crop of
the resize computed (:func:`train_crop`: pixels within uint8 rounding of resize-then-crop); val:
``S = test_scale`` then the centre ``S x S`` crop (offset ``ceil((H - S) / 2)``; ``AVA.VAL_CENTER_CROP``);
test: ``S = test_scale`` on the full frame (default ``DATA.TEST_CROP_SIZE``).  A flip maps
``x -> W - 1 - x``.  Then ``/ 255``, ``(x - DATA.MEAN[c]) / DATA.STD[c]`` over the channels in file order,
channels reversed to RGB unless ``AVA.BGR`` (the dataset reverses them again when
``DATA.REVERSE_INPUT_CHANNEL``), boxes clamped to ``[0, W - 1] x [0, H - 1]`` of the input.

``AVA.PREPROCESS "exact"`` (ours, :func:`exact_view`): frames converted to RGB first and normalised in RGB
order, bilinear resize of the float clip (:mod:`slowfast.datasets.transforms`), boxes scaled per axis by
the actual factors, half-open pixel boxes (clamped to ``[0, W]``, flip ``x -> W - x``), integer jitter
scales, crop offsets over ``[0, H - size]``, and val views are full frames like test views.
"""
from __future__ import annotations

import math
from typing import Sequence, Tuple

import cv2
import numpy as np
import torch

from slowfast.datasets import transforms as T
from slowfast.datasets.ava.spec import AvaSpec
from slowfast.datasets.fast_train_clip import crop_of_resize


# PySlowFast-style (cv2) spatial steps on ``T x H x W x 3`` uint8 frames and ``N x 4`` float64 pixel boxes
# (inclusive pixel coordinates, bounds ``W - 1`` / ``H - 1``): see the module docstring.


def clamp_boxes_inclusive(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clamp x to ``[0, width - 1]`` and y to ``[0, height - 1]`` (PySlowFast's ``clip_boxes_to_image``)."""
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0.0, width - 1.0)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0.0, height - 1.0)
    return out


def short_side_size(height: int, width: int, size: int) -> Tuple[int, int, float]:
    """``(new_h, new_w, factor)`` of a short-side resize to ``size``: long side ``floor(long * size / short)``,
    boxes times ``factor = new_long / long`` (both axes; PySlowFast's ``cv2_transform.scale`` rule)."""
    if width < height:
        new_h = int(math.floor(height / width * size))
        return new_h, size, new_h / height
    new_w = int(math.floor(width / height * size))
    return size, new_w, new_w / width


def cv2_short_side_scale(frames: np.ndarray, size: int, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Short side to ``size`` (:func:`short_side_size`) by ``cv2.resize(INTER_LINEAR)`` of each uint8 frame;
    boxes scaled.  Unchanged when the short side is already ``size``.  (PySlowFast: ``cv2_transform.scale``
    / ``scale_boxes``.)"""
    height, width = frames.shape[1:3]
    if min(height, width) == size:
        return frames, boxes
    new_h, new_w, factor = short_side_size(height, width, size)
    resized = np.stack([cv2.resize(f, (new_w, new_h), interpolation=cv2.INTER_LINEAR) for f in frames])
    return resized, boxes * factor


def jitter_scale(min_size: int, max_size: int) -> int:
    """Training short side ``round(1 / U(1 / max_size, 1 / min_size))`` (PySlowFast's
    ``random_short_side_scale_jitter_list``; uniform in the inverse size), from the torch generator."""
    u = torch.rand(()).item()
    return int(round(1.0 / (1.0 / max_size + u * (1.0 / min_size - 1.0 / max_size))))


def crop_frames(frames: np.ndarray, x: int, y: int, size: int, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``size x size`` crop at ``(x, y)``; boxes shifted (not clamped)."""
    return frames[:, y:y + size, x:x + size], boxes - np.array([x, y, x, y], dtype=boxes.dtype)


def flip_frames_inclusive(frames: np.ndarray, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mirror left-right; boxes ``(x1, x2) -> (W - 1 - x2, W - 1 - x1)`` (PySlowFast's ``flip_boxes``)."""
    width = frames.shape[2]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - 1 - boxes[:, 2], width - 1 - boxes[:, 0]
    return np.ascontiguousarray(frames[:, :, ::-1]), flipped


def train_crop(frames: np.ndarray, boxes: np.ndarray, jitter: Sequence[int], size: int,
               random_flip: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The ``"pyslowfast"`` training view: short side to :func:`jitter_scale`, a random ``size`` crop
    (offsets ``torch.randint(0, H - size)``, 0 where the side is ``size``), a flip with p = 0.5; the same
    random draws in the same order as PySlowFast.  Only the crop of the resized frames is computed
    (:func:`slowfast.datasets.fast_train_clip.crop_of_resize`: bilinear samples at the positions the full
    ``cv2.resize`` would read, flipped in the same pass), so pixels agree with resize-then-crop up to
    uint8 rounding, and exactly when no resize is needed. ``T x H x W x 3`` uint8 -> ``T x size x size x 3``."""
    height, width = frames.shape[1:3]
    scale = jitter_scale(*jitter)
    new_h, new_w, factor = short_side_size(height, width, scale) if min(height, width) != scale \
        else (height, width, 1.0)
    if new_h < size or new_w < size:
        raise ValueError(f"AVA training crop {size} is larger than the {new_w}x{new_h} jittered frame "
                         f"(DATA.TRAIN_JITTER_SCALES {list(jitter)}, DATA.TRAIN_CROP_SIZE {size})")
    y = int(torch.randint(0, new_h - size, ()).item()) if new_h > size else 0
    x = int(torch.randint(0, new_w - size, ()).item()) if new_w > size else 0
    flip = bool(random_flip and torch.rand(()).item() < 0.5)
    boxes = boxes * factor - np.array([x, y, x, y], dtype=np.float64)
    if flip:
        boxes[:, [0, 2]] = size - 1 - boxes[:, [2, 0]]
    return crop_of_resize(np.ascontiguousarray(frames), (new_h, new_w), (y, x), size, flip), boxes


def pyslowfast_spatial(frames: np.ndarray, boxes: np.ndarray, spec: AvaSpec) -> Tuple[np.ndarray, np.ndarray]:
    """The ``"pyslowfast"`` spatial pipeline of the module docstring (after the boxes' scaling to pixels and
    clamping) on uint8 frames, for ``spec.split``; -> ``(frames, boxes)``, boxes not yet clamped to the output."""
    if spec.split == "train":
        return train_crop(frames, boxes, spec.train_jitter_scales, spec.train_crop_size, spec.random_flip)
    test_scale = spec.test_scale
    frames, boxes = cv2_short_side_scale(frames, test_scale, boxes)
    if spec.split == "val" and spec.val_center_crop:
        height, width = frames.shape[1:3]
        y, x = int(math.ceil((height - test_scale) / 2)), int(math.ceil((width - test_scale) / 2))
        frames, boxes = crop_frames(frames, x, y, test_scale, boxes)
    if spec.test_flip:
        frames, boxes = flip_frames_inclusive(frames, boxes)
    return frames, boxes


def pyslowfast_view(frames_bgr: np.ndarray, boxes: np.ndarray, spec: AvaSpec,
                    normalize: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """The whole ``"pyslowfast"`` view of ``spec.split``: uint8 BGR ``T x H x W x 3`` frames and ``N x 4`` boxes
    normalised to [0, 1] -> normalised ``C x T x H x W`` clip (RGB unless ``AVA.BGR``) and ``N x 4``
    input-pixel boxes. Used by the dataset and by the AVA demo (tools/demo.py), so both see the same pixels.
    ``normalize`` False: the clip stays uint8, channels in the same order (the model normalises it,
    ``DATA.NORMALIZE_ON_DEVICE``, with :func:`slowfast.models.build.clip_channel_stats`)."""
    height, width = frames_bgr.shape[1:3]
    pixels = clamp_boxes_inclusive(np.asarray(boxes, np.float64).reshape(-1, 4) * np.array([width, height, width, height]),
                                   height, width)
    frames, pixels = pyslowfast_spatial(frames_bgr, pixels, spec)
    if normalize:
        clip = normalize_frames(frames, spec.mean, spec.std, reverse=not spec.bgr)
    else:
        clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)
        clip = (clip if spec.bgr else clip.flip(0)).contiguous()
    pixels = clamp_boxes_inclusive(pixels, clip.shape[2], clip.shape[3])
    return clip, torch.from_numpy(pixels).float()


def normalize_frames(frames: np.ndarray, mean: Sequence[float], std: Sequence[float], reverse: bool) -> torch.Tensor:
    """uint8 ``T x H x W x C`` -> float32 ``C x T x H x W`` of ``(x / 255 - mean[c]) / std[c]`` over the
    channels in the frames' order, then the channel order reversed when ``reverse``.

    Computed channel by channel: one uint8 -> float copy into the output (reading the channels in the
    order asked for) and three in-place passes. Each element sees the same arithmetic as the out-of-place
    form, so the floats are the same bits, without its five full-size temporaries (a 32 x 256 x 455 clip:
    116 -> 20 ms; a 32 x 224^2 one with the channels reversed: 14.5 -> 6.4 ms)."""
    pixels = torch.from_numpy(np.ascontiguousarray(frames))
    c = pixels.shape[-1]
    mean_t = torch.tensor(mean, dtype=torch.float32)
    std_t = torch.tensor(std, dtype=torch.float32)
    clip = torch.empty((c,) + tuple(pixels.shape[:-1]), dtype=torch.float32)
    for k in range(c):
        ch = c - 1 - k if reverse else k
        clip[k].copy_(pixels[..., ch]).div_(255.0).sub_(mean_t[ch]).div_(std_t[ch])
    return clip


def exact_view(clip: torch.Tensor, boxes: torch.Tensor, spec: AvaSpec) -> Tuple[torch.Tensor, torch.Tensor]:
    """The ``AVA.PREPROCESS "exact"`` view of ``spec.split`` (module docstring): a ``C x T x H x W`` float clip
    in ``[0, 1]`` and its ``N x 4`` boxes in pixels -> normalised clip and ``N x 4`` input-pixel boxes."""
    if spec.is_train:
        low, high = spec.train_jitter_scales[0], spec.train_jitter_scales[1]
        clip, boxes = T.random_short_side_scale_jitter(clip, low, high, boxes)
        clip, boxes = T.random_crop(clip, spec.train_crop_size, boxes)
        clip, boxes = T.horizontal_flip(0.5 if spec.random_flip else 0.0, clip, boxes)
    else:
        clip, boxes = T.short_side_scale(clip, spec.test_scale, boxes)
        if spec.test_flip:
            clip, boxes = T.horizontal_flip(1.0, clip, boxes)
    boxes = T.clip_boxes_to_image(boxes, clip.shape[2], clip.shape[3])
    return T.color_normalization(clip, spec.mean, spec.std), boxes
