"""TorchCodec decoding (``DATA.DECODING_BACKEND torchcodec``): the clips of :mod:`slowfast.datasets.decoder`,
frame for frame, decoded by TorchCodec on the CPU or (``device="cuda"``) with NVDEC.

The frames a clip needs are found before anything is decoded: TorchCodec's demuxer scans the video's
packets (no decoding) into its frame index (every frame's timestamp, presentation order), the clip's
window is placed on it exactly as the PyAV functions place it, and only the chosen frames are decoded
(``VideoDecoder.get_frames_at``, exact seek mode):

* :func:`sample_clip_pyslowfast`: PySlowFast's protocol as :func:`decoder.sample_clip_pyslowfast` runs it
  (window from the header's frame count and duration, in timestamp units; the range's frames and the
  next one; ``reference_indices`` over the range); headers without a frame count or duration: the clip
  placed on all the frames;
* :func:`sample_clip`: the ``target_fps`` time grid of :func:`decoder.sample_clip`, each time served by
  the nearest frame of the decoded window.

The one header fact TorchCodec does not report is FFmpeg's ``avg_frame_rate`` (PyAV's ``average_rate``,
PySlowFast's fps): it is the header's frame count over the frames' summed packet durations (what the MP4 demuxer computes
it from), or over the stream's duration when the packets carry no durations, else TorchCodec's
``r_frame_rate`` (the same for constant-rate video: WebM, MKV, ...), else the frame index's average. Frames come back as
``T x H x W x 3`` uint8 RGB CPU tensors (NVDEC frames are copied back), ready for the same transforms.

A source is a path, encoded ``bytes``, or :class:`~slowfast.datasets.video_container.VideoBytes`
(bytes and the name errors give it). A video TorchCodec cannot open or decode raises
:class:`~slowfast.datasets.video_container.VideoDecodeError` naming it; TorchCodec missing (or the FFmpeg
libraries it loads) raises :class:`TorchCodecUnavailable` saying what to install.
"""
import math
import os
from fractions import Fraction
from typing import List, NamedTuple, Optional

import torch

from slowfast.datasets.decoder import nearest_frames
from slowfast.datasets.sampling import (
    reference_indices,
    reference_window,
    temporal_window,
    uniform_indices,
)
from slowfast.datasets.video_container import VideoDecodeError, as_video_bytes, source_name

INSTALL_HINT = ("pip install -e .[torchcodec] (torchcodec 0.17.0) and FFmpeg 4-9 shared libraries (Debian 12: "
                "apt-get install libavcodec59 libavformat59 libavutil57 libswscale6 libswresample4 libavdevice59 "
                "libavfilter8; elsewhere your distribution's FFmpeg libraries)")

# What TorchCodec raises for a video it cannot read (it reports FFmpeg's errors as RuntimeError).
_TORCHCODEC_ERRORS = (RuntimeError, ValueError, OSError, IndexError)


class TorchCodecUnavailable(RuntimeError):
    """TorchCodec is not installed, or cannot load the FFmpeg libraries it needs."""


def load_torchcodec():
    """The ``torchcodec`` module, ready to decode.

    Raises:
        TorchCodecUnavailable: not installed, or its FFmpeg libraries are missing; says what to install.
    """
    try:
        import torchcodec
        import torchcodec.decoders  # noqa: F401
    except ImportError as err:
        raise TorchCodecUnavailable(f"TorchCodec is not installed ({err}); install {INSTALL_HINT}") from err
    except (RuntimeError, OSError) as err:
        raise TorchCodecUnavailable(f"TorchCodec cannot load ({err}); install {INSTALL_HINT}") from err
    if getattr(torchcodec, "ffmpeg_major_version", None) is None:
        raise TorchCodecUnavailable(f"TorchCodec {getattr(torchcodec, '__version__', '')} found no FFmpeg "
                                    f"libraries; install {INSTALL_HINT}")
    return torchcodec


class StreamFacts(NamedTuple):
    """What the header and the packets say about a video stream (timestamps in stream units)."""

    name: str  # what errors call the video
    stream_index: int  # the first video stream (PyAV's streams.video[0])
    pts: torch.Tensor  # int64 (N,): every frame's timestamp, presentation order (from the packets)
    durations: torch.Tensor  # int64 (N,): every frame's duration
    time_base: Fraction
    header_frames: Optional[int]  # the header's frame count (None when absent)
    header_duration: Optional[int]  # the stream's duration (None when absent)
    start: int  # the stream's first timestamp (0 when unknown)
    container_seconds: Optional[float]  # the container's duration in seconds (None when absent)
    fps: Optional[float]  # PyAV's average_rate (see the module docstring)


