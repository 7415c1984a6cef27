#!/usr/bin/env python3
"""What a trained model looks at, and which pathway each class lives in (see slowfast/apps/visualize.py).

    python tools/visualize.py gradcam --cfg CFG --input VIDEO|CSV --out DIR [--class NAME] [--boxes CSV] [KEY VALUE ...]
    python tools/visualize.py ablate --cfg CFG [--out DIR] [--json FILE] [KEY VALUE ...]

gradcam: a Grad-CAM heat map per pathway (TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST) for the predicted class
(or --class NAME), as a PNG strip and an overlay video; AVA configs: per person box of --boxes, through the
RoI head. ablate (AVA): per-class AP of the full model and with the Fast input, the lateral connections or
the Slow input zeroed.
"""
import sys

import _path  # noqa: F401

from slowfast.apps.visualize import main

if __name__ == "__main__":
    sys.exit(main())
