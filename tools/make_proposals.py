#!/usr/bin/env python3
"""Person proposals for AVA-style frames with a torchvision detector (see slowfast/data_prep/proposals.py).

    python tools/make_proposals.py --frames DATA/frames --out DATA/annotations/val_proposals.csv \
        --weights FasterRCNN_ResNet50_FPN_V2_Weights.DEFAULT [--start-sec 900 --keyframe-start 902 --keyframe-end 1798]
"""
import sys

import _path  # noqa: F401

from slowfast.data_prep.proposals import main

if __name__ == "__main__":
    sys.exit(main())