def _decoder_source(source):
    """What TorchCodec opens (a path or bytes), and the name errors give it."""
    in_memory = as_video_bytes(source)
    if in_memory is not None:
        return in_memory.data, in_memory.name
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"TorchCodec decodes a path or bytes, not {type(source).__name__} "
                        "(pass the encoded video as VideoBytes(data, name))")
    path = os.fspath(source)
    if not os.path.isfile(path):
        raise VideoDecodeError(path, "no such file")
    return path, path


def _fps(meta, header_frames, header_duration, time_base, index) -> Optional[float]:
    """PyAV's ``average_rate`` (FFmpeg's ``avg_frame_rate``; see the module docstring)."""
    if header_frames and bool((index._duration > 0).all()):  # MP4: frames over their summed durations
        return float(Fraction(header_frames) / (int(index._duration.sum()) * time_base))
    if header_frames and header_duration:  # packets without durations: over the stream's duration
        return float(Fraction(header_frames) / (header_duration * time_base))
    if meta.average_fps_from_header:
        return float(meta.average_fps_from_header)
    return float(index.average_fps_from_content) if len(index) > 1 else None


def _to_units(seconds: Optional[float], time_base: Fraction) -> Optional[int]:
    """A header time TorchCodec gives in seconds (``units * time_base`` in float64) back in stream units."""
    return None if seconds is None else int(round(Fraction(seconds) / time_base))


def stream_facts(source) -> StreamFacts:
    """Scan ``source``'s first video stream (its packets, no decoding): :class:`StreamFacts`.

    Raises:
        VideoDecodeError: the file is missing, not a video, or TorchCodec cannot read it.
    """
    tc = load_torchcodec()
    data, name = _decoder_source(source)
    try:
        demuxer = tc.decoders.Demuxer(data)
        videos = [s for s in demuxer.streams if isinstance(s, tc.decoders.VideoStream)]
        if not videos:
            raise VideoDecodeError(name, "file has no video stream")
        meta, index = videos[0].metadata, videos[0].scan()
        container_seconds = demuxer.metadata.duration_seconds_from_header
    except _TORCHCODEC_ERRORS as err:
        raise VideoDecodeError(name, f"TorchCodec cannot read it ({err})") from err
    # The frame index keeps timestamps in stream units; its time base is not a public attribute in 0.17.
    time_base = Fraction(index._time_base_num, index._time_base_den)
    header_frames = meta.num_frames_from_header
    header_duration = _to_units(meta.duration_seconds_from_header, time_base)
    start = _to_units(meta.begin_stream_seconds_from_header, time_base) or 0
    return StreamFacts(name, videos[0].index, index._pts, index._duration, time_base, header_frames,
                       header_duration, start, container_seconds,
                       _fps(meta, header_frames, header_duration, time_base, index))


def decode_frames(source, facts: StreamFacts, index: List[int], device: str = "cpu") -> torch.Tensor:
    """Frames ``index`` (into ``facts.pts``) of ``source``, decoded by TorchCodec on ``device``: a
    ``len(index) x H x W x 3`` uint8 RGB CPU tensor (a frame picked twice is decoded once).

    Runs with one torch thread (restored after): TorchCodec's and the reordering's tensor copies cost 4-7x
    the CPU time with 2 threads on a busy 2-core machine (a loader worker has one anyway).

    Raises:
        VideoDecodeError: decoding fails, or the decoder's frames are not the scanned ones.
    """
    tc = load_torchcodec()
    data, name = _decoder_source(source)
    wanted = sorted(set(int(i) for i in index))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        try:
            decoder = tc.decoders.VideoDecoder(data, stream_index=facts.stream_index, seek_mode="exact",
                                               device=device, dimension_order="NHWC")
            batch = decoder.get_frames_at(wanted)
        except _TORCHCODEC_ERRORS as err:
            raise VideoDecodeError(name, f"TorchCodec decoding failed ({err})") from err
        expected = facts.pts[wanted].to(torch.float64) * facts.time_base.numerator / facts.time_base.denominator
        if batch.data.shape[0] != len(wanted) or not torch.equal(batch.pts_seconds.cpu().to(torch.float64), expected):
            raise VideoDecodeError(name, "TorchCodec's decoder returned other frames than its scan listed")
        frames = batch.data.cpu()
        if [int(i) for i in index] == wanted:
            return frames.contiguous()
        position = {frame: k for k, frame in enumerate(wanted)}
        # index_select, not frames[list]: list indexing costs ~10 ms per clip here
        return frames.index_select(0, torch.tensor([position[int(i)] for i in index], dtype=torch.long))
    finally:
        torch.set_num_threads(threads)


