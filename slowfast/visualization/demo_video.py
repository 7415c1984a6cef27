"""Labelled output videos: read a video frame by frame, draw class names / person boxes, write H.264.

The output keeps the input's frames one for one: same number of frames, same presentation timestamps
(so variable-frame-rate input stays variable), same time base and nominal rate, and the size of the
*displayed* input (frames of a file with rotation metadata are turned upright first, and written
upright without rotation metadata).

Pixel format: ``yuv420p`` (plays everywhere) for even sizes; H.264 4:2:0 cannot hold an odd width or
height, so odd sizes are written as ``yuv444p`` (High 4:4:4 profile: exact size and full chroma; FFmpeg,
VLC and browsers based on FFmpeg play it, some hardware players do not). See
:func:`slowfast.datasets.video_encode.choose_pix_fmt`.

Drawing uses OpenCV (``cv2.putText`` / ``cv2.rectangle``) on ``H x W x 3`` uint8 RGB arrays, in place.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterator, List, Optional, Sequence, Tuple

import av
import cv2
import numpy as np

from slowfast.datasets.video_container import VideoDecodeError, open_video
from slowfast.datasets.video_encode import choose_pix_fmt, default_codec

FONT = cv2.FONT_HERSHEY_SIMPLEX
# RGB colours: text, panel background, box outlines (cycled over persons).
TEXT = (255, 255, 255)
PANEL = (0, 0, 0)
BOX_COLOURS = ((255, 64, 64), (64, 200, 64), (64, 128, 255), (255, 200, 0), (200, 64, 255), (0, 220, 220))


def read_frames(path: str) -> Iterator[Tuple[float, int, np.ndarray]]:
    """Yield ``(seconds, pts, frame)`` for every frame in presentation order; ``frame`` is an upright
    ``H x W x 3`` uint8 RGB array, ``seconds`` counts from the stream's first timestamp and ``pts`` is
    in the stream's time base (relative to its first timestamp).

    Raises:
        VideoDecodeError: the file cannot be opened or decoded (names the file).
    """
    with open_video(path) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        try:
            for frame in container.decode(stream):
                pts = (frame.pts if frame.pts is not None else frame.dts or 0) - start
                turns = int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) % 4
                rgb = frame.to_ndarray(format="rgb24")
                yield float(pts * stream.time_base), int(pts), np.ascontiguousarray(np.rot90(rgb, turns))
        except av.FFmpegError as err:
            raise VideoDecodeError(path, f"decoding failed ({err})") from err


def stream_timing(path: str) -> Tuple[Fraction, Fraction]:
    """``(time_base, nominal frame rate)`` of the first video stream of ``path``."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(30)
        return Fraction(stream.time_base), Fraction(rate)


