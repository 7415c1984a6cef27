"""Small synthetic video datasets made of real encoded video files.

Kinetics format (as PySlowFast's Kinetics loader reads it)::

    OUT/train.csv, OUT/val.csv, OUT/test.csv   lines "videos/<split>/<split>_00000.mp4 <label>"
    OUT/videos/<split>/*.mp4                   H.264 (libx264) or MPEG-4 part 2
    OUT/synthetic_kinetics.json                the generation parameters

Each video shows one textured disc gliding over a static noise background; the
class is the disc's velocity (direction, and speed when there are more than four
classes).  Textures, colours, sizes, start positions and backgrounds are drawn
from the same distribution for every class, so a single frame carries no class
information: telling classes apart needs temporal modelling.  The disc wraps
around the frame edges (toroidal motion) so it never leaves the picture.

Generation is deterministic by seed: every video draws from its own
``numpy.random.default_rng([seed, split, index])``, and the same seed gives the same bytes, whatever the
number of worker processes: `video_encode.write_video` converts RGB -> YUV in one swscale thread and
encodes in one thread (``threads=1``; libx264 ``x264-params`` threads=1, lookahead-threads=1,
sliced-threads=0, non-deterministic=0).

This module needs only numpy and PyAV (no torch), so worker processes start fast; the codec helpers are in
`slowfast.datasets.video_encode`.
"""
import json
import math
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from slowfast.datasets.video_encode import default_codec, write_video

SPLITS = ("train", "val", "test")
META_NAME = "synthetic_kinetics.json"
# Grey-level range of the static block-noise background: lower contrast than the disc's texture, so
# that the moving disc stands out (a tiny CPU model learns the motion in minutes), while a single
# frame still says nothing about the class.
BACKGROUND_RANGE = (100, 156)
# Base speed in pixels per frame for a 64-pixel frame (scaled with the frame size).
SPEED_PER_64PX = 3.0


