"""Temporal index math for clip sampling and SlowFast pathway packing.

Everything here is pure arithmetic on frame indices: no decoding, no config.
Frame indices live on a uniform time grid (usually the ``target_fps`` grid of
:func:`slowfast.datasets.decoder.sample_clip`), numbered ``0 .. num_video_frames - 1``.

Randomness: every function that draws random numbers takes ``rng``, a
``torch.Generator`` or ``None``.  ``None`` draws from torch's global generator,
which ``torch.utils.data.DataLoader`` seeds differently in every worker, so
results are reproducible under ``torch.manual_seed``.
"""
from typing import List, Optional, Tuple

import torch


def randint(low: int, high: int, rng: Optional[torch.Generator] = None) -> int:
    """Return a uniformly random integer in the closed range ``[low, high]``."""
    if high < low:
        raise ValueError(f"randint: empty range [{low}, {high}]")
    return int(torch.randint(low, high + 1, (1,), generator=rng).item())


def rand(rng: Optional[torch.Generator] = None) -> float:
    """Return a uniformly random float in ``[0, 1)``."""
    return float(torch.rand((1,), generator=rng).item())


def temporal_window(
    num_video_frames: int,
    window_len: int,
    clip_idx: int,
    num_clips: int,
    rng: Optional[torch.Generator] = None,
) -> Tuple[int, int]:
    """Choose the half-open frame range ``[start, end)`` of one clip.

    Args:
        num_video_frames: frames in the video (on the sampling grid), >= 1.
        window_len: frames the clip spans, ``num_frames * sampling_rate``, >= 1.
        clip_idx: ``-1`` for training (start drawn uniformly at random), else the
            index in ``[0, num_clips)`` of a uniformly spaced test window.
        num_clips: number of test windows per video (ignored when ``clip_idx == -1``).
        rng: random generator for training, see module docstring.

    Returns:
        ``(start, end)`` with ``end - start == window_len`` always.  Test window
        ``i`` starts at ``round((num_video_frames - window_len) * i / (num_clips - 1))``,
        so the first window starts at frame 0 and the last ends at the last frame;
        a single test window is centred.  When the video is shorter than the
        window, ``start == 0`` and ``end > num_video_frames``: the caller clamps
        indices (see :func:`uniform_indices`), it never drops the video.
    """
    if num_video_frames < 1 or window_len < 1:
        raise ValueError(
            f"temporal_window: need num_video_frames >= 1 and window_len >= 1, "
            f"got {num_video_frames} and {window_len}"
        )
    max_start = max(num_video_frames - window_len, 0)
    if clip_idx == -1:
        start = randint(0, max_start, rng)
    elif not 0 <= clip_idx < num_clips:
        raise ValueError(f"temporal_window: clip_idx {clip_idx} not in [0, {num_clips}) or -1")
    elif num_clips == 1:
        start = max_start // 2
    else:
        start = int(round(max_start * clip_idx / (num_clips - 1)))
    return start, start + window_len


def uniform_indices(
    start: float,
    end: float,
    num_samples: int,
    num_video_frames: Optional[int] = None,
) -> torch.Tensor:
    """Return ``num_samples`` evenly spaced integer indices from ``start`` to ``end`` (inclusive).

    Indices are ``torch.linspace(start, end, num_samples)`` rounded down (in
    float64, with a 1e-6 tolerance so an exact stride never loses a frame), then
    clamped to ``[0, num_video_frames - 1]`` when ``num_video_frames`` is given.
    Clamping pads a short video by repeating its last (or first) frame, so the
    result always has exactly ``num_samples`` entries.

    Returns:
        int64 tensor of shape ``(num_samples,)``.
    """
    if num_samples < 1:
        raise ValueError(f"uniform_indices: num_samples must be >= 1, got {num_samples}")
    positions = torch.linspace(float(start), float(end), num_samples, dtype=torch.float64)
    index = (positions + 1e-6).floor().long()
    if num_video_frames is not None:
        index = index.clamp(0, num_video_frames - 1)
    return index


