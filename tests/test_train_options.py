"""Training options: precise BN (fvcore), frozen BN, sub-batch BN in a training step."""
import torch

from slowfast.config import load_config
from slowfast.engine.tasks import build_task
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
    update_precise_bn(cfg, build_task(cfg), model, data)
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


def test_precise_bn_statistics_reach_the_test_time_bn_of_sub_batch_bn(tmp_path):
    """Issue 9 item 5: with BN.NORM_TYPE sub_batchnorm, precise BN (computed in training mode, so in each
    SubBatchNorm3d's `split_bn`) must run before the split statistics are folded into `bn`, the BN that
    evaluation uses; so in the saved checkpoint `bn` holds exactly the aggregate of the precise `split_bn`."""
    from slowfast.datasets.synthetic import make_kinetics_synthetic
    from slowfast.engine.train import train
    from slowfast import checkpoint as cu

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=8, num_val=2, num_test=2, size=32, num_frames=24,
                            seed=0, num_workers=1)
    cfg = load_config(TINY, [
        "DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(tmp_path / "out"),
        "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0", "SOLVER.MAX_EPOCH", "1",
        "TRAIN.EVAL_PERIOD", "0", "LOG_MODEL_INFO", "False", "BN.NORM_TYPE", "sub_batchnorm", "BN.NUM_SPLITS", "2",
        "BN.USE_PRECISE_STATS", "True", "BN.NUM_BATCHES_PRECISE", "2"])
    train(cfg)
    state = cu.read_checkpoint(cu.last_checkpoint(cfg.OUTPUT_DIR))["model_state"]
    prefixes = [k[: -len("split_bn.running_mean")] for k in state if k.endswith("split_bn.running_mean")]
    assert len(prefixes) > 10
    for p in prefixes:
        k = 2
        split_mean = state[p + "split_bn.running_mean"].view(k, -1)
        split_var = state[p + "split_bn.running_var"].view(k, -1)
        mean = split_mean.mean(0)
        var = split_var.mean(0) + ((split_mean - mean) ** 2).mean(0)  # variance of the mixture of the splits
        torch.testing.assert_close(state[p + "bn.running_mean"], mean, rtol=1e-5, atol=1e-6, msg=p)
        torch.testing.assert_close(state[p + "bn.running_var"], var, rtol=1e-5, atol=1e-6, msg=p)
