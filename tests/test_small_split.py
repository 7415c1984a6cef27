"""A training split smaller than one batch would train 0 iterations (drop_last) and report the scores of
an untrained model: it stops with one line naming the split size, TRAIN.BATCH_SIZE and the processes."""
import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.datasets.build import build_loader

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


class Items(torch.utils.data.Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return [torch.zeros(3, 1, 2, 2)], 0, i, {}


def test_a_training_split_smaller_than_a_batch_stops_with_one_line():
    cfg = load_config(TINY, ["TRAIN.BATCH_SIZE", "16"])
    with pytest.raises(ConfigError) as e:
        build_loader(cfg, "train", dataset=Items(10))
    msg = str(e.value)
    assert "10 items" in msg and "TRAIN.BATCH_SIZE 16" in msg and "1 process" in msg and "\n" not in msg


def test_one_full_batch_trains_and_small_evaluation_splits_are_fine():
    cfg = load_config(TINY, ["TRAIN.BATCH_SIZE", "16"])
    assert len(build_loader(cfg, "train", dataset=Items(16))) == 1
    assert len(build_loader(cfg, "val", dataset=Items(3))) == 1
