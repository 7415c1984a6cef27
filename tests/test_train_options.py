"""Training options: precise BN (fvcore), frozen BN, sub-batch BN in a training step."""
import torch

from slowfast.config import load_config
from slowfast.engine.train import freeze_bn, update_precise_bn
from slowfast.models import build_model

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def batches(n, b=4, size=32):
    g = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n):
        fast = torch.randn(b, 3, 16, size, size, generator=g) * 2 + 1
        out.append(([fast[:, :, ::4], fast], torch.zeros(b, dtype=torch.long), torch.arange(b), {}))
    return out


def test_precise_bn_sets_running_stats_to_the_population_statistics():
    cfg = load_config(TINY, ["BN.NUM_BATCHES_PRECISE", "3"])
    model = build_model(cfg)
    data = batches(3)
    bn = model.s1.pathway0_stem.bn
    feats = []
    hook = model.s1.pathway0_stem.conv.register_forward_hook(lambda m, i, o: feats.append(o.detach()))
    update_precise_bn(cfg, model, data)
    hook.remove()
    conv_out = torch.cat(feats[-3:])
    expected = conv_out.mean(dim=(0, 2, 3, 4))
    torch.testing.assert_close(bn.running_mean, expected, rtol=1e-4, atol=1e-5)


def test_frozen_bn_keeps_running_stats_while_training():
    cfg = load_config(TINY)
    model = build_model(cfg).train()
    assert freeze_bn(model) > 0
    before = model.s2.pathway0_res0.branch2.a_bn.running_mean.clone()
    model(batches(1)[0][0]).sum().backward()
    torch.testing.assert_close(model.s2.pathway0_res0.branch2.a_bn.running_mean, before)


def test_sub_batchnorm_model_trains_and_evaluates():
    cfg = load_config(TINY, ["BN.NORM_TYPE", "sub_batchnorm", "BN.NUM_SPLITS", "2"])
    model = build_model(cfg).train()
    out = model(batches(1)[0][0])
    torch.nn.functional.cross_entropy(out, torch.zeros(4, dtype=torch.long)).backward()
    from slowfast.models.norm import aggregate_sub_bn_stats

    assert aggregate_sub_bn_stats(model) > 0
    model.eval()
    assert model(batches(1)[0][0]).shape == (4, 4)
