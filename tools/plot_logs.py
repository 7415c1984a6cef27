#!/usr/bin/env python3
"""Overlay the training curves of one or several runs (slowfast/apps/plot_logs.py).

    python tools/plot_logs.py RUN_DIR [RUN_DIR ...] [--out DIR]
"""
import sys

import _path  # noqa: F401

from slowfast.apps.plot_logs import main

if __name__ == "__main__":
    sys.exit(main())
