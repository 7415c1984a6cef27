"""PyAV video decoding that decodes only the frames a temporal window needs.

Time convention: all times are seconds on the video stream's presentation
timeline, measured from the stream's first timestamp (``stream.start_time``),
so the first frame of a video is at ``0.0`` whatever the container stores.

Frames are returned as ``T x H x W x 3`` uint8 RGB torch tensors.

Opening a video, its stream facts (:func:`get_video_info`), seeking and :class:`VideoDecodeError` are
in :mod:`slowfast.datasets.video_container` (supported containers listed there); they are importable
from here too.

Two ways to pick a clip's frames (``DATA.TEMPORAL_SAMPLING``):

* :func:`sample_clip_pyslowfast` ("pyslowfast", the default): PySlowFast's protocol, frame for
  frame (window from the container's frame count and duration, index-based resampling);
* :func:`sample_clip` ("timestamps"): a time grid at ``target_fps`` over the whole video, each
  sampled time served by the nearest frame, test windows spanning the video end to end.

Typical use by a dataset::

    frames = sample_clip_pyslowfast(path, clip_idx=-1, num_clips=1, num_frames=32, sampling_rate=2)
    # frames: 32 x H x W x 3 uint8
"""
import math
from typing import Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import av
from av.video.reformatter import VideoReformatter
import numpy as np
import torch

from slowfast.datasets.sampling import reference_indices, reference_window, temporal_window, uniform_indices
from slowfast.datasets.video_container import (
    Source,
    VideoDecodeError,
    _borrow,
    _container_path,
    _metadata_fps,
    _rewind,
    _seek,
    _seek_pts,
    _stream_start,
    _video_stream,
    get_video_info,
    open_video,
)


class DecodedWindow(NamedTuple):
    """Result of :func:`decode_window`.

    frames: ``T x H x W x 3`` uint8 RGB tensor.
    timestamps: ``(T,)`` float64 tensor, seconds from the stream start, increasing.
    num_decoded: frames the decoder produced to get there (including those
        between the seek key frame and the window, and the one past the window;
        not the single frames peeked at to check a seek that landed too late).
    """

    frames: torch.Tensor
    timestamps: torch.Tensor
    num_decoded: int


def _frame_seconds(frame, stream) -> float:
    pts = frame.pts if frame.pts is not None else frame.dts
    if pts is None:
        raise ValueError("decoded frame has no timestamp")
    return float((pts - _stream_start(stream)) * stream.time_base)


_SEEK_TRIES = 4


def _decode_from(container, stream, start_sec: float) -> Iterator:
    """Seek before ``start_sec`` and yield ``(seconds, frame)`` in presentation order.

    Some demuxers (MPEG-TS, files with poor indexes) land after the requested
    time; then it seeks again further back, and finally decodes from the
    first frame, so the window is never cut.
    """
    target = start_sec
    for _ in range(_SEEK_TRIES):
        if target <= 0:
            break
        _seek(container, stream, target)
        frames = container.decode(stream)
        first = next(frames, None)
        if first is not None and _frame_seconds(first, stream) <= start_sec:
            yield _frame_seconds(first, stream), first
            yield from ((_frame_seconds(f, stream), f) for f in frames)
            return
        overshoot = _frame_seconds(first, stream) - target if first is not None else 0.0
        target -= max(1.0, 2.0 * overshoot)
    _rewind(container, stream)
    yield from ((_frame_seconds(f, stream), f) for f in container.decode(stream))


def decode_window(source: Source, start_sec: float, end_sec: float) -> DecodedWindow:
    """Decode the frames shown during ``[start_sec, end_sec]``, and no others.

    Seeks (backward, in the stream's time base) to the nearest key frame at or
    before ``start_sec`` and decodes forward until the first frame after
    ``end_sec``.  Returned frames are those with timestamp in
    ``(start_sec, end_sec]`` plus the frame on screen at ``start_sec`` (the
    last one with timestamp ``<= start_sec``; the first frame if none).

    Args:
        source: a path, or a container from :func:`open_video` (left open).
        start_sec: window start, seconds from the stream start.
        end_sec: window end (inclusive), ``>= start_sec``.

    Returns:
        :class:`DecodedWindow` with ``frames`` ``T x H x W x 3`` uint8 RGB,
        ``timestamps`` ``(T,)`` float64 seconds, and ``num_decoded``.

    Raises:
        VideoDecodeError: the file cannot be opened, the decoder fails, or no
            frame falls in the window.
    """
    with _borrow(source) as container:
        frames, times, num_decoded = _window_frames(container, start_sec, end_sec)
        return DecodedWindow(_to_rgb_tensor(container, frames), torch.tensor(times, dtype=torch.float64), num_decoded)


