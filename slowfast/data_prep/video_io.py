"""Video helpers for the preparation tools: probing a file, re-encoding it at a given short side, and
running jobs in parallel with a progress line and an ETA.

Probing and re-encoding use PyAV, like the loaders (:mod:`slowfast.datasets.decoder`), so a video that
passes here is one the training loop can open.
"""
from __future__ import annotations

import logging
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from fractions import Fraction
from multiprocessing import get_context
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import av

from slowfast.datasets.video_container import VideoDecodeError, get_video_info, open_video
from slowfast.datasets.video_encode import choose_pix_fmt, default_codec
from slowfast.utils.io import _umask, write_text_atomic
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".ts", ".3gp")


def is_video_file(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


# --------------------------------------------------------------------------- probing


def probe_video(path: str, full_decode: bool = False) -> Optional[str]:
    """``None`` when ``path`` opens, has a video stream with frames and its first frame decodes
    (every frame with ``full_decode``, and as many as the container states: see :func:`check_video`);
    else the reason, e.g. ``"no such file"``.

    A dangling symbolic link (a link farm whose target is gone) reads as missing.
    """
    found = check_video(path, full_decode)
    return found[1] if found else None


def check_video(path: str, full_decode: bool = True) -> Optional[Tuple[str, str]]:
    """``None`` when the loaders can read ``path``, else ``(kind, reason)``; kinds ``missing_video``,
    ``undecodable`` (nothing decodes) and, with ``full_decode``, ``truncated_video``: decoding stops
    (an error, or the end of the data) before the frame count the container states
    (:func:`~slowfast.datasets.video_container.get_video_info`), as a download cut short does.

    What counts as readable is what the loaders read: a one-frame video or a still image (a ``.jpg``
    FFmpeg opens as a one-frame video) is fine (every view repeats its one frame).
    """
    if os.path.islink(path) and not os.path.exists(path):
        return "missing_video", f"missing (broken link to {os.readlink(path)})"
    if not os.path.isfile(path):
        return "missing_video", "missing (no such file)"
    if os.path.getsize(path) == 0:
        return "undecodable", "empty file (0 bytes)"
    try:
        expected = get_video_info(path).num_frames  # its own container: a packet scan leaves it at the end
        decoded, error = _count_frames(path, None if full_decode else 1)
    except VideoDecodeError as err:
        return "undecodable", err.reason
    if decoded == 0:
        return "undecodable", f"decoding failed ({error})" if error else "no frame decodes"
    if full_decode and (error or decoded < expected - max(2, expected // 20)):
        return "truncated_video", (f"truncated: {decoded} of {expected} frames decode"
                                   + (f" (then: {error})" if error else "") + "; the loader leaves out views past "
                                   "the cut (test) or replaces the video (train): re-download or re-encode it")
    return None


def _count_frames(path: str, limit: Optional[int]) -> Tuple[int, Optional[str]]:
    """``(frames decoded, the error that stopped decoding or None)``, decoding at most ``limit`` frames."""
    decoded = 0
    with open_video(path) as container:
        try:
            for _ in container.decode(container.streams.video[0]):
                decoded += 1
                if limit is not None and decoded >= limit:
                    break
        except (av.FFmpegError, ValueError) as err:
            return decoded, str(err)
    return decoded, None


# --------------------------------------------------------------------------- re-encoding


def scaled_size(width: int, height: int, short_side: int) -> Tuple[int, int]:
    """``(width, height)`` with the short side ``short_side`` and the aspect ratio kept; the long side is
    rounded to an even number (H.264 in yuv420p needs even sizes)."""
    if width <= height:
        return short_side, max(2, 2 * round(height * short_side / width / 2))
    return max(2, 2 * round(width * short_side / height / 2)), short_side


def resize_video(src: str, dst: str, short_side: int, gop: Optional[int] = None, crf: int = 18,
                 codec: Optional[str] = None) -> dict:
    """Re-encode ``src`` to ``dst`` with its short side ``short_side`` pixels, at the same frame rate.

    Every decoded frame is kept (no frame is dropped or duplicated), so the duration is the same.
    Video only: the loaders read no audio.  ``gop`` is the key-frame interval in frames (default: one
    second of frames); ``crf`` the libx264 quality (lower is better; 18 is visually lossless).
    ``dst`` is written to a temporary file in its folder and renamed when complete, so an existing
    ``dst`` is always a finished file (this is what makes the tools resumable).

    Returns:
        ``{"frames": n, "fps": r, "width": w, "height": h}`` of the output.

    Raises:
        VideoDecodeError: ``src`` cannot be opened or decoded.
    """
    codec = codec or default_codec()
    folder = os.path.dirname(os.path.abspath(dst))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=os.path.splitext(dst)[1], dir=folder)
    os.close(fd)
    try:
        with open_video(src) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(30)
            width, height = scaled_size(stream.codec_context.width, stream.codec_context.height, short_side)
            frames = _encode_all(container, stream, tmp, Fraction(rate), width, height, gop, crf, codec)
        if frames == 0:
            raise VideoDecodeError(src, "no frame decodes")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the dataset is not
        os.replace(tmp, dst)
    except (av.FFmpegError, ValueError) as err:
        raise VideoDecodeError(src, f"re-encoding failed ({err})") from err
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return {"frames": frames, "fps": float(rate), "width": width, "height": height}


def _encode_all(container, stream, out_path, rate, width, height, gop, crf, codec) -> int:
    options = {"crf": str(crf), "preset": "veryfast"} if codec == "libx264" else {"qmin": "1", "qmax": "3"}
    with av.open(out_path, "w") as out:
        ostream = out.add_stream(codec, rate=rate, options=options)
        ostream.width, ostream.height = width, height
        ostream.pix_fmt = choose_pix_fmt(codec, width, height)
        ostream.codec_context.gop_size = gop or max(1, round(float(rate)))
        count = 0
        for frame in container.decode(stream):
            scaled = frame.reformat(width=width, height=height, format=ostream.pix_fmt)
            scaled.pts = count  # frame index at the output rate: every frame kept, same duration
            scaled.time_base = Fraction(1) / rate
            out.mux(ostream.encode(scaled))
            count += 1
        out.mux(ostream.encode(None))
    return count


# --------------------------------------------------------------------------- parallel jobs


def run_parallel(func: Callable, jobs: Sequence, workers: int, label: str,
                 unit: str = "videos") -> Iterator[Tuple[int, object]]:
    """Yield ``(job index, func(job))`` as jobs finish, in ``workers`` processes (in this process when
    ``workers <= 1``), with :class:`Progress` logging.  ``func`` must be a module-level function and
    catch its own expected errors (an unexpected exception stops the run)."""
    progress = Progress(label, len(jobs), unit, logger, period=10.0)
    if workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            result = func(job)
            progress.step()
            yield i, result
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(func, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            progress.step()
            yield futures[future], future.result()


def write_report(path: str, header: str, rows: Iterable[Tuple[str, str]]) -> int:
    """Write ``path<TAB>reason`` lines under a ``#`` header (atomically); returns the row count."""
    rows = list(rows)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + "".join(f"{p}\t{r}\n" for p, r in rows)
    write_text_atomic(path, text)
    return len(rows)


def list_files(folder: str, keep: Callable[[str], bool], skip_links_into: Optional[str] = None,
               seen: Optional[Dict[str, str]] = None, repeats: Optional[List[Tuple[str, str]]] = None) -> List[str]:
    """Sorted paths of the files under ``folder`` (recursively, links included) whose name passes ``keep``.

    Directory links are followed (link farms point class folders at other disks), each real directory
    once: a set of visited real directories stops link loops.  A directory link whose target lies
    inside ``skip_links_into`` (the real path of the tree being scanned) is not followed: what it points
    to is scanned under its own name.  One real file is listed once: ``seen`` (real path -> the path it
    was listed as; shared across calls to cover a whole tree) drops later paths of a file already listed,
    and ``repeats`` gets them as ``(path, reason)``.
    """
    seen = {} if seen is None else seen
    visited = {os.path.realpath(folder)}
    out = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        kept = []
        for name in sorted(dirs):
            full = os.path.join(root, name)
            real = os.path.realpath(full)
            inside = skip_links_into and os.path.islink(full) and (real + os.sep).startswith(skip_links_into + os.sep)
            if real not in visited and not inside:
                visited.add(real)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            full = os.path.join(root, name)
            if not keep(name):
                continue
            first = seen.setdefault(os.path.realpath(full), full)
            if first == full:
                out.append(full)
            elif repeats is not None:
                repeats.append((full, f"the same file as {first}, listed already"))
    return sorted(out)
