"""Writing video files with PyAV: the codec this FFmpeg build offers (H.264, else MPEG-4 part 2), a pixel
format it accepts, and `write_video` with quality defaults under which motion cues and grey levels survive
compression. Used by the synthetic datasets, data preparation, demo videos and benchmarks.

This module needs only numpy and PyAV (no torch), so worker processes start fast.
"""
from fractions import Fraction
from typing import Dict, Optional, Union

import av
import numpy as np

# High-quality defaults: the motion cues (and the tests' index-coded grey levels)
# must survive compression.  FFmpeg's mpeg4 default rate control is too coarse.
# Determinism: one encoder thread (``threads`` here and ``codec_context.thread_count`` in write_video; for
# libx264 also ``x264-params`` with one lookahead thread, no sliced threads and x264's deterministic mode),
# and the RGB -> YUV conversion done by write_video in one swscale thread (PyAV's default is one thread per core).
DEFAULT_CODEC_OPTIONS = {
    "libx264": {"crf": "18", "preset": "veryfast", "threads": "1",
                "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0:non-deterministic=0"},
    "mpeg4": {"qmin": "1", "qmax": "3", "threads": "1"},
}


def codec_available(name: str) -> bool:
    """True when this PyAV/FFmpeg build can encode with codec ``name``."""
    try:
        av.codec.Codec(name, "w")
    except Exception:  # PyAV raises different types across versions for unknown codecs
        return False
    return True


def default_codec() -> str:
    """``libx264`` (H.264) when available, else ``mpeg4`` (MPEG-4 part 2)."""
    return "libx264" if codec_available("libx264") else "mpeg4"


def choose_pix_fmt(codec: str, width: int, height: int) -> str:
    """Pixel format for ``codec`` at ``width`` x ``height``.

    ``yuv420p`` halves chroma resolution, and libx264 rejects odd frame sizes in
    that format; for odd sizes libx264 gets ``yuv444p`` (High 4:4:4 profile, which
    FFmpeg decodes fine).  mpeg4 and libvpx-vp9 accept odd sizes in ``yuv420p``.
    """
    odd = width % 2 or height % 2
    return "yuv444p" if odd and codec == "libx264" else "yuv420p"


def write_video(
    path: str,
    frames: np.ndarray,
    fps: Union[int, float, Fraction],
    codec: str = "libx264",
    gop: Optional[int] = None,
    options: Optional[Dict[str, str]] = None,
    container_options: Optional[Dict[str, str]] = None,
) -> None:
    """Encode ``frames`` (``T x H x W x 3`` uint8 RGB numpy) to the video file ``path``.

    The container follows the file extension (.mp4, .avi, .webm, ...).  Frame
    ``i`` gets presentation time ``i / fps``; pass ``Fraction(30000, 1001)`` for
    NTSC rates.  ``gop`` sets the key-frame interval.  ``options`` are encoder
    options (default :data:`DEFAULT_CODEC_OPTIONS`); ``container_options`` go to
    the muxer (e.g. ``{"movflags": "faststart"}``).  The same frames always give the same bytes: the
    encoder runs in one thread (see :data:`DEFAULT_CODEC_OPTIONS`), and the RGB -> YUV conversion too
    (``VideoFrame.reformat(threads=1)``; PyAV's implicit conversion uses a swscale thread per core).
    """
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"write_video({path!r}): need T x H x W x 3 uint8 frames, got {frames.shape} {frames.dtype}")
    if not isinstance(fps, Fraction):
        fps = Fraction(fps).limit_denominator(1001)
    height, width = frames.shape[1:3]
    with av.open(path, "w", options=container_options or {}) as container:
        if options is None:
            options = DEFAULT_CODEC_OPTIONS.get(codec, {})
        stream = container.add_stream(codec, rate=fps, options=options)
        stream.width, stream.height = width, height
        stream.pix_fmt = choose_pix_fmt(codec, width, height)
        stream.codec_context.thread_count = 1
        if gop is not None:
            stream.codec_context.gop_size = gop
        for index, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            frame = frame.reformat(format=stream.pix_fmt, threads=1)
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


# --------------------------------------------------------------------------- rendering
