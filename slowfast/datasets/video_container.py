"""PyAV containers: opening a video, its stream facts (:class:`VideoInfo`), seeking, and the one
error every decoding failure raises (:class:`VideoDecodeError`).

Time convention (as :mod:`slowfast.datasets.decoder`): seconds on the video stream's presentation
timeline, measured from the stream's first timestamp (``stream.start_time``).

Supported: any seekable container FFmpeg reads (mp4, webm/mkv, avi, MPEG-TS, MPEG-PS) with H.264,
MPEG-4 part 2, VP9, ... video.  Raw elementary streams (``.h264`` files) carry no timestamps and
cannot seek; they raise :class:`VideoDecodeError`.

A video may also be held in memory (e.g. read from a tar shard): pass its encoded ``bytes``, or a
:class:`VideoBytes` (bytes + the name errors give it, e.g. ``"train-000003.tar:vid42"``), wherever a path
is accepted.
"""
import io
import math
import os
from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

import av


class VideoDecodeError(RuntimeError):
    """A video could not be opened or decoded; names the culprit file.

    Attributes:
        path: the file that failed.
        reason: what went wrong.
    """

    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot decode video {self.path!r}: {reason}")

    def __reduce__(self):
        # Keep the exception picklable so it crosses DataLoader worker boundaries.
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class VideoInfo:
    """Stream facts of a video.

    ``fps`` is frames per second, ``num_frames`` the frame count, ``duration``
    seconds (``num_frames / fps`` when derived), ``width`` x ``height`` pixels.
    """

    fps: float
    num_frames: int
    duration: float
    width: int
    height: int


IN_MEMORY_NAME = "<in-memory video>"


class VideoBytes(NamedTuple):
    """An encoded video held in memory, and the name errors give it (say the shard and the sample key)."""

    data: bytes
    name: str = IN_MEMORY_NAME


Path = Union[str, os.PathLike]
Source = Union[str, os.PathLike, bytes, VideoBytes, "av.container.InputContainer"]


def as_video_bytes(source) -> Optional[VideoBytes]:
    """``source`` as :class:`VideoBytes` when it is a video in memory (``bytes``, ``bytearray``,
    ``memoryview`` or ``VideoBytes``), else ``None`` (a path or an open container)."""
    if isinstance(source, VideoBytes):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return VideoBytes(bytes(source))
    return None


def source_name(source) -> str:
    """What errors call ``source``: the path, the in-memory video's name, or the container's name."""
    in_memory = as_video_bytes(source)
    if in_memory is not None:
        return in_memory.name
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    return _container_path(source)


class _NamedBytesIO(io.BytesIO):
    """Bytes PyAV reads as a file; the container (and its errors) carry ``name``."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def open_video(path: Union[Path, bytes, VideoBytes]) -> "av.container.InputContainer":
    """Open ``path`` (or a video in memory: ``bytes`` / :class:`VideoBytes`) with PyAV and check it has a
    video stream.

    Returns an input container (use it as a context manager to close it).

    Raises:
        VideoDecodeError: the file is missing, unreadable, not a media file,
            truncated so badly the demuxer rejects it, or has no video stream.
    """
    in_memory = as_video_bytes(path)
    if in_memory is not None:
        path, source = in_memory.name, _NamedBytesIO(in_memory.data, in_memory.name)
    else:
        path = source = os.fspath(path)
        if not os.path.isfile(path):
            raise VideoDecodeError(path, "no such file")
    try:
        container = av.open(source)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as err:
        raise VideoDecodeError(path, f"cannot open container ({err})") from err
    if not container.streams.video:
        container.close()
        raise VideoDecodeError(path, "file has no video stream")
    return container


class _borrow:
    """Context manager yielding an open container; closes it only if it opened it."""

    def __init__(self, source: Source):
        self._owned = isinstance(source, (str, os.PathLike)) or as_video_bytes(source) is not None
        self._container = open_video(source) if self._owned else source

    def __enter__(self):
        return self._container

    def __exit__(self, *exc):
        if self._owned:
            self._container.close()
        return False


def _container_path(container) -> str:
    return str(getattr(container, "name", "<container>"))


def _video_stream(container):
    if not container.streams.video:
        raise VideoDecodeError(_container_path(container), "file has no video stream")
    return container.streams.video[0]


def _stream_start(stream) -> int:
    """First presentation timestamp of ``stream`` in its time base (0 when unknown)."""
    return stream.start_time if stream.start_time is not None else 0


def _metadata_fps(stream) -> Optional[float]:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return float(rate)
    return None


def _metadata_duration(container, stream) -> Optional[float]:
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _scan_packets(container, stream, fps: Optional[float]) -> VideoInfo:
    """Fallback: demux the whole video stream (no decoding) and count its frames.

    The frame rate is ``fps`` when the metadata had one, else frames divided by
    the summed packet durations (or the span of their timestamps).
    """
    path = _container_path(container)
    count, summed_duration, pts = 0, 0, []
    _rewind(container, stream)
    try:
        for packet in container.demux(stream):
            if packet.size:
                count += 1
                summed_duration += packet.duration or 0
                if packet.pts is not None:
                    pts.append(packet.pts)
    except av.FFmpegError as err:
        raise VideoDecodeError(path, f"error while scanning packets ({err})") from err
    if count == 0:
        raise VideoDecodeError(path, "video stream has no frames")
    if fps is None:
        seconds = float(summed_duration * stream.time_base)
        if seconds <= 0 and len(pts) > 1:
            seconds = float((max(pts) - min(pts)) * stream.time_base) * count / (count - 1)
        if seconds <= 0:
            raise VideoDecodeError(path, "cannot determine the frame rate")
        fps = count / seconds
    return VideoInfo(fps, count, count / fps, stream.width, stream.height)


def get_video_info(source: Source) -> VideoInfo:
    """Return fps, frame count, duration and size of the first video stream.

    Uses stream metadata when present (``average_rate``, ``frames``,
    ``duration``; the container duration for formats such as WebM that store no
    per-stream values) and falls back to scanning the packets of the stream when
    the metadata lacks them.

    Raises:
        VideoDecodeError: see :func:`open_video`, or the stream holds no frames.
    """
    with _borrow(source) as container:
        stream = _video_stream(container)
        fps = _metadata_fps(stream)
        duration = _metadata_duration(container, stream)
        num_frames = stream.frames if stream.frames and stream.frames > 0 else None
        if fps is None or (duration is None and num_frames is None):
            return _scan_packets(container, stream, fps)
        if num_frames is None:
            num_frames = max(1, int(round(duration * fps)))
        # A frame count and a rate define the duration exactly; containers'
        # durations sometimes include a trailing frame or edit-list slack.
        duration = num_frames / fps
        return VideoInfo(fps, num_frames, duration, stream.width, stream.height)


def _seek(container, stream, seconds: float) -> None:
    """Seek to the last key frame at or before ``seconds`` (stream time base)."""
    offset = int(math.floor(seconds / stream.time_base)) + _stream_start(stream)
    _seek_pts(container, stream, offset, seconds)


def _rewind(container, stream) -> None:
    """Seek to the first frame.  (Offset 0, not ``start_time``: MPEG-TS seeks by
    decoding timestamps, which precede the presentation ones.)"""
    _seek_pts(container, stream, min(_stream_start(stream), 0), 0.0)


def _seek_pts(container, stream, offset: int, seconds: float) -> None:
    try:
        container.seek(offset, stream=stream, backward=True, any_frame=False)
    except av.FFmpegError as err:
        raise VideoDecodeError(_container_path(container), f"cannot seek to {seconds:.3f}s ({err})") from err
