"""Checkpoints: `.pyth` save/load, atomic writes, PySlowFast key layout, Caffe2 `.pkl` names,
Kinetics -> AVA fine-tuning, 2D -> 3D inflation, the conversion tool. Every checkpoint is written
here from tiny models (or from models built on the meta device for key-set checks)."""
import logging
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from slowfast.config import load_config
from slowfast.models import build_model
from slowfast.checkpoint.caffe2 import (
    c2_to_pytorch_name,
    last_block_per_stage,
    pytorch_to_c2_name,
    read_caffe2_checkpoint,
    state_dict_to_blobs,
)
from slowfast.checkpoint import (
    CheckpointError,
    inflate_state,
    load_checkpoint,
    load_state,
    read_checkpoint,
    save_checkpoint,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
R50 = os.path.join(ROOT, "configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml")
AVA = os.path.join(ROOT, "configs/AVA/SLOWFAST_8x8.yaml")
# The AVA SlowFast 8x8 R101+NL detector as overrides, for worktrees without configs/AVA.
AVA_OVERRIDES = [
    "DETECTION.ENABLE", "True", "MODEL.NUM_CLASSES", "80", "RESNET.DEPTH", "101",
    "RESNET.SPATIAL_STRIDES", "[[1, 1], [2, 2], [2, 2], [1, 1]]",
    "RESNET.SPATIAL_DILATIONS", "[[1, 1], [1, 1], [1, 1], [2, 2]]",
    "NONLOCAL.LOCATION", "[[[], []], [[], []], [[6, 13, 20], []], [[], []]]",
    "NONLOCAL.POOL", "[[[2, 2, 2], [2, 2, 2]], [[2, 2, 2], [2, 2, 2]], [[2, 2, 2], [2, 2, 2]], [[2, 2, 2], [2, 2, 2]]]",
]
HEAD_KEYS = ["head.projection.bias", "head.projection.weight"]


def tiny_model(seed=0, *opts):
    torch.manual_seed(seed)
    return build_model(load_config(TINY, list(opts)), device="cpu").eval()


def tiny_inputs():
    g = torch.Generator().manual_seed(1)
    return [torch.randn(2, 3, 2, 32, 32, generator=g), torch.randn(2, 3, 8, 32, 32, generator=g)]


def perturbed(model):
    """Give every BN non-trivial statistics so that a load that skips buffers is noticed."""
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if t.is_floating_point():
                t.add_(torch.rand_like(t) * 0.1)
            elif name.endswith("num_batches_tracked"):
                t.fill_(7)
    return model


def assert_same_state(a, b, skip=()):
    assert set(a) == set(b)
    for k in a:
        if k.endswith(tuple(skip)):
            continue
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), k


# --------------------------------------------------------------------------------------------------
# PySlowFast's key layout, enumerated from its model code (video_model_builder.SlowFast, ResStage,
# ResBlock, BottleneckTransform, Nonlocal, ResNetBasicStem, FuseFastToSlow, the heads), independently
# of slowfast/models.

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def pyslowfast_keys(depths, nonlocal_locations, num_pathways=2):
    """State-dict keys of a PySlowFast bottleneck SlowFast/ResNet with the given stage depths."""
    keys = {"head.projection.weight", "head.projection.bias"}  # ResNetBasicHead and ResNetRoIHead alike

    def conv_bn(conv, bn, bias=False):
        keys.add(conv + ".weight")
        if bias:
            keys.add(conv + ".bias")
        if bn:
            keys.update(f"{bn}.{k}" for k in BN_KEYS)

    for p in range(num_pathways):
        conv_bn(f"s1.pathway{p}_stem.conv", f"s1.pathway{p}_stem.bn")
    if num_pathways == 2:
        for s in range(1, 5):  # laterals after pool1, res2, res3, res4
            conv_bn(f"s{s}_fuse.conv_f2s", f"s{s}_fuse.bn")
    for stage, depth in enumerate(depths):
        s = stage + 2
        for p in range(num_pathways):
            for i in range(depth):
                block = f"s{s}.pathway{p}_res{i}"
                if i == 0:  # the first bottleneck block always changes width: projection shortcut
                    conv_bn(f"{block}.branch1", f"{block}.branch1_bn")
                for x in "abc":
                    conv_bn(f"{block}.branch2.{x}", f"{block}.branch2.{x}_bn")
                if i in nonlocal_locations[stage][p]:
                    nl = f"s{s}.pathway{p}_nonlocal{i}"
                    for part in ("theta", "phi", "g", "out"):
                        conv_bn(f"{nl}.conv_{part}", None, bias=True)
                    keys.update(f"{nl}.bn.{k}" for k in BN_KEYS)
    return keys


