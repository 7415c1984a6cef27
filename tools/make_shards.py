#!/usr/bin/env python3
"""Prepared Kinetics-format dataset -> webdataset tar shards + one index per split (see slowfast/data_prep/shards.py).

    python tools/make_shards.py --data DATA_DIR --out SHARDS_DIR [--shard-size 1GB] [--splits train,val,test]
"""
import sys

import _path  # noqa: F401

from slowfast.data_prep.shards import main

if __name__ == "__main__":
    sys.exit(main())
