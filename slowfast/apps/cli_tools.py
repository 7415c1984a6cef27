"""Command lines of ``tools/demo.py``, ``tools/extract_features.py``, ``tools/model_info.py`` and
``tools/benchmark.py``: ``--cfg`` plus ``KEY VALUE`` overrides like ``tools/run_net.py``, and the one error
convention of :mod:`slowfast.apps.cli` (an input error is one line on stderr and exit status 2)."""
from __future__ import annotations

import json
import os
import sys

import torch

from slowfast.apps.cli import config_parser, parse_with_overrides, run_with_config
from slowfast.apps.demo import run_demo
from slowfast.apps.features import extract_video_features
from slowfast.apps.loader_benchmark import loader_benchmark_main, wants_loader_benchmark
from slowfast.datasets.prepare import prepare_data
from slowfast.models import build_model
from slowfast.reports.benchmark import FLOPS_CACHE, MODEL_PARTS, WHATS, run_benchmark, summary_lines
from slowfast.reports.model_info import describe, description_json, format_description
from slowfast.utils.io import refuse_overwriting_inputs


def demo_main(argv=None) -> int:
    parser = config_parser("Run a trained model on a video and write it back labelled (slowfast/apps/demo.py).")
    parser.add_argument("--input", required=True, help="input video (any format PyAV reads)")
    parser.add_argument("--output", required=True, help="labelled output video (.mp4, H.264)")
    parser.add_argument("--json", default=None, help="write per-clip / per-box predictions here")
    parser.add_argument("--boxes", default=None, help="detection: AVA-format person boxes CSV for this video")
    parser.add_argument("--csv", default=None, help="detection: write AVA-format detections here")
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        refuse_overwriting_inputs({"--output": args.output, "--json": args.json, "--csv": args.csv},
                                  {"--cfg": args.cfg_file})
        summary = run_demo(cfg, args.input, args.output, args.json, args.csv, args.boxes)
        print(f"labelled video: {summary['output']}")
        return 0

    return run_with_config(args, job)


def extract_features_main(argv=None) -> int:
    parser = config_parser("Write per-clip features of videos (slowfast/apps/features.py).")
    parser.add_argument("--input", required=True, help="a video, or a .csv/.txt list of videos (first field)")
    parser.add_argument("--output", required=True, help="output folder for <name>.npy and index.csv")
    parser.add_argument("--num-clips", type=int, default=0,
                        help="N uniformly spaced clips per video (default: one every DEMO.STRIDE_SEC seconds)")
    parser.add_argument("--overwrite", action="store_true",
                        help="recompute every video even when --output holds features of another checkpoint or config")
    args = parse_with_overrides(parser, argv)
    if args.num_clips < 0:
        parser.error("--num-clips must be >= 0")

    def job(cfg) -> int:
        result = extract_video_features(cfg, args.input, args.output, args.num_clips, args.overwrite)
        print(f"features: {len(result['written'])} written, {len(result['skipped'])} skipped, "
              f"{len(result['failed'])} failed, D = {result['dim']}; index: {result['index']}")
        return 1 if result["failed"] else 0

    return run_with_config(args, job)


MODEL_INFO_DOC = """Print a model's per-stage output shapes, GFLOPs per view and parameters.

    python tools/model_info.py --cfg configs/Kinetics/K700/SLOWFAST_8x8_R101_NL.yaml [--size 256] [--json] [KEY VALUE ...]

With --json stdout is one JSON object alone ({"config", "size", "gflops", "params_m", "stages"}); the
text table goes to stderr.
"""


def model_info_main(argv=None) -> int:
    parser = config_parser(MODEL_INFO_DOC)
    parser.add_argument("--size", type=int, default=0, help="input height/width (default DATA.TEST_CROP_SIZE)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout (the table goes to stderr)")
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        size = args.size or cfg.DATA.TEST_CROP_SIZE
        info = describe(build_model(cfg, device="cpu"), cfg, size)
        print(format_description(info, size), file=sys.stderr if args.json else sys.stdout)
        if args.json:
            print(json.dumps(description_json(info, size, args.cfg_file)))
        return 0

    return run_with_config(args, job, extra_opts=["NUM_GPUS", "0", "NUM_PROCESSES", "1"])


BENCHMARK_DOC = """Speed of a config on this machine: model inference / training step, loader, training loop.

    python tools/benchmark.py --cfg configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml --what model [--iters 5]
        [--batch 2] [--workers 1 2 4] [--video V.mp4] [--frames DIR] [--json] [KEY VALUE ...]

--what model|loader|train|clip|all (see slowfast/reports/benchmark.py for what each measures); the CPU's
instruction-set level is printed first; --what model also times bf16 / fp16 where the device has them and
the ONNX export in onnxruntime / OpenVINO when installed (--json: one line per row: what, precision,
runtime, clips_s, max_abs_diff; then one line of all numbers). Rates are
clips/s with ratios to the unoptimised path (plain eval model, contiguous training weights); GFLOP/s
from the fvcore FLOPs cached in docs/flops_cache.json. Nothing is asserted: these are measurements.
Is training input-bound? `--what loader --backend pyav|torchcodec --source files|shards [--workers 0,1,2]`
and `--what data-wait RUN_DIR` (slowfast/apps/loader_benchmark.py: `--what loader --help`).
"""


def benchmark_main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if wants_loader_benchmark(argv):  # --what loader --backend/--source ..., --what data-wait RUN_DIR
        return loader_benchmark_main(argv)
    parser = config_parser(BENCHMARK_DOC)
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
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        if args.what in ("loader", "train", "all") and not args.video:
            prepare_data(cfg)
        if args.threads or cfg.NUM_GPUS == 0:
            torch.set_num_threads(args.threads or os.cpu_count() or 1)
        res = {"config": args.cfg_file, **run_benchmark(
            cfg, args.what, args.iters, args.batch, tuple(args.workers), args.decode_clips, args.flops_cache or None,
            args.video, args.frames, tuple(args.model_parts))}
        for line in summary_lines(res):
            print(line)
        if args.json:  # one line per precision / runtime row, then all numbers
            for row in res.get("model", {}).get("runtimes", []):
                print(json.dumps(row))
            print(json.dumps(res))
        return 0

    return run_with_config(args, job)
