"""Progress lines with a rate and an estimated time left, for long single-process jobs (demo, features)."""
from __future__ import annotations

import logging
import time
from typing import Optional


def format_seconds(seconds: float) -> str:
    """``75`` -> ``"1m15s"``, ``3700`` -> ``"1h01m"``."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Log ``"<what> <done>/<total> <unit> (<pct>%), <rate>/s, ETA <t>"`` at most every ``period``
    seconds, and always on the last step.

    ``step(n)`` adds ``n`` units done; ``line()`` returns the current line without logging.
    """

    def __init__(self, what: str, total: int, unit: str = "frames", logger: Optional[logging.Logger] = None,
                 period: float = 2.0, clock=time.monotonic):
        self.what, self.total, self.unit = what, max(0, int(total)), unit
        self.done = 0
        self._logger = logger or logging.getLogger("slowfast.progress")
        self._period, self._clock = period, clock
        self._start = clock()
        self._last = None

    def eta(self) -> Optional[float]:
        """Seconds left at the average rate so far (None before the first unit)."""
        elapsed = self._clock() - self._start
        if self.done <= 0 or elapsed <= 0:
            return None
        return (self.total - self.done) * elapsed / self.done

    def line(self) -> str:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        elapsed = self._clock() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = self.eta()
        left = "done" if self.done >= self.total else f"ETA {format_seconds(eta)}" if eta is not None else "ETA ?"
        return f"{self.what} {self.done}/{self.total} {self.unit} ({pct:.0f}%), {rate:.1f} {self.unit}/s, {left}"

    def step(self, n: int = 1) -> None:
        self.done += n
        now = self._clock()
        if self.done >= self.total or self._last is None or now - self._last >= self._period:
            self._last = now
            self._logger.info(self.line())
