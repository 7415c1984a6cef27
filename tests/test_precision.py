"""TEST.PRECISION: bf16 autocast with the heads, softmax / sigmoid and RoIAlign kept in float32, agreeing with
float32 in top-1 on the synthetic test videos; refused in one line where the device lacks the precision."""
import numpy as np
import pytest
import torch

import slowfast.deploy.precision as precision
from slowfast.apps.cli import user_error_line
from slowfast.config import ConfigError
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.deploy.precision import PrecisionModel, resolve_precision
from slowfast.models import optimize_for_inference
from test_deploy import AVA_SMALL, AVA_TINY, KINETICS_TINY, random_boxes, random_inputs, tiny_model

CPU = torch.device("cpu")


def test_bf16_on_a_cpu_without_bf16_units_is_refused_in_one_line_naming_the_key(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    with pytest.raises(ConfigError) as e:
        resolve_precision("bf16", CPU)
    line = user_error_line(e.value)
    assert "TEST.PRECISION bf16" in line and "set TEST.PRECISION fp32" in line and "\n" not in line
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)
    assert resolve_precision("bf16", CPU) == torch.bfloat16
    assert resolve_precision("fp32", CPU) is None


def test_fp16_on_cpu_is_refused_even_with_bf16_units(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)
    with pytest.raises(ConfigError, match="float16 inference is for CUDA GPUs only; set TEST.PRECISION fp32"):
        resolve_precision("fp16", CPU)


def dtypes_seen(model, modules):
    seen = {}

    def hook(name):
        def record(_module, args, out):
            seen.setdefault(name, (args[0].dtype, out.dtype))
        return record

    return seen, [m.register_forward_hook(hook(name)) for name, m in modules.items()]


def test_under_bf16_the_backbone_runs_bf16_while_score_layer_and_softmax_run_float32():
    cfg, model = tiny_model(KINETICS_TINY)
    net = PrecisionModel(optimize_for_inference(model), torch.bfloat16)
    inner = net.model.model
    seen, handles = dtypes_seen(net, {"conv": inner.s2.pathway0_res0.branch2.a, "projection": inner.head.projection.inner,
                                      "softmax": inner.head.act.inner})
    xs = random_inputs(cfg, 2)
    with torch.no_grad():
        scores = net(xs)
        ref = optimize_for_inference(model)(xs)
    for h in handles:
        h.remove()
    assert seen["conv"][1] == torch.bfloat16  # autocast is really on
    assert seen["projection"] == (torch.float32, torch.float32) and seen["softmax"] == (torch.float32, torch.float32)
    assert scores.dtype == torch.float32 and torch.allclose(scores.sum(1), torch.ones(2), atol=1e-6)
    assert 0 < float((scores - ref).abs().max()) < 2e-3  # rounded, not identical; bound documented


def test_under_bf16_roi_align_sees_float32_features_and_boxes():
    cfg, model = tiny_model(AVA_TINY, *AVA_SMALL)
    net = PrecisionModel(optimize_for_inference(model), torch.bfloat16)
    head = net.model.model.head
    seen, handles = dtypes_seen(net, {"roi_pooled": head.s0_spool, "sigmoid": head.act.inner})
    xs, boxes = random_inputs(cfg, 2), random_boxes(3, 2, 32)
    with torch.no_grad():
        scores = net(xs, boxes)
        ref = optimize_for_inference(model)(xs, boxes)
    for h in handles:
        h.remove()
    assert seen["roi_pooled"][0] == torch.float32 and seen["sigmoid"] == (torch.float32, torch.float32)
    assert float((scores - ref).abs().max()) < 1e-2


def test_bf16_test_run_agrees_with_fp32_in_top1_on_every_synthetic_test_video(tmp_path, monkeypatch):
    from slowfast.apps.run_net import main
    from slowfast.checkpoint import save_checkpoint

    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)  # autocast runs (emulated) on any CPU
    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=4, num_val=4, num_test=8, size=32, num_frames=40, seed=1,
                            num_workers=1)
    cfg, model = tiny_model(KINETICS_TINY, "DATA.NUM_FRAMES", "8", seed=3)
    ckpt = str(tmp_path / "w.pyth")
    save_checkpoint(ckpt, model, cfg=cfg)
    scores = {}
    for prec in ("fp32", "bf16"):
        opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(tmp_path / prec),
                "DATA.NUM_FRAMES", "8", "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", ckpt,
                "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0", "TEST.NUM_ENSEMBLE_VIEWS", "1",
                "LOG_MODEL_INFO", "False", "TEST.PRECISION", prec]
        assert main(["--cfg", KINETICS_TINY, *opts]) == 0
        scores[prec] = np.load(tmp_path / prec / "test_scores.npz")["scores"]
    assert scores["fp32"].shape == (8, 4)
    assert (scores["bf16"].argmax(1) == scores["fp32"].argmax(1)).all()
    assert 0 < np.abs(scores["bf16"] - scores["fp32"]).max() < 2e-3


def test_bf16_mixed_precision_training_step_on_a_bf16_cpu_gives_the_fp32_loss_and_head_gradient(monkeypatch):
    from slowfast.config import load_config
    from slowfast.engine import acceleration as accel
    from slowfast.engine.tasks import compute_loss
    from slowfast.models import build_model

    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)  # autocast runs (emulated) on any CPU
    fast = torch.randn(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(0))
    out = {}
    for mixed in ("False", "True"):
        cfg = load_config(KINETICS_TINY, ["TRAIN.MIXED_PRECISION", mixed])
        assert accel.amp_dtype(cfg, CPU) == (torch.bfloat16 if mixed == "True" else None)
        torch.manual_seed(0)
        model = build_model(cfg, device="cpu").train()
        with accel.autocast(cfg, CPU):
            preds = model([fast[:, :, ::4], fast])
            loss = compute_loss(cfg, preds, torch.arange(2))
        assert loss.dtype == torch.float32  # the loss is computed in float32
        loss.backward()
        # The head's gradient: emulated bf16 (no bf16 units here) 3-D convolution weight gradients of oneDNN
        # were seen to hold NaN now and then on this CPU, one more reason TEST.PRECISION refuses it here.
        grad = model.head.projection.weight.grad.flatten()
        out[mixed] = (loss.item(), grad, model.head.projection.weight.grad.dtype)
    assert out["True"][2] == torch.float32  # master weights and their gradients stay float32
    assert out["True"][0] == pytest.approx(out["False"][0], rel=1e-2)
    cosine = torch.nn.functional.cosine_similarity(out["True"][1], out["False"][1], dim=0)
    assert cosine > 0.99 and not torch.equal(out["True"][1], out["False"][1])


def test_run_net_refuses_a_precision_the_cpu_lacks_before_touching_data_or_training(tmp_path, capsys, monkeypatch):
    from slowfast.apps.run_net import main

    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    absent = tmp_path / "no_data_here"
    assert main(["--cfg", KINETICS_TINY, "TEST.PRECISION", "bf16", "OUTPUT_DIR", str(tmp_path / "out"),
                 "DATA.PATH_TO_DATA_DIR", str(absent)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("config error: TEST.PRECISION bf16: this CPU has no bfloat16 units")
    assert not absent.exists()  # refused before the synthetic data would have been generated
