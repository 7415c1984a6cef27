"""optimize_for_inference: BN folded into convolutions, channels_last_3d; same scores as the model in eval."""
import warnings

import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.models import build_model, optimize_for_inference
from slowfast.models.inputs import dummy_inputs
from slowfast.models.norm import is_batch_norm
from slowfast.models.optimize import InferenceModel, fold_conv_bn, inference_model

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
# The reference: the model as plain PyTorch layers (contiguous 3-D convolutions, as PySlowFast runs them).
CPU = ["NUM_GPUS", "0", "MODEL.MEMORY_FORMAT", "contiguous"]
ONE_PATHWAY = ["MODEL.MODEL_NAME", "ResNet", "DATA.INPUT_CHANNEL_NUM", "[3]",
               "RESNET.NUM_BLOCK_TEMP_KERNEL", "[[1], [1], [1], [1]]", "RESNET.SPATIAL_STRIDES", "[[1], [2], [2], [2]]",
               "RESNET.SPATIAL_DILATIONS", "[[1], [1], [1], [1]]", "NONLOCAL.LOCATION", "[[[]], [[]], [[]], [[]]]",
               "NONLOCAL.GROUP", "[[1], [1], [1], [1]]",
               "NONLOCAL.POOL", "[[[1, 2, 2]], [[1, 2, 2]], [[1, 2, 2]], [[1, 2, 2]]]"]
NONLOCAL_RES4 = ["NONLOCAL.LOCATION", "[[[], []], [[], []], [[0], []], [[], []]]", "NONLOCAL.INSTANTIATION", "softmax"]

VARIANTS = {
    "slowfast": (TINY, []),
    "fast_only": (TINY, ONE_PATHWAY + ["MODEL.ARCH", "fast"]),
    "slow_only": (TINY, ONE_PATHWAY + ["MODEL.ARCH", "slow", "DATA.NUM_FRAMES", "4"]),
    "slowfast_nonlocal_sub_bn": (TINY, NONLOCAL_RES4 + ["BN.NORM_TYPE", "sub_batchnorm", "BN.NUM_SPLITS", "2"]),
    "detection": (AVA_TINY, []),
    "detection_context": (AVA_TINY, ["DETECTION.CONTEXT_BRANCH", "True"]),
}


def trained_looking(cfg):
    """A model whose BN layers hold non-trivial statistics and affine parameters (as after training),
    so that folding them is not a no-op."""
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu")
    with torch.no_grad():
        for m in model.modules():
            if is_batch_norm(m) and m.weight is not None:  # (not the affine-free BNs inside SubBatchNorm3d)
                stats = m.bn if hasattr(m, "split_bn") else m
                stats.running_mean.normal_(0, 0.2)
                stats.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model


def inputs_for(cfg, batch=2):
    size = cfg.DATA.TEST_CROP_SIZE
    inputs = dummy_inputs(cfg, size, batch=batch)
    torch.manual_seed(1)
    for x in inputs[0]:
        x.normal_()
    if cfg.DETECTION.ENABLE:  # two boxes per clip, inside the frame
        boxes = torch.tensor([[b, 2.0 + 3 * k, 4.0, size - 8.0 + k, size - 3.0] for b in range(batch) for k in (0, 1)])
        return inputs[0], boxes
    return inputs


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_optimized_model_gives_the_same_scores_and_leaves_the_original_alone(variant):
    path, opts = VARIANTS[variant]
    cfg = load_config(path, CPU + opts)
    model = trained_looking(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    n_bn = sum(1 for m in model.modules() if is_batch_norm(m))
    inputs = inputs_for(cfg)
    fast = optimize_for_inference(model)
    model.eval()
    with torch.no_grad():
        ref = model(*inputs)
        out = fast(*inputs)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-4, rtol=0), (out - ref).abs().max()
    # Not vacuous: the scores are not all equal (softmax of 4 classes, sigmoid of 80).
    assert ref.std() > 1e-3
    # The copy has no batch norm left and convolves in channels_last_3d; the original is unchanged.
    assert not any(is_batch_norm(m) for m in fast.modules())
    assert fast.model.s1.pathway0_stem.conv.weight.is_contiguous(memory_format=torch.channels_last_3d)
    assert sum(1 for m in model.modules() if is_batch_norm(m)) == n_bn
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert model.s1.pathway0_stem.conv.weight.is_contiguous() and type(model.s1.pathway0_stem.conv) is torch.nn.Conv3d