def ava_cfg():
    return load_config(AVA) if os.path.exists(AVA) else load_config(R50, AVA_OVERRIDES)


@pytest.mark.parametrize("which", ["tiny", "r50", "ava_r101_nl"])
def test_state_dict_keys_equal_pyslowfast_layout(which):
    if which == "tiny":
        cfg, depths, nl = load_config(TINY), [1, 1, 1, 1], [[[], []]] * 4
    elif which == "r50":
        cfg, depths, nl = load_config(R50), [3, 4, 6, 3], [[[], []]] * 4
    else:
        cfg, depths, nl = ava_cfg(), [3, 4, 23, 3], [[[], []], [[], []], [[6, 13, 20], []], [[], []]]
    model = build_model(cfg, device="meta")
    assert set(model.state_dict()) == pyslowfast_keys(depths, nl)
    if which == "ava_r101_nl":
        assert type(model.head).__name__ == "ResNetRoIHead"
        assert model.state_dict()["head.projection.weight"].shape == (80, 2048 + 256)


def test_pyslowfast_style_pyth_loads_strictly(tmp_path):
    src = perturbed(tiny_model(0))
    path = str(tmp_path / "pyslowfast.pyth")
    # What PySlowFast's save_checkpoint writes: state dict, optimizer state, epoch, cfg as YAML text.
    opt = torch.optim.SGD(src.parameters(), lr=0.1, momentum=0.9)
    torch.save({"epoch": 12, "model_state": src.state_dict(), "optimizer_state": opt.state_dict(),
                "cfg": load_config(TINY).dump()}, path)
    assert set(src.state_dict()) == pyslowfast_keys([1, 1, 1, 1], [[[], []]] * 4)
    dst = tiny_model(1)
    assert load_checkpoint(path, dst, checkpoint_type="pytorch") == 12
    assert_same_state(src.state_dict(), dst.state_dict())
    # Saved from a DistributedDataParallel model: every key behind "module.".
    torch.save({"model_state": {"module." + k: v for k, v in src.state_dict().items()}}, path)
    load_checkpoint(path, tiny_model(2))


# --------------------------------------------------------------------------------------------------
# Our own .pyth files.

def test_save_load_round_trip_outputs_optimizer_and_epoch(tmp_path):
    src = tiny_model(0)
    opt = torch.optim.SGD(src.parameters(), lr=0.1, momentum=0.9)
    for p in src.parameters():  # one SGD step, so that momentum buffers exist
        p.grad = torch.randn_like(p)
    opt.step()
    path = save_checkpoint(str(tmp_path / "c.pyth"), src, opt, epoch=5, cfg=load_config(TINY))
    dst = tiny_model(1)
    opt2 = torch.optim.SGD(dst.parameters(), lr=0.1, momentum=0.9)
    assert load_checkpoint(path, dst, opt2) == 5
    with torch.no_grad():
        assert torch.equal(src(tiny_inputs()), dst(tiny_inputs()))
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for k in s1["state"]:
        assert torch.equal(s1["state"][k]["momentum_buffer"], s2["state"][k]["momentum_buffer"])


def test_atomic_write_leaves_no_temp_file_and_survives_a_crash(tmp_path, monkeypatch):
    model = tiny_model(0)
    path = str(tmp_path / "c.pyth")
    save_checkpoint(path, model, epoch=1)
    assert os.listdir(tmp_path) == ["c.pyth"]
    before = open(path, "rb").read()

    def crash(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, tiny_model(1), epoch=2)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["c.pyth"]
    assert open(path, "rb").read() == before
    assert read_checkpoint(path)["epoch"] == 1


