"""Fine-tuning and memory controls (issue 21 items 1-2, clipping from 3): frozen stages, linear probe, head
lr multiplier, classifier re-initialisation, gradient accumulation, activation checkpointing, gradient
clipping and the grad_norm / memory figures of the stats lines. Tiny SlowFast (16 channels, 32 px)."""
import logging
import os

import pytest
import torch
import torch.nn.functional as F

from slowfast.checkpoint import load_checkpoint, save_checkpoint
from slowfast.config import load_config
from slowfast.config.errors import ConfigError
from slowfast.engine.optim_step import OptimizerStep
from slowfast.engine.train import freeze_bn
from slowfast.models import build_model
from slowfast.models.build import prepare_for_training
from slowfast.solver import build_optimizer, lr_at, set_lr

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def tiny_cfg(*opts):
    return load_config(TINY, ["DATA.NUM_FRAMES", "8", "SOLVER.WEIGHT_DECAY", "1e-3", *opts])


def tiny_model(cfg, seed=0):
    torch.manual_seed(seed)
    model = build_model(cfg, device="cpu")
    prepare_for_training(cfg, model)
    return model.train()


def batch(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, 3, 2, 32, 32, generator=g), torch.randn(n, 3, 8, 32, 32, generator=g)]
    return xs, torch.randint(0, 4, (n,), generator=g)


def train_steps(cfg, model, batches, k=1):
    """The training loop's step logic (engine/train.py): lr per group start, OptimizerStep."""
    opt = build_optimizer(cfg, model)
    stepper = OptimizerStep(cfg, opt, torch.amp.GradScaler("cuda", enabled=False), len(batches))
    norms = []
    for it, (xs, y) in enumerate(batches):
        set_lr(opt, lr_at(cfg, stepper.group_start(it) / len(batches)))
        norms.append(stepper.backward(F.cross_entropy(model(xs), y), it))
    return opt, norms


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# ----------------------------------------------------------------------------------- fine-tuning
def test_frozen_stages_keep_parameters_and_bn_statistics_bit_identical():
    cfg = tiny_cfg("MODEL.FROZEN_STAGES", "3")
    model = tiny_model(cfg)
    assert model.frozen_modules == ("s1", "s1_fuse", "s2", "s2_fuse", "s3")
    before = snapshot(model)
    train_steps(cfg, model, [batch(seed=s) for s in range(3)])
    after = snapshot(model)
    for key in before:
        frozen = key.split(".")[0] in model.frozen_modules
        if frozen:
            assert torch.equal(before[key], after[key]), key
    # the rest trains: s4's weights and BN statistics move, and so does the head
    assert not torch.equal(before["s4.pathway0_res0.branch2.a.weight"], after["s4.pathway0_res0.branch2.a.weight"])
    assert not torch.equal(before["s4.pathway0_res0.branch2.a_bn.running_mean"],
                           after["s4.pathway0_res0.branch2.a_bn.running_mean"])
    assert not torch.equal(before["head.projection.weight"], after["head.projection.weight"])
    assert model.s1.pathway0_stem.bn.training is False and model.s4.pathway0_res0.branch2.a_bn.training is True


def test_linear_probe_detach_final_fc_changes_only_the_head_parameters():
    cfg = tiny_cfg("MODEL.DETACH_FINAL_FC", "True")
    model = tiny_model(cfg)
    before = dict((k, v.detach().clone()) for k, v in model.named_parameters())
    train_steps(cfg, model, [batch(seed=s) for s in range(2)])
    for name, p in model.named_parameters():
        assert torch.equal(before[name], p) != name.startswith("head."), name


def test_head_lr_is_mult_times_the_scheduled_lr_through_warmup_and_cosine():
    cfg = tiny_cfg("SOLVER.HEAD_LR_MULT", "10.0", "MODEL.FROZEN_STAGES", "2")
    model = tiny_model(cfg)
    opt = build_optimizer(cfg, model)
    head_ids = {id(p) for p in model.head.parameters()}
    assert {id(p) for g in opt.param_groups if g["name"].startswith("head_") for p in g["params"]} == head_ids
    for epoch in (0.0, 0.25, 1.0, 3.3, 5.99):  # warm-up ends at 0.5, cosine to epoch 6
        base = lr_at(cfg, epoch)
        set_lr(opt, base)
        for g in opt.param_groups:
            assert g["lr"] == pytest.approx(base * (10.0 if g["name"].startswith("head_") else 1.0))


