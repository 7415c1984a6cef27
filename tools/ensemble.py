#!/usr/bin/env python3
"""Average the scores of several models' prediction files into one (slowfast/apps/ensemble.py).

    python tools/ensemble.py [--mode ava|kinetics] --inputs A B ... --output OUT
"""
import sys

import _path  # noqa: F401

from slowfast.apps.ensemble import main

if __name__ == "__main__":
    sys.exit(main())