def test_errors_name_the_file(tmp_path):
    missing = str(tmp_path / "missing.pyth")
    for kind in ("pytorch", "caffe2"):
        with pytest.raises(CheckpointError, match="missing.pyth"):
            load_checkpoint(missing, tiny_model(0), checkpoint_type=kind)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a checkpoint\n")
    for kind in ("pytorch", "caffe2"):
        with pytest.raises(CheckpointError, match="notes.txt"):
            load_checkpoint(str(junk), tiny_model(0), checkpoint_type=kind)
    other = str(tmp_path / "list.pyth")
    torch.save([1, 2, 3], other)
    with pytest.raises(CheckpointError, match="list.pyth: not a checkpoint"):
        read_checkpoint(other)
    pkl = tmp_path / "other.pkl"
    pkl.write_bytes(pickle.dumps({"something": "else"}))
    with pytest.raises(CheckpointError, match="other.pkl: not a Caffe2 checkpoint"):
        load_checkpoint(str(pkl), tiny_model(0), checkpoint_type="caffe2")
    with pytest.raises(CheckpointError, match="unsupported checkpoint_type 'tf'"):
        load_checkpoint(missing, tiny_model(0), checkpoint_type="tf")
    # Another number of classes: a shape mismatch, named with the file and both shapes.
    path = save_checkpoint(str(tmp_path / "k400.pyth"), tiny_model(0))
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path, tiny_model(0, "MODEL.NUM_CLASSES", "7"))
    msg = str(e.value)
    assert "k400.pyth" in msg and "head.projection.weight" in msg
    assert re.search(r"checkpoint \[4, \d+\] vs model \[7, \d+\]", msg)
    assert "only the classifier head differs" in msg


def test_kinetics_checkpoint_into_ava_detector_drops_exactly_the_head(tmp_path, caplog):
    kinetics = perturbed(tiny_model(0))
    path = save_checkpoint(str(tmp_path / "k400.pyth"), kinetics, epoch=30)
    detector = tiny_model(1, "DETECTION.ENABLE", "True", "MODEL.NUM_CLASSES", "80",
                          "RESNET.SPATIAL_STRIDES", "[[1, 1], [2, 2], [2, 2], [1, 1]]",
                          "RESNET.SPATIAL_DILATIONS", "[[1, 1], [1, 1], [1, 1], [2, 2]]")
    head_before = {k: v.clone() for k, v in detector.state_dict().items() if k.startswith("head.")}
    with pytest.raises(CheckpointError):
        load_checkpoint(path, detector)
    report = load_state(detector, read_checkpoint(path)["model_state"], path, allow_partial=True)
    assert report["dropped"] == HEAD_KEYS and report["missing"] == [] and report["unexpected"] == []
    backbone = {k: v for k, v in kinetics.state_dict().items() if not k.startswith("head.")}
    after = detector.state_dict()
    for k, v in backbone.items():
        assert torch.equal(after[k], v), k
    for k, v in head_before.items():
        assert torch.equal(after[k], v), k
    with caplog.at_level(logging.WARNING, logger="slowfast.checkpoint.store"):
        load_checkpoint(path, detector, allow_partial=True)
    assert "fine-tuning" in caplog.text and "classifier head is dropped" in caplog.text
    assert "head.projection.weight" in caplog.text


# --------------------------------------------------------------------------------------------------
# Caffe2.

KNOWN_C2_NAMES = {
    "conv1_w": "s1.pathway0_stem.conv.weight",
    "res_conv1_bn_s": "s1.pathway0_stem.bn.weight",
    "res_conv1_bn_riv": "s1.pathway0_stem.bn.running_var",
    "t_conv1_w": "s1.pathway1_stem.conv.weight",
    "t_res_conv1_bn_rm": "s1.pathway1_stem.bn.running_mean",
    "res2_0_branch2a_w": "s2.pathway0_res0.branch2.a.weight",
    "res2_0_branch2a_bn_b": "s2.pathway0_res0.branch2.a_bn.bias",
    "res4_0_branch1_w": "s4.pathway0_res0.branch1.weight",
    "t_res3_0_branch1_bn_s": "s3.pathway1_res0.branch1_bn.weight",
    "t_res5_2_branch2c_bn_riv": "s5.pathway1_res2.branch2.c_bn.running_var",
    "t_pool1_subsample_w": "s1_fuse.conv_f2s.weight",
    "t_pool1_subsample_bn_s": "s1_fuse.bn.weight",
    "t_res2_2_branch2c_bn_subsample_w": "s2_fuse.conv_f2s.weight",
    "t_res4_5_branch2c_bn_subsample_bn_rm": "s4_fuse.bn.running_mean",
    "nonlocal_conv4_6_theta_w": "s4.pathway0_nonlocal6.conv_theta.weight",
    "nonlocal_conv4_13_out_b": "s4.pathway0_nonlocal13.conv_out.bias",
    "nonlocal_conv4_20_bn_s": "s4.pathway0_nonlocal20.bn.weight",
    "pred_w": "head.projection.weight",
    "pred_b": "head.projection.bias",
}


