#!/usr/bin/env python3
"""Print a model's per-stage output shapes, GFLOPs per view and parameters (slowfast/apps/cli_tools.py).

    python tools/model_info.py --cfg configs/Kinetics/K700/SLOWFAST_8x8_R101_NL.yaml [--size 256] [--json] [KEY VALUE ...]

With --json stdout is one JSON object alone (gflops, params_m, stages); the table goes to stderr.
"""
import sys

import _path  # noqa: F401

from slowfast.apps.cli_tools import model_info_main

if __name__ == "__main__":
    sys.exit(model_info_main())
