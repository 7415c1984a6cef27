"""Per-item random seeds: an item's random draws (temporal window, scale, crop, flip, RandAugment, the
replacement of an unreadable video) depend only on (RNG_SEED, epoch, item index), never on which process,
loader worker or position in a batch produced it.

So the same item comes out bit for bit the same whatever DATA_LOADER.NUM_WORKERS, the number of processes
or the data source (files or shards), and a run resumed in the middle of an epoch produces the items it
has not seen yet exactly as an uninterrupted run would.

    with item_rng(item_seed(cfg.RNG_SEED, epoch, index)):
        ...  # torch's CPU generator (and numpy's, Python's) seeded for this item; restored afterwards
"""
from __future__ import annotations

import contextlib
import random
from typing import Iterator

import numpy as np
import torch

from slowfast.utils.seeds import derive_seed


def item_seed(seed: int, epoch: int, index: int) -> int:
    """A 63-bit seed for item `index` of epoch `epoch` of a run seeded `seed` (a hash: neighbouring
    indices and epochs give unrelated streams)."""
    return derive_seed(int(seed), int(epoch), int(index))


def seed_generators(seed: int) -> None:
    """Seed torch's CPU generator, numpy's and Python's `random` with `seed`."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


@contextlib.contextmanager
def item_rng(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator, numpy's and Python's `random` with `seed` for the body, and put their
    previous states back afterwards (the caller's own random stream is unaffected)."""
    torch_state, np_state, py_state = torch.get_rng_state(), np.random.get_state(), random.getstate()
    seed_generators(seed)
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        np.random.set_state(np_state)
        random.setstate(py_state)
