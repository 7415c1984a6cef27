"""Multigrid training (MULTIGRID.*): the schedule of shapes, batches, epochs and lr for the stock factors
(hand-derived from the paper's rules), the short-cycle batch sampler's pattern, the Kinetics loader's
clip shapes, a tiny synthetic run through a full long cycle, and the one-line refusals."""
import json
import os

import pytest

from slowfast.config import load_config
from slowfast.config.defaults import get_cfg
from slowfast.config.errors import ConfigError
from slowfast.config.validation import validate
from slowfast.datasets.build import build_loader
from slowfast.datasets.multigrid import MultigridBatchSampler, apply_phase, batch_pattern
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.solver import lr_at
from slowfast.solver import multigrid as mg

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def stock_cfg(**over):
    """Base shape 8 frames x 224^2, 8 clips per batch (the paper's Kinetics I3D-style setting)."""
    cfg = get_cfg()
    cfg.DATA.NUM_FRAMES, cfg.DATA.TRAIN_CROP_SIZE, cfg.TRAIN.BATCH_SIZE = 8, 224, 8
    cfg.SOLVER.MAX_EPOCH, cfg.MULTIGRID.LONG_CYCLE = 10, True
    for k, v in over.items():
        group, key = k.split("__")
        setattr(getattr(cfg, group), key, v)
    return cfg


def test_the_long_cycle_has_the_papers_four_shapes_with_batch_times_t_s_s_kept_and_lr_scaled_with_the_batch():
    phases = mg.schedule(stock_cfg())
    # (T, S) = (8/4, 224/sqrt2), (8/2, 224/sqrt2), (8/2, 224), (8, 224); B x T x S^2 constant -> 8B, 4B, 2B, B.
    assert [(p.frames, p.crop, p.batch, p.lr_scale) for p in phases] == [
        (2, 158, 64, 8.0), (4, 158, 32, 4.0), (4, 224, 16, 2.0), (8, 224, 8, 1.0)]
    # Epochs in proportion to the batch factor (equal iterations per phase), scaled to 10 x EPOCH_FACTOR 1.5:
    # 15 x (8, 4, 2, 1) / 15 -> ends at 8, 12, 14, 15.
    assert [(p.start, p.end) for p in phases] == [(0, 8), (8, 12), (12, 14), (14, 15)]
    iters = [(p.end - p.start) / p.batch for p in phases]
    assert max(iters) / min(iters) == pytest.approx(1.0)


def test_the_long_cycle_repeats_in_every_lr_step_and_a_base_shape_phase_fine_tunes_after_the_last_step():
    cfg = stock_cfg(SOLVER__LR_POLICY="steps_with_relative_lrs", SOLVER__STEPS=[0, 40, 80], SOLVER__LRS=[1, 0.1, 0.01],
                    SOLVER__MAX_EPOCH=100)
    phases = mg.schedule(cfg)
    assert [(p.frames, p.crop) for p in phases] == [(2, 158), (4, 158), (4, 224), (8, 224)] * 2 + [(8, 224)]
    assert phases[-1].orig == (80, 100) and phases[-1].end == 150
    # Each step's cycle stands for that step's original epochs, so the step's lr applies to all its phases.
    assert mg.multigrid_lr(cfg, phases, 1.0) == pytest.approx(lr_at(cfg, 5.0 / 3) * 8)
    assert mg.multigrid_lr(cfg, phases, phases[4].start + 0.5) == pytest.approx(cfg.SOLVER.BASE_LR * 0.1 * 8)
    assert mg.multigrid_lr(cfg, phases, 149.9) == pytest.approx(cfg.SOLVER.BASE_LR * 0.01)


def test_the_short_cycle_crops_are_half_and_one_over_root_two_of_the_base_with_batches_scaled_by_area():
    cfg = stock_cfg(MULTIGRID__SHORT_CYCLE=True)
    assert mg.short_cycle_crops(cfg, 224) == [(112, 4), (158, 2), (224, 1)]
    assert mg.short_cycle_crops(cfg, 158) == [(112, 2), (158, 1), (158, 1)]


