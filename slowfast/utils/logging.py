"""Logging: readable progress lines on the master process (stdout and OUTPUT_DIR/log.txt), one JSON
stats line per log (`json_stats: {...}`, OUTPUT_DIR/log.txt only: tools parse it there), and nothing but
warnings/errors from the other processes.

The console shows each stats record once, as a readable line (`test: top1_acc 97.9, ...`); the log file
has both the readable line and the JSON line, whose format is unchanged.
"""
from __future__ import annotations

import logging
import os
import sys

import simplejson

_FORMAT = "[%(asctime)s][%(levelname)s] %(name)s: %(message)s"
JSON_PREFIX = "json_stats: "


class _NoJsonStats(logging.Filter):
    """Keep JSON stats records (marked ``json_stats``) off the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "json_stats", False)


def setup_logging(output_dir: str | None = None, rank: int = 0) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    fmt = logging.Formatter(_FORMAT, datefmt="%m/%d %H:%M:%S")
    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(fmt)
    stream.addFilter(_NoJsonStats())
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


def readable_stats(stats: dict) -> str:
    """``"<_type>: key value, key value, ..."`` (floats to 4 significant digits)."""
    parts = [f"{k} {float(f'{v:.4g}') if isinstance(v, float) else v}" for k, v in stats.items() if k != "_type"]
    return f"{stats.get('_type', 'stats')}: " + ", ".join(parts)


def log_json_stats(stats: dict, logger: logging.Logger | None = None, readable: bool | None = None) -> str:
    """Log `json_stats: {...}` (floats to 6 significant digits) to the log file only, and return the JSON
    text. ``readable`` (default: unless `_type` ends in `_iter`, whose records have their own progress
    line): also log one readable line (:func:`readable_stats`), which the console shows."""
    text = simplejson.dumps({k: _round(v) for k, v in stats.items()}, sort_keys=False)
    log = logger or logging.getLogger("slowfast")
    if readable if readable is not None else not str(stats.get("_type", "")).endswith("_iter"):
        log.info("%s", readable_stats(stats))
    log.info("%s%s", JSON_PREFIX, text, extra={"json_stats": True})
    return text
