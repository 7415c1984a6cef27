"""AVA detection end to end (report, section 2): RoI head, test-time flip and scales, predictions
written as an AVA CSV and scored by the project's evaluator."""
import json
import os

import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.datasets.build import build_dataset, build_loader
from slowfast.datasets.synthetic_ava import make_ava_synthetic
from slowfast.evaluation.ava import evaluate
from slowfast.models.heads import ResNetRoIHead

AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"


@pytest.fixture(scope="module")
def ava_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("ava") / "data")
    make_ava_synthetic(root, num_train_videos=2, num_val_videos=1, num_keyframes=3, seed=0)
    return root


def ava_opts(root, out, *extra):
    return ["DATA.PATH_TO_DATA_DIR", root, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
            "DATA.NUM_FRAMES", "8", "SOLVER.MAX_EPOCH", "1", "SOLVER.STEPS", "[0]", "SOLVER.LRS", "[1]",
            "SOLVER.WARMUP_EPOCHS", "0.5", "DATA_LOADER.NUM_WORKERS", "0", "LOG_MODEL_INFO", "False",
            "TRAIN.EVAL_PERIOD", "1", "TRAIN.BATCH_SIZE", "2", *extra]  # 6 training key frames: 3 iterations


# ------------------------------------------------------------------------------------------ RoI head
def test_roi_head_gives_one_score_row_per_box_at_any_feature_size():
    head = ResNetRoIHead([32, 8], num_classes=80, resolution=7, scale_factor=16).eval()
    for h, w in ((4, 4), (6, 9)):
        feats = [torch.randn(2, 32, 4, h, w), torch.randn(2, 8, 16, h, w)]
        boxes = torch.tensor([[0, 0.0, 0.0, 30.0, 30.0], [1, 10.0, 5.0, 60.0, 50.0], [1, 0.0, 0.0, 8.0, 8.0]])
        out = head(feats, boxes)
        assert out.shape == (3, 80) and torch.all((out > 0) & (out < 1))  # per-class sigmoid


def test_feature_values_outside_a_boxs_roi_do_not_change_its_score():
    torch.manual_seed(0)
    head = ResNetRoIHead([16], num_classes=5, resolution=7, scale_factor=16).eval()
    feats = torch.randn(1, 16, 4, 8, 8)
    box = torch.tensor([[0, 0.0, 0.0, 48.0, 48.0]])  # feature cells [0, 3) x [0, 3)
    before = head([feats], box)
    changed = feats.clone()
    changed[..., 4:, :] = 100.0  # far outside the RoI, beyond bilinear reach
    changed[..., :, 4:] = -100.0
    torch.testing.assert_close(head([changed], box), before)
    changed[..., 1, 1] += 5.0  # inside the RoI
    assert not torch.allclose(head([changed], box), before)


def test_the_context_branch_lets_the_whole_clip_inform_each_box():
    torch.manual_seed(0)
    head = ResNetRoIHead([16], num_classes=5, resolution=7, scale_factor=16, context_branch=True).eval()
    feats = torch.randn(1, 16, 4, 8, 8)
    box = torch.tensor([[0, 0.0, 0.0, 48.0, 48.0]])
    changed = feats.clone()
    changed[..., 4:, :] = 100.0
    assert not torch.allclose(head([changed], box), head([feats], box))
    assert head.projection.in_features == 32  # region features concatenated with the context


# ------------------------------------------------------------------------------------------ test views
@pytest.mark.parametrize("preprocess, last", [("pyslowfast", 1), ("exact", 0)])
def test_flipped_test_view_maps_boxes_back_exactly(ava_root, tmp_path, preprocess, last):
    """A flip maps x to W - 1 - x (PySlowFast's cv2_transform.flip_boxes, inclusive pixels) or W - x (exact)."""
    cfg = load_config(AVA_TINY, ava_opts(ava_root, tmp_path, "AVA.PREPROCESS", preprocess))
    plain = build_dataset("ava", cfg, "test", test_scale=60, test_flip=False)
    flipped = build_dataset("ava", cfg, "test", test_scale=60, test_flip=True)
    for i in range(len(plain)):
        (xs, _, _, a), (fxs, _, _, b) = plain[i], flipped[i]
        width = xs[0].shape[-1]
        torch.testing.assert_close(torch.as_tensor(b["ori_boxes"]), torch.as_tensor(a["ori_boxes"]))
        fb, pb = torch.as_tensor(b["boxes"]), torch.as_tensor(a["boxes"])
        torch.testing.assert_close(fb[:, [0, 2]], width - last - pb[:, [2, 0]])
        torch.testing.assert_close(fxs[0], xs[0].flip(-1))


