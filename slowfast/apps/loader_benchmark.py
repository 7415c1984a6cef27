"""``tools/benchmark.py --what loader --backend ... --source ...`` and ``--what data-wait RUN_DIR``: is
training input-bound? (slowfast/reports/benchmark_loader.py measures; this is the command line.)

    python tools/benchmark.py --what loader --backend pyav|torchcodec --source files|shards
        [--workers 0,1,2] [--data DIR] [--cfg CFG] [--clips N] [--repeats R] [--batch B]
        [--media kinetics-like|discs] [--size PX] [--json] [KEY VALUE ...]
    python tools/benchmark.py --what data-wait RUN_DIR [RUN_DIR ...] [--json]

The loader mode builds the real training loader of CFG (default: configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml,
i.e. its 32 frames x 2, jitter 256-320, crop 224 training clip) over --data (a prepared Kinetics-format
folder), or by default over 4 videos of 10 s generated into a temporary folder (--media kinetics-like:
340x256 H.264 that decodes like a Kinetics video; discs: the synthetic set's moving discs of --size^2
pixels, 4 s); --source shards first packs that folder with tools/make_shards.py. It prints clips/s, clips/s
per core (cores = max(1, workers)) and clips per CPU second (the CPU time of the process and its workers:
not slowed by other processes on the machine) per worker count, then the loader cores an 8-GPU node needs
for SlowFast 8x8 R50 at 100 clips/s per GPU (GETTING_STARTED.md, Speed, "Is training input-bound?"). --json: one JSON object per line.
A backend or source this checkout lacks is one line naming it, exit status 2.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

from slowfast.apps.cli import parse_with_overrides, run_with_config
from slowfast.reports import benchmark_loader as bl
from slowfast.visualization.training_log import TrainingLogError, read_training_log

LOADER_FLAGS = ("--backend", "--source", "--data", "--clips", "--repeats", "--media", "--size")


def wants_loader_benchmark(argv: list[str]) -> bool:
    """True for the command lines this module answers: `--what data-wait`, and `--what loader` with one
    of its flags or without --cfg (`--what loader --cfg CFG` alone keeps the per-config report)."""
    what = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--what"),
                next((a.split("=", 1)[1] for a in argv if a.startswith("--what=")), None))
    if what == "data-wait":
        return True
    flags = {a.split("=", 1)[0] for a in argv}
    return what == "loader" and (bool(flags & set(LOADER_FLAGS)) or "--cfg" not in flags)


def worker_counts(text: str) -> list[int]:
    """`--workers 0,1,2` -> [0, 1, 2]."""
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: give worker counts like 0,1,2") from None
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"--workers {text!r}: give worker counts >= 0 like 0,1,2")
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--what", choices=["loader", "data-wait"], required=True)
    parser.add_argument("--cfg", dest="cfg_file", default=bl.DEFAULT_CFG, help="config YAML (default: 8x8 R50)")
    parser.add_argument("--backend", choices=bl.BACKENDS, default="pyav", help="DATA.DECODING_BACKEND")
    parser.add_argument("--source", choices=bl.SOURCES, default="files", help="video files, or tar shards of them")
    parser.add_argument("--workers", type=worker_counts, default=[0, 1, 2],
                        help="worker counts, comma-separated (default 0,1,2)")
    parser.add_argument("--data", default=None, help="a prepared Kinetics-format folder (default: synthetic videos)")
    parser.add_argument("--media", choices=bl.MEDIA, default="kinetics-like",
                        help="without --data: 340x256 videos that decode like Kinetics ones (default), or the "
                        "synthetic set's moving discs")
    parser.add_argument("--size", type=int, default=128, help="--media discs: width and height (default 128)")
    parser.add_argument("--clips", type=int, default=32, help="clips per timed stretch (default 32)")
    parser.add_argument("--repeats", type=int, default=3, help="timed stretches; the median is reported (default 3)")
    parser.add_argument("--batch", type=int, default=8, help="TRAIN.BATCH_SIZE of the loader (default 8)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--debug", action="store_true", help="full tracebacks of input errors")
    return parser


def data_wait_main(runs: list[str], as_json: bool) -> int:
    """One line per run: the fraction of its training time spent waiting for data (from its log.txt)."""
    if not runs:
        print("error: --what data-wait: name one or more run folders (OUTPUT_DIR holding log.txt)", file=sys.stderr)
        return 2
    for run in runs:
        try:
            wait = bl.run_data_wait(read_training_log(run))
        except TrainingLogError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        if wait is None:
            print(f"error: {run}: its training stats lines carry no data-wait timings (dt_data)", file=sys.stderr)
            return 2
        if as_json:
            print(json.dumps({"what": "data_wait", "run": run, **wait}))
        else:
            print(f"{run}: {bl.data_wait_line(wait)}")
    return 0


def loader_main(args) -> int:
    workers = sorted(set(args.workers))
    if min(args.clips, args.repeats, args.batch, args.size) < 1:
        print("error: --clips, --repeats, --batch and --size must be >= 1", file=sys.stderr)
        return 2

    def job(cfg) -> int:
        missing = bl.missing_part(args.backend, args.source, cfg)
        if missing:
            print(f"error: {missing}", file=sys.stderr)
            return 2
        if args.data and not os.path.isfile(os.path.join(args.data, "train.csv")):
            raise FileNotFoundError(f"--data {args.data}: no train.csv in it (a prepared Kinetics-format folder)")
        with tempfile.TemporaryDirectory(prefix="loader_bench_") as tmp:
            listed = args.batch * (max(workers) + 2) + args.clips * args.repeats  # no epoch ends while timing
            data = args.data or bl.make_benchmark_data(os.path.join(tmp, "data"), args.media, listed, args.size,
                                                       seconds=10.0 if args.media == "kinetics-like" else 4.0)
            if args.source == "shards":
                try:
                    data = bl.pack_shards(data, os.path.join(tmp, "shards"))
                except bl.ShardPackingError as e:
                    print(f"error: --source shards: {e}", file=sys.stderr)
                    return 2
            rows = [bl.bench_loader_row(bl.loader_cfg(cfg, data, args.backend, args.source, w, args.batch),
                                        args.backend, args.source, w, args.clips, args.repeats) for w in workers]
        rows.append(bl.cores_row(rows))
        for line in (json.dumps(r) for r in rows) if args.json else bl.loader_lines(rows):
            print(line, flush=True)
        return 0

    return run_with_config(args, job, extra_opts=["NUM_GPUS", "0", "NUM_PROCESSES", "1"])


def loader_benchmark_main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "data-wait" in argv:  # run folders are positional there
        known, runs = parser.parse_known_args(argv)
        flags = [r for r in runs if r.startswith("-")]
        if flags:
            parser.error(f"unrecognized arguments: {' '.join(flags)}")
        return data_wait_main(runs, known.json)
    return loader_main(parse_with_overrides(parser, argv))
