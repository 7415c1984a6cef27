"""The frames of an AVA key frame's clip.

Key frame of second ``sec``: frame-list entry ``(sec - AVA.START_SEC) * AVA.FPS`` (AVA: 900 and 30, the
constants of :mod:`slowfast.formats.ava_frames`; other values for custom data, see ``tools/prepare_ava.py``).
Clip: ``DATA.NUM_FRAMES`` frames at stride ``DATA.SAMPLING_RATE`` starting ``NUM_FRAMES * SAMPLING_RATE // 2``
frames before the key frame (PySlowFast's ``get_sequence``), indices clamped to the video.  Frames are
read with OpenCV (BGR uint8); a missing or undecodable file raises, or is replaced by the nearest
readable frame of the clip (:func:`read_frames_replacing_unreadable`).
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np


def clip_frame_indices(center: int, num_frames: int, sampling_rate: int, num_video_frames: int) -> np.ndarray:
    """Frame indices of the clip of key frame ``center``: ``num_frames`` frames at stride ``sampling_rate``
    from ``center - (num_frames * sampling_rate) // 2``, clamped to ``[0, num_video_frames - 1]``
    (PySlowFast's ``get_sequence(center, seq_len // 2, rate, n)``: the same frames wherever that range
    holds ``num_frames`` of them, i.e. except odd ``num_frames`` at stride 1, one frame short there).
    -> int64 array ``(num_frames,)``."""
    start = center - (num_frames * sampling_rate) // 2
    return np.clip(start + np.arange(num_frames) * sampling_rate, 0, num_video_frames - 1)


def read_frames(paths: Sequence[str], bgr: bool = False) -> np.ndarray:
    """Read image files with OpenCV. -> ``T x H x W x 3`` uint8, RGB (BGR when ``bgr``).

    Raises:
        FileNotFoundError: a file is missing (the message names it).
        OSError: a file exists but cannot be decoded, or frame sizes differ.
    """
    frames = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            if not os.path.exists(path):
                raise FileNotFoundError(f"AVA frame file not found: {path}")
            raise OSError(f"AVA frame file cannot be decoded: {path}")
        if frames and image.shape != frames[0].shape:
            raise OSError(f"AVA frame {path} is {image.shape[1]}x{image.shape[0]}, earlier frames of the clip are "
                          f"{frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(image if bgr else cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return np.stack(frames)


def read_frames_replacing_unreadable(paths: Sequence[str], bgr: bool = False) -> Tuple[np.ndarray, List[Tuple[str, str]]]:
    """:func:`read_frames`, but a missing or undecodable file is replaced by the nearest readable frame of
    ``paths`` (the earlier one on a tie). -> frames and ``[(path, reason), ...]`` of the replaced files.

    Raises:
        OSError: no file of ``paths`` can be read, or frame sizes differ.
    """
    images: List[Optional[np.ndarray]] = []
    unreadable: List[Tuple[str, str]] = []
    for path in paths:
        try:
            images.append(read_frames([path], bgr)[0])
        except OSError as e:
            images.append(None)
            unreadable.append((path, str(e)))
    good = [i for i, im in enumerate(images) if im is not None]
    if not good:
        raise OSError(f"no frame of the clip can be read: {unreadable[0][1]} (and {len(unreadable) - 1} more)")
    filled = [im if im is not None else images[min(good, key=lambda j: (abs(j - i), j))] for i, im in enumerate(images)]
    shapes = {im.shape for im in filled}
    if len(shapes) > 1:
        raise OSError(f"AVA frames of one clip differ in size: {sorted(shapes)} ({paths[0]} ...)")
    return np.stack(filled), unreadable
