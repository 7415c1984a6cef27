"""Data-side timings of `slowfast.reports.benchmark` (its module docstring describes them): the loader
("loader": one process building training clips, the DataLoader per worker count with the workers' peak
RSS, windowed vs whole-video decoding) and the training clip of one process from benchmark media
("clip": the Kinetics item from a video with the raw decode limit, or AVA clip loading from JPEG frames).
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time

import torch

from slowfast.engine.tasks import build_task


def worker_peak_rss_gib(parent: int | None = None) -> list[float]:
    """Peak resident memory (VmHWM, GiB) of each live child process of `parent` (default: this one)."""
    parent = parent or os.getpid()
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == parent and "VmHWM" in fields:
            out.append(int(fields["VmHWM"].split()[0]) / 2**20)
    return out


@contextlib.contextmanager
def one_torch_thread():
    """1 torch thread inside the block (as in a loader worker), the caller's count restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def bench_single_process(cfg, dataset, n: int) -> dict:
    """Training clips/s built by one process with 1 torch thread (dataset[i], as a loader worker does)."""
    with one_torch_thread():
        dataset[0]  # warm-up (file cache, lazy imports)
        t = time.perf_counter()
        for i in range(1, n + 1):
            dataset[i % len(dataset)]
        return {"clips_per_s": n / (time.perf_counter() - t), "clips": n}


def bench_loader_workers(cfg, workers: int, batches: int) -> dict:
    """DataLoader clips/s with `workers` workers (start-up not counted) and the workers' peak RSS."""
    from slowfast.datasets.build import build_loader, shuffle_loader

    cfg = cfg.clone()
    cfg.defrost()
    cfg.DATA_LOADER.NUM_WORKERS = workers
    cfg.freeze()
    loader = build_loader(cfg, "train")
    shuffle_loader(loader, 0, cfg.RNG_SEED)
    it = iter(loader)
    skip = max(1, workers)  # start-up: each worker's first batch (prefetched while the others start)
    for _ in range(min(skip, len(loader))):
        next(it)
    n, t = 0, time.perf_counter()
    for _ in range(min(batches, len(loader) - skip)):
        inputs, *_ = next(it)
        n += inputs[0].shape[0]
    rate = n / max(time.perf_counter() - t, 1e-9) if n else None  # None: too few batches to time
    rss = worker_peak_rss_gib() if workers > 0 else []
    del it
    return {"clips_per_s": rate, "clips": n, "worker_peak_rss_gib": max(rss) if rss else None}


def bench_decode(cfg, dataset, n: int) -> dict:
    """Seconds per clip of the windowed decoder (seek + the sampled window) and of decoding whole videos."""
    from slowfast.datasets.decoder import decode_window, sample_clip
    from slowfast.datasets.video_container import get_video_info

    paths = [dataset.videos[i % len(dataset.videos)][0] for i in range(n)]
    t = time.perf_counter()
    for p in paths:
        sample_clip(p, -1, 1, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, cfg.DATA.TARGET_FPS)
    windowed = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for p in paths:
        decode_window(p, 0.0, get_video_info(p).duration + 1.0)
    whole = (time.perf_counter() - t) / n
    return {"windowed_s_per_clip": windowed, "whole_video_s_per_clip": whole, "whole_over_windowed": whole / windowed}


def bench_loader(cfg, iters: int, workers=(1, 2, 4), decode_clips: int = 8) -> dict:
    from slowfast.datasets.build import build_dataset

    dataset = build_dataset(cfg.TRAIN.DATASET, cfg, "train")
    out = {"dataset": cfg.TRAIN.DATASET, "single_process": bench_single_process(cfg, dataset, iters)}
    if hasattr(dataset, "videos"):  # video files (Kinetics), not AVA's frame folders
        out["decode"] = bench_decode(cfg, dataset, decode_clips)
    out["workers"] = {str(w): bench_loader_workers(cfg, w, iters) for w in workers}
    return out


