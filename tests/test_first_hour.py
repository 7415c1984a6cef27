"""A newcomer's first hour, followed literally: GETTING_STARTED's "Your own dataset" recipe (SRC/{train,val}
only, tools/prepare_kinetics.py, then run_net with MODEL.NUM_CLASSES 0) runs to the end, testing the val videos
and saying so; the console shows each stats record once (the JSON lines only in OUTPUT_DIR/log.txt); the run
ends with a summary of its outputs, headline metric and time; TRAIN.CHECKPOINT_KEEP keeps the last N
checkpoints and never deletes one the run did not write."""
import json
import os

import numpy as np
import pytest

from slowfast.apps.run_net import main as run_net_main
from slowfast.checkpoint import checkpoint_path, prune_checkpoints
from slowfast.data_prep.kinetics import main as prepare_kinetics_main
from slowfast.datasets.video_encode import write_video

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
# Tiny-model overrides (the recipe's command plus these; the recipe itself is unchanged).
SMALL = ["DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
         "TEST.NUM_ENSEMBLE_VIEWS", "1", "TEST.NUM_SPATIAL_CROPS", "1", "SOLVER.MAX_EPOCH", "2", "LOG_PERIOD", "1",
         "LOG_MODEL_INFO", "False", "TRAIN.EVAL_PERIOD", "1", "TENSORBOARD.ENABLE", "False"]