def reference_window(
    num_video_frames: float,
    clip_size: float,
    clip_idx: int,
    num_clips: int,
    rng: Optional[torch.Generator] = None,
) -> Tuple[float, float]:
    """PySlowFast's clip placement: the (fractional) first and last frame index of a clip.

    ``delta = max(num_video_frames - clip_size, 0)``; the clip starts at
    ``delta * clip_idx / num_clips`` for test clip ``clip_idx`` (so the last of
    ``num_clips`` clips starts at ``delta * (num_clips - 1) / num_clips``, not at
    the end of the video), or at a uniform random point of ``[0, delta]`` for
    ``clip_idx == -1``; it ends at ``start + clip_size - 1``.  Both may be
    fractional; :func:`reference_indices` turns them into frame indices.

    Returns:
        ``(start, end)`` as floats.
    """
    if clip_idx != -1 and not 0 <= clip_idx < num_clips:
        raise ValueError(f"reference_window: clip_idx {clip_idx} not in [0, {num_clips}) or -1")
    delta = max(num_video_frames - clip_size, 0)
    start = delta * rand(rng) if clip_idx == -1 else delta * clip_idx / num_clips
    return start, start + clip_size - 1


def reference_indices(start: float, end: float, num_samples: int, num_video_frames: int) -> torch.Tensor:
    """PySlowFast's frame picking: ``linspace(start, end, num_samples)`` in float32, clamped to
    ``[0, num_video_frames - 1]``, truncated to integers.

    Returns:
        int64 tensor of shape ``(num_samples,)``.
    """
    if num_samples < 1 or num_video_frames < 1:
        raise ValueError(f"reference_indices: need num_samples >= 1 and frames >= 1, got {num_samples}, "
                         f"{num_video_frames}")
    index = torch.linspace(float(start), float(end), num_samples, dtype=torch.float32)
    return index.clamp(0, num_video_frames - 1).long()


SLOW_PATHWAY_SAMPLINGS = ("linspace", "stride")


def pathway_indices(num_fast_frames: int, alpha: int, method: str = "linspace") -> torch.Tensor:
    """Indices into the Fast pathway's frames that form the Slow pathway (``num_fast_frames // alpha``).

    ``"linspace"`` (PySlowFast's ``pack_pathway_output``, the default): ``linspace(0, T - 1, T // alpha)``
    truncated, so the first and last Fast frames are both used and the gaps are uneven
    (0, 4, 8, 13, 17, 22, 26, 31 for T=32, alpha=4).  ``"stride"``: every ``alpha``-th Fast frame from
    frame 0 (0, 4, ..., 28), an exact temporal stride of ``alpha`` times the Fast one, as in the paper.

    Returns:
        int64 tensor of shape ``(num_fast_frames // alpha,)``.
    """
    if alpha < 1 or num_fast_frames < alpha:
        raise ValueError(
            f"pathway_indices: need 1 <= alpha <= num_fast_frames, got alpha={alpha}, "
            f"num_fast_frames={num_fast_frames}"
        )
    num_slow = num_fast_frames // alpha
    if method == "linspace":
        return torch.linspace(0, num_fast_frames - 1, num_slow, dtype=torch.float32).long()
    if method == "stride":
        return torch.arange(num_slow, dtype=torch.long) * alpha
    raise ValueError(f"pathway_indices: method must be one of {SLOW_PATHWAY_SAMPLINGS}, got {method!r}")


def pack_pathway_output(clip: torch.Tensor, alpha: int, num_pathways: int = 2,
                        method: str = "linspace") -> List[torch.Tensor]:
    """Split one clip into the per-pathway inputs of the model.

    Args:
        clip: ``C x T x H x W`` tensor; for SlowFast it is the Fast pathway clip
            (``T = alpha * T_slow`` frames).
        alpha: frame-rate ratio between the Fast and Slow pathways.
        num_pathways: 1 for single-pathway models (C2D, I3D, Slow-only),
            2 for SlowFast.
        method: how the Slow frames are picked, see :func:`pathway_indices`.

    Returns:
        ``[clip]`` when ``num_pathways == 1``; ``[slow, fast]`` when it is 2, with
        ``slow`` of shape ``C x T // alpha x H x W`` holding the frames of
        ``fast`` chosen by :func:`pathway_indices` and ``fast`` the input clip.
    """
    if clip.dim() != 4:
        raise ValueError(f"pack_pathway_output: expected a C x T x H x W clip, got shape {tuple(clip.shape)}")
    if num_pathways == 1:
        return [clip]
    if num_pathways != 2:
        raise ValueError(f"pack_pathway_output: num_pathways must be 1 or 2, got {num_pathways}")
    index = pathway_indices(clip.shape[1], alpha, method).to(clip.device)
    slow = torch.index_select(clip, 1, index)
    return [slow, clip]