def test_the_batch_sampler_cycles_batch_sizes_and_crops_per_iteration():
    s = MultigridBatchSampler(range(30), [(16, 4), (23, 2), (32, 1)])
    batches = list(s)
    assert [len(b) for b in batches] == [4, 2, 1] * 4  # 28 items used; the last 2 (< 4) dropped
    assert [b[0][1] for b in batches] == [16, 23, 32] * 4
    assert all(len({c for _, c in b}) == 1 for b in batches)
    assert len(s) == len(batches)
    assert sorted(i for b in batches for i, _ in b) == list(range(28))
    s.set_pattern([(32, 3)])
    assert [len(b) for b in s] == [3] * 10 and len(s) == 10


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("mg") / "data")
    make_kinetics_synthetic(d, num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=40, seed=0,
                            num_workers=1)
    return d


def opts(data_dir, out, *extra):
    return ["DATA.PATH_TO_DATA_DIR", data_dir, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
            "TRAIN.BATCH_SIZE", "1", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0", "LOG_PERIOD", "1",
            "LOG_MODEL_INFO", "False", "TRAIN.EVAL_PERIOD", "0", "TEST.ENABLE", "False", "SOLVER.WARMUP_EPOCHS", "0",
            "MULTIGRID.EPOCH_FACTOR", "1.0", "TRAIN.CHECKPOINT_PERIOD", "8", *extra]


def test_the_short_cycle_loader_yields_kinetics_clips_of_the_cycles_crops_and_batch_sizes(data_dir, tmp_path):
    cfg = load_config(TINY, opts(data_dir, tmp_path, "MULTIGRID.SHORT_CYCLE", "True", "SOLVER.MAX_EPOCH", "1"))
    loader = build_loader(cfg, "train")
    shapes = [tuple(x[1].shape) for x, *_ in loader]  # Fast pathway: clips x C x T x H x W
    # 8 videos: 4 at 16^2, 2 at 23^2, 1 at 32^2; the 1 left cannot make the next batch of 4.
    assert shapes == [(4, 3, 16, 16, 16), (2, 3, 16, 23, 23), (1, 3, 16, 32, 32)]
    assert len(loader) == 3


def test_a_tiny_run_goes_through_a_full_long_cycle_and_the_train_stats_show_the_shapes_and_batches(data_dir, tmp_path,
                                                                                                    monkeypatch):
    from slowfast.apps.run_net import main
    from slowfast.engine import train as train_mod

    precise_at = []  # the clip shape of the loader when precise BN runs
    real = train_mod.update_precise_bn
    monkeypatch.setattr(train_mod, "update_precise_bn", lambda cfg, task, model, loader: (
        precise_at.append((loader.dataset.num_frames, loader.dataset.train_crop)), real(cfg, task, model, loader))[1])
    out = tmp_path / "out"
    assert main(["--cfg", TINY, *opts(data_dir, out, "MULTIGRID.LONG_CYCLE", "True", "SOLVER.MAX_EPOCH", "8",
                                      "BN.USE_PRECISE_STATS", "True", "BN.NUM_BATCHES_PRECISE", "1")]) == 0
    stats = [json.loads(line.split("json_stats: ", 1)[1]) for line in open(os.path.join(out, "log.txt"))
             if "json_stats: " in line]
    seen = {}  # epoch -> set of Fast-pathway shapes of its iterations
    for s in stats:
        if s.get("_type") == "train_iter":
            seen.setdefault(int(s["epoch"].split("/")[0]), set()).add(tuple(s["clip_shape"][1]))
    # 8 epochs: (4 frames x 23^2, 8 clips) for 4, (8 x 23^2, 4) for 2, (8 x 32^2, 2) for 1, (16 x 32^2, 1) for 1.
    expected = [(8, 3, 4, 23, 23)] * 4 + [(4, 3, 8, 23, 23)] * 2 + [(2, 3, 8, 32, 32), (1, 3, 16, 32, 32)]
    assert [seen[e] for e in range(1, 9)] == [{x} for x in expected]
    assert [s["epoch"] for s in stats if s.get("_type") == "train_epoch"][-1] == "8/8"
    log = open(os.path.join(out, "log.txt")).read()
    assert log.count("multigrid phase of") == 4
    assert precise_at == [(4, 23), (8, 23), (8, 32), (16, 32)]  # BN.USE_PRECISE_STATS: at the end of each phase


