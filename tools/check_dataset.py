#!/usr/bin/env python3
"""Check a dataset against a config before training: every problem with file and line
(see slowfast/data_prep/check.py). Exit code 0 only when clean.

    python tools/check_dataset.py --cfg CFG [--split train,val] [--decode] [--json] [KEY VALUE ...]
"""
import sys

import _path  # noqa: F401

from slowfast.data_prep.check import main

if __name__ == "__main__":
    sys.exit(main())
