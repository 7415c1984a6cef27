"""Reading a checkpoint never runs code from it (SECURITY.md): our `.pyth` files load with
`weights_only=True`, PySlowFast's older files and Caffe2 pickles through a restricted unpickler, anything
else is refused unless TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE is set for a named file. Auto-resume takes
the newest checkpoint that loads and sets unreadable ones aside (the kill-and-resume run with a truncated
newest checkpoint is in test_kinetics_pipeline.py).

The hostile files carry a `__reduce__` payload that writes a marker file when unpickled."""
import os
import pickle

import numpy as np
import pytest
import torch
import yaml

from slowfast import checkpoint as cu
from slowfast.checkpoint import CheckpointReadError, load_checkpoint, read_checkpoint, safe_pickle, save_checkpoint
from slowfast.checkpoint.caffe2 import state_dict_to_blobs
from slowfast.config import load_config
from slowfast.engine.common import load_weights_for_testing, load_weights_for_training
from slowfast.models import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")


class Payload:
    """Unpickling this writes `marker`: what a hostile checkpoint would do (with os.system instead)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('pwned')",)


def tiny(seed=0, *opts):
    torch.manual_seed(seed)
    return build_model(load_config(TINY, ["NUM_GPUS", "0", *opts]), device="cpu")


def cfg_for(tmp_path, *opts):
    return load_config(TINY, ["NUM_GPUS", "0", "OUTPUT_DIR", str(tmp_path / "out"), *opts])


def hostile_pyth(path, marker, model=None):
    """A checkpoint in our layout whose `cfg` runs the payload."""
    state = (model or tiny()).state_dict()
    torch.save({"model_state": state, "optimizer_state": None, "epoch": 9, "cfg": Payload(marker)}, str(path))
    return str(path)


def hostile_pkl(path, marker, model=None):
    """A Caffe2 blob pickle (protocol 2, as Caffe2 wrote them) with the payload among the blobs."""
    blobs = state_dict_to_blobs((model or tiny()).state_dict())
    blobs["model_iter"] = Payload(marker)
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs}, f, protocol=2)
    return str(path)


# ----------------------------------------------------------------------------------- named files
@pytest.mark.parametrize("kind", ["pytorch", "caffe2"])
def test_a_hostile_test_checkpoint_is_refused_without_running_its_payload(tmp_path, kind):
    marker = tmp_path / "marker"
    path = (hostile_pyth(tmp_path / "model.pyth", marker) if kind == "pytorch"
            else hostile_pkl(tmp_path / "model.pkl", marker))
    cfg = cfg_for(tmp_path, "TEST.CHECKPOINT_FILE_PATH", path, "TEST.CHECKPOINT_TYPE", kind)
    with pytest.raises(CheckpointReadError) as e:
        load_weights_for_testing(cfg, tiny())
    assert not marker.exists()
    msg = str(e.value)
    assert path in msg and "builtins.exec" in msg and "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE True" in msg
    # The same file as TRAIN.CHECKPOINT_FILE_PATH (fine-tuning initialisation).
    cfg = cfg_for(tmp_path, "TRAIN.CHECKPOINT_FILE_PATH", path, "TRAIN.CHECKPOINT_TYPE", kind)
    model = tiny()
    with pytest.raises(CheckpointReadError):
        load_weights_for_training(cfg, model, torch.optim.SGD(model.parameters(), lr=0.1))
    assert not marker.exists()


@pytest.mark.parametrize("kind", ["pytorch", "caffe2"])
def test_the_opt_in_fully_unpickles_a_named_file(tmp_path, kind):
    """The payload is real: with TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE True it runs (and the weights load)."""
    marker = tmp_path / "marker"
    src = tiny(3)
    path = (hostile_pyth(tmp_path / "model.pyth", marker, src) if kind == "pytorch"
            else hostile_pkl(tmp_path / "model.pkl", marker, src))
    cfg = cfg_for(tmp_path, "TEST.CHECKPOINT_FILE_PATH", path, "TEST.CHECKPOINT_TYPE", kind,
                  "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE", "True")
    dst = tiny(4)
    assert load_weights_for_testing(cfg, dst) == path
    assert marker.read_text() == "pwned"
    assert torch.equal(dst.state_dict()["head.projection.weight"], src.state_dict()["head.projection.weight"])


# ----------------------------------------------------------------------------------- auto-resume
@pytest.mark.parametrize("kind", ["pytorch", "caffe2"])
def test_auto_resume_never_runs_a_payload_dropped_into_the_checkpoint_folder(tmp_path, kind):
    marker = tmp_path / "marker"
    # Even with the opt-in: it applies to named files only, never to what lies in OUTPUT_DIR.
    cfg = cfg_for(tmp_path, "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE", "True")
    good = tiny(1)
    save_checkpoint(cu.checkpoint_path(cfg.OUTPUT_DIR, 1), good, epoch=1, cfg=cfg)
    newest = cu.checkpoint_path(cfg.OUTPUT_DIR, 2)
    (hostile_pyth if kind == "pytorch" else hostile_pkl)(newest, marker)
    model = tiny(2)
    assert load_weights_for_training(cfg, model, torch.optim.SGD(model.parameters(), lr=0.1)) == 1
    assert not marker.exists()
    assert torch.equal(model.state_dict()["head.projection.weight"], good.state_dict()["head.projection.weight"])
    assert not os.path.exists(newest) and os.path.exists(newest + ".corrupt")  # set aside, not deleted
    # In the test loop the checkpoint folder is read the same way.
    (hostile_pyth if kind == "pytorch" else hostile_pkl)(newest, marker)
    with pytest.raises(CheckpointReadError, match="refusing to unpickle"):
        load_weights_for_testing(cfg, tiny())
    assert not marker.exists()


@pytest.mark.parametrize("module, name", [
    ("os", "system"), ("builtins", "eval"), ("builtins", "getattr"), ("numpy", "load"), ("torch", "load"),
    ("subprocess", "Popen"), ("torch.serialization", "load"), ("numpy.testing", "runstring"),
])
def test_the_restricted_unpickler_refuses_every_global_off_its_list(module, name):
    data = f"c{module}\n{name}\n(S'id'\ntR.".encode()  # protocol 0: GLOBAL, MARK, STRING, TUPLE, REDUCE
    with pytest.raises(safe_pickle.ForbiddenGlobal, match=f"{module}.{name}"):
        safe_pickle.loads(data)
    # Protocol-2 bytes go through _codecs.encode: the latin-1 codec only.
    with pytest.raises(safe_pickle.ForbiddenGlobal):
        safe_pickle.loads(b"c_codecs\nencode\n(S'x'\nS'rot13'\ntR.")
    assert safe_pickle.loads(pickle.dumps(b"\x00\xff", protocol=2)) == b"\x00\xff"


# ----------------------------------------------------------------------------------- legacy files
@pytest.mark.parametrize("node", ["yacs", "fvcore"])
@pytest.mark.parametrize("zipfile", [True, False])
def test_pyslowfast_legacy_checkpoint_with_numpy_arrays_and_a_cfgnode_loads_restricted(tmp_path, node, zipfile):
    """PySlowFast's older checkpoints: numpy arrays in the state, a CfgNode object as `cfg`, written by
    torch.save without weights_only (also in the pre-1.6 non-zip format)."""
    CfgNode = (__import__("yacs.config", fromlist=["CfgNode"]) if node == "yacs"
               else __import__("fvcore.common.config", fromlist=["CfgNode"])).CfgNode
    src = tiny(5)
    cfg = CfgNode({"TRAIN": CfgNode({"BATCH_SIZE": 64, "DATASET": "kinetics"}), "RESNET": CfgNode({"DEPTH": 50}),
                   "DATA": CfgNode({"TRAIN_JITTER_SCALES": (256, 320)})})
    cfg.freeze()
    state = {k: v.numpy() for k, v in src.state_dict().items()}
    path = str(tmp_path / "legacy.pyth")
    torch.save({"epoch": 44, "model_state": state, "optimizer_state": None, "cfg": cfg, "step": np.int64(7)},
               path, _use_new_zipfile_serialization=zipfile)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)  # needs more than tensors: the restricted path is exercised
    dst = tiny(6)
    assert load_checkpoint(path, dst) == 44
    for k, v in src.state_dict().items():
        assert torch.equal(dst.state_dict()[k], v), k
    stored = read_checkpoint(path)["cfg"]
    assert isinstance(stored, str)  # readable YAML text, as in our own files
    assert yaml.safe_load(stored) == {"TRAIN": {"BATCH_SIZE": 64, "DATASET": "kinetics"}, "RESNET": {"DEPTH": 50},
                                      "DATA": {"TRAIN_JITTER_SCALES": [256, 320]}}


def test_our_own_checkpoints_need_nothing_beyond_weights_only(tmp_path):
    model = tiny(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    path = save_checkpoint(str(tmp_path / "c.pyth"), model, opt, epoch=2, cfg=load_config(TINY),
                           scaler=torch.amp.GradScaler("cuda", enabled=False))
    data = torch.load(path, weights_only=True)
    assert isinstance(data["cfg"], str) and data["epoch"] == 2


# ----------------------------------------------------------------------------------- damaged files
def test_a_truncated_newest_checkpoint_is_set_aside_and_stale_temp_files_removed(tmp_path, caplog):
    cfg = cfg_for(tmp_path)
    save_checkpoint(cu.checkpoint_path(cfg.OUTPUT_DIR, 1), tiny(1), epoch=1)
    good = open(save_checkpoint(cu.checkpoint_path(cfg.OUTPUT_DIR, 2), tiny(2), epoch=2), "rb").read()
    newest = cu.checkpoint_path(cfg.OUTPUT_DIR, 3)
    with open(newest, "wb") as f:
        f.write(good[: len(good) // 2])  # a crash while copying
    with open(newest + ".corrupt", "wb") as f:
        f.write(b"an earlier casualty")  # kept: the new casualty gets another name
    stale = os.path.join(cu.checkpoint_dir(cfg.OUTPUT_DIR), ".tmp_abc123.pyth")
    open(stale, "wb").write(b"half a checkpoint")
    model = tiny(7)
    assert load_weights_for_training(cfg, model, torch.optim.SGD(model.parameters(), lr=0.1)) == 2
    assert not os.path.exists(stale)
    assert sorted(os.listdir(cu.checkpoint_dir(cfg.OUTPUT_DIR))) == [
        "checkpoint_epoch_00001.pyth", "checkpoint_epoch_00002.pyth", "checkpoint_epoch_00003.pyth.corrupt",
        "checkpoint_epoch_00003.pyth.corrupt.1"]
    assert open(newest + ".corrupt.1", "rb").read() == good[: len(good) // 2]
    assert "checkpoint_epoch_00003.pyth" in caplog.text and "cannot read checkpoint" in caplog.text


def test_a_checkpoint_that_does_not_fit_the_model_is_an_error_not_set_aside(tmp_path):
    cfg = cfg_for(tmp_path)
    path = save_checkpoint(cu.checkpoint_path(cfg.OUTPUT_DIR, 1), tiny(1, "MODEL.NUM_CLASSES", "7"), epoch=1)
    model = tiny(2)
    with pytest.raises(cu.CheckpointError, match="head.projection.weight"):
        load_weights_for_training(cfg, model, torch.optim.SGD(model.parameters(), lr=0.1))
    assert os.path.exists(path)


def test_the_conversion_tool_refuses_a_hostile_input_unless_told_otherwise(tmp_path, capsys):
    import sys

    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import convert_checkpoint
    finally:
        sys.path.pop(0)
    marker = tmp_path / "marker"
    src = hostile_pkl(tmp_path / "in.pkl", marker)
    out = str(tmp_path / "out.pyth")
    assert convert_checkpoint.main(["--input", src, "--output", out, "--to", "pytorch"]) == 2
    assert not marker.exists() and not os.path.exists(out)
    assert "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE" in capsys.readouterr().err
    assert convert_checkpoint.main(["--input", src, "--output", out, "--to", "pytorch", "--allow-unsafe-pickle"]) == 0
    assert marker.exists() and torch.load(out, weights_only=True)["epoch"] == 0


@pytest.mark.parametrize("content, message", [
    ({"model_state": ["not", "a", "dict"]}, "'model_state' is a list"),
    ({"model_state": {"w": "text"}}, "'model_state' entry 'w' is not a named tensor"),
    ({"model_state": {"w": torch.ones(1)}, "epoch": "ten"}, "'epoch' is 'ten'"),
    ({"model_state": {"w": torch.ones(1)}, "optimizer_state": [1]}, "'optimizer_state' is a list"),
])
def test_a_crafted_checkpoint_layout_is_an_error_naming_the_field(tmp_path, content, message):
    path = str(tmp_path / "odd.pyth")
    torch.save(content, path)
    with pytest.raises(CheckpointReadError, match=f"odd.pyth: {message}"):
        read_checkpoint(path)


@pytest.mark.parametrize("damage", ["empty", "half", "random"])
def test_a_damaged_named_checkpoint_is_one_clear_error(tmp_path, damage):
    good = open(save_checkpoint(str(tmp_path / "good.pyth"), tiny(0), epoch=1), "rb").read()
    data = {"empty": b"", "half": good[: len(good) // 2], "random": np.random.default_rng(0).bytes(4096)}[damage]
    for kind, name in (("pytorch", "bad.pyth"), ("caffe2", "bad.pkl")):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(CheckpointReadError, match=f"cannot read (Caffe2 )?checkpoint {path}"):
            load_checkpoint(str(path), tiny(1), checkpoint_type=kind)


def test_an_optimizer_state_that_does_not_fit_names_the_file(tmp_path):
    model = tiny(0)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    path = save_checkpoint(str(tmp_path / "c.pyth"), model, sgd, epoch=1)
    other = torch.optim.SGD(list(model.parameters())[:3], lr=0.1)
    with pytest.raises(cu.CheckpointError, match="c.pyth: the optimizer / grad-scaler state does not fit"):
        load_checkpoint(path, tiny(1), other)


def test_a_self_containing_legacy_cfg_is_an_error_not_a_crash(tmp_path):
    from yacs.config import CfgNode

    cfg = CfgNode()
    dict.__setitem__(cfg, "SELF", cfg)
    path = str(tmp_path / "loop.pyth")
    torch.save({"model_state": {"w": torch.ones(1)}, "cfg": cfg}, path)
    with pytest.raises(CheckpointReadError, match="loop.pyth: its cfg or model state is malformed"):
        read_checkpoint(path)