def test_head_lr_mult_with_no_trainable_head_parameter_is_a_config_error():
    cfg = tiny_cfg("SOLVER.HEAD_LR_MULT", "10.0")
    model = tiny_model(cfg)
    for p in model.head.parameters():
        p.requires_grad_(False)
    with pytest.raises(ConfigError, match=r"^SOLVER.HEAD_LR_MULT is 10.0 but the model has no trainable parameter"):
        build_optimizer(cfg, model)


def test_another_class_count_reinitialises_the_classifier_with_one_log_line(tmp_path, caplog):
    source = tiny_model(tiny_cfg())
    path = save_checkpoint(str(tmp_path / "source.pyth"), source)
    target = tiny_model(tiny_cfg("MODEL.NUM_CLASSES", "2"), seed=5)
    initial_head = target.head.projection.weight.detach().clone()
    with caplog.at_level(logging.INFO):
        load_checkpoint(path, target, allow_partial=True)
    lines = [r.getMessage() for r in caplog.records if "classifier re-initialised" in r.getMessage()]
    assert len(lines) == 1 and "head has 4 classes, this model 2" in lines[0]
    assert torch.equal(target.head.projection.weight, initial_head)
    assert torch.equal(target.s2.pathway0_res0.branch2.a.weight, source.s2.pathway0_res0.branch2.a.weight)


@pytest.mark.parametrize("opts, key", [
    (["MODEL.FROZEN_STAGES", "6"], "MODEL.FROZEN_STAGES"),
    (["MODEL.FROZEN_STAGES", "-1"], "MODEL.FROZEN_STAGES"),
    (["TRAIN.GRAD_ACCUM_STEPS", "0"], "TRAIN.GRAD_ACCUM_STEPS"),
    (["SOLVER.HEAD_LR_MULT", "0.0"], "SOLVER.HEAD_LR_MULT"),
    (["SOLVER.CLIP_GRAD_L2NORM", "-1.0"], "SOLVER.CLIP_GRAD_L2NORM"),
])
def test_bad_training_control_values_are_one_line_naming_the_key(opts, key):
    with pytest.raises(ConfigError) as e:
        load_config(TINY, opts)
    assert key in str(e.value) and "\n" not in str(e.value)


# ---------------------------------------------------------------------------------------- memory
def test_accumulating_k_micro_batches_updates_like_one_batch_of_k_times_b():
    """Frozen BN (eval mode) and no dropout: two groups of 4 micro-batches of 1 clip vs 2 batches of 4."""
    cfg_acc, cfg_one = tiny_cfg("TRAIN.GRAD_ACCUM_STEPS", "4"), tiny_cfg()
    a, b = tiny_model(cfg_acc), tiny_model(cfg_one)
    freeze_bn(a), freeze_bn(b)
    big = [batch(4, seed=s) for s in range(2)]
    micro = [([x[i:i + 1] for x in xs], y[i:i + 1]) for xs, y in big for i in range(4)]
    _, norms = train_steps(cfg_acc, a, micro, k=4)
    train_steps(cfg_one, b, big)
    assert [n is not None for n in norms] == [False, False, False, True] * 2  # one optimizer step per group
    for (name, pa), pb in zip(a.named_parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-5, rtol=0), name


def test_activation_checkpointing_gives_the_same_gradients_and_bn_statistics():
    plain, ckpt = tiny_model(tiny_cfg()), tiny_model(tiny_cfg("MODEL.ACT_CHECKPOINT", "True"))
    assert ckpt.act_checkpoint and not plain.act_checkpoint
    xs, y = batch(4)
    for model in (plain, ckpt):
        F.cross_entropy(model(xs), y).backward()
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-6, rtol=0), name
    for (name, u), v in zip(plain.named_buffers(), ckpt.buffers()):
        assert torch.equal(u, v), name  # running statistics updated once, num_batches_tracked included


# -------------------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("key, limit", [("SOLVER.CLIP_GRAD_L2NORM", 0.05), ("SOLVER.CLIP_GRAD_VAL", 1e-4)])
def test_clipping_bounds_the_gradients_and_grad_norm_is_measured_before(key, limit):
    cfg = tiny_cfg(key, str(limit))  # the step leaves .grad as clipped (SGD does not change it)
    model, twin = tiny_model(cfg), tiny_model(cfg)
    xs, y = batch(4)
    _, norms = train_steps(cfg, model, [(xs, y)])
    F.cross_entropy(twin(xs), y).backward()
    unclipped = torch.nn.utils.get_total_norm([p.grad for p in twin.parameters()])
    assert norms[0] == pytest.approx(float(unclipped), rel=1e-5) and norms[0] > 0.05
    grads = [p.grad for p in model.parameters()]
    if key == "SOLVER.CLIP_GRAD_L2NORM":
        assert float(torch.nn.utils.get_total_norm(grads)) == pytest.approx(limit, rel=1e-4)
    else:
        assert max(float(g.abs().max()) for g in grads) <= limit


