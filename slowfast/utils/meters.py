"""Training meters: smoothed scalars, ETA, throughput, and the progress / JSON stats line.

Timing per iteration, in PySlowFast's names: `dt` (the whole iteration), `dt_data` (waiting for the loader's
batch) and `dt_net` (the step after it arrived), in seconds; medians over the window in iteration stats,
the epoch's means in epoch stats, which also carry `data_wait_frac` (the epoch's summed data waits over its
summed iteration times). `dt_data / dt` above about 0.3 says the run is input-bound."""
from __future__ import annotations

import datetime
import time
from collections import deque

import torch


def topk_errors(scores: torch.Tensor, labels: torch.Tensor, ks=(1, 5)) -> list[float]:
    """Top-k error (percent) of `scores` (B x C) against integer `labels` (B)."""
    out = []
    for k in ks:
        k = min(k, scores.shape[1])
        top = scores.topk(k, dim=1).indices
        correct = (top == labels.view(-1, 1)).any(dim=1).float().sum().item()
        out.append(100.0 * (1.0 - correct / max(1, labels.numel())))
    return out


class ScalarMeter:
    """A scalar with a median over the last `window` values and a global average."""

    def __init__(self, window: int = 20):
        self.values: deque = deque(maxlen=window)
        self.total = 0.0
        self.count = 0

    def add(self, value: float, n: int = 1) -> None:
        self.values.append(value)
        self.total += value * n
        self.count += n

    def median(self) -> float:
        return float(torch.tensor(list(self.values)).median()) if self.values else 0.0

    def global_avg(self) -> float:
        return self.total / max(1, self.count)


class TrainMeter:
    """Per-epoch training statistics and the log line (progress with ETA + JSON stats)."""

    def __init__(self, epoch_iters: int, max_epoch: int, window: int = 20):
        self.epoch_iters = epoch_iters
        self.max_epoch = max_epoch
        self.window = window
        self.reset()

    def reset(self) -> None:
        self.loss = ScalarMeter(self.window)
        self.top1 = ScalarMeter(self.window)
        self.top5 = ScalarMeter(self.window)
        self.iter_time = ScalarMeter(self.window)
        self.data_time = ScalarMeter(self.window)
        self.net_time = ScalarMeter(self.window)
        self.grad_norm = ScalarMeter(self.window)
        self.lr = 0.0
        self.samples = 0
        self.iters = 0
        self.replaced_videos = 0
        self._tic = time.perf_counter()

    def update(self, loss: float, lr: float, batch: int, top1: float | None = None, top5: float | None = None,
               replaced: int = 0, data_ready: float | None = None, grad_norm: float | None = None) -> None:
        """`data_ready`: the `time.perf_counter()` at which the iteration's batch arrived from the loader
        (splits the iteration time into `dt_data` and `dt_net`; None: not measured). `grad_norm`: the
        gradient's L2 norm before clipping (None: no optimizer step this iteration)."""
        now = time.perf_counter()
        self.iter_time.add(now - self._tic)
        if data_ready is not None:
            self.data_time.add(data_ready - self._tic)
            self.net_time.add(now - data_ready)
        self._tic = now
        self.loss.add(loss, batch)
        if top1 is not None:
            self.top1.add(top1, batch)
            self.top5.add(top5, batch)
        self.lr = lr
        self.samples += batch
        self.iters += 1
        self.replaced_videos += replaced
        if grad_norm is not None:  # optimizer steps only (TRAIN.GRAD_ACCUM_STEPS)
            self.grad_norm.add(grad_norm)

    def eta_seconds(self, epoch: int, it: int) -> float:
        remaining = (self.max_epoch - epoch) * self.epoch_iters - (it + 1)
        return self.iter_time.median() * max(0, remaining)

    def iter_stats(self, epoch: int, it: int, world_size: int = 1) -> dict:
        t = self.iter_time.median()
        stats = {
            "_type": "train_iter",
            "epoch": f"{epoch + 1}/{self.max_epoch}",
            "iter": f"{it + 1}/{self.epoch_iters}",
            "loss": self.loss.median(),
            "lr": self.lr,
            "time_iter": t,
            **self._times(ScalarMeter.median),
            # per-process batch x processes / median iteration time
            "clips_per_s": (self.samples / max(1, self.iters)) * world_size / t if t > 0 else 0.0,
            "eta": str(datetime.timedelta(seconds=int(self.eta_seconds(epoch, it)))),
        }
        if self.top1.count:
            stats.update(top1_err=self.top1.median(), top5_err=self.top5.median())
        if self.grad_norm.count:  # total L2 norm of the gradients before clipping, median of the recent steps
            stats["grad_norm"] = self.grad_norm.median()
        return stats

    def _times(self, summary) -> dict:
        """{"dt", "dt_data", "dt_net"} summarised by `summary` (median / mean); data and net only when measured."""
        out = {"dt": summary(self.iter_time)}
        if self.data_time.count:
            out.update(dt_data=summary(self.data_time), dt_net=summary(self.net_time))
        return out

    def epoch_stats(self, epoch: int) -> dict:
        stats = {"_type": "train_epoch", "epoch": f"{epoch + 1}/{self.max_epoch}", "loss": self.loss.global_avg(),
                 "lr": self.lr, "replaced_videos": self.replaced_videos, **self._times(ScalarMeter.global_avg)}
        if self.top1.count:
            stats.update(top1_err=self.top1.global_avg(), top5_err=self.top5.global_avg())
        if self.grad_norm.count:
            stats["grad_norm"] = self.grad_norm.global_avg()
        if self.data_time.count and self.iter_time.total > 0:  # the epoch's time spent waiting for batches
            stats["data_wait_frac"] = self.data_time.total / self.iter_time.total
        return stats


def progress_line(stats: dict) -> str:
    """One human-readable line from iteration stats."""
    parts = [f"epoch {stats['epoch']}", f"iter {stats['iter']}", f"loss {stats['loss']:.4f}", f"lr {stats['lr']:.5g}"]
    if "top1_err" in stats:
        parts += [f"top1_err {stats['top1_err']:.1f}", f"top5_err {stats['top5_err']:.1f}"]
    if stats.get("dt_data") is not None and stats.get("dt"):
        parts.append(f"data wait {100 * stats['dt_data'] / stats['dt']:.0f}%")  # above ~30 %: input-bound
    if "grad_norm" in stats:
        parts.append(f"grad_norm {stats['grad_norm']:.3g}")
    if "peak_mem_gib" in stats or "max_rss_gib" in stats:
        parts.append(f"mem {stats.get('peak_mem_gib', stats.get('max_rss_gib')):.2f} GiB")
    parts += [f"{stats['clips_per_s']:.1f} clips/s", f"eta {stats['eta']}"]
    return " | ".join(parts)
