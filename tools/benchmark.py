#!/usr/bin/env python3
"""Speed of a config on this machine: model inference / training step, loader, training loop
(slowfast/apps/cli_tools.py, slowfast/reports/benchmark.py).

    python tools/benchmark.py --cfg configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml --what model [--iters 5]
        [--batch 2] [--workers 1 2 4] [--video V.mp4] [--frames DIR] [--json] [KEY VALUE ...]
"""
import sys

import _path  # noqa: F401

from slowfast.apps.cli_tools import benchmark_main

if __name__ == "__main__":
    sys.exit(benchmark_main())
