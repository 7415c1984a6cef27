"""Multigrid training data (MULTIGRID.*; the schedule is `solver.multigrid`): a batch sampler whose batch
size follows the shape, and the clip shape of a long-cycle phase set on the training dataset.

`MultigridBatchSampler` yields lists of `(index, crop)` pairs: the dataset cuts item `index` at that crop
size (Kinetics: `Kinetics.__getitem__`). Within a phase the batches cycle through the short cycle's
(crop, batch) pairs, one per iteration; `set_phase` switches batch and crops when a long-cycle phase
begins (between epochs: the loader builds its iterator, and its workers copy the dataset, per epoch).
"""
from __future__ import annotations

import torch.utils.data

from slowfast.solver.multigrid import Phase, base_shape, short_cycle_crops


class MultigridBatchSampler(torch.utils.data.Sampler):
    """Batches of `(index, crop)` from `sampler`; batch k has crop / size `pattern[k % len(pattern)]`
    (a list of (crop, batch size)). With `drop_last` an incomplete last batch is left out."""

    def __init__(self, sampler, pattern: list[tuple[int, int]], drop_last: bool = True):
        self.sampler, self.drop_last = sampler, drop_last
        self.set_pattern(pattern)

    def set_pattern(self, pattern: list[tuple[int, int]]) -> None:
        if not pattern or any(b < 1 for _, b in pattern):
            raise ValueError(f"batch pattern needs positive batch sizes, got {pattern}")
        self.pattern = list(pattern)

    def __iter__(self):
        k, batch = 0, []
        for idx in self.sampler:
            crop, size = self.pattern[k % len(self.pattern)]
            batch.append((idx, crop))
            if len(batch) == size:
                yield batch
                k, batch = k + 1, []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        left, k, n = len(self.sampler), 0, 0
        while True:
            size = self.pattern[k % len(self.pattern)][1]
            if left < size:
                return n + (1 if left and not self.drop_last else 0)
            left, k, n = left - size, k + 1, n + 1


def batch_pattern(cfg, phase: Phase, world: int) -> list[tuple[int, int]]:
    """[(crop, per-process batch), ...] of one short cycle of `phase` (one entry without short cycle)."""
    per_process = phase.batch // world
    return [(crop, per_process * factor) for crop, factor in short_cycle_crops(cfg, phase.crop)]


def largest_batch(cfg, phases: list[Phase]) -> int:
    """The largest total batch of any iteration of the run."""
    return max(p.batch * f for p in phases for _, f in short_cycle_crops(cfg, p.crop))


def phase_sampling_rate(cfg, phase: Phase) -> int:
    """Frame stride of the phase's clips: MULTIGRID.LONG_CYCLE_SAMPLING_RATE, or (0) DATA.SAMPLING_RATE x
    (base frames // phase frames), so a short clip spans about the time of a full one (as PySlowFast)."""
    if cfg.MULTIGRID.LONG_CYCLE_SAMPLING_RATE > 0:
        return cfg.MULTIGRID.LONG_CYCLE_SAMPLING_RATE
    return cfg.DATA.SAMPLING_RATE * max(base_shape(cfg)[1] // phase.frames, 1)


def apply_phase(cfg, dataset, phase: Phase) -> None:
    """Make the training dataset cut clips of the phase's frames and crop (jitter minimum scaled with the
    crop, as PySlowFast); the short cycle's smaller crops come with each index."""
    dataset.num_frames = phase.frames
    dataset.train_crop = phase.crop
    dataset.sampling_rate = phase_sampling_rate(cfg, phase)
    dataset.base_crop = base_shape(cfg)[2]
