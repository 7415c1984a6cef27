"""A checkpoint that does not fit the run says so (issue 18): another architecture is refused (unless
TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH), other data keys are warned about on every path, NaN weights and an
epoch past the schedule stop the run in one line, and fine-tuning onto another label set still works."""
import logging
import os

import pytest
import torch

from demo_fixtures import KINETICS_TINY, config_with_checkpoint, textured_frames, write_video
from slowfast import checkpoint as cu
from slowfast.apps.demo import run_demo
from slowfast.apps.run_net import main
from slowfast.config import ConfigError, load_config
from slowfast.engine.common import check_epoch_in_schedule, load_weights_for_training
from slowfast.models import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
BASE = ["NUM_GPUS", "0", "LOG_MODEL_INFO", "False", "DATA_LOADER.NUM_WORKERS", "0"]


def cfg_for(out, *opts):
    return load_config(TINY, [*BASE, "OUTPUT_DIR", str(out), *opts])


def save(path, *opts, epoch=1, fill=None):
    """A checkpoint trained with TINY + `opts` (stored cfg included), its weights optionally `fill`ed."""
    cfg = cfg_for(os.path.dirname(path), *opts)
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu")
    if fill is not None:
        with torch.no_grad():
            next(model.parameters()).fill_(fill)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return cu.save_checkpoint(str(path), model, epoch=epoch, cfg=cfg)


def run_net_error(capsys, *opts):
    """run_net's exit status 2 and its one error line (the CLI's second line only says where the traceback is)."""
    assert main(["--cfg", TINY, *BASE, *opts]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    assert len(lines) == 1 or (len(lines) == 2 and "the traceback is in" in lines[1]), lines
    return lines[0]


def optimizer_for(model):
    return torch.optim.SGD(model.parameters(), lr=0.1)


def test_auto_resume_after_slowfast_alpha_changed_is_refused_naming_the_key_and_the_override(tmp_path, capsys):
    out = tmp_path / "out"
    path = save(cu.checkpoint_path(str(out), 2), "SLOWFAST.ALPHA", "8", epoch=2)
    line = run_net_error(capsys, "OUTPUT_DIR", str(out))
    assert path in line and "SLOWFAST.ALPHA: checkpoint 8, current config 4" in line
    assert "SLOWFAST.ALPHA 8" in line and "TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH True" in line
    assert os.path.exists(path)  # a misfit is not a damaged file: it is not renamed aside


def test_the_override_resumes_anyway_with_a_warning(tmp_path, caplog):
    out = tmp_path / "out"
    path = save(cu.checkpoint_path(str(out), 2), "SLOWFAST.ALPHA", "8", epoch=2)
    cfg = cfg_for(out, "TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH", "True")
    model = build_model(cfg, device="cpu")
    with caplog.at_level(logging.WARNING):
        assert load_weights_for_training(cfg, model, optimizer_for(model)) == 2
    assert path in caplog.text and "SLOWFAST.ALPHA: checkpoint 8, current config 4" in caplog.text
    assert "loading it anyway" in caplog.text


def test_the_override_key_is_validated_like_other_keys(tmp_path):
    with pytest.raises(ConfigError, match="TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH"):
        cfg_for(tmp_path, "TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH", "'maybe'")


def test_the_demo_warns_when_data_mean_differs(tmp_path, caplog):
    trained = config_with_checkpoint(tmp_path, KINETICS_TINY, "DATA.MEAN", "[0.5, 0.5, 0.5]")
    current = load_config(KINETICS_TINY, ["OUTPUT_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False",
                                          "DATA_LOADER.NUM_WORKERS", "0", "DATA.MEAN", "[0.45, 0.45, 0.45]",
                                          "TEST.CHECKPOINT_FILE_PATH", trained.TEST.CHECKPOINT_FILE_PATH])
    video = write_video(tmp_path / "clip.mp4", textured_frames(40))
    with caplog.at_level(logging.WARNING):
        run_demo(current, video, str(tmp_path / "out.mp4"))
    assert "DATA.MEAN: checkpoint [0.5, 0.5, 0.5], current config [0.45, 0.45, 0.45]" in caplog.text
    assert 'add: DATA.MEAN "[0.5, 0.5, 0.5]"' in caplog.text and os.path.exists(tmp_path / "out.mp4")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_weights_are_refused_before_testing(tmp_path, capsys, bad):
    path = save(tmp_path / "diverged.pyth", fill=bad)
    out = tmp_path / "out"
    line = run_net_error(capsys, "OUTPUT_DIR", str(out), "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", path)
    first = next(iter(build_model(cfg_for(out), device="cpu").state_dict()))
    assert line.startswith("error: ") and path in line and "not finite" in line and first in line
    assert not any("result" in n or n.endswith(".json") for n in os.listdir(out))  # nothing was tested


def test_a_checkpoint_past_the_schedule_stops_the_run_with_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    path = save(cu.checkpoint_path(str(out), 9), epoch=9)
    line = run_net_error(capsys, "OUTPUT_DIR", str(out), "SOLVER.MAX_EPOCH", "6")
    assert path in line and "epoch 9" in line and "SOLVER.MAX_EPOCH 6" in line
    # The same file initialising a run without an epoch reset; a test-only run does not mind.
    line = run_net_error(capsys, "OUTPUT_DIR", str(tmp_path / "other"), "TRAIN.CHECKPOINT_FILE_PATH", path)
    assert "epoch 9" in line and "TRAIN.CHECKPOINT_EPOCH_RESET True" in line
    check_epoch_in_schedule(cfg_for(out, "TRAIN.ENABLE", "False"), path, 9, "")


def test_fine_tuning_from_a_checkpoint_with_another_number_of_classes_still_works(tmp_path, caplog):
    pretrained = save(tmp_path / "k600.pyth", "MODEL.NUM_CLASSES", "7", "MODEL.HEAD_ACT", "sigmoid", epoch=30)
    opts = ["TRAIN.CHECKPOINT_FILE_PATH", pretrained, "TRAIN.CHECKPOINT_PARTIAL_LOAD", "True",
            "TRAIN.CHECKPOINT_EPOCH_RESET", "True"]
    cfg = cfg_for(tmp_path / "out", *opts)
    model = build_model(cfg, device="cpu")
    with caplog.at_level(logging.INFO):
        assert load_weights_for_training(cfg, model, optimizer_for(model)) == 0
    assert "MODEL.NUM_CLASSES: checkpoint 7, current config 4" in caplog.text
    stored = cu.read_checkpoint(pretrained)["model_state"]
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in stored.items() if not k.startswith("head."))
    # The backbone must still fit: another SLOWFAST.ALPHA is refused for fine-tuning too.
    cfg = cfg_for(tmp_path / "out2", *opts, "SLOWFAST.ALPHA", "8")
    model = build_model(cfg, device="cpu")
    with pytest.raises(cu.CheckpointError, match="SLOWFAST.ALPHA: checkpoint 4, current config 8"):
        load_weights_for_training(cfg, model, optimizer_for(model))


