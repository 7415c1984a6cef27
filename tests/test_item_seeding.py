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


def test_validation_draws_its_random_views_anew_each_epoch(tmp_path):
    """DATA.VAL_VIEW random (PySlowFast's default): the training loop tells the val dataset the epoch, so a
    video's random val view changes from epoch to epoch (and is the same for the same epoch)."""
    from slowfast.config import load_config
    from slowfast.datasets.build import build_loader
    from slowfast.datasets.synthetic import make_kinetics_synthetic
    from slowfast.engine.train import eval_epoch

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=2, num_train=2, num_val=2, num_test=1, size=32, num_frames=40, seed=0,
                            num_workers=1)
    cfg = load_config("configs/Synthetic/SLOWFAST_TINY.yaml", [
        "DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(tmp_path / "out"),
        "DATA.NUM_FRAMES", "4", "DATA.TRAIN_JITTER_SCALES", "[32, 48]", "DATA.TRAIN_CROP_SIZE", "32",
        "DATA.VAL_VIEW", "random", "DATA_LOADER.NUM_WORKERS", "0", "TRAIN.BATCH_SIZE", "2"])
    loader = build_loader(cfg, "val")

    class FirstClip:  # a task whose "evaluation" returns a digest of the first val clip it is given
        def evaluate(self, model, loader):
            clip = next(iter(loader))[0][0][0].double()
            return {"clip": float((clip * torch.arange(1, clip.numel() + 1, dtype=torch.double).view_as(clip)).sum())}

    class NoBoard:
        def add_scalars(self, *args):
            pass

    clips = [eval_epoch(FirstClip(), None, loader, epoch, NoBoard())["clip"] for epoch in (0, 1, 0)]
    assert clips[0] != clips[1] and clips[0] == clips[2]