def _median_s(fn, n: int) -> float:
    fn()  # warm-up (file cache, lazy imports, first allocations)
    times = []
    for _ in range(max(1, n)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def decode_limit_frames_per_s(video: str, repeats: int = 5) -> float:
    """Frames/s of decoding `video` start to end and converting every frame to RGB (1 thread; median)."""
    import av

    counts = []

    def decode_all():
        with av.open(video) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            rgb = (frame.to_ndarray(format="rgb24") for frame in container.decode(stream))
            counts.append(sum(1 for _ in rgb))

    seconds = _median_s(decode_all, repeats)  # its warm-up call counted the frames
    return counts[0] / seconds


@contextlib.contextmanager
def video_dataset_cfg(cfg, video: str, copies: int = 1):
    """`cfg` whose Kinetics train split lists `video` `copies` times (label 0), in a temporary folder that
    lives as long as the context: the loader and training-loop benchmarks of a stock config without its
    dataset."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "train.csv"), "w") as f:
            f.write(f"{os.path.abspath(video)} 0\n" * max(1, copies))
        cfg = cfg.clone()
        cfg.defrost()
        cfg.TRAIN.DATASET = "kinetics"
        cfg.DATA.PATH_TO_DATA_DIR, cfg.DATA.PATH_PREFIX, cfg.DATA.PATH_LABEL_SEPARATOR = tmp, "", " "
        cfg.DATA.GENERATE_SYNTHETIC = False
        cfg.MODEL.NUM_CLASSES = max(1, cfg.MODEL.NUM_CLASSES)
        cfg.freeze()
        yield cfg


def bench_kinetics_clip(cfg, iters: int, video: str) -> dict:
    """The Kinetics dataset's training item built from `video` alone (see the module docstring)."""
    from slowfast.datasets.kinetics import Kinetics

    from slowfast.models.build import clip_channel_stats
    from slowfast.utils.pixels import normalize_pixels

    with video_dataset_cfg(cfg, video) as vcfg:
        dataset = Kinetics(vcfg, "train")
    mean, std = clip_channel_stats(cfg)

    def build():  # the item, normalised on this CPU also when it leaves the dataset as uint8 (the model's job)
        for x in dataset[0][0]:
            if x.dtype == torch.uint8:
                normalize_pixels(x, mean, std)

    s = _median_s(build, iters)
    window = cfg.DATA.NUM_FRAMES * cfg.DATA.SAMPLING_RATE
    limit = decode_limit_frames_per_s(video) / window
    return {"video": video, "clips_per_s": 1.0 / s, "ms_per_clip": 1e3 * s, "window_frames": window,
            "decode_limit_windows_per_s": limit, "fraction_of_decode_limit": 1.0 / s / limit}


def bench_ava_clip(cfg, iters: int, frame_paths: list) -> dict:
    """AVA clip loading of one key frame from `frame_paths` (the JPEG frames of one video)."""
    import numpy as np

    from slowfast.datasets.ava import AvaSpec, clip_frame_indices, pyslowfast_view, read_frames

    index = clip_frame_indices(len(frame_paths) // 2, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, len(frame_paths))
    paths = [frame_paths[i] for i in index]
    boxes = np.array([[0.1, 0.2, 0.45, 0.95], [0.5, 0.1, 0.8, 0.9]])
    out = {"frames": len(paths), "frame_size": list(read_frames(paths[:1]).shape[1:3])}
    for split in ("train", "test"):
        spec = AvaSpec.from_config(cfg, split)  # val / test short side DATA.TEST_CROP_SIZE
        s = _median_s(lambda: pyslowfast_view(read_frames(paths, bgr=True), boxes, spec), iters)
        out[split] = {"clips_per_s": 1.0 / s, "ms_per_clip": 1e3 * s}
    out["read_ms_per_clip"] = 1e3 * _median_s(lambda: read_frames(paths, bgr=True), iters)
    return out


def bench_clip(cfg, iters: int, video: str | None = None, frames: str | None = None,
               media_dir: str | None = None) -> dict:
    """One process, 1 torch thread: the config's training clip from benchmark media (module docstring)."""
    from slowfast.reports.benchmark_media import make_benchmark_frames, make_benchmark_video

    media_dir = media_dir or os.path.join(cfg.OUTPUT_DIR, "benchmark_media")
    with one_torch_thread():
        if build_task(cfg).is_detection:
            if frames:
                paths = sorted(os.path.join(frames, n) for n in os.listdir(frames) if n.lower().endswith(".jpg"))
                if not paths:
                    raise FileNotFoundError(f"--frames {frames}: no .jpg files in it")
            else:
                paths = make_benchmark_frames(os.path.join(media_dir, "ava_frames"))
            return {"ava": bench_ava_clip(cfg, iters, paths)}
        video = video or make_benchmark_video(os.path.join(media_dir, "kinetics_340x256_10s.mp4"))
        return {"kinetics": bench_kinetics_clip(cfg, iters, video)}