def _window_frames(container, start_sec: float, end_sec: float) -> Tuple[List, List[float], int]:
    """The ``av.VideoFrame`` objects of :func:`decode_window`, their seconds, and the decode count."""
    if end_sec < start_sec:
        raise ValueError(f"decode_window: end_sec {end_sec} < start_sec {start_sec}")
    path = _container_path(container)
    stream = _video_stream(container)
    kept: List = []
    times: List[float] = []
    num_decoded = 0
    try:
        for seconds, frame in _decode_from(container, stream, start_sec):
            num_decoded += 1
            if seconds <= start_sec:
                kept, times = [frame], [seconds]  # latest frame on screen at start_sec
                continue
            if seconds > end_sec and kept:
                break
            kept.append(frame)
            times.append(seconds)
            if seconds > end_sec:
                break  # the window lies before the first frame: serve the first frame
    except (av.FFmpegError, ValueError) as err:
        raise VideoDecodeError(path, f"decoding failed near {start_sec:.3f}s ({err})") from err
    if not kept:
        raise VideoDecodeError(path, f"no frames decoded in window [{start_sec:.3f}, {end_sec:.3f}] s")
    return kept, times, num_decoded


def _to_rgb_tensor(container, frames: Sequence, index: Optional[Sequence[int]] = None) -> torch.Tensor:
    """``av.VideoFrame`` list -> ``T x H x W x 3`` uint8 RGB tensor of ``frames[i]`` for ``i`` in ``index``
    (default: all, in order).

    Each distinct frame is converted once, straight into the output array, by one swscale context shared
    by the whole clip: ``VideoFrame.to_ndarray`` builds a new context for every frame (about 0.7 ms of a
    0.9 ms conversion at 340x256), and stacking the per-frame arrays copies the clip once more. The
    pixels are ``to_ndarray(format="rgb24")``'s, bit for bit (tests/test_decoder.py).
    """
    index = list(range(len(frames))) if index is None else [int(i) for i in index]
    if not index:
        raise ValueError("_to_rgb_tensor: no frames to convert")
    first = frames[index[0]]
    out = np.empty((len(index), first.height, first.width, 3), dtype=np.uint8)
    reformatter = VideoReformatter()
    done = {}
    try:
        for k, i in enumerate(index):
            if i in done:
                out[k] = out[done[i]]
                continue
            out[k] = reformatter.reformat(frames[i], format="rgb24").to_ndarray()
            done[i] = k
    except (av.FFmpegError, ValueError) as err:
        raise VideoDecodeError(_container_path(container), f"cannot convert frames to RGB ({err})") from err
    return torch.from_numpy(out)


def nearest_frames(timestamps: torch.Tensor, query_sec: torch.Tensor) -> torch.Tensor:
    """For each query time, the index of the frame whose timestamp is nearest.

    Args:
        timestamps: ``(T,)`` increasing frame times in seconds.
        query_sec: ``(N,)`` times in seconds.

    Returns:
        int64 tensor ``(N,)`` of indices into ``timestamps`` (ties go to the earlier frame).
    """
    timestamps = timestamps.to(torch.float64)
    query_sec = query_sec.to(torch.float64)
    after = torch.searchsorted(timestamps, query_sec).clamp(max=len(timestamps) - 1)
    before = (after - 1).clamp(min=0)
    take_before = (query_sec - timestamps[before]).abs() <= (timestamps[after] - query_sec).abs()
    return torch.where(take_before, before, after)