PEAK_PROBE = """
import sys
import torch
import torch.nn.functional as F
from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.models.build import prepare_for_training

cfg = load_config("configs/Synthetic/SLOWFAST_TINY.yaml",
                  ["DATA.NUM_FRAMES", "16", "MODEL.ACT_CHECKPOINT", sys.argv[1]])
torch.manual_seed(0)
model = build_model(cfg, device="cpu")
prepare_for_training(cfg, model)
model.train()
xs = [torch.randn(4, 3, 4, 64, 64), torch.randn(4, 3, 16, 64, 64)]
y = torch.zeros(4, dtype=torch.long)


def status(key):
    return int(next(line for line in open("/proc/self/status") if line.startswith(key)).split()[1]) * 1024


F.cross_entropy(model(xs), y).backward()  # first step: one-time allocations
model.zero_grad(set_to_none=True)
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak RSS (VmHWM) starts again from the current RSS
F.cross_entropy(model(xs), y).backward()
print(status("VmHWM:") - before)
"""


def step_peak_rss(act_checkpoint: bool) -> int:
    """Peak resident memory of one training step above the memory before it, in a fresh process (malloc
    with a fixed mmap threshold, so freed activations leave the resident set)."""
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
    out = subprocess.run([sys.executable, "-c", PEAK_PROBE, str(act_checkpoint)], cwd=root, env=env, check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="peak RSS reset needs Linux /proc")
def test_activation_checkpointing_lowers_the_peak_memory_of_a_training_step():
    plain, ckpt = step_peak_rss(False), step_peak_rss(True)
    print(f"\npeak RSS of a training step above the memory before it (4 clips, 16 frames, 64 px): {plain / 2**20:.1f} "
          f"MiB plain, {ckpt / 2**20:.1f} MiB with MODEL.ACT_CHECKPOINT ({ckpt / plain:.0%})")
    assert ckpt < 0.75 * plain, (ckpt, plain)


# ------------------------------------------------------------------------------------- end to end
def test_a_training_run_with_every_control_logs_grad_norm_and_memory(tmp_path):
    import json

    from slowfast.apps.run_net import main
    from slowfast.datasets.synthetic import make_kinetics_synthetic

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=24, seed=0,
                            num_workers=1)
    out = tmp_path / "out"
    assert main(["--cfg", TINY, "DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR",
                 str(out), "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "2", "TEST.ENABLE", "False",
                 "TRAIN.EVAL_PERIOD", "0", "SOLVER.MAX_EPOCH", "1", "LOG_PERIOD", "1", "LOG_MODEL_INFO", "False",
                 "DATA_LOADER.NUM_WORKERS", "0", "MODEL.FROZEN_STAGES", "1", "MODEL.ACT_CHECKPOINT", "True",
                 "TRAIN.GRAD_ACCUM_STEPS", "3", "SOLVER.CLIP_GRAD_L2NORM", "1.0", "SOLVER.HEAD_LR_MULT", "5.0"]) == 0
    log = (out / "log.txt").read_text()
    assert "MODEL.FROZEN_STAGES 1: frozen s1 " in log and "MODEL.ACT_CHECKPOINT" in log
    stats = [json.loads(line.split("json_stats: ", 1)[1]) for line in log.splitlines() if "json_stats: " in line]
    iters = [s for s in stats if s["_type"] == "train_iter"]
    # 4 iterations in groups of 3 (+ a last group of 1): steps after iterations 3 and 4
    assert [("grad_norm" in s) for s in iters] == [False, False, True, True]
    assert all(s["grad_norm"] > 0 and s["max_rss_gib"] > 0 for s in iters[2:])
    epoch = [s for s in stats if s["_type"] == "train_epoch"][0]
    assert epoch["grad_norm"] > 0


def test_stats_lines_carry_the_median_grad_norm_of_the_optimizer_steps_and_the_memory():
    from slowfast.utils.meters import TrainMeter, progress_line

    meter = TrainMeter(epoch_iters=4, max_epoch=1, window=4)
    for it, norm in enumerate([None, 3.0, None, 5.0]):  # accumulation: a norm on optimizer steps only
        meter.update(1.0, 0.1, 2, grad_norm=norm)
    stats = {**meter.iter_stats(0, 3), "max_rss_gib": 0.5}
    assert stats["grad_norm"] == 3.0 and meter.epoch_stats(0)["grad_norm"] == 4.0  # median (lower), mean
    line = progress_line(stats)
    assert "grad_norm 3" in line and "mem 0.50 GiB" in line
