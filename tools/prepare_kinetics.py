#!/usr/bin/env python3
"""Kinetics-style videos -> {train,val,test}.csv, classnames.json, bad_videos.txt (see slowfast/data_prep/kinetics.py).

    python tools/prepare_kinetics.py --src DIR --out DIR [--short-side 256] [--workers N]
    python tools/prepare_kinetics.py --annotations kinetics_train.csv --src CLIPS --out DIR [--short-side 256]
"""
import sys

import _path  # noqa: F401

from slowfast.data_prep.kinetics import main

if __name__ == "__main__":
    sys.exit(main())
