"""Issue 21 item 3: Mixup / CutMix with label mixing and smoothing on the batch, RandAugment the same on every
frame of a clip, repeated augmentation (AUG.NUM_SAMPLE) from one decode; mixup refused for detection."""
import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.config.rand_augment_spec import RandAugmentSpec, parse_aa_type
from slowfast.datasets.mixup import Mixup, smooth_targets
from slowfast.datasets.rand_augment import OPS, RandAugment, apply_op
from slowfast.utils.pixels import normalize_pixels

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
MEAN, STD = [0.45, 0.4, 0.5], [0.225, 0.25, 0.2]


def batch(b=4, t=8, size=16, dtype=torch.float32):
    g = torch.Generator().manual_seed(1)
    fast = torch.randint(0, 256, (b, 3, t, size, size), generator=g, dtype=torch.uint8)
    fast = fast if dtype == torch.uint8 else fast.float()
    return [fast[:, :, ::4].contiguous(), fast], torch.tensor([0, 1, 2, 3])[:b]


def test_mixup_targets_sum_to_one_and_carry_the_mixing_weight_on_every_pathway():
    mix = Mixup(4, alpha=0.8, cutmix_alpha=0.0, prob=1.0, smoothing=0.0, pixel_mean=MEAN, pixel_std=STD,
                rng=np.random.default_rng(3))
    inputs, labels = batch(dtype=torch.uint8)
    out, targets = mix(inputs, labels)
    lam = mix.last["lam"]
    assert mix.last["mixed"] and mix.last["box"] is None and 0.0 < lam < 1.0
    torch.testing.assert_close(targets.sum(1), torch.ones(4))
    for i in range(4):  # item i is mixed with item 3 - i
        assert targets[i, labels[i]] == pytest.approx(lam) and targets[i, labels[3 - i]] == pytest.approx(1 - lam)
    for x, y in zip(inputs, out):  # uint8 clips became the normalised floats the model would make, then mixed
        assert y.dtype == torch.float32
        ref = normalize_pixels(x, MEAN, STD)
        torch.testing.assert_close(y, lam * ref + (1 - lam) * ref.flip(0))


def test_cutmix_box_area_matches_lambda_and_is_the_same_box_on_every_frame_and_pathway():
    for seed in range(5):
        mix = Mixup(4, alpha=0.0, cutmix_alpha=1.0, smoothing=0.0, rng=np.random.default_rng(seed))
        inputs, labels = batch(size=20)
        out, targets = mix(inputs, labels)
        y0, y1, x0, x1 = mix.last["box"]
        lam = mix.last["lam"]
        assert lam == pytest.approx(1 - (y1 - y0) * (x1 - x0) / 400)
        for x, y in zip(inputs, out):
            pasted = (y != x).any(dim=0).any(dim=0).any(dim=0)  # H x W: where any item, channel, frame changed
            inside = torch.zeros(20, 20, dtype=torch.bool)
            inside[y0:y1, x0:x1] = True
            assert not pasted[~inside].any()  # nothing outside the box changed
            torch.testing.assert_close(y[..., y0:y1, x0:x1], x.flip(0)[..., y0:y1, x0:x1])  # every frame, same box
        torch.testing.assert_close(targets.sum(1), torch.ones(4))
        assert targets[0, 0] == pytest.approx(lam) and targets[0, 3] == pytest.approx(1 - lam)


def test_label_smoothing_gives_one_minus_v_plus_v_over_c_and_v_over_c():
    t = smooth_targets(torch.tensor([2, 0]), 5, 0.1)
    assert t[0, 2] == pytest.approx(0.92) and t[0, 0] == pytest.approx(0.02) and t[1, 0] == pytest.approx(0.92)
    mix = Mixup(5, prob=0.0, smoothing=0.1)  # never mixed: smoothing alone, inputs untouched
    inputs, labels = batch()
    out, targets = mix(inputs, labels)
    assert not mix.last["mixed"] and all(torch.equal(a, b) for a, b in zip(out, inputs))
    torch.testing.assert_close(targets, smooth_targets(labels, 5, 0.1))


def test_a_mixup_training_batch_reaches_the_loss_as_soft_targets_with_argmax_top1():
    from slowfast.engine.tasks import build_task

    cfg = load_config(TINY, ["MIXUP.ENABLE", "True", "MODEL.LOSS_FUNC", "soft_cross_entropy"])
    task = build_task(cfg)
    inputs, labels = batch(t=16, size=32, dtype=torch.uint8)
    inputs, targets = task.augment_batch(inputs, labels, torch.device("cpu"))
    assert targets.shape == (4, 4) and inputs[0].dtype == torch.float32
    preds = torch.zeros(4, 4)
    preds[torch.arange(4), targets.argmax(1)] = 5.0  # right on the argmax of every mixed target
    loss = task.loss(preds, targets)
    _, top1, _ = task.train_metrics(preds, targets, loss, torch.device("cpu"))
    assert top1 == 0.0 and loss.item() > 0


