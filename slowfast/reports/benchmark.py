"""Speed of a config on this machine, as rates and ratios to the unoptimised path (never asserted).

`run_benchmark(cfg, what, ...)` returns a JSON-able dict; tools/benchmark.py is its command line.

- model: inference clips/s of the model in eval mode and of `optimize_for_inference` (ratio = speed-up),
  training-step clips/s (forward + backward + SGD on random inputs of the training shape) with contiguous
  weights and with the training loop's memory format; achieved GFLOP/s from fvcore's forward FLOPs
  (a training step counted as 3x the forward, the usual backward = 2x forward estimate). FLOPs come from
  the cache in docs/flops_cache.json (`slowfast.reports.repro.CostCache`), computed and added when missing.
- loader: (with `video=`: on a Kinetics split made of that video, for stock configs without their data)
  clips/s of one process building training clips (dataset[i], no DataLoader, 1 torch thread;
  for AVA configs this is AVA clip loading from JPEG frames), of the DataLoader with each worker count,
  and the peak RSS of one loader worker; for Kinetics configs also the windowed vs whole-video decode cost.
- train: clips/s of the training loop end to end (DataLoader + step), to compare with the two above.
- clip: clips/s of one process (1 torch thread) building the config's training clip from media that need
  no dataset (`slowfast.reports.benchmark_media`, or `video=` / `frames=` of your own): for Kinetics-style
  configs the Kinetics dataset's item from a 10 s 340x256 H.264 video (decode the window, jitter, crop,
  flip, pack, and normalise: here on the CPU also when DATA.NORMALIZE_ON_DEVICE leaves that to the
  device), with the raw decode limit of that video (sequential decode + RGB, in windows/s)
  and the fraction of it reached; for detection configs AVA clip loading from 640x360 JPEG frames (read
  the clip's frames, train view; and the test view), as the AVA dataset does.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time

import torch

from slowfast.config import world_size
from slowfast.engine import acceleration as accel
from slowfast.engine.common import device_for, forward
from slowfast.models import build_model, optimize_for_inference
from slowfast.models.build import memory_format_for

WHATS = ("model", "loader", "train", "clip")
FLOPS_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "docs", "flops_cache.json")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _rate(fn, iters: int, clips_per_call: int, device: torch.device, warmup: int = 1) -> float:
    """Clips per second of `fn()` over `iters` timed calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    _sync(device)
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return iters * clips_per_call / (time.perf_counter() - t)


def forward_gflops(cfg, size: int, cache_path: str | None = FLOPS_CACHE) -> float:
    """fvcore GFLOPs of one `size`^2 view (cached by config, size and model source)."""
    from slowfast.reports.repro import CostCache, compute_cost, cost_key

    cache = CostCache(cache_path)
    key = cost_key(cfg, size)
    entry = cache.get(key)
    if entry is None:
        entry = compute_cost(cfg, size)
        cache.put(key, entry)
        cache.save()
    return float(entry["gflops"])


def _random_batch(cfg, size: int, batch: int, device: torch.device):
    from slowfast.utils.complexity import dummy_inputs

    inputs = dummy_inputs(cfg, size, batch=batch, device=device)
    for x in inputs[0]:
        x.normal_()
    return inputs[0], ({"boxes": inputs[1]} if cfg.DETECTION.ENABLE else {})


