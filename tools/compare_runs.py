#!/usr/bin/env python3
"""Paired comparison of two runs on the same test set (slowfast/apps/compare_runs.py).

    python tools/compare_runs.py A B [--json] [--metric top1|top5|mAP] [--cfg CONFIG | --labelmap L --groundtruth GT]
"""
import sys

import _path  # noqa: F401

from slowfast.apps.compare_runs import main

if __name__ == "__main__":
    sys.exit(main())
