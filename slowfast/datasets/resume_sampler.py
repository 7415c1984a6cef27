"""The training sampler: DistributedSampler's order (the same permutation per (RNG_SEED, epoch) as
torch's, so runs from before keep their order), able to start an epoch after its first batches.

`set_epoch(epoch, skip)` drops the first `skip` indices of this rank's share of the epoch (a run resumed
at iteration k of an epoch skips k x per-process batch indices, `datasets.build.shuffle_loader`); the
skipped items are never read. `len()` stays the epoch's full share, so `len(loader)` (iterations per
epoch: the lr schedule, the meters, the ETA) does not change on a resumed run; iterating yields the rest.
"""
from __future__ import annotations

from torch.utils.data.distributed import DistributedSampler


class ResumableDistributedSampler(DistributedSampler):
    """DistributedSampler whose epoch can start after its first `skip` indices (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        if skip < 0 or skip > self.num_samples:
            raise ValueError(f"cannot skip {skip} of the {self.num_samples} indices of an epoch")
        super().set_epoch(epoch)
        self.skip = int(skip)

    def __iter__(self):
        indices = list(super().__iter__())
        return iter(indices[self.skip:])