def contiguous_cfg(cfg):
    """`cfg` with MODEL.MEMORY_FORMAT contiguous: the unoptimised model (plain 3-D convolutions)."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.MEMORY_FORMAT = "contiguous"
    cfg.freeze()
    return cfg


def bench_inference(cfg, iters: int, batch: int, size: int, gflops: float) -> dict:
    """Eval-mode clips/s of the unoptimised model (contiguous, BN layers) and of optimize_for_inference."""
    device = device_for(cfg)
    model = build_model(contiguous_cfg(cfg), device=device).eval()
    xs, extra = _random_batch(cfg, size, batch, device)
    out = {"batch": batch, "size": size}
    with torch.no_grad():
        for name, net in (("eval", model), ("optimized", optimize_for_inference(model, cfg))):
            rate = _rate(lambda: forward(net, xs, extra, device), iters, batch, device)
            out[name] = {"clips_per_s": rate, "gflop_per_s": rate * gflops}
    out["speedup"] = out["optimized"]["clips_per_s"] / out["eval"]["clips_per_s"]
    return out


def bench_train_step(cfg, iters: int, batch: int, size: int, gflops: float) -> dict:
    """Training-step clips/s of the model built with MODEL.MEMORY_FORMAT contiguous ("contiguous") and as
    `build_model(cfg)` returns it ("default"); inputs arrive contiguous, as from the loader."""
    from slowfast.engine.train import compute_loss
    from slowfast.solver import build_optimizer

    device = device_for(cfg)
    xs, extra = _random_batch(cfg, size, batch, device)
    n_out = len(extra["boxes"]) if cfg.DETECTION.ENABLE else batch
    labels = torch.zeros(n_out, cfg.MODEL.NUM_CLASSES, device=device) if cfg.DETECTION.ENABLE \
        else torch.arange(n_out, device=device) % cfg.MODEL.NUM_CLASSES
    out = {"batch": batch, "size": size}
    for name in ("contiguous", "default"):
        torch.manual_seed(0)
        model = build_model(cfg if name == "default" else contiguous_cfg(cfg), device=device).train()
        fmt = memory_format_for(cfg, device) if name == "default" else torch.contiguous_format
        optimizer = build_optimizer(cfg, model)
        scaler = accel.grad_scaler(cfg, device)

        def step():
            with accel.autocast(cfg, device):
                loss = compute_loss(cfg, forward(model, xs, extra, device), labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        rate = _rate(step, iters, batch, device)
        out[name] = {"clips_per_s": rate, "gflop_per_s": rate * 3 * gflops,
                     "memory_format": str(fmt).replace("torch.", ""), **accel.peak_memory_stats(device)}
        del model, optimizer
    out["speedup"] = out["default"]["clips_per_s"] / out["contiguous"]["clips_per_s"]
    return out


MODEL_PARTS = ("inference", "train_step")


def bench_model(cfg, iters: int, batch: int | None = None, flops_cache: str | None = FLOPS_CACHE,
                parts=MODEL_PARTS) -> dict:
    test_size, train_size = cfg.DATA.TEST_CROP_SIZE, cfg.DATA.TRAIN_CROP_SIZE
    per_process = batch or max(1, cfg.TRAIN.BATCH_SIZE // world_size(cfg))
    g_test = forward_gflops(cfg, test_size, flops_cache)
    g_train = g_test if train_size == test_size else forward_gflops(cfg, train_size, flops_cache)
    out = {"gflops_per_view": {"test": g_test, "train": g_train}}
    if "inference" in parts:
        out["inference"] = bench_inference(cfg, iters, per_process, test_size, g_test)
    if "train_step" in parts:
        out["train_step"] = bench_train_step(cfg, iters, per_process, train_size, g_train)
    return out


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
    from slowfast.datasets.decoder import decode_window, get_video_info, sample_clip

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
    if not cfg.DETECTION.ENABLE and hasattr(dataset, "videos"):
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
        if cfg.DETECTION.ENABLE:
            if frames:
                paths = sorted(os.path.join(frames, n) for n in os.listdir(frames) if n.lower().endswith(".jpg"))
                if not paths:
                    raise FileNotFoundError(f"--frames {frames}: no .jpg files in it")
            else:
                paths = make_benchmark_frames(os.path.join(media_dir, "ava_frames"))
            return {"ava": bench_ava_clip(cfg, iters, paths)}
        video = video or make_benchmark_video(os.path.join(media_dir, "kinetics_340x256_10s.mp4"))
        return {"kinetics": bench_kinetics_clip(cfg, iters, video)}


def bench_train_loop(cfg, iters: int) -> dict:
    """End-to-end training clips/s: DataLoader (DATA_LOADER.NUM_WORKERS) + step, as the training loop runs."""
    from slowfast.datasets.build import build_loader, shuffle_loader
    from slowfast.engine.train import compute_loss
    from slowfast.solver import build_optimizer

    device = device_for(cfg)
    model = build_model(cfg, device=device).train()
    optimizer = build_optimizer(cfg, model)
    scaler = accel.grad_scaler(cfg, device)
    loader = build_loader(cfg, "train")
    shuffle_loader(loader, 0, cfg.RNG_SEED)
    n, t = 0, None
    for i, (inputs, labels, _, extra) in enumerate(loader):
        if i > iters:
            break
        if i == 1:  # the first iteration (worker start-up) is not counted
            _sync(device)
            t = time.perf_counter()
        with accel.autocast(cfg, device):
            loss = compute_loss(cfg, forward(model, inputs, extra, device), labels.to(device))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if i >= 1:
            n += inputs[0].shape[0]
    _sync(device)
    rate = n / (time.perf_counter() - t) if t is not None and n else 0.0
    return {"clips_per_s": rate, "clips": n, "workers": cfg.DATA_LOADER.NUM_WORKERS, **accel.peak_memory_stats(device)}


def run_benchmark(cfg, what: str = "all", iters: int = 5, batch: int | None = None, workers=(1, 2, 4),
                  decode_clips: int = 8, flops_cache: str | None = FLOPS_CACHE, video: str | None = None,
                  frames: str | None = None, model_parts=MODEL_PARTS) -> dict:
    """Measure `what` ("model", "loader", "train" or "all") for `cfg`; see the module docstring."""
    if what not in WHATS + ("all",):
        raise ValueError(f"--what {what!r}: choose one of {list(WHATS) + ['all']}")
    device = device_for(cfg)
    out = {"device": str(device), "torch_threads": torch.get_num_threads(),
           "keep_freed_memory": accel.keep_freed_memory()}
    accel.configure_backends(device)
    if what in ("clip", "all"):
        out["clip"] = bench_clip(cfg, max(iters, 10), video, frames)
    with contextlib.ExitStack() as stack:
        data_cfg = cfg
        if video and not cfg.DETECTION.ENABLE and what in ("loader", "train", "all"):
            copies = max(64, 4 * iters * max(1, cfg.TRAIN.BATCH_SIZE) * max(workers or (1,)))
            data_cfg = stack.enter_context(video_dataset_cfg(cfg, video, copies))
            out["loader_video"] = video
        if what in ("loader", "all"):  # first: the loader's workers fork a process without a model in it
            out["loader"] = bench_loader(data_cfg, iters, workers, decode_clips)
        if what in ("model", "all"):
            out["model"] = bench_model(cfg, iters, batch, flops_cache, model_parts)
        if what in ("train", "all"):
            out["train"] = bench_train_loop(data_cfg, iters)
    if "loader" in out and "train_step" in out.get("model", {}):
        best = max(w["clips_per_s"] or 0.0 for w in out["loader"]["workers"].values())
        out["loader_over_step"] = best / out["model"]["train_step"]["default"]["clips_per_s"]
    return out


def summary_lines(res: dict) -> list[str]:
    """Human-readable lines of a run_benchmark result."""
    lines = []
    if "loader" in res:
        ld = res["loader"]
        lines.append(f"loader: one process {ld['single_process']['clips_per_s']:.2f} clips/s (1 thread)")
        if "decode" in ld:
            d = ld["decode"]
            lines.append(f"decode: {d['windowed_s_per_clip'] * 1e3:.1f} ms/clip windowed, "
                         f"{d['whole_video_s_per_clip'] * 1e3:.1f} ms/clip whole video "
                         f"(x{d['whole_over_windowed']:.2f})")
        for w, r in ld["workers"].items():
            rss = f", worker peak RSS {r['worker_peak_rss_gib']:.2f} GiB" if r["worker_peak_rss_gib"] else ""
            rate = f"{r['clips_per_s']:.2f} clips/s" if r["clips_per_s"] else "too few batches to time"
            lines.append(f"loader: {rate} with {w} worker(s){rss}")
    if "clip" in res and "kinetics" in res["clip"]:
        k = res["clip"]["kinetics"]
        lines.append(f"kinetics training clip: {k['clips_per_s']:.2f} clips/s ({k['ms_per_clip']:.1f} ms, 1 thread); "
                     f"decode limit {k['decode_limit_windows_per_s']:.1f} windows/s of {k['window_frames']} frames, "
                     f"{100 * k['fraction_of_decode_limit']:.0f}% of it")
    if "clip" in res and "ava" in res["clip"]:
        a = res["clip"]["ava"]
        lines.append(f"ava clip loading ({a['frames']} JPEG frames of {a['frame_size'][1]}x{a['frame_size'][0]}): "
                     f"train {a['train']['clips_per_s']:.2f} clips/s, test {a['test']['clips_per_s']:.2f} clips/s "
                     f"(reading {a['read_ms_per_clip']:.1f} ms of it)")
    if "inference" in res.get("model", {}):
        inf = res["model"]["inference"]
        lines.append(f"inference: {inf['eval']['clips_per_s']:.3f} -> {inf['optimized']['clips_per_s']:.3f} clips/s "
                     f"optimized (x{inf['speedup']:.2f}), {inf['optimized']['gflop_per_s']:.3g} GFLOP/s")
    if "train_step" in res.get("model", {}):
        st = res["model"]["train_step"]
        lines.append(f"train step: {st['contiguous']['clips_per_s']:.3f} contiguous -> "
                     f"{st['default']['clips_per_s']:.3f} clips/s {st['default']['memory_format']} "
                     f"(x{st['speedup']:.2f}), "
                     f"{st['default']['gflop_per_s']:.3g} GFLOP/s")
    if "train" in res:
        lines.append(f"training loop: {res['train']['clips_per_s']:.3f} clips/s end to end "
                     f"({res['train']['workers']} worker(s))")
    if "loader_over_step" in res:
        r = res["loader_over_step"]
        lines.append(f"loader / step: {r:.2f} ({'input-bound' if r < 1 else 'compute-bound'})")
    return lines
