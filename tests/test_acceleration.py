"""Speed settings of the training loop: the model's memory format (build_model), mixed precision choice, allocator, compile, peak memory."""
import pytest
import torch

from slowfast.config import load_config
from slowfast.engine import acceleration as accel
from slowfast.engine.tasks import compute_loss
from slowfast.models import build_model
from slowfast.models.build import memory_format_for
from slowfast.models.conv import Conv3dAs2d
from slowfast.solver import build_optimizer

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
CPU = torch.device("cpu")


def batches(n, b=4, size=32):
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        fast = torch.randn(b, 3, 16, size, size, generator=g)
        out.append(([fast[:, :, ::4].contiguous(), fast], torch.arange(b) % 4))
    return out


def losses_of(cfg, steps, step_model=None):
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu").train()
    fmt = memory_format_for(cfg, CPU)
    optimizer = build_optimizer(cfg, model)
    run = accel.maybe_compile(cfg, model)
    out = []
    for inputs, labels in batches(steps):  # inputs arrive contiguous, as from the loader
        loss = compute_loss(cfg, run(inputs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    return out, model, fmt


# A small learning rate: the tiny model (BN over 4 clips at 1x1 res5 resolution) amplifies rounding differences
# at its own rate 0.05 within 4 steps, even between 1 and 2 threads with the same memory format.
SMALL_LR = ["SOLVER.BASE_LR", "0.005"]


def test_channels_last_training_follows_the_same_loss_curve():
    plain, plain_model, fmt0 = losses_of(load_config(TINY, SMALL_LR + ["MODEL.MEMORY_FORMAT", "contiguous"]), 4)
    fast, fast_model, fmt = losses_of(load_config(TINY, SMALL_LR), 4)  # "auto": channels_last_3d on CPU
    assert fmt0 == torch.contiguous_format and fmt == torch.channels_last_3d
    conv = fast_model.s2.pathway0_res0.branch2.a
    assert conv.weight.is_contiguous(memory_format=torch.channels_last_3d) and isinstance(conv, Conv3dAs2d)
    plain_conv = plain_model.s2.pathway0_res0.branch2.a
    assert plain_conv.weight.is_contiguous() and not isinstance(plain_conv, Conv3dAs2d)
    assert len(set(round(v, 3) for v in plain)) > 1  # the loss moves, so the comparison means something
    assert fast == pytest.approx(plain, rel=1e-3)
    # Same parameters after the steps, and the same state-dict keys (checkpoints unchanged).
    a, b = plain_model.state_dict(), fast_model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-2, atol=1e-3)


def test_mixed_precision_is_bf16_where_supported_else_fp16_with_a_scaler(monkeypatch):
    cfg = load_config(TINY, ["TRAIN.MIXED_PRECISION", "True"])
    assert accel.amp_dtype(cfg, CPU) is None and not accel.grad_scaler(cfg, CPU).is_enabled()
    assert accel.amp_dtype(load_config(TINY), torch.device("cuda")) is None
    gpu = torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert accel.amp_dtype(cfg, gpu) == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert accel.amp_dtype(cfg, gpu) == torch.float16
    with accel.autocast(cfg, CPU):  # CPU: full precision
        assert torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.float32


def test_allocator_setting_and_peak_memory_figures():
    assert accel.keep_freed_memory()  # glibc on Linux
    stats = accel.peak_memory_stats(CPU)
    assert 0.01 < stats["max_rss_gib"] < 1024 and "peak_mem_gib" not in stats


@pytest.mark.skip(reason="MODEL.COMPILE: inductor compiles C++ kernels for forward and backward, several minutes "
                         "on the 2-core test machine; run tests with --runxfail-style opt-in by removing this mark")
def test_compiled_model_follows_the_same_loss_curve():
    plain, _, _ = losses_of(load_config(TINY), 2)
    compiled, _, _ = losses_of(load_config(TINY, ["MODEL.COMPILE", "True"]), 2)
    assert compiled == pytest.approx(plain, rel=1e-3)
