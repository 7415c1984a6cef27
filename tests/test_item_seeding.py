"""Per-item seeds (datasets.seeding): an item's random draws depend on (seed, epoch, index) alone."""
import random

import numpy as np
import torch

from slowfast.datasets.seeding import item_rng, item_seed


def test_the_same_seed_epoch_and_index_give_the_same_draws_and_others_differ():
    def draws(seed, epoch, index):
        with item_rng(item_seed(seed, epoch, index)):
            return torch.rand(4).tolist(), float(np.random.rand()), random.random()

    assert draws(0, 1, 7) == draws(0, 1, 7)
    assert draws(0, 1, 7) != draws(0, 1, 8)
    assert draws(0, 1, 7) != draws(0, 2, 7)
    assert draws(0, 1, 7) != draws(1, 1, 7)


def test_the_callers_random_streams_continue_as_if_nothing_happened():
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    expected = (torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random())
    torch.manual_seed(3)
    np.random.seed(3)
    random.seed(3)
    with item_rng(item_seed(0, 0, 5)):
        torch.rand(10), np.random.rand(10), random.random()
    assert (torch.rand(3).tolist(), np.random.rand(2).tolist(), random.random()) == expected


def test_seeds_are_non_negative_63_bit_integers():
    seeds = [item_seed(s, e, i) for s in range(3) for e in range(3) for i in range(50)]
    assert all(0 <= s < 2**63 for s in seeds)
    assert len(set(seeds)) == len(seeds)
