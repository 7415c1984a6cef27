#!/usr/bin/env python3
"""Features before the classifier for your own videos (see slowfast/apps/features.py).

    python tools/extract_features.py --cfg CFG --input VIDEO_OR_LIST --output DIR [--num-clips N] [--overwrite] [KEY VALUE ...]

Writes DIR/<video name>.npy (num_clips x D float32, D = 2304 for SlowFast R50/R101) and DIR/index.csv
(video, clip, start_sec, end_sec). Clips every DEMO.STRIDE_SEC seconds, or N uniformly spaced clips.
Videos already written are skipped, so an interrupted run continues where it stopped; DIR/fingerprint.json
(checkpoint sha256, feature-changing config keys, --num-clips, clip plans) must match, else the run is
refused (exit 2) naming what differs, unless --overwrite (recompute every video).
"""
import sys

import _path  # noqa: F401

from slowfast.apps.cli_tools import extract_features_main

if __name__ == "__main__":
    sys.exit(extract_features_main())
