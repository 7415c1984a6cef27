"""3-D convolutions run as 2-D ones on channels-last views (slowfast.models.conv): same outputs and gradients."""
import pytest
import torch
import torch.nn as nn

from slowfast.models.conv import Conv3dAs2d, conv_mode, use_2d_convolutions

CASES = [  # (c_in, c_out, kernel, stride, padding, groups, expected mode)
    (8, 6, (1, 3, 3), (1, 2, 2), (0, 1, 1), 1, "frames"),  # res-block b conv with spatial stride
    (8, 6, (1, 1, 1), (1, 1, 1), (0, 0, 0), 1, "frames"),  # 1x1x1 projection
    (8, 4, (1, 3, 3), (1, 1, 1), (0, 2, 2), 2, "frames"),  # grouped, dilated below
    (8, 6, (3, 1, 1), (1, 1, 1), (1, 0, 0), 1, "temporal"),  # Fast / res4-5 a conv
    (4, 8, (5, 1, 1), (4, 1, 1), (2, 0, 0), 1, "temporal"),  # lateral Fast->Slow conv, stride alpha
    (3, 4, (5, 7, 7), (1, 2, 2), (2, 3, 3), 1, "3d"),  # Fast stem: stays 3-D
]


@pytest.mark.parametrize("case", CASES, ids=[c[-1] + str(i) for i, c in enumerate(CASES)])
def test_same_output_and_gradients_as_conv3d(case):
    c_in, c_out, k, s, p, g, mode = case
    torch.manual_seed(0)
    dil = (1, 2, 2) if g == 2 else 1
    ref = nn.Conv3d(c_in, c_out, k, stride=s, padding=p, groups=g, dilation=dil, bias=True)
    fast = nn.Conv3d(c_in, c_out, k, stride=s, padding=p, groups=g, dilation=dil, bias=True)
    fast.load_state_dict(ref.state_dict())
    assert conv_mode(fast) == mode and use_2d_convolutions(fast) == (0 if mode == "3d" else 1)
    x = torch.randn(2, c_in, 8, 9, 10, requires_grad=True)  # contiguous input, odd sizes
    x2 = x.detach().clone().requires_grad_(True)
    a, b = ref(x), fast(x2)
    assert b.shape == a.shape
    assert b.is_contiguous(memory_format=torch.channels_last_3d) == (mode != "3d")
    torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
    a.square().sum().backward()
    b.square().sum().backward()
    torch.testing.assert_close(x2.grad, x.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(fast.weight.grad, ref.weight.grad, atol=1e-4, rtol=1e-4)
    assert list(fast.state_dict()) == ["weight", "bias"]
    with torch.no_grad():  # inference: temporal kernels take the 2-D form too (training uses 3-D ones)
        c = fast(x)
    assert c.is_contiguous(memory_format=torch.channels_last_3d) == (mode != "3d")
    torch.testing.assert_close(c, a.detach(), atol=1e-5, rtol=1e-5)


def test_temporal_kernels_take_the_2d_form_only_without_autograd(monkeypatch):
    calls = []
    real = torch.nn.functional.conv2d
    monkeypatch.setattr(torch.nn.functional, "conv2d", lambda *a, **k: calls.append(1) or real(*a, **k))
    conv = nn.Conv3d(8, 6, (3, 1, 1), padding=(1, 0, 0))
    use_2d_convolutions(conv)
    x = torch.randn(1, 8, 4, 5, 5)
    conv(x)
    assert calls == []  # grad mode, weight requires grad: 3-D convolution (faster backward)
    with torch.no_grad():
        conv(x)
    assert calls == [1]


def test_every_slowfast_conv_but_the_fast_stem_becomes_2d():
    from slowfast.config import load_config
    from slowfast.models import build_model

    model = build_model(load_config("configs/Synthetic/SLOWFAST_TINY.yaml", ["NUM_GPUS", "0"]), device="cpu")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    plain = [m for m in convs if not isinstance(m, Conv3dAs2d)]
    assert len(convs) > 20 and [m.kernel_size for m in plain] == [(5, 7, 7)]
