"""Confusion matrix, per-class accuracy and top confusions of a classification test (results.json,
confusion.png, TensorBoard): slowfast/evaluation/classification.py, engine/test_analysis.py."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from demo_fixtures import KINETICS_TINY, config_with_checkpoint
from slowfast.config import ConfigError, load_config
from slowfast.engine.test_analysis import accuracy_line
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.evaluation.classification import analysis, confusion_matrix, per_class_accuracy, top_confusions
from slowfast.visualization.evaluation_figures import write_confusion_png

NAMES = ["right", "down", "left"]


def _one_hot_scores(pred, num_classes=3):
    s = np.full((len(pred), num_classes), 0.1)
    s[np.arange(len(pred)), pred] = 0.8
    return s


def test_confusion_counts_equal_the_hand_computed_matrix():
    labels = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    pred = [0, 1, 1, 1, 0, 2, 0, 1, 1]
    # true \ predicted: right down left
    expected = [[1, 2, 0],   # right: 1 right, 2 called down
                [1, 1, 0],   # down
                [1, 2, 1]]   # left: 1 called right, 2 down, 1 left
    np.testing.assert_array_equal(confusion_matrix(labels, pred, 3), expected)
    per_class = per_class_accuracy(np.array(expected), NAMES)
    assert per_class == [{"name": "right", "count": 3, "top1": pytest.approx(100 / 3)},
                         {"name": "down", "count": 2, "top1": 50.0},
                         {"name": "left", "count": 4, "top1": 25.0}]
    assert top_confusions(np.array(expected), NAMES, k=3) == [
        {"true": "right", "predicted": "down", "count": 2}, {"true": "left", "predicted": "down", "count": 2},
        {"true": "down", "predicted": "right", "count": 1}]
    out = analysis(_one_hot_scores(pred), np.array(labels), NAMES, samples=200)
    assert out["confusion"] == {"class_names": NAMES, "counts": expected}
    assert out["per_class"] == per_class and out["top_confusions"][0]["count"] == 2
    assert out["top1_ci"][0] <= 100 * 3 / 9 <= out["top1_ci"][1] and out["top5_ci"] == [100.0, 100.0]
    assert "top1_ci" not in analysis(_one_hot_scores(pred), np.array(labels), NAMES, samples=0)


def test_a_class_without_test_videos_has_no_accuracy():
    counts = confusion_matrix([0, 0], [0, 1], 3)
    assert per_class_accuracy(counts, NAMES)[2] == {"name": "left", "count": 0, "top1": None}


def test_confusion_png_opens_as_an_image_of_the_figure_size(tmp_path):
    path = write_confusion_png(np.array([[5, 1, 0], [0, 6, 0], [2, 0, 4]]), NAMES, str(tmp_path / "c.png"),
                               figsize=(4, 3))
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (400, 300)
        assert np.asarray(im.convert("L")).std() > 10  # not a blank page


def test_a_test_run_writes_per_class_results_confusion_png_and_intervals(tmp_path):
    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=4, num_val=4, num_test=8, size=32, num_frames=24,
                            seed=0, num_workers=1)
    cfg = config_with_checkpoint(
        tmp_path / "run", KINETICS_TINY, "DATA.PATH_TO_DATA_DIR", data, "TRAIN.ENABLE", "False",
        "DATA.NUM_FRAMES", "8", "DATA.TEST_CROP_SIZE", "32", "TEST.NUM_ENSEMBLE_VIEWS", "1",
        "TEST.NUM_SPATIAL_CROPS", "1", "LOG_MODEL_INFO", "False", "TENSORBOARD.ENABLE", "True",
        "TENSORBOARD.CONFUSION_MATRIX.ENABLE", "True", "TENSORBOARD.CONFUSION_MATRIX.FIGSIZE", "[5, 4]",
        "TEST.BOOTSTRAP_SAMPLES", "300")
    from slowfast.engine.test import test

    test(cfg)
    r = json.load(open(os.path.join(cfg.OUTPUT_DIR, "results.json")))
    scores = np.load(os.path.join(cfg.OUTPUT_DIR, "test_scores.npz"))
    expected = confusion_matrix(scores["labels"], scores["scores"].argmax(1), 4)
    assert r["confusion"]["counts"] == expected.tolist()
    assert r["confusion"]["class_names"] == ["moving right", "moving down", "moving left", "moving up"]
    assert [c["count"] for c in r["per_class"]] == np.bincount(scores["labels"], minlength=4).tolist()
    assert r["top1_ci"][0] <= r["top1_acc"] <= r["top1_ci"][1] and r["bootstrap"]["samples"] == 300
    with Image.open(r["confusion_png"]) as im:
        assert im.size == (500, 400)
    events = os.listdir(os.path.join(cfg.OUTPUT_DIR, "runs"))
    assert events and os.path.getsize(os.path.join(cfg.OUTPUT_DIR, "runs", events[0])) > 1000  # the image
    log = open(os.path.join(cfg.OUTPUT_DIR, "log.txt")).read() if os.path.exists(
        os.path.join(cfg.OUTPUT_DIR, "log.txt")) else ""
    assert '"per_class"' not in log  # the stats line keeps to scalars
    top1 = [line for line in log.splitlines() if "test: top-1" in line]
    assert len(top1) == 1, top1  # one summary line, the intervals in it
    assert "top-1 %.2f%% [%.2f, %.2f], top-5" % (r["top1_acc"], *r["top1_ci"]) in top1[0]
    assert "(95% bootstrap intervals, 300 resamples)" in top1[0]


def test_the_accuracy_line_shows_intervals_only_where_the_results_have_them():
    plain = {"top1_acc": 87.5, "top5_acc": 100.0, "avg_err": 6.25, "num_videos": 8, "gflops_per_view": 0.0123}
    assert accuracy_line(plain, 3) == ("test: top-1 87.50%, top-5 100.00%, avg error 6.25% over 8 videos x 3 views, "
                                       "0.0123 GFLOPs x 3 views")
    boot = dict(plain, top1_ci=[62.5, 100.0], top5_ci=[100.0, 100.0], bootstrap={"samples": 50})
    assert accuracy_line(boot, 3) == (
        "test: top-1 87.50% [62.50, 100.00], top-5 100.00% [100.00, 100.00], avg error 6.25% over 8 videos x "
        "3 views (95% bootstrap intervals, 50 resamples), 0.0123 GFLOPs x 3 views")


@pytest.mark.parametrize("key,value,words", [("TEST.BOOTSTRAP_SAMPLES", "-1", "must be >= 0"),
                                             ("TENSORBOARD.CONFUSION_MATRIX.FIGSIZE", "[8]", "two sizes")])
def test_bad_bootstrap_and_figure_keys_are_config_errors(key, value, words):
    with pytest.raises(ConfigError, match=words):
        load_config(KINETICS_TINY, [key, value])
