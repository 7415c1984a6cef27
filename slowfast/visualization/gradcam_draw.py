"""Pictures of Grad-CAM maps: coloured overlays on the clip's frames, a PNG strip, an overlay video.

Frames are ``T x H x W x 3`` uint8 RGB numpy arrays; maps ``T x H x W`` floats in ``[0, 1]``
(:class:`slowfast.visualization.gradcam.GradCam`). Colours come from a matplotlib colormap
(``TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP``). Files are written atomically.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from slowfast.datasets.video_encode import default_codec, write_video
from slowfast.utils.io import atomic_write

ALPHA = 0.5  # weight of the heat map in an overlay


def colorize(cam: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """``... x H x W`` map in ``[0, 1]`` -> ``... x H x W x 3`` uint8 RGB."""
    import matplotlib  # noqa: PLC0415 - heavy, only when drawing

    rgba = matplotlib.colormaps[colormap](np.clip(cam, 0.0, 1.0))
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def overlay(frames: np.ndarray, cam: np.ndarray, colormap: str = "viridis", alpha: float = ALPHA) -> np.ndarray:
    """Frames with the coloured map blended over them (same shape as ``frames``)."""
    heat = colorize(cam, colormap).astype(np.float32)
    return (frames.astype(np.float32) * (1 - alpha) + heat * alpha).round().clip(0, 255).astype(np.uint8)


def draw_box(frames: np.ndarray, box_px: Sequence[float], colour=(255, 64, 64)) -> np.ndarray:
    """Copy of ``frames`` with the rectangle ``(x1, y1, x2, y2)`` (pixels) drawn on each."""
    out = np.ascontiguousarray(frames.copy())
    x1, y1, x2, y2 = (int(round(v)) for v in box_px)
    for frame in out:
        cv2.rectangle(frame, (x1, y1), (max(x1, x2 - 1), max(y1, y2 - 1)), colour, 1)
    return out


def upscale(frames: np.ndarray, min_side: int = 160) -> np.ndarray:
    """Frames enlarged by a whole factor (nearest neighbour) so the shorter side is at least ``min_side``."""
    factor = max(1, int(np.ceil(min_side / min(frames.shape[1:3]))))
    return frames.repeat(factor, axis=1).repeat(factor, axis=2) if factor > 1 else frames


def label(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` with a black band above it holding ``text``."""
    band = np.zeros((18, image.shape[1], 3), np.uint8)
    cv2.putText(band, text[: max(4, image.shape[1] // 7)], (2, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)
    return np.concatenate([band, image], axis=0)


def pick_frames(num_frames: int, count: int = 8) -> List[int]:
    """``count`` frame indices spread evenly over ``num_frames`` (all of them when fewer)."""
    if num_frames <= count:
        return list(range(num_frames))
    return sorted({int(round(i)) for i in np.linspace(0, num_frames - 1, count)})


def strip(rows: Sequence[Tuple[str, np.ndarray]], count: int = 8) -> np.ndarray:
    """One image: a row per ``(title, T x H x W x 3 frames)``, ``count`` frames spread over the clip."""
    images = []
    for title, frames in rows:
        big = upscale(frames[pick_frames(len(frames), count)])
        gap = np.full((big.shape[1], 2, 3), 255, np.uint8)
        row = np.concatenate([np.concatenate([f, gap], axis=1) for f in big], axis=1)
        images.append(label(row, title))
    width = max(i.shape[1] for i in images)
    images = [np.pad(i, ((0, 2), (0, width - i.shape[1]), (0, 0)), constant_values=255) for i in images]
    return np.concatenate(images, axis=0)


def side_by_side(videos: Sequence[Tuple[str, np.ndarray]]) -> np.ndarray:
    """``T x H x W' x 3``: the (upscaled, titled) videos next to each other, frame by frame."""
    panels = [np.stack([label(f, title) for f in upscale(v)]) for title, v in videos]
    gap = np.full((*panels[0].shape[:2], 4, 3), 255, np.uint8)
    parts: List[np.ndarray] = []
    for p in panels:
        parts += [p, gap]
    return np.concatenate(parts[:-1], axis=2)


def write_png(path: str, image: np.ndarray) -> str:
    """Write an RGB image as PNG, atomically."""
    ok, data = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError(f"cannot encode {path} as PNG")
    atomic_write(path, lambda f: f.write(data.tobytes()))
    return path


def write_mp4(path: str, frames: np.ndarray, fps: float, codec: Optional[str] = None) -> str:
    """Write ``T x H x W x 3`` frames as a video (even sizes, padded), through a temporary file renamed on success."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)))
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.tmp.mp4")
    try:
        write_video(tmp, np.ascontiguousarray(frames), fps, codec=codec or default_codec())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
