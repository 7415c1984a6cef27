"""tools/run_net.py refuses to start, within seconds and before building a model, when a split it will use
has a label out of range, a proposals file or the label map is missing, or OUTPUT_DIR cannot be written."""
import os
import shutil
import time

import pytest

from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.datasets.synthetic_ava import make_ava_synthetic
from slowfast.engine.cli import main

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"


@pytest.fixture(scope="module")
def kinetics_master(tmp_path_factory):
    root = tmp_path_factory.mktemp("pre_k") / "data"
    make_kinetics_synthetic(str(root), num_classes=4, num_train=4, num_val=2, num_test=2, size=32, num_frames=12,
                            num_workers=1)
    return root


@pytest.fixture(scope="module")
def ava_master(tmp_path_factory):
    root = tmp_path_factory.mktemp("pre_ava") / "data"
    make_ava_synthetic(str(root), num_train_videos=1, num_val_videos=1, num_keyframes=2, seed=0)
    return root


def refused(capsys, cfg, root, out, *opts):
    """Run run_net's main; assert it refuses quickly, return its stderr."""
    start = time.monotonic()
    code = main(["--cfg", cfg, "DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False",
                 "OUTPUT_DIR", str(out), "DATA_LOADER.NUM_WORKERS", "0", *opts])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 10, (code, elapsed, err)
    assert "the run cannot start" in err
    return err


def test_a_label_out_of_range_in_the_test_split_stops_the_run_before_training(kinetics_master, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(kinetics_master, root)
    lines = open(root / "test.csv").read().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0] + " 4"
    open(root / "test.csv", "w").write("\n".join(lines) + "\n")
    err = refused(capsys, TINY, root, tmp_path / "out")
    assert f"{root}/test.csv:2: label 4 outside 0..3 (MODEL.NUM_CLASSES 4)" in err
    assert not list((tmp_path / "out").glob("checkpoints/*.pyth"))  # not one epoch was trained


def test_a_missing_proposals_file_stops_the_run(ava_master, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(ava_master, root)
    os.remove(root / "annotations/ava_train_predicted_boxes.csv")
    err = refused(capsys, AVA_TINY, root, tmp_path / "out")
    assert f"{root}/annotations/ava_train_predicted_boxes.csv: proposals file not found" in err


def test_a_missing_label_map_stops_the_run(ava_master, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(ava_master, root)
    os.remove(root / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    err = refused(capsys, AVA_TINY, root, tmp_path / "out")
    assert "ava_action_list_v2.2_for_activitynet_2019.pbtxt: label map (AVA.LABEL_MAP_FILE) not found" in err


def test_an_unwritable_output_dir_stops_the_run(ava_master, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("OUTPUT_DIR cannot be made under a file")
    err = refused(capsys, AVA_TINY, ava_master, blocker / "out")
    assert f"{blocker}/out: cannot write here" in err


def test_an_unwritable_checkpoint_dir_stops_the_run(ava_master, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoints").write_text("a file where the checkpoint folder should be")
    err = refused(capsys, AVA_TINY, ava_master, out)
    assert f"{out}/checkpoints: cannot write here" in err


def test_num_classes_0_without_a_label_map_is_refused(ava_master, tmp_path, capsys):
    root = tmp_path / "data"
    shutil.copytree(ava_master, root)
    os.remove(root / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    code = main(["--cfg", AVA_TINY, "DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False",
                 "OUTPUT_DIR", str(tmp_path / "out"), "MODEL.NUM_CLASSES", "0"])
    assert code == 2 and "MODEL.NUM_CLASSES 0 needs the label map" in capsys.readouterr().err