def test_mixup_on_a_detection_config_is_one_line_naming_the_key(tmp_path, capsys):
    from slowfast.apps.run_net import main

    code = main(["--cfg", "configs/Synthetic/AVA_SLOWFAST_TINY.yaml", "MIXUP.ENABLE", "True",
                 "OUTPUT_DIR", str(tmp_path / "out")])
    err = capsys.readouterr().err
    line = err.splitlines()[0]  # the one error line (then the CLI's "--debug" hint)
    assert code == 2 and "Traceback" not in err
    assert "MIXUP.ENABLE" in line and "detection" in line


@pytest.mark.parametrize("text, spec", [
    ("rand-m9-mstd0.5-inc1", RandAugmentSpec(9.0, 2, 0.5, True)),
    ("rand-m7-n3", RandAugmentSpec(7.0, 3, 0.0, False)),
])
def test_the_aa_type_grammar_reads_magnitude_ops_std_and_increasing(text, spec):
    assert parse_aa_type(text) == spec


@pytest.mark.parametrize("text, culprit", [
    ("auto-m9", "'rand'"), ("rand-m11", "outside 0..10"), ("rand-m9-x2", "'x2'"), ("rand-n2", "no magnitude"),
    ("rand-m9-inc2", "inc2"), ("rand-m9-m8", "twice"),
])
def test_a_bad_aa_type_is_one_config_error_naming_the_key_and_the_part(text, culprit):
    from slowfast.config.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        load_config(TINY, ["AUG.ENABLE", "True", "AUG.AA_TYPE", text])
    assert "AUG.AA_TYPE" in str(e.value) and culprit in str(e.value)


@pytest.mark.parametrize("op", OPS)
def test_each_rand_augment_op_changes_a_clip_the_same_way_on_every_frame(op):
    frame = torch.randint(40, 200, (1, 3, 24, 24), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    clip = frame.repeat(6, 1, 1, 1)
    out = apply_op(clip, op, 9.0, -1.0)
    alone = apply_op(frame, op, 9.0, -1.0)
    assert not torch.equal(out, clip)  # it does something at magnitude 9
    for t in range(6):  # the clip's frames get exactly what the frame alone gets: same op, same parameters
        assert torch.equal(out[t], alone[0])


def test_rand_augment_draws_once_per_clip_and_gives_identical_frames_identical_outputs():
    aug = RandAugment("rand-m9-n4-mstd0.5-inc1", generator=torch.Generator().manual_seed(0))
    frames = torch.randint(0, 256, (1, 24, 24, 3), dtype=torch.uint8).repeat(8, 1, 1, 1)  # T x H x W x C
    changed = 0
    for _ in range(10):
        out = aug(frames)
        assert out.shape == frames.shape and out.dtype == torch.uint8
        assert all(torch.equal(out[t], out[0]) for t in range(8))
        changed += not torch.equal(out, frames)
    assert changed >= 5  # 4 ops at probability 0.5 each: most clips are changed


def test_num_sample_cuts_k_views_from_one_decode_and_the_loader_yields_k_times_more_clips(tmp_path):
    from slowfast.datasets.build import build_dataset, build_loader
    from slowfast.datasets.synthetic import make_kinetics_synthetic

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=4, num_val=0, num_test=0, size=32, num_frames=30,
                            num_workers=1)
    cfg = load_config(TINY, ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "DATA.NUM_FRAMES", "8",
                             "AUG.NUM_SAMPLE", "3", "AUG.ENABLE", "True", "TRAIN.BATCH_SIZE", "2",
                             "DATA_LOADER.NUM_WORKERS", "0"])
    ds = build_dataset("kinetics", cfg, "train")
    decodes = []
    real = ds.sample_clip
    ds.sample_clip = lambda *a: decodes.append(a) or real(*a)
    views, label, index, extra = ds[1]
    assert len(decodes) == 1 and len(views) == 3 and extra["num_samples"] == 3
    assert not torch.equal(views[0][1], views[1][1]) or not torch.equal(views[1][1], views[2][1])  # independent draws
    inputs, labels, idx, _ = next(iter(build_loader(cfg, "train", dataset=ds)))
    assert inputs[1].shape[0] == 6 and len(decodes) == 3  # 2 videos x 3 views, one more decode per video
    assert labels.tolist()[:3] == [labels[0].item()] * 3 and idx.tolist() == [idx[0].item()] * 3 + [idx[3].item()] * 3
