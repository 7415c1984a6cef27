"""Logging: readable progress lines on the master process (stdout and OUTPUT_DIR/log.txt), one JSON
stats line per log (`json_stats: {...}`), and nothing but warnings/errors from the other processes."""
from __future__ import annotations

import logging
import os
import sys

import simplejson

_FORMAT = "[%(asctime)s][%(levelname)s] %(name)s: %(message)s"


def setup_logging(output_dir: str | None = None, rank: int = 0) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    fmt = logging.Formatter(_FORMAT, datefmt="%m/%d %H:%M:%S")
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(fmt)
    root.addHandler(stream)
    if output_dir and rank == 0:
        os.makedirs(output_dir, exist_ok=True)
        fh = logging.FileHandler(os.path.join(output_dir, "log.txt"))
        fh.setFormatter(fmt)
        root.addHandler(fh)
    for noisy in ("fvcore", "iopath", "PIL", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _round(v):
    return float(f"{v:.6g}") if isinstance(v, float) else v


def log_json_stats(stats: dict, logger: logging.Logger | None = None) -> str:
    """Log `json_stats: {...}` (floats to 6 significant digits) and return the JSON text."""
    text = simplejson.dumps({k: _round(v) for k, v in stats.items()}, sort_keys=False)
    (logger or logging.getLogger("slowfast")).info("json_stats: %s", text)
    return text