def _pyslowfast_index(facts: StreamFacts, clip_idx: int, num_clips: int, num_frames: int, sampling_rate: int,
                      target_fps: float, rng) -> List[int]:
    """The frames :func:`decoder.sample_clip_pyslowfast` returns, as indices into ``facts.pts``."""
    if facts.fps is None:
        raise VideoDecodeError(facts.name, "the stream has no frame rate")
    count = len(facts.pts)
    if count == 0:
        raise VideoDecodeError(facts.name, "video stream has no frames")
    span = sampling_rate * num_frames / target_fps * facts.fps  # clip length in video frames
    if facts.header_duration is None or not facts.header_frames:
        start, end = reference_window(count, span, clip_idx, num_clips, rng)
        return reference_indices(start, end, num_frames, count).tolist()
    size = max(1.0, math.ceil(sampling_rate * (num_frames - 1) / target_fps * facts.fps))
    first, last = reference_window(facts.header_frames, size, clip_idx, num_clips, rng)
    pts_per_frame = facts.header_duration / facts.header_frames
    first_pts, last_pts = int(first * pts_per_frame), int(last * pts_per_frame)
    # The frames with first_pts <= pts <= last_pts, and the next one.
    lo = int(torch.searchsorted(facts.pts, first_pts))
    stop = min(int(torch.searchsorted(facts.pts, last_pts, right=True)) + 1, count)
    if stop <= lo:
        raise VideoDecodeError(facts.name, f"no frames decoded from frame {first:.1f} on")
    m = stop - lo
    return (lo + reference_indices(*reference_window(m, span, 0, 1), num_frames, m)).tolist()


def sample_clip_pyslowfast(source, clip_idx: int, num_clips: int, num_frames: int, sampling_rate: int,
                           target_fps: float = 30, rng: Optional[torch.Generator] = None,
                           device: str = "cpu") -> torch.Tensor:
    """:func:`slowfast.datasets.decoder.sample_clip_pyslowfast` (PySlowFast's protocol) with TorchCodec: the
    same frames (same random draws from ``rng`` / the global generator), only those decoded.

    Returns:
        ``num_frames x H x W x 3`` uint8 RGB CPU tensor.

    Raises:
        VideoDecodeError: the video cannot be read or decoded, or no frame falls in the range.
    """
    facts = stream_facts(source)
    index = _pyslowfast_index(facts, clip_idx, num_clips, num_frames, sampling_rate, target_fps, rng)
    return decode_frames(source, facts, index, device)


def _grid_facts(facts: StreamFacts):
    """``(fps, duration seconds)`` as :func:`video_container.get_video_info` derives them."""
    fps = facts.fps
    duration = (float(facts.header_duration * facts.time_base) if facts.header_duration and facts.header_duration > 0
                else facts.container_seconds or None)
    num = facts.header_frames
    if fps is None or (duration is None and num is None):  # get_video_info's packet scan
        count = len(facts.pts)
        if count == 0:
            raise VideoDecodeError(facts.name, "video stream has no frames")
        if fps is None:
            seconds = float(int(facts.durations.sum()) * facts.time_base)
            if seconds <= 0 and count > 1:
                seconds = float(int(facts.pts.max() - facts.pts.min()) * facts.time_base) * count / (count - 1)
            if seconds <= 0:
                raise VideoDecodeError(facts.name, "cannot determine the frame rate")
            fps = count / seconds
        return fps, count / fps
    if num is None:
        num = max(1, int(round(duration * fps)))
    return fps, num / fps


def sample_clip(source, clip_idx: int, num_clips: int, num_frames: int, sampling_rate: int,
                target_fps: float = 30, rng: Optional[torch.Generator] = None, device: str = "cpu") -> torch.Tensor:
    """:func:`slowfast.datasets.decoder.sample_clip` (a ``target_fps`` time grid, nearest frames) with
    TorchCodec: the same frames, only those decoded.

    Returns:
        ``num_frames x H x W x 3`` uint8 RGB CPU tensor.

    Raises:
        VideoDecodeError: the video cannot be read or decoded.
    """
    facts = stream_facts(source)
    fps, duration = _grid_facts(facts)
    grid_len = max(1, int(math.floor(duration * target_fps + 1e-6)))
    start, _ = temporal_window(grid_len, num_frames * sampling_rate, clip_idx, num_clips, rng)
    grid = uniform_indices(start, start + (num_frames - 1) * sampling_rate, num_frames, grid_len)
    query_sec = grid.to(torch.float64) / float(target_fps)
    half_frame = 0.5 / fps
    start_sec, end_sec = float(query_sec[0]) - half_frame, float(query_sec[-1]) + half_frame
    if len(facts.pts) == 0:
        raise VideoDecodeError(facts.name, "video stream has no frames")
    times = torch.tensor([float((int(p) - facts.start) * facts.time_base) for p in facts.pts], dtype=torch.float64)
    # decoder.decode_window's frames: the one on screen at start_sec (the first if none), those up to end_sec.
    lo = max(int(torch.searchsorted(times, start_sec, right=True)) - 1, 0)
    stop = max(int(torch.searchsorted(times, end_sec, right=True)), lo + 1)
    chosen = lo + nearest_frames(times[lo:stop], query_sec)
    return decode_frames(source, facts, chosen.tolist(), device)
