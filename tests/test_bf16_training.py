"""bf16 training (TRAIN.MIXED_PRECISION) on CPU: why emulated bf16 training diverged (a oneDNN bug in the weight
gradient of bf16 3-D convolutions whose clip is shorter than the temporal kernel), the guard that avoids it,
and bf16 training that tracks float32. Emulated bf16 (SLOWFAST_EMULATED_BF16=1) runs on any CPU."""
import json

import pytest
import torch

import slowfast.deploy.precision as precision
from slowfast.apps.cli import user_error_line
from slowfast.config import ConfigError, load_config
from slowfast.deploy.precision import (GuardedConv3d, GuardedConv3dAs2d, conv3d_weight_grad_at_risk,
                                       prepare_for_bf16_training)
from slowfast.engine import acceleration as accel
from slowfast.models import build_model

BATCH = 4
TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
CPU = torch.device("cpu")


def weight_grads(conv, x, gy, autocast=True):
    conv.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        y = conv(x)
    y.backward(gy.to(y.dtype))
    return y.dtype, conv.weight.grad.clone()


def short_clip_case(frames=2, channels=64, seed=0):
    """A 3x1x1 convolution (the slow pathway's res4/res5 kernel) on a clip of `frames` < 3 frames."""
    g = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * 0.1)
    x = torch.randn(4, channels, frames, 4, 4, generator=g)
    gy = torch.randn(4, channels, frames, 4, 4, generator=g)
    ref = conv.double()
    _, exact = weight_grads(ref, x.double(), gy.double(), autocast=False)
    return conv.float(), x, gy, exact


def rel_err(grad, exact):
    return float((grad.double() - exact).abs().max() / exact.abs().max())


@pytest.mark.xfail(reason="torch 2.14.1 / oneDNN on AVX512 CPUs without bf16 units: the jit_bf16:avx512_core "
                          "backward-weights kernel returns NaN / Inf / 1e36 when the clip is shorter than the kernel",
                   strict=False)
def test_torch_cpu_bf16_conv3d_weight_gradient_for_a_clip_shorter_than_the_kernel():
    conv, x, gy, exact = short_clip_case()
    _, grad = weight_grads(conv, x, gy)
    assert rel_err(grad, exact) < 2e-2


def test_guarded_convolutions_give_the_exact_weight_gradient_where_the_clip_is_shorter_than_the_kernel():
    conv, x, gy, exact = short_clip_case()
    for cls in (GuardedConv3d, GuardedConv3dAs2d):
        conv.__class__ = cls
        for fmt in (torch.contiguous_format, torch.channels_last_3d):
            dtype, grad = weight_grads(conv, x.contiguous(memory_format=fmt), gy)
            assert dtype == torch.float32 and rel_err(grad, exact) < 1e-5  # computed in float32
    # A clip as long as the kernel is not at risk: it stays bf16, with bf16's rounding only.
    conv, x, gy, exact = short_clip_case(frames=4)
    conv.__class__ = GuardedConv3d
    dtype, grad = weight_grads(conv, x, gy)
    assert dtype == torch.bfloat16 and rel_err(grad, exact) < 1e-2


def test_the_guard_acts_only_on_cpu_bf16_autocast_with_a_weight_gradient_to_compute():
    conv = torch.nn.Conv3d(4, 4, (5, 1, 1), padding=(2, 0, 0))
    short, long = torch.zeros(1, 4, 4, 2, 2), torch.zeros(1, 4, 5, 2, 2)
    assert not conv3d_weight_grad_at_risk(conv, short)  # no autocast
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv3d_weight_grad_at_risk(conv, short) and not conv3d_weight_grad_at_risk(conv, long)
        with torch.no_grad():  # inference: the forward pass is right, it stays bf16
            assert not conv3d_weight_grad_at_risk(conv, short)
    conv.dilation = (2, 1, 1)  # dilated kernel spans 9 frames
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv3d_weight_grad_at_risk(conv, long)


