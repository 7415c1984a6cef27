"""tools/prepare_ava.py and tools/make_proposals.py: videos at any frame rate become 30 fps JPEG folders
named as the AVA loaders read them, over any second window, and a custom 5-class AVA-style dataset
trains and tests end to end with MODEL.NUM_CLASSES taken from its label map."""
import json
import os
import glob

import cv2
import numpy as np
import pytest
import torch

from slowfast.data_prep.ava import prepare_ava
from slowfast.data_prep.proposals import build_detector, make_proposals
from slowfast.datasets.video_encode import write_video
from slowfast.formats import ava_boxes, ava_csv, ava_frames, ava_labels

AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
SRC_FPS, SECONDS, W, H = 25, 40, 64, 48


def coded_frames(n):
    """Frame t shows t as two flat grey blocks (t % 16 * 16 | t // 16 * 4), robust to compression."""
    frames = np.zeros((n, H, W, 3), np.uint8)
    for t in range(n):
        frames[t, :, : W // 2] = (t % 16) * 16
        frames[t, :, W // 2:] = (t // 16) * 4
    return frames


def decode_code(image):
    return int(round(image[:, : W // 2].mean() / 16)) + 16 * int(round(image[:, W // 2:].mean() / 4))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("ava_prep")
    videos = base / "videos"
    videos.mkdir()
    write_video(str(videos / "movie_a.mp4"), coded_frames(SRC_FPS * SECONDS), SRC_FPS)  # 40 s at 25 fps
    write_video(str(videos / "movie_short.mp4"), coded_frames(SRC_FPS * 20), SRC_FPS)  # ends at 20 s
    (base / "splits.txt").write_text("movie_a train\nmovie_a val\nmovie_short train\n")
    out = base / "data"
    summary = prepare_ava(str(videos), str(out), start_sec=10, end_sec=30, fps=30, split_file=str(base / "splits.txt"))
    return base, out, summary


def test_window_10_to_30_s_gives_600_frames_named_as_the_loaders_read_them(prepared):
    _, out, summary = prepared
    names = sorted(os.listdir(out / "frames" / "movie_a"))
    assert len(names) == 600 and summary["frames_per_video"] == 600
    assert names[0] == "movie_a_000001.jpg" and names[-1] == "movie_a_000600.jpg"
    lists = ava_frames.read_frame_lists([str(out / "frame_lists" / "train.csv")], str(out / "frames"))
    assert lists.video_names == ["movie_a"]
    assert [os.path.basename(p) for p in lists.frame_paths[0]] == names
    assert all(os.path.isfile(p) for p in lists.frame_paths[0])


def test_frames_are_resampled_from_25_to_30_fps_by_timestamp(prepared):
    _, out, _ = prepared
    # File k+1 shows time 10 + k / 30 s: the 25 fps source frame nearest to it.
    want = [int(np.floor((10 + k / 30) * SRC_FPS + 0.5 - 1e-9)) for k in range(600)]
    got = [decode_code(cv2.imread(str(out / "frames" / "movie_a" / f"movie_a_{k + 1:06d}.jpg"))) for k in range(600)]
    assert got == want
    assert got[0] == 250 and got[-1] == 749  # seconds 10.0 and 29.97


def test_a_video_shorter_than_the_window_is_reported_not_used(prepared):
    _, out, summary = prepared
    report = (out / "bad_videos.txt").read_text()
    assert "movie_short.mp4\tvideo ends at 20.000 s" in report and "needs 600 frames at 30 fps, got 300" in report
    assert not (out / "frames" / "movie_short").exists()
    assert "movie_short" not in (out / "frame_lists" / "train.csv").read_text()
    assert summary["videos"] == {"train": 1, "val": 1} and summary["bad_videos"] == 1


def test_a_second_run_resumes(prepared):
    base, out, _ = prepared
    again = prepare_ava(str(base / "videos"), str(out), start_sec=10, end_sec=30, fps=30, split_file=str(base / "splits.txt"))
    assert again["resumed"] == 1 and again["extracted"] == 0 and again["videos"] == {"train": 1, "val": 1}


class FixedDetector:
    """Stands in for a torchvision detector: one person box and one non-person box per image."""

    def __init__(self):
        self.sizes = []

    def __call__(self, images):
        self.sizes += [tuple(im.shape) for im in images]
        det = {"boxes": torch.tensor([[8.0, 12.0, 40.0, 36.0], [0.0, 0.0, 10.0, 10.0]]),
               "labels": torch.tensor([1, 3]), "scores": torch.tensor([0.95, 0.99])}
        return [det for _ in images]


def test_make_proposals_writes_person_boxes_of_every_key_frame(prepared, tmp_path):
    _, out, _ = prepared
    detector = FixedDetector()
    csv = tmp_path / "proposals.csv"
    summary = make_proposals(str(out / "frames"), str(csv), detector, keyframe_start=12, keyframe_end=27, fps=30,
                             start_sec=10, device="cpu")
    rows = ava_boxes.read_box_csv(str(csv), proposals=True)
    assert summary["keyframes"] == 16 and [r.sec for r in rows] == list(range(12, 28))
    assert all(r.video == "movie_a" and r.score == pytest.approx(0.95) and r.action == -1 for r in rows)
    assert rows[0].box == pytest.approx((8 / W, 12 / H, 40 / W, 36 / H), abs=1e-3)  # normalised
    assert detector.sizes[0] == (3, H, W)


def test_make_proposals_runs_a_torchvision_detector_without_weights(prepared, tmp_path):
    _, out, _ = prepared
    torch.manual_seed(0)
    # Random weights of a person-only head (labels: background, person), so that boxes come out.
    detector = build_detector("fasterrcnn_resnet50_fpn", weights=None, min_size=48, max_size=64, min_score=0.0,
                              max_per_frame=10, rpn_proposals=8, num_classes=2)
    csv = tmp_path / "proposals.csv"
    summary = make_proposals(str(out / "frames"), str(csv), detector, keyframe_start=12, keyframe_end=12, fps=30,
                             start_sec=10, min_score=0.0, device="cpu")
    rows = ava_boxes.read_box_csv(str(csv), proposals=True)
    assert summary["keyframes"] == 1 and len(rows) == summary["boxes"] > 0
    assert {r.sec for r in rows} == {12} and all(0.0 <= r.score <= 1.0 for r in rows)


def write_custom_annotations(data):
    """5 actions, 2 persons per key second 12..19: GT, proposals (the GT boxes, score 0.9), label map."""
    ann = data / "annotations"
    ann.mkdir(exist_ok=True)
    gt, proposals = [], []
    for sec in range(12, 20):
        for person, box in enumerate([(0.05, 0.1, 0.45, 0.9), (0.55, 0.1, 0.95, 0.9)]):
            action = 1 + (sec + person) % 5
            gt.append(("movie_a", sec, box, action, person))
            proposals.append(("movie_a", sec, box, -1, 0.9))
    for split in ("train", "val"):
        ava_csv.write_box_csv(str(ann / f"{split}_gt.csv"), gt)
        ava_csv.write_box_csv(str(ann / f"{split}_proposals.csv"), proposals, proposals=True)
    ava_labels.write_label_map(str(ann / "labels.pbtxt"), {i: f"action {i}" for i in range(1, 6)})
    (ann / "excluded.csv").write_text("")


def custom_opts(data, out):
    return ["DATA.PATH_TO_DATA_DIR", str(data), "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
            "MODEL.NUM_CLASSES", "0", "AVA.START_SEC", "10", "AVA.KEYFRAME_START_SEC", "12", "AVA.KEYFRAME_END_SEC", "27",
            "AVA.TRAIN_GT_BOX_LISTS", "['train_gt.csv']", "AVA.TRAIN_PREDICT_BOX_LISTS", "['train_proposals.csv']",
            "AVA.TEST_PREDICT_BOX_LISTS", "['val_proposals.csv']", "AVA.GROUNDTRUTH_FILE", "val_gt.csv",
            "AVA.LABEL_MAP_FILE", "labels.pbtxt", "AVA.EXCLUSION_FILE", "excluded.csv",
            "DATA.NUM_FRAMES", "8", "SOLVER.MAX_EPOCH", "1", "SOLVER.STEPS", "[0]", "SOLVER.LRS", "[1]",
            "SOLVER.WARMUP_EPOCHS", "0.5", "DATA_LOADER.NUM_WORKERS", "0", "LOG_MODEL_INFO", "False",
            "TRAIN.EVAL_PERIOD", "0", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4",
            "DATA.TRAIN_JITTER_SCALES", "[32, 40]", "DATA.TRAIN_CROP_SIZE", "32", "DATA.TEST_CROP_SIZE", "32"]


def test_a_tiny_ava_run_trains_2_iterations_and_tests_on_the_prepared_5_class_dataset(prepared, tmp_path):
    from slowfast.data_prep.check import check_dataset, resolve_num_classes
    from slowfast.config import load_config
    from slowfast.apps.run_net import main

    _, data, _ = prepared
    write_custom_annotations(data)
    out = tmp_path / "run"
    cfg = resolve_num_classes(load_config(AVA_TINY, custom_opts(data, out)))
    assert cfg.MODEL.NUM_CLASSES == 5  # from the label map
    assert [str(p) for p in check_dataset(cfg, ["train", "val", "test"], decode=True)] == []
    assert main(["--cfg", AVA_TINY, *custom_opts(data, out)]) == 0
    results = json.load(open(out / "results.json"))
    assert sorted(results["per_class"]) == [f"action {i}" for i in range(1, 6)] and 0.0 <= results["mAP"] <= 1.0
    rows = [line.split(",") for line in open(out / "detections.csv").read().splitlines()]
    assert {int(r[6]) for r in rows} == {1, 2, 3, 4, 5} and {int(r[1]) for r in rows} == set(range(12, 20))
    state = torch.load(sorted(glob.glob(str(out / "checkpoints" / "*.pyth")))[-1], weights_only=False)["model_state"]
    assert state["head.projection.weight"].shape[0] == 5


@pytest.mark.parametrize("opts, message", [
    (["AVA.START_SEC", "10", "AVA.KEYFRAME_START_SEC", "5"], "AVA.START_SEC <= AVA.KEYFRAME_START_SEC"),
    (["AVA.KEYFRAME_START_SEC", "950", "AVA.KEYFRAME_END_SEC", "940"], "AVA.KEYFRAME_START_SEC <= AVA.KEYFRAME_END_SEC"),
    (["AVA.FPS", "0"], "AVA.FPS must be >= 1"),
    (["MODEL.NUM_CLASSES", "-1"], "MODEL.NUM_CLASSES must be >= 1, or 0"),
])
def test_inconsistent_window_keys_are_rejected_at_load_time(opts, message):
    from slowfast.config import ConfigError, load_config

    with pytest.raises(ConfigError, match=message):
        load_config(AVA_TINY, opts)