def test_multigrid_with_slow_pathway_frames_below_one_is_a_one_line_error_naming_the_factors():
    cfg = stock_cfg(MODEL__HEAD_POOLING="global")  # 8 frames x 0.25 = 2 < SLOWFAST.ALPHA 8
    with pytest.raises(ConfigError, match=r"MULTIGRID.LONG_CYCLE_FACTORS \(0.25, 0.707107\) gives 2 frames"):
        validate(cfg)


def test_multigrid_with_a_batch_that_cannot_be_split_is_refused_naming_the_batch_keys():
    cfg = stock_cfg(MODEL__HEAD_POOLING="global", DATA__NUM_FRAMES=32, MULTIGRID__DEFAULT_B=3, BN__NORM_TYPE="sub_batchnorm",
                    BN__NUM_SPLITS=2)
    with pytest.raises(ConfigError, match=r"TRAIN.BATCH_SIZE / MULTIGRID.DEFAULT_B 3\) cannot be divided .* BN.NUM_SPLITS 2"):
        validate(cfg)


@pytest.mark.parametrize("key,value,culprit", [("DETECTION.ENABLE", True, "DETECTION.ENABLE True"),
                                               ("MODEL.HEAD_POOLING", "train_crop", "MODEL.HEAD_POOLING global"),
                                               ("TRAIN.DATASET", "ava", "need TRAIN.DATASET kinetics")])
def test_multigrid_on_a_detection_fixed_pooling_or_non_kinetics_config_is_refused_naming_the_key(key, value, culprit):
    group, name = key.split(".")
    cfg = stock_cfg(**{f"{group}__{name}": value}, DATA__NUM_FRAMES=32)
    cfg.MODEL.HEAD_POOLING = value if key == "MODEL.HEAD_POOLING" else "global"
    with pytest.raises(ConfigError, match=culprit):
        validate(cfg)


def test_apply_phase_sets_frames_crop_and_a_sampling_rate_spanning_the_same_time(data_dir):
    cfg = stock_cfg()
    phase = mg.schedule(cfg)[0]

    class D:
        pass

    d = D()
    apply_phase(cfg, d, phase)
    assert (d.num_frames, d.train_crop, d.sampling_rate, d.base_crop) == (2, 158, cfg.DATA.SAMPLING_RATE * 4, 224)
    assert batch_pattern(cfg, phase, 2) == [(158, 32)]


def test_a_multigrid_checkpoint_past_solver_max_epoch_but_inside_the_schedule_resumes():
    from slowfast.checkpoint import CheckpointError
    from slowfast.engine.common import check_epoch_in_schedule

    cfg = stock_cfg()  # SOLVER.MAX_EPOCH 10 -> 15 multigrid epochs
    check_epoch_in_schedule(cfg, "ckpt", 12, "")
    with pytest.raises(CheckpointError, match="multigrid: 15 epochs"):
        check_epoch_in_schedule(cfg, "ckpt", 16, "")


def test_the_long_cycle_validates_about_eval_freq_times_per_phase_ending_each_phase():
    from slowfast.engine.multigrid import build_schedule

    cfg = stock_cfg()  # phases end at epochs 8, 12, 14, 15; MULTIGRID.EVAL_FREQ 3, TRAIN.EVAL_PERIOD 10
    sched = build_schedule(cfg)
    assert [e + 1 for e in range(sched.max_epoch) if sched.eval_due(e)] == [2, 5, 8, 10, 12, 13, 14, 15]
    cfg.TRAIN.EVAL_PERIOD = 0
    assert not any(sched.eval_due(e) for e in range(sched.max_epoch))
