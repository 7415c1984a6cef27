#!/usr/bin/env python3
"""Convert a checkpoint between PySlowFast `.pyth`, a plain PyTorch state dict and a Caffe2 `.pkl` (slowfast/apps/convert_checkpoint.py).

    python tools/convert_checkpoint.py --input X.pyth --output Y.pkl --to caffe2
    python tools/convert_checkpoint.py --input X.pkl --output Y.pyth --to pytorch --cfg CFG.yaml
    python tools/convert_checkpoint.py --input X.pyth --output Y.pt --to state_dict
"""
import sys

import _path  # noqa: F401

from slowfast.apps.convert_checkpoint import main

if __name__ == "__main__":
    sys.exit(main())
