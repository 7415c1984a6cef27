"""Bootstrap confidence intervals over videos, and the paired bootstrap of two runs (pure numpy).

A resample draws N videos with replacement from the N test videos; it is represented by its
multiplicities, a row of a weight matrix W [B, N] (W[b, v] = how often video v was drawn, the rows sum to
N). A statistic is a function of W returning one value per row, e.g. top-1 accuracy ``W @ correct / N``;
weighting a video's items by its multiplicity is the same as concatenating the drawn videos' items.

- :func:`bootstrap_interval`: the percentile interval (95 % by default) of a statistic over `samples`
  resamples (1000 by default) drawn with a fixed `seed`, so the interval is reproducible.
- :func:`paired_bootstrap`: two statistics of the same test set (run A, run B) on the same resamples:
  the difference B - A, its percentile interval and a two-sided p-value for "no difference": the share
  of resampled differences at least as far from the observed one as the observed one is from 0
  (the null distribution is the bootstrap distribution shifted to 0), counted as (1 + k) / (1 + samples),
  so the p-value is never 0 and is exactly 1 when A and B are the same predictions.
"""
from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

SAMPLES = 1000  # resamples, default
SEED = 0  # default seed
LEVEL = 0.95  # default confidence level
_BATCH_ELEMENTS = 4_000_000  # resamples are drawn in batches of about this many weights

Statistic = Callable[[np.ndarray], np.ndarray]  # W [B, N] -> [B]


def resample_weights(num_videos: int, samples: int = SAMPLES, seed: int = SEED,
                     batch: int | None = None) -> Iterator[np.ndarray]:
    """Batches of resample weights W [b, num_videos] (float64 multiplicities, each row sums to num_videos),
    `samples` rows in all; the same `seed` gives the same rows whatever the batch size."""
    if num_videos < 1:
        raise ValueError("the bootstrap needs at least one video")
    rng = np.random.default_rng(seed)
    batch = batch or max(1, _BATCH_ELEMENTS // num_videos)
    done = 0
    while done < samples:
        b = min(batch, samples - done)
        drawn = rng.integers(0, num_videos, size=(b, num_videos))
        flat = drawn + (np.arange(b) * num_videos)[:, None]
        yield np.bincount(flat.ravel(), minlength=b * num_videos).reshape(b, num_videos).astype(np.float64)
        done += b


def bootstrap_values(statistic: Statistic, num_videos: int, samples: int = SAMPLES, seed: int = SEED) -> np.ndarray:
    """The statistic on each of `samples` resamples -> [samples]."""
    return np.concatenate([np.asarray(statistic(w), dtype=np.float64)
                           for w in resample_weights(num_videos, samples, seed)])


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> list[float]:
    """[low, high]: the (1 - level) / 2 and (1 + level) / 2 quantiles of `values` (NaNs left out;
    [None, None] without any finite value)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not values.size:
        return [None, None]
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return [float(low), float(high)]


def bootstrap_interval(statistic: Statistic, num_videos: int, samples: int = SAMPLES, seed: int = SEED,
                       level: float = LEVEL) -> list[float]:
    """The `level` percentile interval [low, high] of `statistic` over video resamples."""
    return percentile_interval(bootstrap_values(statistic, num_videos, samples, seed), level)


def mean_statistic(per_video: np.ndarray, scale: float = 1.0) -> Statistic:
    """The statistic `scale` x mean of a per-video value (e.g. 100 x correct -> accuracy in percent)."""
    x = np.asarray(per_video, dtype=np.float64) * scale
    return lambda w: (w @ x) / w.sum(axis=1)


def mean_interval(per_video: np.ndarray, scale: float = 1.0, samples: int = SAMPLES, seed: int = SEED,
                  level: float = LEVEL) -> list[float]:
    """Interval of `scale` x the mean of a per-video value, e.g. `mean_interval(correct, 100)` for top-1 in %."""
    return bootstrap_interval(mean_statistic(per_video, scale), len(per_video), samples, seed, level)


def paired_bootstrap(stat_a: Statistic, stat_b: Statistic, num_videos: int, samples: int = SAMPLES,
                     seed: int = SEED, level: float = LEVEL) -> dict:
    """B - A of two statistics of the same videos, resampled together -> {"difference", "ci", "p_value",
    "a", "b", "samples", "seed", "level"} (see the module docstring for the p-value)."""
    ones = np.ones((1, num_videos))
    a, b = float(stat_a(ones)[0]), float(stat_b(ones)[0])
    observed = b - a
    diffs = np.concatenate([np.asarray(stat_b(w), np.float64) - np.asarray(stat_a(w), np.float64)
                            for w in resample_weights(num_videos, samples, seed)])
    finite = diffs[np.isfinite(diffs)]
    tolerance = 1e-12 * max(1.0, abs(observed))
    extreme = int((np.abs(finite - observed) >= abs(observed) - tolerance).sum())
    return {"a": a, "b": b, "difference": observed, "ci": percentile_interval(finite, level),
            "p_value": (1 + extreme) / (1 + finite.size), "samples": int(samples), "seed": int(seed),
            "level": float(level)}
