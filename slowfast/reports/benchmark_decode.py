"""Per-clip decoding time, PyAV vs TorchCodec (``DATA.DECODING_BACKEND``), on this machine:

    python -m slowfast.reports.benchmark_decode [--clips 40] [--device cpu|cuda] [--json] [--media DIR]

Clips are SlowFast 8x8's (32 frames, sampling rate 2 at 30 fps; PySlowFast's frame picking), decoded by one
process with one torch thread (as a loader worker decodes), on two sets of videos written once into
``--media`` (default ``output/benchmark_media``): the tiny synthetic Kinetics videos (32x32, 75 frames,
H.264) and a Kinetics-sized one (``slowfast.reports.benchmark_media``: 340x256, 10 s at 30 fps, H.264 as
FFmpeg encodes by default), and the same 352 pixels wide (TorchCodec 0.17 converts frames to RGB with swscale
when the width is a multiple of 32, else with an FFmpeg filter graph: both are timed). Each clip alternates
the backends (same video, same window) so load drift
hits both alike; the report is the median and 90th percentile wall milliseconds per clip, and the median
CPU time of the process (all its threads; less sensitive to other jobs on a shared machine). The two backends'
clips are checked to be equal on the way. ``--device cuda``: TorchCodec on NVDEC (needs a GPU).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import torch

from slowfast.datasets import decoder, torchcodec_decoder
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.reports.benchmark_media import make_benchmark_video

NUM_FRAMES, SAMPLING_RATE, TARGET_FPS = 32, 2, 30


def media(folder: str) -> dict[str, list[str]]:
    """{set name: video paths}, written into `folder` on first use."""
    synthetic = os.path.join(folder, "synthetic_kinetics_32px")
    if not os.path.isfile(os.path.join(synthetic, "test.csv")):
        make_kinetics_synthetic(synthetic, num_classes=4, num_train=0, num_val=0, num_test=8, size=32,
                                num_frames=75, seed=0, num_workers=1)
    tiny = sorted(os.path.join(synthetic, "videos", "test", f) for f in os.listdir(os.path.join(synthetic, "videos", "test")))
    big = make_benchmark_video(os.path.join(folder, "kinetics_like_340x256_10s.mp4"))
    aligned = make_benchmark_video(os.path.join(folder, "kinetics_like_352x256_10s.mp4"), width=352)
    return {"synthetic 32x32, 2.5 s": tiny, "340x256, 10 s": [big], "352x256, 10 s": [aligned]}


def time_clips(videos: list[str], clips: int, device: str) -> dict:
    """Milliseconds per clip of each backend over `clips` random training windows (seeded, the same for both)."""
    samplers = {"pyav": decoder.sample_clip_pyslowfast,
                f"torchcodec ({device})": lambda *a, **k: torchcodec_decoder.sample_clip_pyslowfast(*a, **k, device=device)}
    times = {name: [] for name in samplers}
    cpu = {name: [] for name in samplers}
    for i in range(clips + 1):  # clip 0 warms up (file cache, lazy imports), not counted
        video = videos[i % len(videos)]
        out = []
        for name, sample in samplers.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            out.append(sample(video, -1, 1, NUM_FRAMES, SAMPLING_RATE, TARGET_FPS,
                              rng=torch.Generator().manual_seed(i)))
            if i:
                times[name].append(1000 * (time.perf_counter() - start))
                cpu[name].append(1000 * (time.process_time() - start_cpu))
        if not torch.equal(out[0], out[1]):
            raise AssertionError(f"the backends' clips differ on {video} (window seed {i})")
    return {name: {"median_ms": round(statistics.median(t), 2),
                   "p90_ms": round(sorted(t)[math.ceil(0.9 * len(t)) - 1], 2),
                   "median_cpu_ms": round(statistics.median(cpu[name]), 2), "clips": len(t)}
            for name, t in times.items()}


def run(folder: str, clips: int, device: str) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {name: time_clips(videos, clips, device) for name, videos in media(folder).items()}
    finally:
        torch.set_num_threads(threads)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", type=int, default=40, help="clips timed per backend and video set")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where TorchCodec decodes")
    p.add_argument("--media", default="output/benchmark_media", help="folder of the generated videos")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        torchcodec_decoder.load_torchcodec()
    except torchcodec_decoder.TorchCodecUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda: CUDA is not available on this machine", file=sys.stderr)
        return 2
    result = run(args.media, max(1, args.clips), args.device)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"ms per clip ({NUM_FRAMES} frames, sampling rate {SAMPLING_RATE}; wall median / p90, CPU time median; "
          "1 torch thread):")
    for videos, backends in result.items():
        for name, r in backends.items():
            print(f"  {videos:<24} {name:<18} {r['median_ms']:8.2f} / {r['p90_ms']:8.2f}, CPU {r['median_cpu_ms']:8.2f}"
                  f"  ({r['clips']} clips)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
