"""A feature folder remembers what it was computed with (issue 18): a rerun with the same settings skips,
one with another checkpoint or --num-clips is refused (exit 2) naming what differs, --overwrite recomputes."""
import json
import shutil

import numpy as np
import pytest
import torch

from demo_fixtures import KINETICS_TINY, config_with_checkpoint, textured_frames, write_video
from slowfast.apps.cli_tools import extract_features_main


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fingerprint")
    video = write_video(tmp / "a.mp4", textured_frames(40))
    cfg = config_with_checkpoint(tmp, KINETICS_TINY)
    other = tmp / "other.pyth"  # another checkpoint: same architecture, other weights
    state = torch.load(cfg.TEST.CHECKPOINT_FILE_PATH, map_location="cpu", weights_only=False)
    for value in state["model_state"].values():
        if value.is_floating_point():
            value.add_(0.01)
    torch.save(state, other)
    return tmp, video, cfg.TEST.CHECKPOINT_FILE_PATH, str(other)


def _args(tmp, video, out, checkpoint, *extra):
    return ["--cfg", KINETICS_TINY, "--input", video, "--output", str(out), *extra, "OUTPUT_DIR", str(tmp),
            "TEST.CHECKPOINT_FILE_PATH", checkpoint, "DATA_LOADER.NUM_WORKERS", "0", "DATA.GENERATE_SYNTHETIC", "False"]


def test_same_settings_skip_other_checkpoint_or_num_clips_refused_overwrite_recomputes(setup, capsys):
    tmp, video, checkpoint, other = setup
    out = tmp / "feats"
    shutil.rmtree(out, ignore_errors=True)
    assert extract_features_main(_args(tmp, video, out, checkpoint)) == 0
    before = (out / "a.npy").read_bytes()
    fingerprint = json.loads((out / "fingerprint.json").read_text())
    assert fingerprint["num_clips"] == 0 and len(fingerprint["videos"]["a"]) == 2 and len(fingerprint["checkpoint_sha256"]) == 64
    capsys.readouterr()

    assert extract_features_main(_args(tmp, video, out, checkpoint)) == 0  # same settings: skipped
    assert "0 written, 1 skipped" in capsys.readouterr().out

    assert extract_features_main(_args(tmp, video, out, other)) == 2  # another checkpoint: refused
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "checkpoint" in err[0] and "--overwrite" in err[0]
    assert (out / "a.npy").read_bytes() == before

    assert extract_features_main(_args(tmp, video, out, checkpoint, "--num-clips", "3")) == 2
    err = capsys.readouterr().err
    assert "--num-clips (0 -> 3)" in err and "checkpoint" not in err.split("settings:")[1]
    assert (out / "a.npy").read_bytes() == before

    assert extract_features_main(_args(tmp, video, out, other, "--overwrite")) == 0  # recomputed
    assert "1 written, 0 skipped" in capsys.readouterr().out
    assert np.load(out / "a.npy").shape == (2, 640) and (out / "a.npy").read_bytes() != before
    assert extract_features_main(_args(tmp, video, out, other)) == 0  # the new fingerprint: skipped again
    assert "0 written, 1 skipped" in capsys.readouterr().out


def test_a_config_key_that_changes_features_is_named(setup, capsys):
    tmp, video, checkpoint, _ = setup
    out = tmp / "feats_cfg"
    assert extract_features_main(_args(tmp, video, out, checkpoint)) == 0
    capsys.readouterr()
    assert extract_features_main(_args(tmp, video, out, checkpoint, "DEMO.STRIDE_SEC", "0.5")) == 2
    assert "DEMO.STRIDE_SEC (1.0 -> 0.5)" in capsys.readouterr().err
