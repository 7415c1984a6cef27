#!/usr/bin/env python3
"""Write a small synthetic dataset of real encoded videos (slowfast/apps/synthetic_data.py).

    python tools/make_synthetic_data.py --dataset kinetics --out data/synthetic_kinetics
    python tools/make_synthetic_data.py --dataset ava --out data/synthetic_ava
    python tools/make_synthetic_data.py --dataset kinetics --help   # that dataset's options
"""
import _path  # noqa: F401

from slowfast.apps.synthetic_data import main

if __name__ == "__main__":
    main()