def test_backbone_features_match_too():
    cfg = load_config(TINY, CPU)
    model = trained_looking(cfg).eval()
    xs, = inputs_for(cfg)
    fast = optimize_for_inference(model)
    with torch.no_grad():
        for a, b in zip(model.forward_features(xs), fast.forward_features(xs)):
            assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def test_folding_one_conv_and_bn_by_hand():
    """BN(conv(x)) = conv'(x) with weight * gamma / sqrt(var + eps) and bias beta - mean * gamma / sqrt(var + eps)."""
    conv = torch.nn.Conv3d(2, 3, (3, 1, 1), padding=(1, 0, 0), bias=False)
    bn = torch.nn.BatchNorm3d(3, eps=1e-3)
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
        bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0]))
        bn.weight.copy_(torch.tensor([1.0, 2.0, -1.0]))
        bn.bias.copy_(torch.tensor([0.0, 0.5, 1.0]))
    bn.eval()
    fused = fold_conv_bn(conv, bn)
    x = torch.randn(2, 2, 4, 5, 5)
    with torch.no_grad():
        assert torch.allclose(fused(x), bn(conv(x)), atol=1e-5)
        expected_bias = torch.tensor([0.0, 0.5, 1.0]) - bn.running_mean * bn.weight / torch.sqrt(bn.running_var + 1e-3)
        assert torch.allclose(fused.bias, expected_bias)
    assert conv.bias is None  # the original convolution is untouched


def test_optimized_model_is_eval_only_and_accepts_any_memory_format():
    cfg = load_config(TINY, CPU)
    model = trained_looking(cfg)
    fast = optimize_for_inference(model)
    with pytest.raises(RuntimeError, match="eval-only"):
        fast.train()
    fast.eval()  # allowed
    xs, = inputs_for(cfg)
    with torch.no_grad():
        a = fast(xs)
        b = fast([x.contiguous(memory_format=torch.channels_last_3d) for x in xs])
    assert torch.allclose(a, b, atol=1e-6)
    assert optimize_for_inference(fast) is fast


def test_test_option_turns_it_off():
    model = trained_looking(load_config(TINY, CPU))
    assert isinstance(inference_model(load_config(TINY, CPU), model), InferenceModel)
    plain = inference_model(load_config(TINY, CPU + ["TEST.OPTIMIZE_MODEL", "False"]), model)
    assert plain is model and not model.training


def test_kinetics_test_loop_scores_are_the_same_with_and_without_it(tmp_path):
    """The multi-view test loop runs the optimised copy by default (TEST.OPTIMIZE_MODEL); per-video scores agree."""
    from slowfast.datasets.synthetic import make_kinetics_synthetic
    from slowfast.engine.classification_inference import run_classification_test

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=4, num_val=2, num_test=3, size=32, num_frames=24, seed=0,
                            num_workers=1)
    scores = {}
    for flag in ("True", "False"):
        cfg = load_config(TINY, CPU + ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False",
                                       "OUTPUT_DIR", str(tmp_path / flag), "DATA.NUM_FRAMES", "8",
                                       "DATA_LOADER.NUM_WORKERS", "0", "TEST.NUM_ENSEMBLE_VIEWS", "1",
                                       "TEST.OPTIMIZE_MODEL", flag])
        model = trained_looking(cfg)
        run_classification_test(cfg, model)
        scores[flag] = np.load(tmp_path / flag / "test_scores.npz")["scores"]
    assert scores["True"].shape == (3, 4)
    np.testing.assert_allclose(scores["True"], scores["False"], atol=1e-5, rtol=0)


def test_the_old_form_with_a_cfg_still_works_for_one_release_and_warns():
    """optimize_for_inference(model, cfg[, fold_bn[, memory_format]]) (the cfg was never used): the same
    result, and a DeprecationWarning; without a cfg, no warning."""
    cfg = load_config(TINY, CPU)
    model = trained_looking(cfg).eval()
    xs, = inputs_for(cfg)
    with pytest.warns(DeprecationWarning, match="cfg argument is unused"):
        old = optimize_for_inference(model, cfg)
    with pytest.warns(DeprecationWarning):
        unfolded = optimize_for_inference(model, cfg, False, torch.contiguous_format)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = optimize_for_inference(model)
    with torch.no_grad():
        assert torch.equal(old(xs), new(xs))
    assert any(is_batch_norm(m) for m in unfolded.modules()) and unfolded.memory_format == torch.contiguous_format