class VideoWriter:
    """H.264 writer (``libx264``; ``mpeg4`` where FFmpeg lacks it) keeping the input's timestamps.

    ``write(frame, pts)`` takes ``H x W x 3`` uint8 RGB and the frame's pts in ``time_base``.
    Frames go to a temporary file that is renamed onto ``path`` when the writer closes without error.
    """

    def __init__(self, path: str, width: int, height: int, rate: Fraction, time_base: Fraction,
                 codec: Optional[str] = None):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        root, ext = os.path.splitext(os.path.basename(path))
        self._tmp = os.path.join(folder, f".tmp_{root}{ext or '.mp4'}")
        self._container = av.open(self._tmp, "w", format=None if ext else "mp4")
        codec = codec or default_codec()
        self._stream = self._container.add_stream(codec, rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = choose_pix_fmt(codec, width, height)
        self._stream.time_base = time_base
        self._stream.codec_context.time_base = time_base
        self.size = (width, height)
        self.frames = 0

    def write(self, frame: np.ndarray, pts: int) -> None:
        if frame.shape[1::-1] != self.size:
            raise ValueError(f"VideoWriter: frame of {frame.shape[1]}x{frame.shape[0]}, stream is {self.size[0]}x{self.size[1]}")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = pts
        video_frame.time_base = self._stream.codec_context.time_base
        self._container.mux(self._stream.encode(video_frame))
        self.frames += 1

    def close(self, ok: bool = True) -> None:
        try:
            if ok:
                self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()
        if ok:
            os.replace(self._tmp, self.path)
        elif os.path.exists(self._tmp):
            os.remove(self._tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(ok=exc_type is None)
        return False


def display_shape(height: int, width: int, display_size: int) -> Tuple[int, int]:
    """``(height, width)`` of the drawing canvas for a ``height x width`` frame: scaled up, aspect kept, so
    that its short side is at least ``display_size`` (DEMO.DISPLAY_SIZE); larger frames and ``display_size``
    0 keep their size."""
    short = min(height, width)
    if display_size <= 0 or short >= display_size:
        return height, width
    factor = display_size / short
    return max(display_size, int(round(height * factor))), max(display_size, int(round(width * factor)))


def to_display(frame: np.ndarray, display_size: int) -> np.ndarray:
    """``frame`` scaled up to :func:`display_shape` (nearest neighbour: the input's pixels stay sharp
    squares); the frame itself when no scaling is needed."""
    height, width = display_shape(frame.shape[0], frame.shape[1], display_size)
    if (height, width) == frame.shape[:2]:
        return frame
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_NEAREST)


def text_scale(height: int, width: int) -> Tuple[float, int]:
    """Font scale and stroke thickness readable on a ``height x width`` frame (about 1/25 of the short side)."""
    short = min(height, width)
    scale = max(0.25, short / 25.0 / 22.0)
    return scale, max(1, int(round(scale * 1.5)))


def draw_text_block(frame: np.ndarray, lines: Sequence[str], x: int, y: int, colour=PANEL) -> Tuple[int, int, int, int]:
    """Draw ``lines`` top-down from ``(x, y)`` (top-left) on a filled ``colour`` panel; the panel is
    shifted to stay inside the frame. Returns the panel ``(x1, y1, x2, y2)`` in pixels (exclusive end)."""
    if not lines:
        return (x, y, x, y)
    height, width = frame.shape[:2]
    scale, thick = text_scale(height, width)
    sizes = [cv2.getTextSize(line, FONT, scale, thick) for line in lines]
    line_h = max(h + base for (_, h), base in sizes) + 2
    block_w = min(width, max(w for (w, _), _ in sizes) + 4)
    block_h = min(height, line_h * len(lines) + 2)
    x = int(min(max(0, x), width - block_w))
    y = int(min(max(0, y), height - block_h))
    cv2.rectangle(frame, (x, y), (x + block_w - 1, y + block_h - 1), colour, thickness=-1)
    for i, line in enumerate(lines):
        baseline_y = y + 1 + line_h * (i + 1) - sizes[i][1] - 1
        cv2.putText(frame, line, (x + 2, baseline_y), FONT, scale, TEXT, thick, cv2.LINE_AA)
    return (x, y, x + block_w, y + block_h)


def format_scores(pairs: Sequence[Tuple[str, float]]) -> List[str]:
    """``[(name, score), ...]`` -> ``["name 0.87", ...]``."""
    return [f"{name} {score:.2f}" for name, score in pairs]


def draw_classification(frame: np.ndarray, top_k: Sequence[Tuple[str, float]]) -> Tuple[int, int, int, int]:
    """Top-k class names and scores in the frame's top-left corner. Returns the panel rectangle."""
    return draw_text_block(frame, format_scores(top_k), 0, 0)


def box_to_pixels(box: Sequence[float], height: int, width: int) -> Tuple[int, int, int, int]:
    """Normalised ``(x1, y1, x2, y2)`` -> inclusive integer pixel corners inside the frame (half-open
    convention of :mod:`slowfast.datasets.transforms`: column ``i`` covers ``[i, i + 1)``)."""
    x1, y1, x2, y2 = box
    left = int(np.clip(np.floor(x1 * width), 0, width - 1))
    top = int(np.clip(np.floor(y1 * height), 0, height - 1))
    right = int(np.clip(np.ceil(x2 * width) - 1, left, width - 1))
    bottom = int(np.clip(np.ceil(y2 * height) - 1, top, height - 1))
    return left, top, right, bottom


def draw_person(frame: np.ndarray, box: Sequence[float], actions: Sequence[Tuple[str, float]], index: int = 0) -> None:
    """Outline of normalised ``box`` and its action labels (inside the box, top-left corner)."""
    height, width = frame.shape[:2]
    left, top, right, bottom = box_to_pixels(box, height, width)
    colour = BOX_COLOURS[index % len(BOX_COLOURS)]
    _, thick = text_scale(height, width)
    cv2.rectangle(frame, (left, top), (right, bottom), colour, thickness=thick)
    draw_text_block(frame, format_scores(actions), left + thick, top + thick, colour=colour)
