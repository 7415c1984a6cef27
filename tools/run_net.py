#!/usr/bin/env python3
"""Train and/or test a model as a config says (see slowfast/apps/cli.py).

    python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml [--init_method tcp://HOST:PORT] [KEY VALUE ...]
"""
import sys

import _path  # noqa: F401

from slowfast.apps.run_net import main

if __name__ == "__main__":
    sys.exit(main())
