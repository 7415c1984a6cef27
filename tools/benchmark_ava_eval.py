#!/usr/bin/env python3
"""Benchmark the AVA evaluator on a synthetic case the size of AVA v2.2 val (slowfast/reports/benchmark_ava_eval.py).

    python tools/benchmark_ava_eval.py [--frames 15000] [--round-scores 4]
"""
import _path  # noqa: F401

from slowfast.reports.benchmark_ava_eval import main

if __name__ == "__main__":
    main()
