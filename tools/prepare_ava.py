#!/usr/bin/env python3
"""AVA-style videos -> 30 fps JPEG frame folders and frame lists (see slowfast/data_prep/ava.py).

    python tools/prepare_ava.py --videos DIR --out DIR [--start-sec 900 --end-sec 1801] [--fps 30] \
        (--split-file SPLITS.txt | --annotations ava_train_v2.2.csv ava_val_v2.2.csv) [--workers N]
"""
import sys

import _path  # noqa: F401

from slowfast.data_prep.ava import main

if __name__ == "__main__":
    sys.exit(main())