def class_velocity(label: int, num_classes: int, size: int) -> Tuple[float, float]:
    """Velocity ``(vx, vy)`` in pixels per frame of class ``label``.

    Classes cycle through ``D = min(num_classes, 4)`` evenly spaced directions
    (angle ``2 * pi * (label % D) / D``, 0 = rightwards, then downwards for D=4)
    and, beyond four classes, through speeds ``1x, 2x, ...`` of a base speed of
    ``SPEED_PER_64PX * size / 64`` pixels per frame.
    """
    if not 0 <= label < num_classes or num_classes < 2:
        raise ValueError(f"class_velocity: need 0 <= label < num_classes and num_classes >= 2, got {label}, {num_classes}")
    directions = min(num_classes, 4)
    angle = 2.0 * math.pi * (label % directions) / directions
    speed = SPEED_PER_64PX * size / 64.0 * (1 + label // directions)
    return speed * math.cos(angle), speed * math.sin(angle)


def _block_noise(rng: np.random.Generator, height: int, width: int, block: int, low: int, high: int) -> np.ndarray:
    """``height x width x 3`` uint8 image of random colour blocks of ``block`` pixels."""
    cells = rng.integers(low, high, size=(-(-height // block), -(-width // block), 3), dtype=np.int64)
    return np.kron(cells, np.ones((block, block, 1), dtype=np.int64))[:height, :width].astype(np.uint8)


def render_moving_disc(
    rng: np.random.Generator,
    size: int,
    num_frames: int,
    velocity: Tuple[float, float],
) -> np.ndarray:
    """Render a textured disc moving at ``velocity`` (px/frame) over static block noise.

    Appearance (background, disc texture, colour, radius, start position) comes
    from ``rng`` and does not depend on ``velocity``.

    Returns:
        ``num_frames x size x size x 3`` uint8 RGB numpy array.
    """
    return render_moving_discs(rng, size, num_frames, [velocity])


def render_moving_discs(rng: np.random.Generator, size: int, num_frames: int,
                        velocities: Sequence[tuple]) -> np.ndarray:
    """``num_frames x size x size x 3`` uint8: one textured disc per velocity (px/frame, wrapping around the
    edges) over static block noise; appearance and start positions from ``rng``, independent of the motion."""
    background = _block_noise(rng, size, size, max(1, size // 16), *BACKGROUND_RANGE)
    discs = []
    for velocity in velocities:
        radius = int(rng.integers(max(2, size // 8), max(3, size // 5) + 1))
        tint = rng.integers(0, 256, size=3)
        block = max(1, radius // 3)
        texture = (_block_noise(rng, 2 * radius + 1, 2 * radius + 1, block, 0, 256) // 2 + tint // 2).astype(np.uint8)
        discs.append((radius, texture, rng.uniform(0, size, size=2), np.asarray(velocity)))
    ys, xs = np.mgrid[0:size, 0:size]
    video = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    for t in range(num_frames):
        frame = background.copy()
        for radius, texture, start, velocity in discs:
            cx, cy = np.round(start + t * velocity).astype(np.int64) % size
            dx = (xs - cx + size // 2) % size - size // 2
            dy = (ys - cy + size // 2) % size - size // 2
            inside = dx * dx + dy * dy <= radius * radius
            frame[inside] = texture[dy[inside] + radius, dx[inside] + radius]
        video[t] = frame
    return video


# --------------------------------------------------------------------------- dataset


def _make_video(job: tuple) -> None:
    """Worker: render and encode one video. ``job`` is a tuple so it pickles cheaply."""
    path, entropy, label, num_classes, size, num_frames, fps, codec = job
    rng = np.random.default_rng(entropy)
    frames = render_moving_disc(rng, size, num_frames, class_velocity(label, num_classes, size))
    write_video(path, frames, fps, codec=codec, gop=int(round(fps)))


def _split_jobs(out_dir: str, split: str, count: int, num_classes: int, size: int, num_frames: int, fps: int, codec: str, seed: int):
    """Jobs and CSV lines of one split; labels are balanced and shuffled by seed."""
    split_id = SPLITS.index(split)
    labels = np.random.default_rng([seed, split_id]).permutation(np.arange(count) % num_classes)
    jobs, lines = [], []
    for index, label in enumerate(labels.tolist()):
        relative = f"videos/{split}/{split}_{index:05d}.mp4"
        jobs.append((os.path.join(out_dir, relative), [seed, split_id, index], label, num_classes, size, num_frames, fps, codec))
        lines.append(f"{relative} {label}\n")
    return jobs, lines


def run_jobs(make: Callable[[tuple], None], jobs: Sequence[tuple], num_workers: int) -> None:
    """``make(job)`` for every job: in this process for one worker or fewer than 8 jobs, else in
    ``num_workers`` spawned processes (``make`` must be a module-level function)."""
    if num_workers <= 1 or len(jobs) < 8:
        for job in jobs:
            make(job)
        return
    with ProcessPoolExecutor(max_workers=num_workers, mp_context=get_context("spawn")) as pool:
        list(pool.map(make, jobs, chunksize=max(1, len(jobs) // (4 * num_workers))))


def write_lines(path: str, lines: Sequence[str]) -> None:
    """Write ``lines`` (each with its newline) to ``path``: the synthetic sets' CSVs and frame lists."""
    with open(path, "w") as f:
        f.writelines(lines)


def write_meta(out_dir: str, name: str, meta: dict) -> None:
    """Write a synthetic set's parameters to ``out_dir/name`` (JSON, indent 1, sorted keys)."""
    with open(os.path.join(out_dir, name), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def split_csv_paths(out_dir: str, splits: Sequence[str] = SPLITS, folder: str = "") -> Dict[str, str]:
    """``{split: out_dir/folder/<split>.csv}``."""
    return {split: os.path.join(out_dir, folder, f"{split}.csv") for split in splits}


def make_kinetics_synthetic(
    out_dir: str,
    num_classes: int = 4,
    num_train: int = 192,
    num_val: int = 48,
    num_test: int = 48,
    size: int = 64,
    num_frames: int = 75,
    fps: int = 30,
    seed: int = 0,
    codec: Optional[str] = None,
    num_workers: Optional[int] = None,
) -> Dict[str, str]:
    """Write a Kinetics-format motion-classification dataset into ``out_dir``.

    Args:
        out_dir: destination directory (created; existing files are overwritten).
        num_classes: number of motion classes (>= 2), see :func:`class_velocity`.
        num_train, num_val, num_test: videos per split (labels balanced).
        size: frame width and height in pixels.
        num_frames: frames per video (75 at 30 fps = 2.5 s, enough for a 64-frame window).
        fps: frame rate.
        seed: same seed, same CSVs and same decoded frames.
        codec: encoder name; default :func:`default_codec`.
        num_workers: encoding processes; default ``os.cpu_count()``.

    Returns:
        ``{"train": path_to_train_csv, "val": ..., "test": ...}``.
    """
    codec = codec or default_codec()
    num_workers = num_workers or os.cpu_count() or 1
    counts = {"train": num_train, "val": num_val, "test": num_test}
    all_jobs, csv_paths = [], split_csv_paths(out_dir)
    for split in SPLITS:
        os.makedirs(os.path.join(out_dir, "videos", split), exist_ok=True)
        jobs, lines = _split_jobs(out_dir, split, counts[split], num_classes, size, num_frames, fps, codec, seed)
        all_jobs.extend(jobs)
        write_lines(csv_paths[split], lines)
    run_jobs(_make_video, all_jobs, num_workers)
    write_meta(out_dir, META_NAME, dict(num_classes=num_classes, num_train=num_train, num_val=num_val,
                                        num_test=num_test, size=size, num_frames=num_frames, fps=fps, seed=seed,
                                        codec=codec))
    return csv_paths


def build_atomically(out_dir: str, marker: str, make: Callable[[str], object], caller: str) -> str:
    """Run ``make(tmp_dir)`` in a temporary sibling of ``out_dir`` and rename it onto ``out_dir``,
    unless ``out_dir/marker`` already exists.

    A crash never leaves a half-written dataset, and concurrent callers (several workers or ranks)
    end with one complete copy.  ``out_dir`` must not exist, or be an empty directory.

    Returns:
        the absolute ``out_dir``.
    """
    out_dir = os.path.abspath(out_dir)
    if os.path.isfile(os.path.join(out_dir, marker)):
        return out_dir
    if os.path.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(f"{caller}: {out_dir!r} exists without {marker}; remove it first")
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp_dir = tempfile.mkdtemp(prefix=f".{os.path.basename(out_dir)}.tmp-", dir=parent)
    os.chmod(tmp_dir, 0o755)  # mkdtemp makes it private; the dataset is not
    try:
        make(tmp_dir)
        os.rename(tmp_dir, out_dir)  # atomic; fails if another process finished first
    except OSError:
        if not os.path.isfile(os.path.join(out_dir, marker)):
            raise
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out_dir


def ensure_split_csvs(make: Callable[..., object], out_dir: str, kwargs: dict) -> Dict[str, str]:
    """``make(out_dir, **kwargs)`` (a ``make_<name>_synthetic``) unless ``out_dir/train.csv`` exists,
    atomically (:func:`build_atomically`; errors name ``ensure_<name>_synthetic``); -> its split CSVs."""
    caller = make.__name__.replace("make_", "ensure_", 1)
    return split_csv_paths(build_atomically(out_dir, "train.csv", lambda tmp: make(tmp, **kwargs), caller))


def ensure_kinetics_synthetic(out_dir: str, **kwargs) -> Dict[str, str]:
    """Make the dataset of :func:`make_kinetics_synthetic` unless ``out_dir/train.csv`` exists,
    atomically (see :func:`build_atomically`).

    Returns:
        ``{"train": path_to_train_csv, "val": ..., "test": ...}``.
    """
    return ensure_split_csvs(make_kinetics_synthetic, out_dir, kwargs)
