"""The one choice of how a clip is decoded: :func:`clip_sampler` reads ``DATA.DECODING_BACKEND`` (pyav |
torchcodec), ``DATA.DECODING_DEVICE`` (cpu | cuda, TorchCodec only) and ``DATA.TEMPORAL_SAMPLING``
(pyslowfast | timestamps), and returns the function every dataset calls::

    sample = clip_sampler(cfg)
    frames = sample(source, clip_idx, num_clips, num_frames, sampling_rate, target_fps)
    # frames: num_frames x H x W x 3 uint8 RGB (CPU)

``source`` is a video file's path, its encoded ``bytes``, or a
:class:`~slowfast.datasets.video_container.VideoBytes` (bytes and the name errors give it, e.g. the shard and
the sample key). Both backends pick the same frames (``decoder`` / ``torchcodec_decoder``); a video that
cannot be decoded raises :class:`~slowfast.datasets.video_container.VideoDecodeError` naming it, so datasets
replace and count it whatever the backend.

:func:`check_decoding` fails at once, with a ``ConfigError`` naming the key, when the configured backend
cannot run here (TorchCodec or its FFmpeg libraries missing, ``DATA.DECODING_DEVICE cuda`` without CUDA or
with PyAV). ``tools/run_net.py`` calls it before anything else runs, and so does :func:`clip_sampler`. (The
keys' values are checked at load time, ``config/validation.py``'s choices.)
"""
import functools
from typing import Callable

import torch

from slowfast.config.errors import ConfigError
from slowfast.datasets import decoder

ClipSampler = Callable[..., torch.Tensor]


def check_decoding(cfg) -> None:
    """Raise ``ConfigError`` (one line: the key, and what to install or change) when ``DATA.DECODING_BACKEND``
    / ``DATA.DECODING_DEVICE`` cannot run on this machine."""
    if cfg.DATA.DECODING_BACKEND != "torchcodec":
        if cfg.DATA.DECODING_DEVICE == "cuda":
            raise ConfigError("DATA.DECODING_DEVICE cuda needs DATA.DECODING_BACKEND torchcodec (PyAV decodes on "
                              "the CPU)")
        return
    from slowfast.datasets.torchcodec_decoder import TorchCodecUnavailable, load_torchcodec

    try:
        load_torchcodec()
    except TorchCodecUnavailable as err:
        raise ConfigError(f"DATA.DECODING_BACKEND torchcodec: {err}") from err
    if cfg.DATA.DECODING_DEVICE == "cuda" and not torch.cuda.is_available():
        raise ConfigError("DATA.DECODING_DEVICE cuda: CUDA is not available on this machine; set "
                          "DATA.DECODING_DEVICE cpu")


def clip_sampler(cfg) -> ClipSampler:
    """``(source, clip_idx, num_clips, num_frames, sampling_rate, target_fps) -> T x H x W x 3 uint8`` for
    the configured backend and temporal sampling (module docstring); picklable, for loader workers.

    Raises:
        ConfigError: see :func:`check_decoding`.
    """
    check_decoding(cfg)
    pyslowfast = cfg.DATA.TEMPORAL_SAMPLING == "pyslowfast"
    if cfg.DATA.DECODING_BACKEND == "torchcodec":
        from slowfast.datasets import torchcodec_decoder

        sample = torchcodec_decoder.sample_clip_pyslowfast if pyslowfast else torchcodec_decoder.sample_clip
        return functools.partial(sample, device=cfg.DATA.DECODING_DEVICE)
    return decoder.sample_clip_pyslowfast if pyslowfast else decoder.sample_clip
