"""Read the `json_stats: {...}` lines of a run's OUTPUT_DIR/log.txt back into per-epoch series.

A log may hold several runs appended one after the other (a run resumed after a crash, or started
afresh in the same OUTPUT_DIR): the latest value for an epoch wins, and when a run goes back in time
(it logs an iteration or an epoch that the log already has) everything the log held from the start of
that epoch on is dropped, so a resumed run and a run restarted from scratch both read as one history.
Lines cut short by a crash (or with the next line glued on) are skipped and counted.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

# What utils/logging.log_json_stats writes before the JSON object.
STATS_MARK = "json_stats: "
_DECODER = json.JSONDecoder()


class TrainingLogError(ValueError):
    """A run folder without log.txt, or a log.txt without stats lines; the message names it."""


@dataclass
class TrainingLog:
    """Stats of one run. `train` / `val`: epoch (1-based) -> that epoch's `train_epoch` / `val_epoch` stats;
    `iters`: epochs done so far (fractional, e.g. 1.2 = 20 % into epoch 2) -> `train_iter` stats; `test`: the
    last `test` stats (or None); `skipped`: stats lines that could not be read."""

    path: str = ""
    train: dict = field(default_factory=dict)
    val: dict = field(default_factory=dict)
    iters: dict = field(default_factory=dict)
    test: dict | None = None
    skipped: int = 0
    _last_iter: float = -1.0
    _last_epoch: int = 0

    @property
    def empty(self) -> bool:
        return not (self.train or self.val or self.iters or self.test)

    def _rewind(self, epoch: int) -> None:
        """Forget what the log holds from the start of `epoch` (1-based) on: a later run redoes it."""
        self.iters = {x: s for x, s in self.iters.items() if x <= epoch - 1}
        self.train = {e: s for e, s in self.train.items() if e < epoch}
        self.val = {e: s for e, s in self.val.items() if e < epoch}
        self._last_iter = max(self.iters, default=-1.0)
        self._last_epoch = epoch - 1

    def add(self, stats: dict) -> bool:
        """Take one stats object; False when it is not one of the run's stats (no or unknown `_type`, no epoch)."""
        kind = stats.get("_type")
        if kind == "test":
            self.test = stats
            return True
        epoch = epoch_number(stats.get("epoch"))
        if epoch is None:
            return False
        if kind == "train_iter":
            x = iteration_position(stats)
            if x is None:
                return False
            if x <= self._last_iter:
                self._rewind(epoch)
            self.iters[x] = stats
            self._last_iter = x
        elif kind == "train_epoch":
            if epoch <= self._last_epoch:
                self._rewind(epoch)
            self.train[epoch] = stats
            self._last_epoch = epoch
        elif kind == "val_epoch":
            self.val[epoch] = stats
        else:
            return False
        return True


def _fraction(value) -> tuple[int, int] | None:
    """`"3/6"` -> (3, 6); `3` -> (3, 0); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value, 0
    if isinstance(value, str):
        head, _, tail = value.partition("/")
        try:
            return int(head), int(tail) if tail else 0
        except ValueError:
            return None
    return None


def epoch_number(value) -> int | None:
    """The 1-based epoch of a stats line's `epoch` field (`"3/6"` in training lines, `3` in validation ones)."""
    parts = _fraction(value)
    return parts[0] if parts and parts[0] >= 1 else None


def iteration_position(stats: dict) -> float | None:
    """Epochs done at a `train_iter` line: epoch "2/6", iter "10/50" -> 1.2."""
    epoch, it = epoch_number(stats.get("epoch")), _fraction(stats.get("iter"))
    if epoch is None or it is None or it[1] <= 0:
        return None
    return epoch - 1 + it[0] / it[1]


def parse_stats_lines(lines, path: str = "") -> TrainingLog:
    """A `TrainingLog` of the stats lines among `lines` (other lines are ignored)."""
    log = TrainingLog(path=path)
    for line in lines:
        at = line.find(STATS_MARK)
        while at >= 0:  # more than one when a line cut short by a crash has the next run's line glued on
            try:
                stats, _ = _DECODER.raw_decode(line, at + len(STATS_MARK))
            except ValueError:  # cut short by a crash
                stats = None
            if not isinstance(stats, dict) or not log.add(stats):
                log.skipped += 1
            at = line.find(STATS_MARK, at + len(STATS_MARK))
    return log


def log_path_of(run_dir: str) -> str:
    """RUN_DIR/log.txt (or RUN_DIR itself when it is a log file); TrainingLogError when there is none."""
    if os.path.isfile(run_dir):
        return run_dir
    path = os.path.join(run_dir, "log.txt")
    if not os.path.isdir(run_dir):
        raise TrainingLogError(f"{run_dir}: no such run folder")
    if not os.path.isfile(path):
        raise TrainingLogError(f"{run_dir}: no log.txt in this folder (is it a run's OUTPUT_DIR?)")
    return path


def read_training_log(run_dir: str) -> TrainingLog:
    """The stats of RUN_DIR/log.txt; TrainingLogError (naming the file) when it has no training stats."""
    path = log_path_of(run_dir)
    with open(path, encoding="utf-8", errors="replace") as f:
        log = parse_stats_lines(f, path)
    if not (log.train or log.val or log.iters):
        raise TrainingLogError(f"{path}: no training stats lines (json_stats: {{\"_type\": \"train_...\"}}) in it"
                               f"{'; ' + str(log.skipped) + ' unreadable ones' if log.skipped else ''}")
    return log
