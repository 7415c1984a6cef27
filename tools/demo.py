#!/usr/bin/env python3
"""Run a trained model on your own video and write it back labelled (see slowfast/apps/demo.py).

    python tools/demo.py --cfg CFG --input VIDEO --output OUT.mp4 [--json OUT.json]
        [--boxes BOXES.csv] [--csv DETECTIONS.csv] [KEY VALUE ...]

Classification configs draw the top DEMO.TOP_K classes of clips taken every DEMO.STRIDE_SEC seconds;
detection (AVA) configs draw person boxes (from --boxes or DEMO.DETECTOR torchvision) with their
actions above DEMO.ACTION_THRESH. Weights: TEST.CHECKPOINT_FILE_PATH (or the latest checkpoint in
OUTPUT_DIR). Class names: DEMO.LABEL_FILE_PATH (default: the shipped Kinetics / AVA list).
"""
import sys

import _path  # noqa: F401

from slowfast.apps.cli_tools import demo_main

if __name__ == "__main__":
    sys.exit(demo_main())
