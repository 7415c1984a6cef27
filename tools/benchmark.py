#!/usr/bin/env python3
"""Speed of a config on this machine: model inference / training step, loader, training loop
(slowfast/apps/cli_tools.py, slowfast/reports/benchmark.py).

    python tools/benchmark.py --cfg configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml --what model [--iters 5]
        [--batch 2] [--workers 1 2 4] [--video V.mp4] [--frames DIR] [--json] [KEY VALUE ...]
    python tools/benchmark.py --what loader --backend pyav|torchcodec --source files|shards [--workers 0,1,2]
        [--data DIR] [--cfg CFG] [--clips N] [--json]      # is training input-bound? (apps/loader_benchmark.py)
    python tools/benchmark.py --what data-wait RUN_DIR [...]  # a run's time waiting for data, from its log.txt
"""
import sys

import _path  # noqa: F401

from slowfast.apps.cli_tools import benchmark_main

if __name__ == "__main__":
    sys.exit(benchmark_main())