def moving_square(path, direction: int, seed: int):
    """1 s at 25 fps, 32x32: a bright square moving right (direction 1) or left (-1) over noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, (25, 32, 32, 3), dtype=np.uint8)
    for t in range(25):
        x = t if direction > 0 else 24 - t
        frames[t, 10:22, x:x + 8] = 255
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_video(str(path), frames, 25)


@pytest.fixture(scope="module")
def own_tree(tmp_path_factory):
    src = tmp_path_factory.mktemp("own") / "SRC"
    for split, n in (("train", 4), ("val", 1)):
        for cls, direction in (("moving_left", -1), ("moving_right", 1)):
            for i in range(n):
                moving_square(src / split / cls / f"{cls}_{i}.mp4", direction, seed=i + 10 * (split == "val"))
    return src


def test_own_dataset_recipe_runs_as_written_and_tests_the_val_videos(own_tree, tmp_path, capsys):
    out, run = tmp_path / "OUT", tmp_path / "run"
    assert prepare_kinetics_main(["--src", str(own_tree), "--out", str(out), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "test.csv lists the val videos" in printed and "train 8, val 2, test 0 videos, 2 classes" in printed
    assert "{" not in printed.splitlines()[-1]  # a readable summary, not a dict
    code = run_net_main(["--cfg", TINY, "DATA.PATH_TO_DATA_DIR", str(out), "MODEL.NUM_CLASSES", "0",
                         "OUTPUT_DIR", str(run), "TRAIN.CHECKPOINT_KEEP", "1", *SMALL])
    console = capsys.readouterr()
    assert code == 0, console.err
    results = json.load(open(run / "results.json"))
    assert results["num_classes"] == 2 and results["num_videos"] == 2
    # The console: readable lines only, each stats record once; log.txt keeps the JSON lines tools parse.
    assert "json_stats: {" not in console.out and "train_epoch: epoch 1/2" in console.out
    assert "test 1/1 batches (100%)" in console.out
    log = open(run / "log.txt").read()
    for kind in ("train_iter", "train_epoch", "val_epoch", "test"):
        assert f'json_stats: {{"_type": "{kind}"' in log
    assert console.out.count("train_epoch: epoch 2/2") == 1
    # The summary: where things are, the headline metric, the time.
    summary = console.out[console.out.index("run finished in"):]
    assert f"test top-1 {results['top1_acc']:.1f} %" in summary and f"over 2 videos" in summary
    assert f"results:      {run / 'results.json'}" in summary and f"log:          {run / 'log.txt'}" in summary
    assert "(1 kept, last checkpoint_epoch_00002.pyth, TRAIN.CHECKPOINT_KEEP 1)" in summary
    assert sorted(os.listdir(run / "checkpoints")) == ["checkpoint_epoch_00002.pyth"]


def test_a_missing_test_split_names_the_step_that_reads_it_and_test_enable(own_tree, tmp_path, capsys):
    out = tmp_path / "OUT"
    assert prepare_kinetics_main(["--src", str(own_tree), "--out", str(out), "--workers", "1"]) == 0
    os.remove(out / "test.csv")  # e.g. prepared before test.csv was written for trees without test videos
    code = run_net_main(["--cfg", TINY, "DATA.PATH_TO_DATA_DIR", str(out), "MODEL.NUM_CLASSES", "0",
                         "OUTPUT_DIR", str(tmp_path / "run"), *SMALL])
    err = capsys.readouterr().err
    assert code == 2 and "test.csv: split file not found; the test step (TEST.ENABLE) tests this split" in err
    assert "set TEST.ENABLE False" in err and not (tmp_path / "run" / "checkpoints").exists()


def test_checkpoint_keep_deletes_only_older_checkpoints_this_run_wrote(tmp_path):
    paths = [checkpoint_path(str(tmp_path), e) for e in (1, 2, 3, 4)]
    os.makedirs(os.path.dirname(paths[0]))
    for p in paths:
        open(p, "wb").close()
    # epoch 1 was there before the run (a user's, or an earlier run's); this run wrote 2, 3, 4
    assert prune_checkpoints(str(tmp_path), 2, paths[1:]) == [paths[1]]
    assert [os.path.exists(p) for p in paths] == [True, False, True, True]
    assert prune_checkpoints(str(tmp_path), 0, paths) == []  # 0: keep all
    assert prune_checkpoints(str(tmp_path), 1, paths[2:3]) == [paths[2]]  # never the foreign epoch 1
    assert [os.path.exists(p) for p in paths] == [True, False, False, True]


def test_ava_rows_dropped_on_excluded_key_frames_are_info_not_warnings(tmp_path, monkeypatch, caplog):
    """make demo-ava's synthetic val split lists one excluded key frame (as AVA does); the evaluator drops the
    ground truth and detections there, by design: the official scorer logs that as info, so do we. Other
    evaluation notes stay warnings."""
    import logging
    from types import SimpleNamespace

    from slowfast.config import load_config
    from slowfast.engine import ava_inference

    notes = ["gt.csv: 1 excluded key frames found (3 rows dropped)",
             "det.csv: 1 excluded key frames found (20 rows dropped)", "det.csv: 2 rows of unknown videos"]
    fake = SimpleNamespace(mAP=0.5, per_class={1: 0.5}, messages=notes, matches=None)
    monkeypatch.setattr(ava_inference, "evaluate", lambda *a, **k: fake)
    cfg = load_config("configs/Synthetic/AVA_SLOWFAST_TINY.yaml", ["OUTPUT_DIR", str(tmp_path)])
    with caplog.at_level(logging.INFO, logger="slowfast.engine.ava_inference"):
        ava_inference._evaluate(cfg, "test", [], [], np.zeros((0, 80)), [1], "labelmap", str(tmp_path), 1, True)
    levels = {r.getMessage().split(": ", 1)[1]: r.levelno for r in caplog.records if "AVA evaluation" in r.getMessage()}
    assert levels == {notes[0]: logging.INFO, notes[1]: logging.INFO, notes[2]: logging.WARNING}


def test_the_summary_headline_is_top1_for_classification_and_map_with_its_floor_for_detection():
    from slowfast.apps.run_summary import headline

    assert headline({"top1_acc": 95.83, "top5_acc": 100.0, "num_videos": 96}) == \
        "test top-1 95.8 % (top-5 100.0 %) over 96 videos"
    assert headline({"mAP": 0.6512, "random_mAP": 0.229, "num_boxes": 126}) == \
        "test mAP 0.651 (random scores: 0.229) over 126 boxes"
    assert "undefined" in headline({"mAP": None, "random_mAP": None, "num_boxes": 0})
    assert headline({"mAP": 0.497, "random_mAP": 0.426, "num_videos": 96}) == \
        "test mAP 0.497 (random scores: 0.426) over 96 videos"  # multi-label classification