def test_caffe2_names_known_and_inverse():
    for c2, pt in KNOWN_C2_NAMES.items():
        assert c2_to_pytorch_name(c2) == pt
    r50_last = {2: 2, 3: 3, 4: 5, 5: 2}
    for c2, pt in KNOWN_C2_NAMES.items():
        assert pytorch_to_c2_name(pt, r50_last) == c2
    with pytest.raises(KeyError):
        c2_to_pytorch_name("fc1000_w")
    with pytest.raises(KeyError):
        pytorch_to_c2_name("s2_fuse.conv_f2s.weight")  # needs the last block of res2
    # Every key of the AVA R101+NL detector maps to Caffe2 and back.
    keys = build_model(ava_cfg(), device="meta").state_dict()
    last = last_block_per_stage(keys)
    assert last == {2: 2, 3: 3, 4: 22, 5: 2}
    c2 = [pytorch_to_c2_name(k, last) for k in keys]
    assert len(set(c2)) == len(c2) and [c2_to_pytorch_name(n) for n in c2] == list(keys)


def test_caffe2_pickle_loads_bit_identically(tmp_path):
    src = perturbed(tiny_model(0))
    blobs = state_dict_to_blobs(src.state_dict())
    # A real Caffe2 file: no BN batch counter, the classifier as a 1x1x1 conv, optimiser blobs.
    blobs = {k: v for k, v in blobs.items() if not k.endswith("_bn_nbt")}
    blobs["pred_w"] = blobs["pred_w"].reshape(*blobs["pred_w"].shape, 1, 1, 1)
    blobs.update({"res2_0_branch2a_w_momentum": np.zeros(3, np.float32), "lr": np.float32(0.1),
                  "model_iter": np.array([1000], np.int64), "res2_0_branch2a_bn_siv": np.ones(3, np.float32)})
    path = str(tmp_path / "c2.pkl")
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs}, f, protocol=2)
    dst = tiny_model(1)
    assert load_checkpoint(path, dst, checkpoint_type="caffe2") == 0
    assert_same_state(src.state_dict(), dst.state_dict(), skip=("num_batches_tracked",))
    assert all(int(v) == 0 for k, v in dst.state_dict().items() if k.endswith("num_batches_tracked"))
    skipped = read_caffe2_checkpoint(path, dst.state_dict())["skipped"]
    assert sorted(skipped) == ["lr", "model_iter", "res2_0_branch2a_bn_siv", "res2_0_branch2a_w_momentum"]


def test_convert_tool_round_trips_bit_identically(tmp_path):
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import convert_checkpoint
    finally:
        sys.path.pop(0)
    src = perturbed(tiny_model(0))
    pyth = save_checkpoint(str(tmp_path / "a.pyth"), src, epoch=4)
    pkl, back, plain = (str(tmp_path / n) for n in ("a.pkl", "b.pyth", "b.pt"))
    # From the repository root, without installing the package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run([sys.executable, "tools/convert_checkpoint.py", "--input", pyth, "--output", pkl,
                          "--to", "caffe2"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert convert_checkpoint.main(["--input", pkl, "--output", back, "--to", "pytorch", "--cfg", TINY]) == 0
    assert convert_checkpoint.main(["--input", back, "--output", plain, "--to", "state_dict"]) == 0
    assert_same_state(src.state_dict(), read_checkpoint(back)["model_state"])
    assert_same_state(src.state_dict(), torch.load(plain, weights_only=True))
    # The tool refuses a checkpoint that does not fit the config's model.
    assert convert_checkpoint.main(["--input", pyth, "--output", str(tmp_path / "x.pyth"), "--to", "pytorch",
                                    "--cfg", TINY, "MODEL.NUM_CLASSES", "7"]) == 1
    assert not os.path.exists(tmp_path / "x.pyth")
    assert convert_checkpoint.main(["--input", str(tmp_path / "none.pkl"), "--output", back, "--to", "pytorch"]) == 2


# --------------------------------------------------------------------------------------------------
# Inflation.