def test_auto_resume_sets_a_diverged_newest_checkpoint_aside_and_resumes_from_the_previous_one(tmp_path, caplog):
    out = tmp_path / "out"
    save(cu.checkpoint_path(str(out), 1), epoch=1)
    nan = save(cu.checkpoint_path(str(out), 2), epoch=2, fill=float("nan"))
    cfg = cfg_for(out)
    model = build_model(cfg, device="cpu")
    with caplog.at_level(logging.WARNING):
        assert load_weights_for_training(cfg, model, optimizer_for(model)) == 1
    assert "not finite" in caplog.text and os.path.exists(nan + ".corrupt") and not os.path.exists(nan)


@pytest.mark.parametrize("tool", ["demo", "extract_features"])
def test_the_demo_and_the_feature_extractor_refuse_another_architecture_in_one_line_and_honour_the_override(
        tmp_path, tool):
    """Their hint names TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH, and they accept it as an override like run_net."""
    import subprocess
    import sys

    ckpt = save(tmp_path / "ckpt" / "alpha2.pyth", "SLOWFAST.ALPHA", "2")  # TINY has 4
    video = write_video(tmp_path / "clip.mp4", textured_frames(40))
    out = ["--output", str(tmp_path / ("out.mp4" if tool == "demo" else "features"))]
    argv = [sys.executable, os.path.join(ROOT, "tools", f"{tool}.py"), "--cfg", TINY, "--input", video, *out,
            *BASE, "OUTPUT_DIR", str(tmp_path), "TEST.CHECKPOINT_FILE_PATH", ckpt]
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("SLOWFAST_DEBUG", None)
    refused = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert "SLOWFAST.ALPHA" in lines[0] and "TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH True" in lines[0]
    forced = subprocess.run(argv + ["TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH", "True"], capture_output=True, text=True,
                            env=env, timeout=300)
    assert forced.returncode == 0, forced.stderr[-2000:]
    assert "loading it anyway" in forced.stdout + forced.stderr
