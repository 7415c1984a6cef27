#!/usr/bin/env python3
"""Speed of a config on this machine: model inference / training step, loader, training loop.

    python tools/benchmark.py --cfg configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml --what model [--iters 5]
        [--batch 2] [--workers 1 2 4] [--video V.mp4] [--frames DIR] [--json] [KEY VALUE ...]

--what model|loader|train|clip|all (see slowfast/reports/benchmark.py for what each measures). Rates are
clips/s with ratios to the unoptimised path (plain eval model, contiguous training weights); GFLOP/s
from the fvcore FLOPs cached in docs/flops_cache.json. Nothing is asserted: these are measurements.
"""
import argparse
import json
import os
import warnings

import _path  # noqa: F401

warnings.filterwarnings("ignore", category=FutureWarning)

import torch  # noqa: E402

from slowfast.config import ConfigError, load_config  # noqa: E402
from slowfast.datasets.prepare import prepare_data  # noqa: E402
from slowfast.apps.cli_tools import resolved_num_classes  # noqa: E402
from slowfast.reports.benchmark import FLOPS_CACHE, MODEL_PARTS, WHATS, run_benchmark, summary_lines  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", required=True)
    parser.add_argument("--what", choices=list(WHATS) + ["all"], default="all")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations (batches, or clips for one process)")
    parser.add_argument("--batch", type=int, default=None, help="model batch (default: per-process TRAIN.BATCH_SIZE)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="loader worker counts to time")
    parser.add_argument("--decode-clips", type=int, default=8, help="clips timed for the decoder")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores on CPU)")
    parser.add_argument("--flops-cache", default=FLOPS_CACHE, help="JSON cache of fvcore FLOPs ('' = none)")
    parser.add_argument("--video", default=None, help="--what clip: your own video (default: a generated 340x256 one); "
                        "--what loader / train: time them on a Kinetics split made of this video")
    parser.add_argument("--frames", default=None, help="--what clip, AVA configs: a folder of JPEG frames")
    parser.add_argument("--model-parts", nargs="+", choices=list(MODEL_PARTS), default=list(MODEL_PARTS),
                        help="--what model: which of the two to time")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all numbers")
    parser.add_argument("opts", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    cfg = load_config(args.cfg, args.opts)
    try:
        cfg = resolved_num_classes(cfg)  # MODEL.NUM_CLASSES 0: from the dataset, as run_net
    except ConfigError as e:
        parser.error(str(e))
    if args.what in ("loader", "train", "all") and not args.video:
        prepare_data(cfg)
    if args.threads or cfg.NUM_GPUS == 0:
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
    res = {"config": args.cfg, **run_benchmark(cfg, args.what, args.iters, args.batch, tuple(args.workers),
                                              args.decode_clips, args.flops_cache or None, args.video, args.frames,
                                              tuple(args.model_parts))}
    for line in summary_lines(res):
        print(line)
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
