"""Issue 21 item 5: multi-label classification (DATA.MULTI_LABEL) with Charades-style CSVs, sigmoid + BCE,
mAP over classes at validation and test, on a synthetic multi-label set in that format."""
import json
import os

import numpy as np
import pytest

from slowfast.datasets.kinetics import DatasetFormatError, read_video_list
from slowfast.evaluation.multilabel import MultiLabelAggregator, average_precision, mean_average_precision

ML = "configs/Synthetic/MULTILABEL_SLOWFAST_TINY.yaml"


def test_multi_label_rows_read_comma_separated_ids(tmp_path):
    p = tmp_path / "train.csv"
    p.write_text("videos/a.mp4 3,7\nvideos/b.mp4 0\n")
    rows = read_video_list(str(p), num_classes=8, multi_label=True)
    assert rows == [(str(tmp_path / "videos/a.mp4"), (3, 7)), (str(tmp_path / "videos/b.mp4"), (0,))]


@pytest.mark.parametrize("line, culprit", [
    ("b.mp4 1,x", "label id 'x'"), ("b.mp4 1,,2", "label id ''"), ("b.mp4 2,2", "repeated"),
    ("b.mp4", "expected 'path id,id,...'"), ("b.mp4 1,9", "label 9 is outside 0..7"),
])
def test_a_malformed_multi_label_row_is_one_error_naming_file_and_line(tmp_path, line, culprit):
    p = tmp_path / "train.csv"
    p.write_text(f"a.mp4 3,7\n{line}\n")
    with pytest.raises(DatasetFormatError) as e:
        read_video_list(str(p), num_classes=8, multi_label=True)
    msg = str(e.value)
    assert "\n" not in msg and "train.csv line 2" in msg and culprit in msg


def test_the_dataset_checker_reads_multi_label_csvs_and_names_the_bad_line(tmp_path):
    from slowfast.data_prep.check_kinetics import check_kinetics_csv

    p = tmp_path / "val.csv"
    p.write_text("a.mp4 3,7\nb.mp4 1;2\n")
    problems = check_kinetics_csv(str(p), 8, files=False, multi_label=True)
    assert [str(x).split(": ")[0] for x in problems] == [f"{p}:2"]


def test_map_of_perfect_scores_is_one_and_classes_without_positives_are_skipped():
    targets = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    m = mean_average_precision(targets * 0.8 + 0.1, targets)
    assert m["mAP"] == 1.0 and m["num_classes_skipped"] == 1 and m["per_class_ap"][2] is None


def test_average_precision_follows_the_precision_recall_steps_with_ties_entering_together():
    # ranked: pos, neg, pos -> precision 1 at recall 1/2, 2/3 at recall 1: AP = (1 + 2/3) / 2
    assert average_precision(np.array([0.9, 0.5, 0.3]), np.array([1, 0, 1])) == pytest.approx(5 / 6)
    # all tied: one threshold, precision 2/3 at recall 1
    assert average_precision(np.array([0.5, 0.5, 0.5]), np.array([1, 0, 1])) == pytest.approx(2 / 3)
    assert np.isnan(average_precision(np.array([0.1, 0.2]), np.array([0, 0])))


def test_the_multi_label_aggregator_combines_views_and_reports_map_and_random_map():
    agg = MultiLabelAggregator(2, 3, "mean")
    labels = np.array([[1, 0, 1], [0, 1, 0]], dtype=np.float32)
    agg.add([0, 1], [[0.9, 0.1, 0.8], [0.2, 0.7, 0.1]], labels)
    agg.add([0, 1], [[0.7, 0.3, 0.6], [0.1, 0.9, 0.3]], labels)
    r = agg.results(2, seed=0)
    assert r["mAP"] == 1.0 and r["num_videos"] == 2 and 0 < r["random_mAP"] <= 1 and r["num_classes_skipped"] == 0


def test_multi_label_needs_bce_and_sigmoid_and_is_refused_for_detection():
    from slowfast.config import load_config
    from slowfast.config.errors import ConfigError

    with pytest.raises(ConfigError, match="MODEL.LOSS_FUNC bce and MODEL.HEAD_ACT sigmoid"):
        load_config(ML, ["MODEL.LOSS_FUNC", "cross_entropy"])
    with pytest.raises(ConfigError, match="DATA.MULTI_LABEL"):
        load_config("configs/Synthetic/AVA_SLOWFAST_TINY.yaml", ["DATA.MULTI_LABEL", "True"])


def test_a_tiny_multi_label_run_trains_on_label_sets_and_tests_with_map(tmp_path):
    from slowfast.apps.run_net import main
    from slowfast.datasets.synthetic_multilabel import make_multilabel_synthetic

    data = str(tmp_path / "data")
    make_multilabel_synthetic(data, num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=30,
                              num_workers=1)
    rows = open(os.path.join(data, "train.csv")).read().split("\n")[:-1]
    assert all(len(r.split()) == 2 for r in rows) and any("," in r for r in rows)  # sets of 1-2 motions
    out = tmp_path / "out"
    assert main(["--cfg", ML, "DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
                 "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
                 "TEST.NUM_ENSEMBLE_VIEWS", "1", "TEST.NUM_SPATIAL_CROPS", "1", "SOLVER.MAX_EPOCH", "1",
                 "LOG_PERIOD", "1", "LOG_MODEL_INFO", "False"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert 0 <= results["mAP"] <= 1 and 0 <= results["random_mAP"] <= 1 and "top1_acc" not in results
    assert len(results["per_class_ap"]) == 4
    log = (out / "log.txt").read_text()
    stats = [json.loads(line.split("json_stats: ")[1]) for line in log.splitlines() if "json_stats: " in line]
    train = [s for s in stats if s.get("_type") == "train_iter"]
    val = [s for s in stats if s.get("_type") == "val_epoch"]
    assert train and all("top1_err" not in s for s in train) and val and "mAP" in val[-1]