def sample_clip(
    path: Source,
    clip_idx: int,
    num_clips: int,
    num_frames: int,
    sampling_rate: int,
    target_fps: float = 30,
    rng: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Decode one clip of ``num_frames`` frames, ``sampling_rate`` apart at ``target_fps``.

    The clip spans ``num_frames * sampling_rate`` frames of a ``target_fps``
    grid (e.g. 32 x 2 = 64 frames, 2.13 s, for SlowFast 8x8 with alpha 4).
    The video is first measured on that grid (``floor(duration * target_fps)``
    frames), then :func:`slowfast.datasets.sampling.temporal_window` picks the
    window: uniformly at random for ``clip_idx == -1`` (training), or the
    ``clip_idx``-th of ``num_clips`` evenly spaced windows (testing).  Only that
    window is decoded.  Each sampled grid index ``i`` becomes the time
    ``i / target_fps``, which is served by the decoded frame nearest in time, so
    videos at 25 or 29.97 fps are resampled to ``target_fps``.  Videos shorter
    than the window are padded by clamping indices to the last frame.

    Args:
        path: video file, its encoded ``bytes`` / ``VideoBytes`` (a video in memory), or an open container.
        clip_idx: ``-1`` for a random clip, else in ``[0, num_clips)``.
        num_clips: number of test clips per video.
        num_frames: frames returned.
        sampling_rate: grid frames between consecutive returned frames.
        target_fps: frame rate of the sampling grid.
        rng: ``torch.Generator`` for the random window (``None``: global torch RNG).

    Returns:
        ``num_frames x H x W x 3`` uint8 RGB tensor.

    Raises:
        VideoDecodeError: the file cannot be opened or decoded.
    """
    with _borrow(path) as container:
        info = get_video_info(container)
        grid_len = max(1, int(math.floor(info.duration * target_fps + 1e-6)))
        start, _ = temporal_window(grid_len, num_frames * sampling_rate, clip_idx, num_clips, rng)
        index = uniform_indices(start, start + (num_frames - 1) * sampling_rate, num_frames, grid_len)
        query_sec = index.to(torch.float64) / float(target_fps)
        half_frame = 0.5 / info.fps
        frames, times, _ = _window_frames(container, float(query_sec[0]) - half_frame, float(query_sec[-1]) + half_frame)
        chosen = nearest_frames(torch.tensor(times, dtype=torch.float64), query_sec)
        return _to_rgb_tensor(container, frames, chosen.tolist())


# PySlowFast seeks this many timestamp units before the first frame it wants (its seek margin).
_REFERENCE_SEEK_MARGIN = 1024


def _pts_range_frames(container, stream, start_pts: int, end_pts: int) -> List:
    """Frames with ``start_pts <= pts <= end_pts`` (raw stream timestamps) plus the first one after
    ``end_pts``, in presentation order: what PySlowFast's PyAV reader returns for that range."""
    path = _container_path(container)
    _seek_pts(container, stream, max(start_pts - _REFERENCE_SEEK_MARGIN, 0), float(start_pts * stream.time_base))
    kept = []
    try:
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < start_pts:
                continue
            kept.append(frame)
            if frame.pts > end_pts:
                break
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"decoding failed after pts {start_pts} ({err})") from err
    kept.sort(key=lambda f: f.pts)
    return kept


class SelectiveDecode(NamedTuple):
    frames: List  # the range's frames: av.VideoFrame where picked, None elsewhere
    index: List[int]  # pick(len(frames))
    num_packets: int  # packets given to the decoder (from the seek point on)
    num_decoded: int  # frames it produced (the others were skipped)


def _selective_range_frames(container, stream, start_pts: int, end_pts: int,
                            pick: Callable[[int], Sequence[int]]) -> Optional[SelectiveDecode]:
    """:func:`_pts_range_frames` decoding only what the clip needs: the range's ``M`` frames with those of
    ``index = pick(M)`` decoded (:class:`SelectiveDecode`), or ``None`` when the stream does not allow it
    (then the caller decodes the plain way).

    The range's frames are known from the packets' timestamps before decoding: every frame with
    ``start_pts <= pts <= end_pts`` plus the first one after (presentation order, as the plain decoder
    returns them). A packet whose frame is not picked is decoded with ``skip_frame = NONREF``: the decoder
    drops it if no other frame references it (H.264 non-reference B-frames, about half the frames of an
    x264 stream), which leaves every other frame bit-identical. Any surprise (a packet without timestamps,
    frames out of order, a picked frame not produced) returns ``None``."""
    _seek_pts(container, stream, max(start_pts - _REFERENCE_SEEK_MARGIN, 0), float(start_pts * stream.time_base))
    packets, after = [], None  # after: the smallest pts past end_pts seen so far
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream marker
                continue
            if packet.pts is None or packet.dts is None:
                return None
            if after is not None and packet.dts > after:
                break  # decode timestamps only grow and pts >= dts: no later frame can fall in the range
            packets.append(packet)
            if packet.pts > end_pts:
                after = packet.pts if after is None else min(after, packet.pts)
        in_range = sorted({p.pts for p in packets if start_pts <= p.pts <= end_pts})
        range_pts = in_range + ([after] if after is not None else [])
        if not range_pts:
            return None
        index = [int(i) for i in pick(len(range_pts))]
        wanted = {range_pts[i] for i in index}
        context = stream.codec_context
        decoded, last, num_decoded = {}, None, 0
        try:
            for packet in packets + [None]:  # None flushes the decoder's delayed frames
                if packet is not None:
                    context.skip_frame = "DEFAULT" if packet.pts in wanted else "NONREF"
                for frame in context.decode(packet):
                    if frame.pts is None or (last is not None and frame.pts <= last):
                        return None
                    last, num_decoded = frame.pts, num_decoded + 1
                    if frame.pts in wanted:
                        decoded[frame.pts] = frame
        finally:
            context.skip_frame = "DEFAULT"
            context.flush_buffers()
    except av.FFmpegError as err:
        raise VideoDecodeError(_container_path(container), f"decoding failed after pts {start_pts} ({err})") from err
    if len(decoded) != len(wanted):
        return None
    return SelectiveDecode([decoded.get(pts) for pts in range_pts], index, len(packets), num_decoded)


