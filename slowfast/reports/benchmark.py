"""Speed of a config on this machine, as rates and ratios to the unoptimised path (never asserted).

`run_benchmark(cfg, what, ...)` returns a JSON-able dict; tools/benchmark.py is its command line.

- model: inference clips/s of the model in eval mode and of `optimize_for_inference` (ratio = speed-up),
  per precision (TEST.PRECISION) and exported runtime (`slowfast.reports.benchmark_deploy`),
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
import time

import torch

from slowfast.config import world_size
from slowfast.engine import acceleration as accel
from slowfast.engine.common import device_for
from slowfast.engine.tasks import build_task
from slowfast.models import build_model, optimize_for_inference
from slowfast.models.build import memory_format_for
from slowfast.reports.benchmark_data import bench_clip, bench_loader, video_dataset_cfg
from slowfast.reports.benchmark_deploy import bench_runtimes, cpu_isa, runtime_lines

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
    """(clips, extra) of a random batch as the loader gives it; extra holds the boxes of detection models."""
    from slowfast.models.inputs import dummy_inputs

    inputs = dummy_inputs(cfg, size, batch=batch, device=device)
    for x in inputs[0]:
        x.normal_()
    return inputs[0], ({"boxes": inputs[1]} if len(inputs) > 1 else {})


def contiguous_cfg(cfg):
    """`cfg` with MODEL.MEMORY_FORMAT contiguous: the unoptimised model (plain 3-D convolutions)."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.MODEL.MEMORY_FORMAT = "contiguous"
    cfg.freeze()
    return cfg


def bench_inference(cfg, iters: int, batch: int, size: int, gflops: float) -> dict:
    """Eval-mode clips/s of the unoptimised model (contiguous, BN layers) and of optimize_for_inference."""
    device, task = device_for(cfg), build_task(cfg)
    model = build_model(contiguous_cfg(cfg), device=device).eval()
    xs, extra = _random_batch(cfg, size, batch, device)
    out = {"batch": batch, "size": size}
    with torch.no_grad():
        for name, net in (("eval", model), ("optimized", optimize_for_inference(model))):
            rate = _rate(lambda: task.forward(net, xs, extra, device), iters, batch, device)
            out[name] = {"clips_per_s": rate, "gflop_per_s": rate * gflops}
    out["speedup"] = out["optimized"]["clips_per_s"] / out["eval"]["clips_per_s"]
    return out


def bench_train_step(cfg, iters: int, batch: int, size: int, gflops: float) -> dict:
    """Training-step clips/s of the model built with MODEL.MEMORY_FORMAT contiguous ("contiguous") and as
    `build_model(cfg)` returns it ("default"); inputs arrive contiguous, as from the loader."""
    from slowfast.solver import build_optimizer

    device, task = device_for(cfg), build_task(cfg)
    xs, extra = _random_batch(cfg, size, batch, device)
    if "boxes" in extra:  # detection: multi-hot labels per box
        labels = torch.zeros(len(extra["boxes"]), cfg.MODEL.NUM_CLASSES, device=device)
    else:
        labels = torch.arange(batch, device=device) % cfg.MODEL.NUM_CLASSES
    out = {"batch": batch, "size": size}
    for name in ("contiguous", "default"):
        torch.manual_seed(0)
        model = build_model(cfg if name == "default" else contiguous_cfg(cfg), device=device).train()
        fmt = memory_format_for(cfg, device) if name == "default" else torch.contiguous_format
        optimizer = build_optimizer(cfg, model)
        scaler = accel.grad_scaler(cfg, device)

        def step():
            with accel.autocast(cfg, device):
                loss = task.loss(task.forward(model, xs, extra, device), labels)
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


MODEL_PARTS = ("inference", "train_step", "runtimes")  # runtimes: precisions and exported runtimes


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
    if "runtimes" in parts:
        out["runtimes"] = bench_runtimes(cfg, iters, per_process, test_size, device_for(cfg), _rate, _random_batch)
    return out


def bench_train_loop(cfg, iters: int) -> dict:
    """End-to-end training clips/s: DataLoader (DATA_LOADER.NUM_WORKERS) + step, as the training loop runs."""
    from slowfast.datasets.build import build_loader, shuffle_loader
    from slowfast.solver import build_optimizer

    device, task = device_for(cfg), build_task(cfg)
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
            loss = task.loss(task.forward(model, inputs, extra, device), labels.to(device))
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
           "keep_freed_memory": accel.keep_freed_memory(), "cpu": cpu_isa()}
    accel.configure_backends(device)
    if what in ("clip", "all"):
        out["clip"] = bench_clip(cfg, max(iters, 10), video, frames)
    with contextlib.ExitStack() as stack:
        data_cfg = cfg
        if video and not build_task(cfg).is_detection and what in ("loader", "train", "all"):
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
    if "cpu" in res:
        c = res["cpu"]
        lines.append(f"cpu: {c['level']} (torch kernels {c['torch_capability']}, bf16 units: {'yes' if c['bf16_units'] else 'no'})")
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
    lines += runtime_lines(res.get("model", {}).get("runtimes", []))
    if "train" in res:
        lines.append(f"training loop: {res['train']['clips_per_s']:.3f} clips/s end to end "
                     f"({res['train']['workers']} worker(s))")
    if "loader_over_step" in res:
        r = res["loader_over_step"]
        lines.append(f"loader / step: {r:.2f} ({'input-bound' if r < 1 else 'compute-bound'})")
    return lines
