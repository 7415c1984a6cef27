#!/usr/bin/env python3
"""Export a config's optimised inference model with its test checkpoint (slowfast/apps/export.py).

    python tools/export.py --cfg CFG [--format onnx|torch_export] --out FILE [TEST.CHECKPOINT_FILE_PATH X] [KEY VALUE ...]
"""
import sys

import _path  # noqa: F401

from slowfast.apps.export import export_main

if __name__ == "__main__":
    sys.exit(export_main())