def test_bf16_preparation_keeps_state_dict_keys_and_values_and_the_score_layer_runs_float32():
    cfg = load_config(TINY, ["DATA.GENERATE_SYNTHETIC", "False", "DATA.NUM_FRAMES", "8"])
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu").train()
    seen = []
    model.head.projection.register_forward_hook(lambda m, a, o: seen.append(o.dtype))
    fast = torch.randn(2, 3, 8, 32, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model([fast[:, :, ::4], fast])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    counts = prepare_for_bf16_training(model, CPU)
    convs = sum(isinstance(m, torch.nn.Conv3d) for m in model.modules())
    assert counts == {"score_layers": 1, "guarded_convolutions": convs} and convs > 30
    after = model.state_dict()
    assert list(after) == list(before) and all(torch.equal(after[k], v) for k, v in before.items())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        model([fast[:, :, ::4], fast])
    assert seen == [torch.bfloat16, torch.float32]  # plain autocast rounds the scores to bf16; no longer


def fit(mixed, steps=6, guard=True):
    """Fit the tiny quick-start model (8 frames: the slow pathway's clip of 2 is shorter than its 3x1x1
    kernels) to BATCH fixed random clips through the training loop's parts; the losses of each step."""
    from slowfast.engine.optim_step import OptimizerStep
    from slowfast.engine.tasks import compute_loss
    from slowfast.solver import build_optimizer

    cfg = load_config(TINY, ["DATA.GENERATE_SYNTHETIC", "False", "DATA.NUM_FRAMES", "8",
                             "TRAIN.MIXED_PRECISION", str(mixed), "SOLVER.BASE_LR", "0.05"])
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu").train()
    if guard:
        accel.prepare_for_mixed_precision(cfg, model, CPU)
    optimizer = build_optimizer(cfg, model)
    stepper = OptimizerStep(cfg, optimizer, accel.grad_scaler(cfg, CPU), steps)
    g = torch.Generator().manual_seed(1)
    fast, labels = torch.randn(BATCH, 3, 8, 32, 32, generator=g), torch.arange(BATCH) % 4
    losses = []
    for it in range(steps):
        with accel.autocast(cfg, CPU):
            loss = compute_loss(cfg, model([fast[:, :, ::4], fast]), labels)
        losses.append(loss.item())
        stepper.backward(loss, it)
    assert all(torch.isfinite(v).all() for v in model.state_dict().values() if v.is_floating_point())
    return losses


def test_emulated_bf16_training_fits_as_float32_does(monkeypatch):
    monkeypatch.setenv("SLOWFAST_EMULATED_BF16", "1")
    fp32, bf16 = fit(False), fit(True)
    assert accel.amp_dtype(load_config(TINY, ["TRAIN.MIXED_PRECISION", "True"]), CPU) == torch.bfloat16
    assert bf16 != fp32  # really a different precision
    assert fp32[-1] < 0.05 * fp32[0]  # the clips are fitted (measured: 1.23 -> 0.002 in 6 steps)
    # bf16 follows float32's loss curve within 5 % of the starting loss at every step (measured: 2 %).
    assert max(abs(a - b) for a, b in zip(bf16, fp32)) < 0.05 * fp32[0]


def test_bf16_training_run_of_a_tiny_quick_start_ends_with_finite_weights_and_bn_statistics(tmp_path, monkeypatch):
    """Before the guard this run (8 clips of 8 frames, 1 epoch) ended with Inf gradients and BN variances."""
    from slowfast.apps.run_net import main
    from slowfast.datasets.synthetic import make_kinetics_synthetic

    monkeypatch.setenv("SLOWFAST_EMULATED_BF16", "1")
    data, out = str(tmp_path / "data"), tmp_path / "out"
    make_kinetics_synthetic(data, num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=24, seed=0,
                            num_workers=1)
    opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
            "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "SOLVER.MAX_EPOCH", "1", "TRAIN.EVAL_PERIOD", "0",
            "DATA_LOADER.NUM_WORKERS", "0", "TEST.ENABLE", "False", "LOG_MODEL_INFO", "False",
            "TRAIN.MIXED_PRECISION", "True"]
    assert main(["--cfg", TINY, *opts]) == 0
    log = (out / "log.txt").read_text()
    assert "TRAIN.MIXED_PRECISION: bf16 autocast, 1 score layer(s) in float32" in log
    epoch = [json.loads(ln.split("json_stats: ")[1]) for ln in log.splitlines() if '"train_epoch"' in ln][-1]
    assert 0 < epoch["grad_norm"] < 1e3
    state = torch.load(out / "checkpoints" / "checkpoint_epoch_00001.pyth", weights_only=False)["model_state"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert max(float(v.max()) for k, v in state.items() if k.endswith("running_var")) < 100


def test_emulated_bf16_switch_takes_1_or_0_and_names_itself_otherwise(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    cfg = load_config(TINY, ["TRAIN.MIXED_PRECISION", "True"])
    monkeypatch.delenv("SLOWFAST_EMULATED_BF16", raising=False)
    assert accel.amp_dtype(cfg, CPU) is None  # without bf16 units training stays float32, as before
    with pytest.raises(ConfigError) as e:
        precision.resolve_precision("bf16", CPU)
    assert "SLOWFAST_EMULATED_BF16=1 forces it" in str(e.value)
    monkeypatch.setenv("SLOWFAST_EMULATED_BF16", "1")
    assert accel.amp_dtype(cfg, CPU) == torch.bfloat16 and precision.resolve_precision("bf16", CPU) == torch.bfloat16
    monkeypatch.setenv("SLOWFAST_EMULATED_BF16", "yes")
    with pytest.raises(ConfigError) as e:
        accel.amp_dtype(cfg, CPU)
    line = user_error_line(e.value)
    assert "SLOWFAST_EMULATED_BF16 is 'yes'" in line and "\n" not in line


def test_non_finite_gradients_are_refused_before_they_reach_the_weights():
    from slowfast.engine.optim_step import OptimizerStep

    cfg = load_config(TINY, [])
    w = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([w], lr=0.1)
    stepper = OptimizerStep(cfg, optimizer, torch.amp.GradScaler("cpu", enabled=False), 4)
    with pytest.raises(FloatingPointError, match=r"gradients are not finite \(1 of 1 parameter tensors\) at "
                                                 "iteration 1 of the epoch; the weights were not updated"):
        stepper.backward((w * torch.tensor([1.0, float("nan"), 1.0])).sum(), 0)
    assert torch.equal(w.detach(), torch.ones(3))
    # Under fp16 loss scaling an overflow is skipped by the GradScaler: no step, no grad_norm (not inf).
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    stepper = OptimizerStep(cfg, optimizer, scaler, 4)
    assert stepper.backward((w * torch.tensor([1.0, float("inf"), 1.0])).sum(), 0) is None
    assert torch.equal(w.detach(), torch.ones(3)) and scaler.get_scale() == 2.0**15
    assert stepper.backward(w.sum(), 1) == pytest.approx(3 ** 0.5)
