#!/usr/bin/env python3
"""Print the report's models (Tables 2 and 3, plus K400/K600 and R50 rows) with T x tau, GFLOPs per view (slowfast/apps/repro_report.py).

    python tools/repro_report.py [--results NAME=OUTPUT_DIR ...] [--markdown FILE] [--figure FILE.png]
"""
import _path  # noqa: F401

from slowfast.apps.repro_report import main

if __name__ == "__main__":
    main()
