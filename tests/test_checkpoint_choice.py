"""One policy picks the weights that the test loop, the demo and feature extraction evaluate:
TEST.CHECKPOINT_FILE_PATH, else the newest checkpoint of OUTPUT_DIR, else TRAIN.CHECKPOINT_FILE_PATH."""
import os

import pytest
import torch

from slowfast.checkpoint import CheckpointMissingError, checkpoint_for_testing, checkpoint_path, save_checkpoint
from slowfast.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")


def cfg_for(tmp_path, *opts):
    return load_config(TINY, ["NUM_GPUS", "0", "OUTPUT_DIR", str(tmp_path / "out"), *opts])


def a_checkpoint(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_checkpoint(path, torch.nn.Linear(2, 2), epoch=1)
    return path


def test_the_named_test_checkpoint_comes_first(tmp_path):
    named = a_checkpoint(str(tmp_path / "named.pyth"))
    a_checkpoint(checkpoint_path(str(tmp_path / "out"), 3))
    choice = checkpoint_for_testing(cfg_for(tmp_path, "TEST.CHECKPOINT_FILE_PATH", named,
                                            "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE", "True"))
    assert (choice.path, choice.source, choice.allow_unsafe) == (named, "TEST.CHECKPOINT_FILE_PATH", True)


def test_then_the_newest_checkpoint_of_the_run_never_unpickled_unsafely(tmp_path):
    out = str(tmp_path / "out")
    a_checkpoint(checkpoint_path(out, 1))
    newest = a_checkpoint(checkpoint_path(out, 2))
    init = a_checkpoint(str(tmp_path / "init.pyth"))
    choice = checkpoint_for_testing(cfg_for(tmp_path, "TRAIN.CHECKPOINT_FILE_PATH", init,
                                            "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE", "True"))
    assert (choice.path, choice.source, choice.allow_unsafe) == (newest, "OUTPUT_DIR", False)


def test_then_the_training_initialisation_with_its_type(tmp_path):
    init = a_checkpoint(str(tmp_path / "init.pkl"))
    choice = checkpoint_for_testing(cfg_for(tmp_path, "TRAIN.CHECKPOINT_FILE_PATH", init,
                                            "TRAIN.CHECKPOINT_TYPE", "caffe2"))
    assert (choice.path, choice.checkpoint_type, choice.source) == (init, "caffe2", "TRAIN.CHECKPOINT_FILE_PATH")


def test_nothing_to_use_names_the_keys(tmp_path):
    with pytest.raises(CheckpointMissingError, match="no checkpoint to use: TEST.CHECKPOINT_FILE_PATH is empty"):
        checkpoint_for_testing(cfg_for(tmp_path))


def test_a_named_file_that_does_not_exist_names_its_key(tmp_path):
    missing = str(tmp_path / "nope.pyth")
    with pytest.raises(FileNotFoundError, match=r"nope.pyth \(TEST.CHECKPOINT_FILE_PATH\)"):
        checkpoint_for_testing(cfg_for(tmp_path, "TEST.CHECKPOINT_FILE_PATH", missing))
