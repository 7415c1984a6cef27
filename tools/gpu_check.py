#!/usr/bin/env python3
"""Exercise every GPU path (NCCL, AMP bf16 / fp16 + GradScaler, channels_last_3d, pinned uint8 transfers,
MODEL.COMPILE, the AVA detector, TEST.PRECISION) and print a speed table (slowfast/apps/gpu_check.py).

    python tools/gpu_check.py [--budget-s 280] [--batch 8] [--iters 5] [--no-table]

Without CUDA: one line, exit status 3.
"""
import sys

import _path  # noqa: F401

from slowfast.apps.gpu_check import main

if __name__ == "__main__":
    sys.exit(main())