def _all_frames(container, stream) -> List:
    _rewind(container, stream)
    try:
        return list(container.decode(stream))
    except av.FFmpegError as err:
        raise VideoDecodeError(_container_path(container), f"decoding failed ({err})") from err


def sample_clip_pyslowfast(
    path: Source,
    clip_idx: int,
    num_clips: int,
    num_frames: int,
    sampling_rate: int,
    target_fps: float = 30,
    rng: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """Decode one clip exactly as PySlowFast's PyAV path does (``slowfast/datasets/decoder.py``).

    With ``fps`` the stream's average rate, ``N`` its stored frame count and ``D`` its stored
    duration (timestamp units):

    1. the decoded range covers ``ceil(sampling_rate * (num_frames - 1) / target_fps * fps)`` video
       frames (at least 1), placed by :func:`slowfast.datasets.sampling.reference_window` on ``N``
       frames (test clip ``i`` of ``k`` starts at ``max(N - size, 0) * i / k``);
    2. its first and last frame become timestamps ``int(index * D / N)``; the frames with timestamps in
       that range, plus the next one, are decoded;
    3. from those ``M`` frames, ``num_frames`` are picked by
       :func:`slowfast.datasets.sampling.reference_indices` from ``0`` to
       ``sampling_rate * num_frames / target_fps * fps - 1`` (clamped to ``M - 1``): this resamples
       25 or 29.97 fps videos to ``target_fps`` and pads clips that run past the video's end with its
       last frame.

    Containers that store no duration or no frame count are decoded whole and the clip placed on all
    their frames (PySlowFast's fallback for a missing duration).

    ``path``: a video file, its encoded ``bytes`` / ``VideoBytes`` (a video in memory), or an open container.

    Returns:
        ``num_frames x H x W x 3`` uint8 RGB tensor.

    Raises:
        VideoDecodeError: the file cannot be opened or decoded, or no frame falls in the range.
    """
    with _borrow(path) as container:
        stream = _video_stream(container)
        fps = _metadata_fps(stream)
        if fps is None:
            raise VideoDecodeError(_container_path(container), "the stream has no frame rate")
        span = sampling_rate * num_frames / target_fps * fps  # clip length in video frames
        if stream.duration is None or not stream.frames:
            frames = _all_frames(container, stream)
            if not frames:
                raise VideoDecodeError(_container_path(container), "video stream has no frames")
            start, end = reference_window(len(frames), span, clip_idx, num_clips, rng)
        else:
            size = max(1.0, math.ceil(sampling_rate * (num_frames - 1) / target_fps * fps))
            first, last = reference_window(stream.frames, size, clip_idx, num_clips, rng)
            pts_per_frame = stream.duration / stream.frames
            first_pts, last_pts = int(first * pts_per_frame), int(last * pts_per_frame)

            def pick(m: int) -> List[int]:  # step 3 on the m frames of the range
                return reference_indices(*reference_window(m, span, 0, 1), num_frames, m).tolist()

            selective = _selective_range_frames(container, stream, first_pts, last_pts, pick)
            if selective is not None:
                return _to_rgb_tensor(container, selective.frames, selective.index)
            frames = _pts_range_frames(container, stream, first_pts, last_pts)
            if not frames:
                raise VideoDecodeError(_container_path(container), f"no frames decoded from frame {first:.1f} on")
            return _to_rgb_tensor(container, frames, pick(len(frames)))
        index = reference_indices(start, end, num_frames, len(frames))
        return _to_rgb_tensor(container, frames, index.tolist())
