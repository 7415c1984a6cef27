#!/usr/bin/env python3
"""AVA frame-level mAP on saved predictions; see ``slowfast.evaluation.ava`` and ``slowfast/apps/eval_ava.py``.

    python tools/eval_ava.py --labelmap L.pbtxt --groundtruth GT.csv \
        --detections DET.csv [--exclusions EXCL.csv] [--output results.json] \
        [--plot ap.png] [--version 2018|2019|2020] [--skip-bad-rows]
        [--bootstrap N [--seed S]] [--pr-curves DIR]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from slowfast.apps.eval_ava import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
