"""Issue 21 item 5: PySlowFast's Charades frame-list layout (TRAIN.DATASET / TEST.DATASET charades): the
reader, the dataset over JPEG frames, bad input named by file and line, and a tiny run on the synthetic
multi-label set written in that layout."""
import json
import os

import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.datasets.charades import Charades, clip_indices, read_charades_videos
from slowfast.datasets.kinetics import DatasetFormatError, Kinetics
from slowfast.datasets.synthetic_charades import make_charades_synthetic

CH = "configs/Synthetic/CHARADES_SLOWFAST_TINY.yaml"
HEADER = "original_vido_id video_id frame_id path labels\n"
TINY = dict(num_classes=4, num_train=4, num_val=2, num_test=3, size=32, num_frames=20, seed=3)


def _cfg(data_dir, *opts):
    return load_config(CH, ["DATA.PATH_TO_DATA_DIR", str(data_dir), "DATA.GENERATE_SYNTHETIC", "False",
                            "DATA.NUM_FRAMES", "4", "TEST.NUM_ENSEMBLE_VIEWS", "2", "TEST.NUM_SPATIAL_CROPS", "1",
                            *opts])


def test_frame_rows_group_into_videos_in_frame_order_with_the_union_of_frame_labels(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text(HEADER + 'b 1 1 b/2.jpg "2"\na 0 0 a/1.jpg ""\nb 1 0 b/1.jpg 0,2\na 0 1 a/2.jpg 3\n'
                 'b 1 2 b/3.jpg "1"\n')
    videos = read_charades_videos(str(p), prefix="/frames", num_classes=4)
    assert videos == [("b", ("/frames/b/1.jpg", "/frames/b/2.jpg", "/frames/b/3.jpg"), (0, 1, 2)),
                      ("a", ("/frames/a/1.jpg", "/frames/a/2.jpg"), (3,))]


@pytest.mark.parametrize("text, line, culprit", [
    ("video frame path labels\na 0 0 a/1.jpg 1\n", 1, "expected the header"),
    (HEADER + "a 0 0 a/1.jpg 1\na 0 1 a/2.jpg\n", 3, "expected 5 fields"),
    (HEADER + "a 0 x a/1.jpg 1\n", 2, "frame_id 'x'"),
    (HEADER + "a 0 0 a/1.jpg 1\na 0 1 a/2.jpg 1,y\n", 3, "label id 'y'"),
    (HEADER + "a 0 0 a/1.jpg 1\na 0 1 a/2.jpg 2,4\n", 3, "label 4 is outside 0..3"),
])
def test_a_bad_frame_list_is_one_error_naming_file_and_line(tmp_path, text, line, culprit):
    p = tmp_path / "train.csv"
    p.write_text(text)
    with pytest.raises(DatasetFormatError) as e:
        read_charades_videos(str(p), num_classes=4)
    msg = str(e.value)
    assert "\n" not in msg and f"train.csv line {line}" in msg and culprit in msg


def test_test_views_spread_evenly_from_the_first_frame_to_the_last():
    assert clip_indices(20, 4, 2, 0, 3) == [0, 2, 4, 6]
    assert clip_indices(20, 4, 2, 1, 3) == [6, 8, 10, 12]
    assert clip_indices(20, 4, 2, 2, 3) == [13, 15, 17, 19]
    assert clip_indices(5, 4, 2, 1, 2) == [0, 2, 4, 4]  # shorter than the span: clamped to the last frame
    torch.manual_seed(0)
    starts = {clip_indices(20, 4, 2, -1, 1)[0] for _ in range(200)}
    assert starts == set(range(14))


def test_the_charades_layout_and_the_csv_layout_give_each_video_the_same_labels_and_pictures(tmp_path):
    from slowfast.datasets.synthetic_multilabel import make_multilabel_synthetic

    make_charades_synthetic(str(tmp_path / "ch"), **TINY)
    make_multilabel_synthetic(str(tmp_path / "csv"), fps=30, num_workers=1, **TINY)
    for split in ("train", "val", "test"):
        ch = Charades(_cfg(tmp_path / "ch"), split)
        kin = Kinetics(_cfg(tmp_path / "csv", "TRAIN.DATASET", "kinetics", "TEST.DATASET", "kinetics"), split)
        assert ch.num_videos == kin.num_videos == TINY[f"num_{split}"]
        assert [v[0] for v in ch.videos] == [os.path.basename(v[0])[:-4] for v in kin.videos]
        for i in range(ch.num_videos):
            assert torch.equal(ch.label(i), kin.label(i)) and ch.label(i).sum() >= 1
    # and the same pictures: the JPEG frames match the encoded video's frames up to compression
    import av
    from slowfast.datasets.ava.frames import read_frames

    with av.open(kin.videos[0][0]) as container:
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
    jpeg = read_frames(ch.frame_paths[0]).astype(np.float32)
    other = read_frames(Charades(_cfg(tmp_path / "ch"), "train").frame_paths[1]).astype(np.float32)
    assert decoded.shape == jpeg.shape
    assert np.abs(decoded - jpeg).mean() < 8 < np.abs(other - jpeg).mean()


def test_a_missing_frame_file_at_test_time_is_replaced_by_the_nearest_frame_and_counted(tmp_path):
    make_charades_synthetic(str(tmp_path), **TINY)
    ds = Charades(_cfg(tmp_path, "DATA.SAMPLING_RATE", "1"), "test")
    inputs, label, index, extra = ds[0]  # video 0, view 0: frames 0..3
    assert extra["replaced_frames"] == 0 and not extra["failed"]
    os.remove(ds.frame_paths[0][2])
    inputs2, _, _, extra2 = ds[0]
    assert extra2["replaced_frames"] == 1 and not extra2["failed"]
    fast = inputs2[-1]  # C x T x H x W: the Fast pathway holds all 4 frames; frame 2 became frame 1
    assert torch.equal(fast[:, 2], fast[:, 1]) and torch.equal(fast[:, 3], inputs[-1][:, 3])
    assert not torch.equal(inputs[-1][:, 2], inputs[-1][:, 1])


def test_charades_needs_multi_label():
    from slowfast.config.errors import ConfigError

    with pytest.raises(ConfigError, match="TRAIN.DATASET charades is a multi-label dataset"):
        load_config(CH, ["DATA.MULTI_LABEL", "False", "MODEL.LOSS_FUNC", "cross_entropy", "MODEL.HEAD_ACT", "softmax"])


def test_a_tiny_run_on_charades_frame_lists_trains_and_tests_with_max_ensembled_map(tmp_path):
    from slowfast.apps.run_net import main

    data, out = tmp_path / "data", tmp_path / "out"
    assert main(["--cfg", CH, "DATA.PATH_TO_DATA_DIR", str(data), "OUTPUT_DIR", str(out), "SYNTHETIC.NUM_TRAIN", "8",
                 "SYNTHETIC.NUM_VAL", "4", "SYNTHETIC.NUM_TEST", "4", "SYNTHETIC.NUM_FRAMES", "30",
                 "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
                 "TEST.NUM_ENSEMBLE_VIEWS", "2", "TEST.NUM_SPATIAL_CROPS", "1", "SOLVER.MAX_EPOCH", "1",
                 "LOG_PERIOD", "1", "LOG_MODEL_INFO", "False"]) == 0
    header = (data / "train.csv").read_text().splitlines()[0]
    assert header == "original_vido_id video_id frame_id path labels" and (data / "frames").is_dir()
    results = json.loads((out / "results.json").read_text())
    assert 0 <= results["mAP"] <= 1 and 0 <= results["random_mAP"] <= 1 and len(results["per_class_ap"]) == 4
    assert results["num_videos"] == 4 and np.isfinite(results["mAP"])
    with np.load(out / "test_scores.npz") as scores:  # videos named by original_vido_id
        assert list(scores["videos"]) == [f"test_{i:05d}" for i in range(4)] and scores["scores"].shape == (4, 4)
    log = (out / "log.txt").read_text()
    stats = [json.loads(line.split("json_stats: ")[1]) for line in log.splitlines() if "json_stats: " in line]
    assert [s for s in stats if s.get("_type") == "train_iter"] and "mAP" in [s for s in stats
                                                                            if s.get("_type") == "val_epoch"][-1]


def test_the_dataset_checker_names_a_bad_frame_list_line_and_videos_with_missing_frames(tmp_path):
    from slowfast.data_prep.check import check_dataset

    make_charades_synthetic(str(tmp_path), **TINY)
    os.remove(tmp_path / "frames" / "val_00001" / "val_00001-000004.jpg")
    with open(tmp_path / "train.csv", "a") as f:
        f.write("train_00009 9 0 frames/x.jpg 1;2\n")
    problems = check_dataset(_cfg(tmp_path), ["train", "val"])
    assert [(p.kind, p.line) for p in problems] == [("parse", 82), ("missing_frames", 22)]
    assert "val_00001: 1 of 20 frame files not found" in problems[1].message
    assert check_dataset(_cfg(tmp_path), ["val"], cheap=True) == []


def test_without_a_test_frame_list_the_test_split_reads_val_as_pyslowfast(tmp_path):
    make_charades_synthetic(str(tmp_path), **TINY)
    os.remove(tmp_path / "test.csv")
    ds = Charades(_cfg(tmp_path), "test")
    assert ds.num_videos == TINY["num_val"] and len(ds) == 2 * TINY["num_val"]
    assert ds.videos[0][0] == "val_00000" and ds.frame_paths[0][0].endswith("val_00000-000001.jpg")


def test_a_run_on_a_frame_list_with_a_wrong_header_stops_before_training_naming_file_and_line(tmp_path, capsys):
    from slowfast.apps.run_net import main

    make_charades_synthetic(str(tmp_path / "data"), **TINY)
    bad = tmp_path / "data" / "train.csv"
    bad.write_text(bad.read_text().replace("original_vido_id video_id", "video frame", 1))
    rc = main(["--cfg", CH, "DATA.PATH_TO_DATA_DIR", str(tmp_path / "data"), "DATA.GENERATE_SYNTHETIC", "False",
               "OUTPUT_DIR", str(tmp_path / "out"), "DATA_LOADER.NUM_WORKERS", "0"])
    err = capsys.readouterr().err
    assert rc != 0 and f"{bad}:1: expected the header" in err and "Traceback" not in err


def test_frames_replaced_at_test_time_are_counted_in_the_results_through_a_loader_worker(tmp_path):
    """The count of replaced frame files travels with the batch (a loader worker's dataset object never
    reaches the test loop) into results.json's `replaced_frames`, as for AVA."""
    from slowfast.engine.classification_inference import run_classification_test
    from slowfast.models import build_model

    make_charades_synthetic(str(tmp_path / "data"), **TINY)
    cfg = _cfg(tmp_path / "data", "DATA.SAMPLING_RATE", "1", "DATA_LOADER.NUM_WORKERS", "1",
               "OUTPUT_DIR", str(tmp_path / "out"), "TEST.BATCH_SIZE", "2")
    os.makedirs(cfg.OUTPUT_DIR)
    ds = Charades(cfg, "test")
    os.remove(ds.frame_paths[0][0])  # the first frame of video 0, used by its first test view
    torch.manual_seed(0)
    results = run_classification_test(cfg, build_model(cfg))
    assert results["replaced_frames"] >= 1 and results["mAP"] is not None