# ------------------------------------------------------------------------------------------ end to end
def test_train_test_writes_a_detection_csv_that_the_evaluator_scores_identically(ava_root, tmp_path):
    from slowfast.apps.run_net import main

    out = tmp_path / "run"
    assert main(["--cfg", AVA_TINY, *ava_opts(ava_root, out)]) == 0
    results = json.load(open(out / "results.json"))
    for key in ("mAP", "per_class", "random_mAP"):
        assert key in results
    assert 0.0 <= results["random_mAP"] <= 1.0 and 0.0 <= results["mAP"] <= 1.0
    ann = os.path.join(ava_root, "annotations")
    again = evaluate(os.path.join(ann, "ava_action_list_v2.2_for_activitynet_2019.pbtxt"),
                     os.path.join(ann, "ava_val_v2.2.csv"), str(out / "detections.csv"),
                     exclusions=os.path.join(ann, "ava_val_excluded_timestamps_v2.2.csv"))
    assert again.mAP == pytest.approx(results["mAP"], abs=1e-12)
    rows = open(out / "detections.csv").read().splitlines()
    assert rows and len(rows[0].split(",")) == 8


def test_plusplus_views_average_scores_per_box(ava_root, tmp_path, caplog):
    """Two scales x two flips: every proposal still gets exactly one score per class in the CSV; one progress
    count (with ETA) runs over the batches of all four views."""
    from slowfast.engine.ava_inference import run_ava_inference, test_views
    from slowfast.models import build_model

    cfg = load_config(AVA_TINY, ava_opts(ava_root, tmp_path, "AVA.TEST_SCALES", "[48, 60]", "AVA.TEST_FLIP", "True"))
    assert test_views(cfg) == [(48, False), (48, True), (60, False), (60, True)]
    torch.manual_seed(0)
    model = build_model(cfg)
    with caplog.at_level("INFO", logger="slowfast.engine.ava_inference"):
        res = run_ava_inference(cfg, model, split="test", write=True)
    n_boxes = build_dataset("ava", cfg, "test").num_boxes
    assert res["views"] == 4 and res["num_boxes"] == n_boxes
    n_batches = 4 * len(build_loader(cfg, "test", dataset=build_dataset("ava", cfg, "test")))
    assert f"AVA test {n_batches}/{n_batches} batches (100%)" in caplog.text and "ETA" in caplog.text
    rows = np.loadtxt(tmp_path / "detections.csv", delimiter=",", usecols=(6,), dtype=int)
    assert len(rows) == n_boxes * len(set(rows.tolist()))


def test_missing_and_corrupt_frame_files_at_test_time_are_replaced_and_counted_through_loader_workers(tmp_path):
    """SECURITY.md's promise for AVA test clips: an unreadable frame file is replaced by the nearest
    readable frame of its clip, logged with its path, and counted in the results, also when a loader
    worker process (whose dataset object the main process never sees) read it."""
    from slowfast.engine.ava_inference import run_ava_inference
    from slowfast.models import build_model

    root = str(tmp_path / "data")
    make_ava_synthetic(root, num_train_videos=1, num_val_videos=1, num_keyframes=2, seed=1)
    cfg = load_config(AVA_TINY, ava_opts(root, tmp_path / "out", "DATA_LOADER.NUM_WORKERS", "1"))
    dataset = build_dataset("ava", cfg, "test")
    used = sorted({p for i in range(len(dataset._keyframes)) for p in
                   (dataset._frames.frame_paths[dataset._keyframes[i][0]][j] for j in dataset.frame_indices(i))})
    os.remove(used[0])
    with open(used[-1], "wb") as f:
        f.write(b"not a jpeg")
    torch.manual_seed(0)
    res = run_ava_inference(cfg, build_model(cfg), split="test", write=True)
    assert res["replaced_frames"] >= 2  # each bad file once per clip that uses it
    assert res["mAP"] is not None and res["num_boxes"] == dataset.num_boxes
