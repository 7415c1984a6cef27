#!/usr/bin/env python3
"""Speed of the training pipeline of a config, reported as rates and ratios (not asserted anywhere).

    python tools/benchmark.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml [--iters 20] [--json] [KEY VALUE ...]

Measures, on this machine:
- decode: seconds per clip for the windowed decoder (seek + decode only the sampled window) and for
  decoding whole videos; ratio = whole / windowed (how much the windowed decoder saves);
- loader: training clips per second delivered by the DataLoader (DATA_LOADER.NUM_WORKERS workers);
- step: training clips per second of forward + backward + SGD step on random inputs of the training
  shape (per-process batch), and peak GPU memory on CUDA;
- loader / step ratio: below 1 the run is input-bound with these settings.
"""
import argparse
import json
import os
import time
import warnings

import _path  # noqa: F401

warnings.filterwarnings("ignore", category=FutureWarning)

import torch  # noqa: E402

from slowfast.config import load_config, world_size  # noqa: E402
from slowfast.datasets.build import build_dataset, build_loader, shuffle_loader  # noqa: E402
from slowfast.datasets.decoder import decode_window, get_video_info, sample_clip  # noqa: E402
from slowfast.datasets.prepare import prepare_data  # noqa: E402
from slowfast.engine.common import device_for, forward  # noqa: E402
from slowfast.engine.train import compute_loss  # noqa: E402
from slowfast.models import build_model  # noqa: E402
from slowfast.solver import build_optimizer  # noqa: E402
from slowfast.utils.complexity import dummy_inputs  # noqa: E402


def bench_decode(cfg, dataset, n: int) -> dict:
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


def bench_loader(cfg, iters: int) -> float:
    loader = build_loader(cfg, "train")
    shuffle_loader(loader, 0, cfg.RNG_SEED)
    it = iter(loader)
    next(it)  # start-up (worker spawn) is not counted
    n, t = 0, time.perf_counter()
    for _ in range(min(iters, len(loader) - 1)):
        inputs, *_ = next(it)
        n += inputs[0].shape[0]
    return n / (time.perf_counter() - t)


def bench_step(cfg, iters: int) -> dict:
    device = device_for(cfg)
    model = build_model(cfg, device=device).train()
    optimizer = build_optimizer(cfg, model)
    batch = cfg.TRAIN.BATCH_SIZE // world_size(cfg)
    inputs = dummy_inputs(cfg, cfg.DATA.TRAIN_CROP_SIZE, batch=batch, device=device)
    extra = {"boxes": inputs[1]} if cfg.DETECTION.ENABLE else {}
    n_out = len(inputs[1]) if cfg.DETECTION.ENABLE else batch
    labels = torch.zeros(n_out, cfg.MODEL.NUM_CLASSES, device=device) if cfg.DETECTION.ENABLE \
        else torch.zeros(n_out, dtype=torch.long, device=device)
    for x in inputs[0]:
        x.normal_()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step():
        loss = compute_loss(cfg, forward(model, inputs[0], extra, device), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    out = {"clips_per_s": iters * batch / (time.perf_counter() - t), "batch_per_process": batch, "device": str(device)}
    if device.type == "cuda":
        out["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", required=True)
    parser.add_argument("--iters", type=int, default=20, help="iterations timed for the loader and the step")
    parser.add_argument("--decode-clips", type=int, default=16, help="clips timed for the decoder")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all numbers")
    parser.add_argument("opts", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cfg = load_config(args.cfg, args.opts)
    prepare_data(cfg)
    if cfg.NUM_GPUS == 0:
        torch.set_num_threads(os.cpu_count() or 1)
    results = {"config": args.cfg}
    if not cfg.DETECTION.ENABLE:
        results["decode"] = bench_decode(cfg, build_dataset(cfg.TRAIN.DATASET, cfg, "train"), args.decode_clips)
    results["loader_clips_per_s"] = bench_loader(cfg, args.iters)
    results["step"] = bench_step(cfg, args.iters)
    results["loader_over_step"] = results["loader_clips_per_s"] / results["step"]["clips_per_s"]
    if "decode" in results:
        d = results["decode"]
        print(f"decode: {d['windowed_s_per_clip'] * 1e3:.1f} ms/clip windowed, {d['whole_video_s_per_clip'] * 1e3:.1f} "
              f"ms/clip whole video (x{d['whole_over_windowed']:.2f})")
    print(f"loader: {results['loader_clips_per_s']:.1f} clips/s with {cfg.DATA_LOADER.NUM_WORKERS} worker(s)")
    print(f"step:   {results['step']['clips_per_s']:.1f} clips/s on {results['step']['device']} "
          f"(batch {results['step']['batch_per_process']} per process)")
    print(f"loader / step: {results['loader_over_step']:.2f} ({'input-bound' if results['loader_over_step'] < 1 else 'compute-bound'})")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
