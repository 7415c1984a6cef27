"""Spatial clip transforms that move boxes with the pixels.

Tensor layout: clips are ``C x T x H x W`` floating-point tensors (use
:func:`frames_to_clip` on the ``T x H x W x 3`` uint8 frames from the decoder).
Transforms do not modify their input in place (they may return it, or a view
of it, when nothing changes); ones that accept ``boxes`` return
``(clip, boxes)`` with the boxes transformed by exactly the same parameters
(``boxes`` is ``None`` in, ``None`` out).

Box convention: ``N x 4`` float tensors ``(x1, y1, x2, y2)`` in continuous pixel
coordinates, where pixel column ``i`` covers ``[i, i + 1)``.  A box covering
pixel columns ``a .. b`` (inclusive) is ``x1 = a, x2 = b + 1``.  So:

* scaling by ``s`` maps ``x -> x * s`` (consistent with bilinear resizing with
  ``align_corners=False``),
* cropping at offset ``o`` maps ``x -> x - o``,
* flipping an image of width ``W`` maps ``(x1, x2) -> (W - x2, W - x1)``,
* the image itself is the box ``(0, 0, W, H)`` (:func:`clip_boxes_to_image`).

(PySlowFast's AVA code uses inclusive ``x2`` and ``W - 1`` bounds instead.)

Randomness comes from ``rng`` (``torch.Generator`` or ``None`` for the global
torch generator), see :mod:`slowfast.datasets.sampling`.
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from slowfast.datasets.sampling import rand, randint

Boxes = Optional[torch.Tensor]


def frames_to_clip(frames: torch.Tensor) -> torch.Tensor:
    """``T x H x W x C`` uint8 frames -> ``C x T x H x W`` float32 clip in ``[0, 1]``."""
    if frames.dim() != 4:
        raise ValueError(f"frames_to_clip: expected T x H x W x C frames, got shape {tuple(frames.shape)}")
    return frames.permute(3, 0, 1, 2).float().div_(255.0)


def _check_clip(clip: torch.Tensor, name: str) -> None:
    if clip.dim() != 4 or not clip.is_floating_point():
        raise ValueError(f"{name}: expected a floating C x T x H x W clip, got {clip.dtype} of shape {tuple(clip.shape)}")


def _as_boxes(boxes) -> Boxes:
    """``None`` or an ``N x 4`` floating tensor (numpy arrays and lists are converted)."""
    if boxes is None:
        return None
    boxes = torch.as_tensor(boxes)
    if not boxes.is_floating_point():
        boxes = boxes.float()
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes must be N x 4 (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    return boxes


def scale_boxes(boxes: Boxes, scale_x: float, scale_y: float) -> Boxes:
    """Multiply x coordinates by ``scale_x`` and y coordinates by ``scale_y``."""
    boxes = _as_boxes(boxes)
    if boxes is None:
        return None
    factors = torch.tensor([scale_x, scale_y, scale_x, scale_y], dtype=boxes.dtype)
    return boxes * factors


def crop_boxes(boxes: Boxes, x_offset: int, y_offset: int) -> Boxes:
    """Shift boxes into the frame of a crop whose top-left corner is ``(x_offset, y_offset)``."""
    boxes = _as_boxes(boxes)
    if boxes is None:
        return None
    return boxes - torch.tensor([x_offset, y_offset, x_offset, y_offset], dtype=boxes.dtype)


def clip_boxes_to_image(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Clamp ``N x 4`` boxes to the image ``[0, width] x [0, height]``."""
    boxes = _as_boxes(boxes).clone()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clamp(0, width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clamp(0, height)
    return boxes


def resize(clip: torch.Tensor, height: int, width: int, boxes=None) -> Tuple[torch.Tensor, Boxes]:
    """Bilinearly resize every frame of a ``C x T x H x W`` clip to ``height x width``."""
    _check_clip(clip, "resize")
    old_height, old_width = clip.shape[2:]
    if (old_height, old_width) == (height, width):
        return clip, _as_boxes(boxes)
    frames = clip.permute(1, 0, 2, 3)  # T x C x H x W: time acts as the batch
    frames = F.interpolate(frames, size=(height, width), mode="bilinear", align_corners=False)
    return frames.permute(1, 0, 2, 3).contiguous(), scale_boxes(boxes, width / old_width, height / old_height)


def short_side_scale(clip: torch.Tensor, size: int, boxes=None) -> Tuple[torch.Tensor, Boxes]:
    """Resize so the shorter side is ``size`` pixels, keeping the aspect ratio.

    The long side becomes ``floor((long / short) * size)``, evaluated in that order in double
    precision as PySlowFast's ``random_short_side_scale_jitter`` does (``floor(long * size / short)``
    can differ by one pixel when the ratio is not exact in binary). Resizing is bilinear with
    ``align_corners=False``; a clip whose short side already is ``size`` is returned unchanged.

    Args:
        clip: ``C x T x H x W`` float.
        boxes: ``N x 4`` pixel boxes or ``None``; scaled per axis by the actual
            resize factors.

    Returns:
        ``(clip, boxes)``; clip is ``C x T x H' x W'`` with ``min(H', W') == size``.
    """
    _check_clip(clip, "short_side_scale")
    height, width = clip.shape[2:]
    if height <= width:
        new_height, new_width = size, int(math.floor(float(width) / height * size))
    else:
        new_height, new_width = int(math.floor(float(height) / width * size)), size
    return resize(clip, new_height, new_width, boxes)


def random_short_side_scale_jitter(
    clip: torch.Tensor,
    min_size: int,
    max_size: int,
    boxes=None,
    rng: Optional[torch.Generator] = None,
) -> Tuple[torch.Tensor, Boxes]:
    """Scale the short side to a random integer in ``[min_size, max_size]`` (see :func:`short_side_scale`).

    Returns:
        ``(clip, boxes)``, clip ``C x T x H' x W'``.
    """
    return short_side_scale(clip, randint(min_size, max_size, rng), boxes)


def crop(clip: torch.Tensor, x_offset: int, y_offset: int, size: int, boxes=None) -> Tuple[torch.Tensor, Boxes]:
    """Cut the ``size x size`` square whose top-left pixel is ``(x_offset, y_offset)``.

    Boxes are shifted, not clamped (use :func:`clip_boxes_to_image`).
    """
    _check_clip(clip, "crop")
    height, width = clip.shape[2:]
    if not (0 <= x_offset <= width - size and 0 <= y_offset <= height - size):
        raise ValueError(f"crop: {size}x{size} at ({x_offset}, {y_offset}) does not fit a {width}x{height} clip")
    cropped = clip[:, :, y_offset : y_offset + size, x_offset : x_offset + size]
    return cropped, crop_boxes(boxes, x_offset, y_offset)


def random_crop(clip: torch.Tensor, size: int, boxes=None, rng: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Boxes]:
    """Cut a ``size x size`` square at a uniformly random position.

    Returns:
        ``(clip, boxes)``, clip ``C x T x size x size``; boxes shifted, not clamped.
    """
    _check_clip(clip, "random_crop")
    height, width = clip.shape[2:]
    if height < size or width < size:
        raise ValueError(f"random_crop: crop {size} larger than the {width}x{height} clip")
    y_offset = randint(0, height - size, rng)
    x_offset = randint(0, width - size, rng)
    return crop(clip, x_offset, y_offset, size, boxes)


def uniform_crop(clip: torch.Tensor, size: int, spatial_idx: int, boxes=None) -> Tuple[torch.Tensor, Boxes]:
    """Deterministic test-time ``size x size`` crop.

    ``spatial_idx`` 0, 1, 2 takes the left (top), centre, right (bottom) square
    along the long side (width when ``W >= H``); the short side is centred.  So
    the three crops start at 0 and end at the long side's end: together they
    cover it whenever ``long <= 3 * size``.  Centred offsets are
    ``ceil((side - size) / 2)``, as in PySlowFast's ``transform.uniform_crop``.

    Returns:
        ``(clip, boxes)``, clip ``C x T x size x size``; boxes shifted, not clamped.
    """
    _check_clip(clip, "uniform_crop")
    if spatial_idx not in (0, 1, 2):
        raise ValueError(f"uniform_crop: spatial_idx must be 0, 1 or 2, got {spatial_idx}")
    height, width = clip.shape[2:]
    if height < size or width < size:
        raise ValueError(f"uniform_crop: crop {size} larger than the {width}x{height} clip")
    def offset(extra: int, idx: int) -> int:  # extra = side - size: 0, centred (rounded up) or extra
        return (0, -(-extra // 2), extra)[idx]

    if width >= height:
        x_offset, y_offset = offset(width - size, spatial_idx), offset(height - size, 1)
    else:
        x_offset, y_offset = offset(width - size, 1), offset(height - size, spatial_idx)
    return crop(clip, x_offset, y_offset, size, boxes)


def horizontal_flip(prob: float, clip: torch.Tensor, boxes=None, rng: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, Boxes]:
    """Mirror left-right with probability ``prob``.

    Boxes map ``(x1, y1, x2, y2) -> (W - x2, y1, W - x1, y2)`` (half-open pixel
    convention, see module docstring), so a box keeps covering the same pixels.

    Returns:
        ``(clip, boxes)``, same shapes as given.
    """
    _check_clip(clip, "horizontal_flip")
    boxes = _as_boxes(boxes)
    if rand(rng) >= prob:
        return clip, boxes
    width = clip.shape[3]
    if boxes is not None:
        boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], dim=1)
    return clip.flip(3), boxes


def color_normalization(clip: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel ``(clip - mean) / std`` on a ``C x T x H x W`` clip (``len(mean) == len(std) == C``)."""
    _check_clip(clip, "color_normalization")
    if len(mean) != clip.shape[0] or len(std) != clip.shape[0]:
        raise ValueError(f"color_normalization: {clip.shape[0]} channels but mean {list(mean)}, std {list(std)}")
    mean_t = torch.as_tensor(mean, dtype=clip.dtype, device=clip.device).view(-1, 1, 1, 1)
    std_t = torch.as_tensor(std, dtype=clip.dtype, device=clip.device).view(-1, 1, 1, 1)
    return (clip - mean_t) / std_t
