"""Learning-rate schedules (report: half-period cosine eta * 0.5 * (cos(pi n / n_max) + 1), linear
warm-up; AVA: step-wise 10x drops) and optimizer parameter groups."""
import math

import pytest
import torch

from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.solver import build_optimizer, lr_at

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def cosine_cfg():
    return load_config(TINY, ["SOLVER.BASE_LR", "0.8", "SOLVER.MAX_EPOCH", "240", "SOLVER.WARMUP_EPOCHS", "34.0",
                              "SOLVER.WARMUP_START_LR", "0.08"])


def test_cosine_follows_the_report_formula_after_warmup():
    cfg = cosine_cfg()
    for epoch in (34.0, 120.0, 239.99):
        assert lr_at(cfg, epoch) == pytest.approx(0.8 * 0.5 * (math.cos(math.pi * epoch / 240) + 1))


def test_warmup_is_linear_from_start_lr_to_the_schedule_value():
    cfg = cosine_cfg()
    end = 0.8 * 0.5 * (math.cos(math.pi * 34 / 240) + 1)
    assert lr_at(cfg, 0.0) == pytest.approx(0.08)
    assert lr_at(cfg, 17.0) == pytest.approx(0.08 + (end - 0.08) / 2)
    assert lr_at(cfg, 34.0 - 1e-9) == pytest.approx(end)


def test_lr_is_evaluated_per_iteration_not_per_epoch():
    cfg = cosine_cfg()
    assert lr_at(cfg, 100.25) != lr_at(cfg, 100.0)


def test_steps_with_relative_lrs_drop_10x():
    cfg = load_config(TINY, ["SOLVER.LR_POLICY", "steps_with_relative_lrs", "SOLVER.BASE_LR", "0.1",
                             "SOLVER.STEPS", "[0, 40, 52]", "SOLVER.LRS", "[1, 0.1, 0.01]", "SOLVER.MAX_EPOCH", "58",
                             "SOLVER.WARMUP_EPOCHS", "4.8", "SOLVER.WARMUP_START_LR", "0.001"])
    assert lr_at(cfg, 0.0) == pytest.approx(0.001)
    assert lr_at(cfg, 2.4) == pytest.approx(0.001 + (0.1 - 0.001) / 2)
    assert lr_at(cfg, 39.9) == pytest.approx(0.1)
    assert lr_at(cfg, 40.0) == pytest.approx(0.01)
    assert lr_at(cfg, 57.0) == pytest.approx(0.001)


def test_bn_parameters_get_their_own_weight_decay():
    cfg = load_config(TINY, ["BN.WEIGHT_DECAY", "0.0", "SOLVER.WEIGHT_DECAY", "1e-4"])
    model = build_model(cfg)
    opt = build_optimizer(cfg, model)
    groups = {g["name"]: g for g in opt.param_groups}
    assert groups["bn"]["weight_decay"] == 0.0 and groups["non_bn"]["weight_decay"] == pytest.approx(1e-4)
    bn_ids = {id(p) for p in groups["bn"]["params"]}
    assert id(model.s1.pathway0_stem.bn.weight) in bn_ids
    assert id(model.s1.pathway0_stem.conv.weight) not in bn_ids
    n_params = sum(1 for p in model.parameters())
    assert len(groups["bn"]["params"]) + len(groups["non_bn"]["params"]) == n_params
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
