"""Tiny videos, configs and checkpoints shared by test_demo.py and test_features.py."""
import os
from fractions import Fraction

import av
import numpy as np
import torch

from slowfast.checkpoint import save_checkpoint
from slowfast.config import load_config
from slowfast.models import build_model

KINETICS_TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
# 97 x 61: both sides odd (H.264 4:2:0 cannot hold them).
WIDTH, HEIGHT, FPS = 97, 61, 25


def textured_frames(num_frames: int, height: int = HEIGHT, width: int = WIDTH, seed: int = 0) -> np.ndarray:
    """Smooth moving gradients (compress well, so drawn labels stand out from coding noise)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for t in range(num_frames):
        r = 128 + 60 * np.sin((x + 2 * t) / 9.0)
        g = 128 + 60 * np.cos((y + t) / 7.0)
        b = 128 + 40 * np.sin((x + y) / 11.0 + seed)
        frames.append(np.stack([r, g, b], axis=-1))
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def write_video(path, frames: np.ndarray, fps=FPS, pts=None, rotation=None) -> str:
    """H.264 file of ``frames`` (``T x H x W x 3`` RGB); ``pts`` in 1/1000 s for variable frame rate;
    ``rotation``: display-matrix rotation in degrees counter-clockwise (phone videos)."""
    height, width = frames.shape[1:3]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "12"}
        if pts is not None:
            stream.time_base = Fraction(1, 1000)
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            if pts is not None:
                frame.pts = int(pts[i])
                frame.time_base = Fraction(1, 1000)
            else:
                frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return str(path)


def decode(path):
    """-> (frames T x H x W x 3, pts list, stream average rate)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames, pts = [], []
        for f in container.decode(stream):
            frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
        return np.stack(frames), pts, stream.average_rate, stream.time_base


def config_with_checkpoint(tmp_dir, base: str, *opts, seed: int = 0):
    """Config ``base`` + ``opts`` with TEST.CHECKPOINT_FILE_PATH pointing at freshly initialised weights."""
    common = ["OUTPUT_DIR", str(tmp_dir), "DATA.GENERATE_SYNTHETIC", "False", "DATA_LOADER.NUM_WORKERS", "0"]
    cfg = load_config(base, common + list(opts))
    torch.manual_seed(seed)
    path = os.path.join(str(tmp_dir), f"weights_{os.path.basename(base)}.pyth")
    save_checkpoint(path, build_model(cfg, device="cpu"), cfg=cfg)
    return load_config(base, common + list(opts) + ["TEST.CHECKPOINT_FILE_PATH", path])
