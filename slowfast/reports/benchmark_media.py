"""Media for data-pipeline benchmarks that need no dataset: a Kinetics-like video and AVA-like JPEG frames.

The content is a panning smooth texture with two moving shapes and mild per-pixel noise: enough detail and
motion that an H.264 encoder makes real P/B frames (its decoding cost per frame is then close to that of
a 340x256 Kinetics video: about 1,200 frames/s decoded and converted to RGB on one AVX2 core), and that
JPEG files are the size of extracted AVA frames (about 80 KB at 640x360, quality 95).
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from slowfast.datasets.video_encode import write_video

# libx264 as FFmpeg's command line uses it by default: CRF 23, preset medium (3 B-frames, key frame every
# 250 frames), i.e. how most people re-encode Kinetics to 340x256.
VIDEO_OPTIONS = {"crf": "23", "preset": "medium"}


def render_frames(num_frames: int, width: int, height: int, seed: int = 0) -> np.ndarray:
    """`num_frames x height x width x 3` uint8 RGB frames of the content described in the module docstring."""
    rng = np.random.default_rng(seed)
    pan = max(1, num_frames)  # one pixel of pan per frame
    coarse = rng.integers(0, 255, (max(2, height // 8), max(2, width // 8 + 40), 3), dtype=np.uint8)
    texture = cv2.resize(coarse, (width + pan, height), interpolation=cv2.INTER_CUBIC)
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    r = max(2, height // 8)
    for t in range(num_frames):
        f = texture[:, t:t + width].copy()
        cx = int(width * (0.15 + 0.65 * t / max(1, num_frames)))
        cy = int(height * (0.5 + 0.25 * np.sin(t / 15.0)))
        cv2.circle(f, (cx, cy), r, (200, 60, 40), -1)
        x0 = int(width * 0.6) - (t % max(1, width // 4))
        cv2.rectangle(f, (x0, height // 6), (x0 + width // 6, height // 2), (30, 200, 90), -1)
        noise = rng.integers(-6, 7, f.shape, dtype=np.int16)
        frames[t] = np.clip(f.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return frames


def make_benchmark_video(path: str, seconds: float = 10.0, fps: int = 30, width: int = 340, height: int = 256,
                         seed: int = 0) -> str:
    """Write (once: an existing file is kept) the benchmark video to `path` (H.264 in the container its
    extension names). Returns `path`."""
    if not os.path.isfile(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        frames = render_frames(int(round(seconds * fps)), width, height, seed)
        tmp = path + ".partial" + os.path.splitext(path)[1]
        write_video(tmp, frames, fps, codec="libx264", options=VIDEO_OPTIONS)
        os.replace(tmp, path)
    return path


def make_benchmark_frames(folder: str, num_frames: int = 160, width: int = 640, height: int = 360,
                          quality: int = 95, seed: int = 0) -> list[str]:
    """Write (once) `num_frames` JPEG frames `<folder>/frame_000001.jpg ...` (AVA's frame layout, 1-based).
    Returns their paths in order."""
    paths = [os.path.join(folder, f"frame_{i + 1:06d}.jpg") for i in range(num_frames)]
    if not all(os.path.isfile(p) for p in paths):
        os.makedirs(folder, exist_ok=True)
        for p, rgb in zip(paths, render_frames(num_frames, width, height, seed)):
            if not cv2.imwrite(p, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise OSError(f"cannot write benchmark frame {p}")
    return paths