class _Net(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv


def test_inflated_2d_kernel_matches_2d_conv_on_constant_clip(tmp_path):
    torch.manual_seed(0)
    conv2d = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    path = str(tmp_path / "imagenet.pyth")
    torch.save({"model_state": _Net(conv2d).state_dict()}, path)
    net3d = _Net(nn.Conv3d(3, 4, (3, 3, 3), padding=(0, 1, 1), bias=False))
    with pytest.raises(CheckpointError, match="imagenet.pyth"):
        load_checkpoint(path, net3d)
    load_checkpoint(path, net3d, inflate=True)
    frame = torch.randn(2, 3, 9, 9)
    clip = frame.unsqueeze(2).expand(2, 3, 5, 9, 9)
    with torch.no_grad():
        out3d, out2d = net3d.conv(clip), conv2d(frame)
    assert out3d.shape == (2, 4, 3, 9, 9)
    for t in range(3):
        torch.testing.assert_close(out3d[:, :, t], out2d, rtol=1e-5, atol=1e-5)
    # Tensors that are not 2D kernels of a 3D model tensor are left alone.
    state = {"conv.weight": conv2d.weight.detach(), "fc.weight": torch.ones(2, 2)}
    out = inflate_state(state, {"conv.weight": torch.empty(4, 3, 3, 3, 3), "fc.weight": torch.empty(2, 2)})
    assert out["conv.weight"].shape == (4, 3, 3, 3, 3) and out["fc.weight"] is state["fc.weight"]


def test_plain_bn_checkpoint_loads_into_sub_batch_norm_model(tmp_path):
    """PySlowFast stores sub-batch BN as plain BN keys; they fill both `bn` and the tiled `split_bn`."""
    src = perturbed(tiny_model(0))
    path = save_checkpoint(str(tmp_path / "plain.pyth"), src)
    dst = tiny_model(1, "BN.NORM_TYPE", "sub_batchnorm", "BN.NUM_SPLITS", "2")
    load_checkpoint(path, dst)
    plain, sub = src.state_dict(), dst.state_dict()
    key = "s2.pathway0_res0.branch2.a_bn"
    assert torch.equal(sub[key + ".weight"], plain[key + ".weight"])
    assert torch.equal(sub[key + ".bn.running_var"], plain[key + ".running_var"])
    assert torch.equal(sub[key + ".split_bn.running_mean"], plain[key + ".running_mean"].repeat(2))
    dst.eval()
    src.eval()
    with torch.no_grad():
        torch.testing.assert_close(dst(tiny_inputs()), src(tiny_inputs()))
    # The same through a Caffe2 file (no batch counters there).
    pkl = str(tmp_path / "plain.pkl")
    with open(pkl, "wb") as f:
        pickle.dump({"blobs": state_dict_to_blobs(src.state_dict())}, f, protocol=2)
    other = tiny_model(2, "BN.NORM_TYPE", "sub_batchnorm", "BN.NUM_SPLITS", "2")
    load_checkpoint(pkl, other, checkpoint_type="caffe2")
    assert_same_state(dst.state_dict(), other.state_dict(), skip=("num_batches_tracked",))


def test_caffe2_2d_imagenet_style_pickle_inflates_into_the_slow_pathway(tmp_path):
    """An ImageNet ResNet in Caffe2 names (Slow pathway names, 2D kernels, a 1000-way `pred`)."""
    model = tiny_model(0)
    ref = model.state_dict()
    blobs = {}
    for key, c2 in zip(ref, (pytorch_to_c2_name(k, last_block_per_stage(ref)) for k in ref)):
        if c2.startswith("t_") or c2.startswith("pred"):
            continue
        value = ref[key].numpy() + 1.0
        blobs[c2] = value[:, :, 0] if value.ndim == 5 else value  # O x I x kH x kW
    blobs["pred_w"], blobs["pred_b"] = np.zeros((1000, 2048), np.float32), np.zeros(1000, np.float32)
    path = str(tmp_path / "r50_imagenet.pkl")
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs}, f, protocol=2)
    with pytest.raises(CheckpointError, match="r50_imagenet.pkl"):
        load_checkpoint(path, tiny_model(1), checkpoint_type="caffe2", inflate=True)
    dst = tiny_model(1)
    fast_before = dst.state_dict()["s1.pathway1_stem.conv.weight"].clone()
    load_checkpoint(path, dst, checkpoint_type="caffe2", inflate=True, allow_partial=True)
    out = dst.state_dict()
    w = out["s4.pathway0_res0.branch2.a.weight"]  # temporal kernel 3 in res4 of the Slow pathway
    assert w.shape[2] == 3
    expected = torch.from_numpy(blobs["res4_0_branch2a_w"]).unsqueeze(2).repeat(1, 1, 3, 1, 1) / 3
    assert torch.equal(w, expected)
    assert torch.equal(out["s1.pathway0_stem.bn.running_var"], torch.from_numpy(blobs["res_conv1_bn_riv"]))
    assert torch.equal(out["s1.pathway1_stem.conv.weight"], fast_before)  # the Fast pathway keeps its init
