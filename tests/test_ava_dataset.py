"""Specification of the AVA data side: file readers, key-frame samples, clips, boxes, synthetic data.

Small AVA layouts are written into tmp_path with the real file formats; frames are PNG files here
(the reader takes whatever the frame list names) so pixel values survive exactly.
"""
import filecmp
import logging
import os
import re

import cv2
import numpy as np
import pytest
import torch

from slowfast.config import load_config
from slowfast.datasets.ava import Ava
from slowfast.datasets.build import DATASET_REGISTRY, detection_collate
from slowfast.datasets.sampling import pathway_indices
from slowfast.datasets.synthetic_ava import ACTIONS, POSES, ensure_ava_synthetic, make_ava_synthetic
from slowfast.datasets.validation import UnreadableDataError
from slowfast.evaluation.ava import read_exclusions
from slowfast.formats import ava_csv, ava_frames, ava_labels
from slowfast.formats.problems import AvaFormatError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs", "Synthetic", "AVA_SLOWFAST_TINY.yaml")
KEY = 903  # key second used by the hand-made layouts: frame (903 - 900) * 30 = 90
WIDTH, HEIGHT = 32, 24


def ava_cfg(root, *opts):
    return load_config(TINY, ["DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", False, *opts])


def write_layout(root, frames, gt=(), train_proposals=(), val_proposals=()):
    """Write an AVA layout: ``frames`` = {video_id: T x H x W x 3 uint8 RGB}; box rows as in
    :func:`ava_csv.write_box_csv`.  The same videos form the train and the val frame lists."""
    for sub in ("frames", "frame_lists", "annotations"):
        os.makedirs(root / sub, exist_ok=True)
    for vid, video in frames.items():
        os.makedirs(root / "frames" / vid, exist_ok=True)
        for t, image in enumerate(video):
            cv2.imwrite(str(root / "frames" / ava_frames.frame_file_name(vid, t, "png")), image[..., ::-1])
    for split in ("train", "val"):
        ava_frames.write_frame_list(str(root / "frame_lists" / f"{split}.csv"), [(v, len(f)) for v, f in frames.items()], "png")
    ann = root / "annotations"
    ava_csv.write_box_csv(str(ann / "ava_train_v2.2.csv"), gt)
    ava_csv.write_box_csv(str(ann / "ava_train_predicted_boxes.csv"), train_proposals, proposals=True)
    ava_csv.write_box_csv(str(ann / "ava_val_predicted_boxes.csv"), val_proposals, proposals=True)


def grey_video(num_frames=100):
    """Frame t is uniformly grey with level t: the pixel value tells which frame was read."""
    return np.repeat(np.arange(num_frames, dtype=np.uint8), HEIGHT * WIDTH * 3).reshape(num_frames, HEIGHT, WIDTH, 3)


def item_boxes(ds, index=0):
    """{rounded normalised box: set of 1-based action ids} of one item."""
    _, labels, _, extra = ds[index]
    return {tuple(np.round(b.tolist(), 3)): {int(k) + 1 for k in torch.nonzero(lb).flatten()}
            for b, lb in zip(extra["ori_boxes"], labels)}


A, B = (0.1, 0.1, 0.4, 0.9), (0.6, 0.1, 0.9, 0.9)


# --------------------------------------------------------------------------- which boxes become samples


def test_proposals_with_iou_above_0_9_to_a_gt_box_join_the_training_samples_with_that_boxes_labels(tmp_path):
    near_a = (0.105, 0.1, 0.4, 0.9)  # IoU 0.98 with A
    loose_b = (0.6, 0.1, 0.84, 0.9)  # IoU 0.8 with B
    far = (0.45, 0.0, 0.55, 0.2)
    gt = [("v", KEY, A, 3, 0), ("v", KEY, A, 7, 0), ("v", KEY, B, 12, 1)]  # A: two actions on two rows
    proposals = [("v", KEY, near_a, -1, 0.95), ("v", KEY, loose_b, -1, 0.95), ("v", KEY, far, -1, 0.99),
                 ("v", KEY, B, -1, 0.9),  # repeats a GT box: merged, not added twice
                 ("v", KEY, A, -1, 0.5)]  # below the score threshold
    write_layout(tmp_path, {"v": grey_video()}, gt, train_proposals=proposals)
    ds = Ava(ava_cfg(tmp_path), "train")
    assert item_boxes(ds) == {A: {3, 7}, B: {12}, near_a: {3, 7}}
    assert ds.num_boxes == 3 and len(ds) == 1
    assert ds.stats["unmatched_proposals"] == 2 and ds.stats["low_score_proposals"] == 1


def test_test_proposals_below_the_score_threshold_are_dropped_and_those_at_it_kept_as_in_pyslowfast(tmp_path):
    """PySlowFast ``ava_helper.parse_bboxes_file`` skips a proposal when ``score < DETECTION_SCORE_THRESH``, so a
    score equal to the threshold stays; ``AVA.DETECTION_SCORE_STRICT`` gives the report's "> 0.8"."""
    at = (0.4, 0.4, 0.6, 0.6)
    proposals = [("v", KEY, A, -1, 0.95), ("v", KEY, B, -1, 0.81), ("v", KEY, at, -1, 0.8),
                 ("v", KEY, (0.0, 0.0, 0.2, 0.2), -1, 0.3)]
    write_layout(tmp_path, {"v": grey_video()}, val_proposals=proposals)
    ds = Ava(ava_cfg(tmp_path), "test")
    assert item_boxes(ds) == {A: set(), B: set(), at: set()}  # test items carry no labels
    assert ds.stats["low_score_proposals"] == 1
    strict = Ava(ava_cfg(tmp_path, "AVA.DETECTION_SCORE_STRICT", True), "test")
    assert item_boxes(strict) == {A: set(), B: set()} and strict.stats["low_score_proposals"] == 2


def test_a_key_frame_whose_proposals_are_all_dropped_is_logged_by_name_and_skipped(tmp_path, caplog):
    proposals = [("v", KEY, A, -1, 0.95), ("v", KEY + 1, A, -1, 0.4), ("v", KEY + 1, B, -1, 0.2)]
    write_layout(tmp_path, {"v": grey_video(150)}, val_proposals=proposals)
    with caplog.at_level(logging.INFO, logger="slowfast.datasets.ava"):
        ds = Ava(ava_cfg(tmp_path), "test")
    assert len(ds) == 1 and ds.stats["empty_keyframes"] == 1
    assert "v,0904" in caplog.text


def test_a_training_split_whose_videos_are_all_unknown_to_the_frame_lists_is_an_error_naming_files_and_counts(tmp_path):
    write_layout(tmp_path, {"v": grey_video()}, [("x", KEY, A, 3, 0), ("x", KEY, B, 7, 1), ("y", KEY, A, 3, 0)],
                 train_proposals=[("x", KEY, A, -1, 0.95)])
    ann = tmp_path / "annotations"
    with pytest.raises(AvaFormatError) as caught:
        Ava(ava_cfg(tmp_path), "train")
    message = str(caught.value)
    assert message.startswith("AVA train has no key frames: annotation file(s) "
                              f"{ann / 'ava_train_v2.2.csv'}, {ann / 'ava_train_predicted_boxes.csv'} "
                              f"with frame list(s) {tmp_path / 'frame_lists' / 'train.csv'}: ")
    assert "of their 4 box rows none is left (4 rows of videos not in the frame lists (stats 'unknown_video_boxes'))" in message


def test_a_test_split_whose_proposals_are_all_below_the_score_threshold_is_an_error(tmp_path):
    write_layout(tmp_path, {"v": grey_video()}, val_proposals=[("v", KEY, A, -1, 0.5), ("v", KEY + 1, B, -1, 0.79)])
    with pytest.raises(AvaFormatError, match=r"^AVA test has no key frames: annotation file\(s\) \S*ava_val_predicted_boxes"
                       r"\.csv with .*: of their 2 box rows none is left \(2 proposals scored below "
                       r"AVA\.DETECTION_SCORE_THRESH = 0\.8 \(stats 'low_score_proposals'\); 2 key frames left without"):
        Ava(ava_cfg(tmp_path), "test")
    # val also skips the seconds not divisible by 4; 903 is none of them
    write_layout(tmp_path, {"v": grey_video()}, val_proposals=[("v", KEY, A, -1, 0.9)])
    with pytest.raises(AvaFormatError, match=r"^AVA val has no key frames: .*: of their 1 box rows none is left \(1 rows "
                       r"of seconds not divisible by 4 \(val without AVA\.FULL_TEST_ON_VAL\)\)$"):
        Ava(ava_cfg(tmp_path), "val")
    assert len(Ava(ava_cfg(tmp_path, "AVA.FULL_TEST_ON_VAL", True), "val")) == 1


def test_an_empty_box_csv_is_an_error_not_an_empty_dataset(tmp_path):
    write_layout(tmp_path, {"v": grey_video()})
    with pytest.raises(AvaFormatError, match=r"^AVA train has no key frames: .*ava_train_v2\.2\.csv.*: the annotation "
                       r"file\(s\) have no box rows$"):
        Ava(ava_cfg(tmp_path), "train")
    with pytest.raises(AvaFormatError, match=r"^AVA test has no key frames: .*ava_val_predicted_boxes\.csv.*no box rows$"):
        Ava(ava_cfg(tmp_path), "test")


# --------------------------------------------------------------------------- clips and boxes


def test_the_clip_is_centred_on_the_key_frame_and_clamped_to_the_video(tmp_path):
    write_layout(tmp_path, {"v": grey_video(100)}, val_proposals=[("v", KEY, A, -1, 0.9)])
    cfg = ava_cfg(tmp_path, "DATA.NUM_FRAMES", 16, "DATA.SAMPLING_RATE", 4, "DATA.TEST_CROP_SIZE", HEIGHT)
    slow, fast = Ava(cfg, "test")[0][0]
    levels = lambda clip: torch.round((clip[0, :, 0, 0] * 0.225 + 0.45) * 255).long().tolist()  # noqa: E731
    expected = [min(90 + (i - 8) * 4, 99) for i in range(16)]  # key frame 90 at position 8; video ends at 99
    assert levels(fast) == expected
    assert levels(slow) == [expected[i] for i in pathway_indices(16, cfg.SLOWFAST.ALPHA).tolist()]


def painted_video(box, num_frames=100, width=80, height=60):
    """Black frames with the half-open pixel box ``box`` painted white."""
    video = np.zeros((num_frames, height, width, 3), dtype=np.uint8)
    x1, y1, x2, y2 = box
    video[:, y1:y2, x1:x2] = 255
    return video


def bright_bbox(clip):
    """Half-open bounding box of the bright pixels of the key frame of a normalised ``C x T x H x W`` clip."""
    key = clip[0, clip.shape[1] // 2]
    ys, xs = torch.nonzero(key > 0.0, as_tuple=True)
    if len(xs) == 0:
        return None
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


@pytest.mark.parametrize("split", ["train", "test"])
def test_a_box_drawn_on_the_frame_stays_on_the_same_pixels_after_scale_jitter_crop_and_flip(tmp_path, split):
    """AVA.PREPROCESS exact (ours): half-open pixel boxes follow the pixels exactly."""
    pixels = (20, 14, 44, 50)  # in an 80 x 60 frame
    box = (pixels[0] / 80, pixels[1] / 60, pixels[2] / 80, pixels[3] / 60)
    write_layout(tmp_path, {"v": painted_video(pixels)}, [("v", KEY, box, 3, 0)], val_proposals=[("v", KEY, box, -1, 0.9)])
    cfg = ava_cfg(tmp_path, "DATA.TRAIN_JITTER_SCALES", [60, 90], "DATA.TRAIN_CROP_SIZE", 56, "AVA.PREPROCESS", "exact")
    seen_flip = set()
    for seed in range(12):
        torch.manual_seed(seed)
        ds = Ava(cfg, split, test_scale=48 + seed, test_flip=seed % 2 == 1)
        inputs, _, _, extra = ds[0]
        boxes = extra["boxes"]
        assert extra["ori_boxes"][0].tolist() == pytest.approx(list(box), abs=1e-3)  # never flipped
        found = bright_bbox(inputs[1])
        if found is None:  # the crop missed the box: it must have no area left
            assert (boxes[0, 2] - boxes[0, 0]) * (boxes[0, 3] - boxes[0, 1]) < 1.0
            continue
        assert torch.allclose(found, boxes[0], atol=1.0), (seed, found, boxes[0])
        seen_flip.add(bool(boxes[0, 0] > inputs[1].shape[3] - boxes[0, 2]))  # box now right of centre
    assert seen_flip == {True, False}


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ava") / "synthetic_ava"
    ensure_ava_synthetic(str(root), num_train_videos=2, num_val_videos=1, num_keyframes=3)
    return root


def test_labels_are_multi_hot_over_80_classes(synthetic_root):
    ds = DATASET_REGISTRY.get("ava")(ava_cfg(synthetic_root), "train")
    labels = torch.cat([ds[i][1] for i in range(len(ds))])
    assert labels.shape[1] == 80 and labels.dtype == torch.float32
    assert set(labels.unique().tolist()) == {0.0, 1.0}
    assert set(torch.nonzero(labels.sum(0)).flatten().tolist()) <= {k - 1 for k in ACTIONS}
    poses = [k - 1 for k in POSES]
    matched = labels.sum(1) > 0  # ground-truth boxes and matched proposals: exactly one pose each
    assert matched.all() and torch.all(labels[:, poses].sum(1) == 1)
    metadata = torch.cat([ds[i][3]["metadata"] for i in range(len(ds))])
    assert metadata.dtype == torch.long and set(metadata[:, 1].tolist()) == {902, 903, 904}
    assert [ds.video_names[v] for v in metadata[:, 0].unique().tolist()] == ["train_000", "train_001"]


def test_detection_collate_puts_each_items_batch_index_in_front_of_its_boxes(synthetic_root):
    ds = Ava(ava_cfg(synthetic_root), "test")
    items = [ds[0], ds[1]]
    inputs, labels, index, extra = detection_collate(items)
    sizes = [len(it[3]["boxes"]) for it in items]
    assert extra["boxes"].shape == (sum(sizes), 5)
    assert extra["boxes"][:, 0].tolist() == [0.0] * sizes[0] + [1.0] * sizes[1]
    assert torch.equal(extra["boxes"][:, 1:], torch.cat([it[3]["boxes"] for it in items]))
    assert labels.shape == (sum(sizes), 80) and index.tolist() == [0, 1]
    assert [x.shape[0] for x in inputs] == [2, 2]


def test_the_model_built_from_the_ava_tiny_config_runs_on_a_collated_batch(synthetic_root):
    from slowfast.models import build_model

    cfg = ava_cfg(synthetic_root)
    ds = Ava(cfg, "train")
    inputs, labels, _, extra = detection_collate([ds[0], ds[1]])
    model = build_model(cfg)
    logits = model(inputs, extra["boxes"])
    assert logits.shape == labels.shape
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    loss.backward()
    model.eval()
    with torch.no_grad():
        scores = model(inputs, extra["boxes"])
    assert scores.shape == labels.shape and 0 <= scores.min() and scores.max() <= 1


# --------------------------------------------------------------------------- bad input


def test_a_missing_or_corrupt_frame_file_replaces_the_training_key_frame_counted_and_logged(tmp_path, caplog):
    """Like an unreadable Kinetics video, the key frame is replaced by another random one (it used to abort)."""
    write_layout(tmp_path, {"v": grey_video(), "w": grey_video()}, [("v", KEY, A, 3, 0), ("w", KEY, B, 7, 1)])
    missing = tmp_path / "frames" / ava_frames.frame_file_name("v", 90, "png")
    os.remove(missing)
    ds = Ava(ava_cfg(tmp_path), "train")
    torch.manual_seed(0)
    with caplog.at_level(logging.WARNING):
        _, labels, index, extra = ds[0]
    assert ds.video_names[ds._keyframes[index][0]] == "w" and labels[0, 6] == 1 and labels.sum() == 1
    assert extra["retries"] == ds.stats["replaced_keyframes"] >= 1
    assert str(missing) in caplog.text and "v,0903 replaced" in caplog.text
    assert detection_collate([ds[1], ds[0]])[3]["retries"] >= 1  # into the batch, then the epoch stats
    corrupt = tmp_path / "frames" / ava_frames.frame_file_name("w", 90, "png")
    corrupt.write_bytes(b"\x89PNG half a file")
    with pytest.raises(UnreadableDataError, match=r"AVA key frames in a row .*DATA\.MAX_DECODE_RETRIES"):
        ds[1]  # nothing readable is left


def test_an_unreadable_frame_of_a_test_clip_is_replaced_by_the_nearest_readable_frame(tmp_path, caplog):
    """A test key frame cannot be swapped for another (its boxes are scored): the missing frame of its clip
    is replaced by the nearest readable one of the same clip, logged and counted."""
    write_layout(tmp_path, {"v": grey_video(100)}, val_proposals=[("v", KEY, A, -1, 0.9)])
    missing = tmp_path / "frames" / ava_frames.frame_file_name("v", 90, "png")
    os.remove(missing)
    (tmp_path / "frames" / ava_frames.frame_file_name("v", 94, "png")).write_bytes(b"not an image")
    cfg = ava_cfg(tmp_path, "DATA.NUM_FRAMES", 16, "DATA.SAMPLING_RATE", 4, "DATA.TEST_CROP_SIZE", HEIGHT,
                  "AVA.FULL_TEST_ON_VAL", True)  # every key second, not only those divisible by 4
    ds = Ava(cfg, "val")
    with caplog.at_level(logging.WARNING):
        fast = ds[0][0][1]
    levels = torch.round((fast[0, :, 0, 0] * 0.225 + 0.45) * 255).long().tolist()
    expected = [min(90 + (i - 8) * 4, 99) for i in range(16)]
    expected[8], expected[9] = 86, 98  # 90 -> 86 (the earlier of 86 and 94; 94 is unreadable too), 94 -> 98
    assert levels == expected
    assert ds.stats["replaced_frames"] == 2 and str(missing) in caplog.text


def test_training_stops_after_ava_max_replaced_keyframes_in_an_epoch(tmp_path):
    from slowfast.engine.tasks import build_task

    task = build_task(load_config(TINY, ["AVA.MAX_REPLACED_KEYFRAMES", "3"]))
    task.check_replaced(3, epoch=0)
    with pytest.raises(UnreadableDataError, match=r"4 AVA key frames of epoch 1 .*AVA\.MAX_REPLACED_KEYFRAMES = 3"):
        task.check_replaced(4, epoch=0)
    build_task(load_config(TINY, ["AVA.MAX_REPLACED_KEYFRAMES", "-1"])).check_replaced(10**6, epoch=0)


def test_a_box_outside_the_image_is_clipped_counted_and_warned(tmp_path, caplog):
    write_layout(tmp_path, {"v": grey_video()}, [("v", KEY, (-0.1, 0.2, 1.2, 0.8), 3, 0), ("v", KEY, A, 7, 1)])
    with caplog.at_level(logging.WARNING):
        ds = Ava(ava_cfg(tmp_path), "train")
    assert ds.stats["clipped_boxes"] == 1
    assert "ava_train_v2.2.csv" in caplog.text and "clipped" in caplog.text
    assert set(item_boxes(ds)) == {(0.0, 0.2, 1.0, 0.8), A}


def test_an_unknown_video_in_a_csv_is_warned_by_name_and_its_boxes_skipped(tmp_path, caplog):
    gt = [("v", KEY, A, 3, 0), ("ghost", KEY, A, 3, 0), ("ghost", KEY, B, 7, 1)]
    write_layout(tmp_path, {"v": grey_video()}, gt)
    with caplog.at_level(logging.WARNING):
        ds = Ava(ava_cfg(tmp_path), "train")
    assert "'ghost'" in caplog.text
    assert ds.stats["unknown_video_boxes"] == 2 and len(ds) == 1 and ds.video_names == ["v"]


@pytest.mark.parametrize("row, message", [
    ("v,0903,0.1,0.1,0.4,3", "line 2: expected 7 or 8 columns, got 6"),
    ("v,0903,abc,0.1,0.4,0.9,3,0", "line 2: coordinate x1 is not a number: 'abc'"),
    ("v,09:03,0.1,0.1,0.4,0.9,3,0", "line 2: timestamp is not an integer"),
    ("v,0903,0.1,0.1,0.4,0.9,walk,0", "line 2: action_id is not an integer"),
    ("v,0903,0.1,0.1,0.4,0.9,99,0", "line 2: action_id 99 outside 1..80"),
])
def test_a_malformed_csv_row_raises_an_error_naming_file_and_line(tmp_path, row, message):
    write_layout(tmp_path, {"v": grey_video()}, [("v", KEY, A, 3, 0)])
    path = tmp_path / "annotations" / "ava_train_v2.2.csv"
    path.write_text(path.read_text() + row + "\n")
    with pytest.raises(AvaFormatError, match=re.escape(f"ava_train_v2.2.csv {message}")):
        Ava(ava_cfg(tmp_path), "train")


def test_ground_truth_rows_without_person_id_are_read(tmp_path):
    write_layout(tmp_path, {"v": grey_video()}, [("v", KEY, A, 3, 0)])
    path = tmp_path / "annotations" / "ava_train_v2.2.csv"
    path.write_text(path.read_text() + "v,0903,0.6,0.1,0.9,0.9,7\n")  # AVA v2.0 layout
    assert item_boxes(Ava(ava_cfg(tmp_path), "train")) == {A: {3}, B: {7}}


def test_malformed_frame_list_and_label_map_name_file_and_line(tmp_path):
    bad_list = tmp_path / "train.csv"
    bad_list.write_text(ava_frames.FRAME_LIST_HEADER + "\nv 0 0 v/v_000001.jpg \"\"\nv 0 x v/v_000002.jpg \"\"\n")
    with pytest.raises(AvaFormatError, match="train.csv line 3: frame_id is not an integer"):
        ava_frames.read_frame_lists([str(bad_list)], "frames")
    bad_map = tmp_path / "labels.pbtxt"
    bad_map.write_text('item {\n  name: "a"\n  id: 1\n}\nitem {\n  name: "b"\n  id: one\n}\n')
    with pytest.raises(AvaFormatError, match="labels.pbtxt line 7: id is not an integer"):
        ava_labels.read_label_map(str(bad_map))


def test_the_timestamp_to_frame_rule_matches_the_extraction_from_second_900():
    assert ava_frames.sec_to_frame(902) == 60 and ava_frames.sec_to_frame(1798) == 26940
    assert ava_frames.frame_file_name("abc", ava_frames.sec_to_frame(902)) == "abc/abc_000061.jpg"


# --------------------------------------------------------------------------- synthetic data


def test_synthetic_ava_generation_is_deterministic_and_has_the_real_layout(tmp_path, synthetic_root):
    small = dict(num_train_videos=2, num_val_videos=1, num_keyframes=3)
    make_ava_synthetic(str(tmp_path / "again"), **small)
    compared = filecmp.dircmp(str(synthetic_root), str(tmp_path / "again"))
    assert not compared.diff_files and not compared.left_only and not compared.right_only
    for sub in ("frames/train_000", "annotations", "frame_lists"):
        cmp = filecmp.dircmp(str(synthetic_root / sub), str(tmp_path / "again" / sub))
        _, mismatch, errors = filecmp.cmpfiles(str(synthetic_root / sub), str(tmp_path / "again" / sub), cmp.common_files, shallow=False)
        assert not mismatch and not errors
    ann = synthetic_root / "annotations"
    assert ava_labels.read_label_map(str(ann / "ava_action_list_v2.2_for_activitynet_2019.pbtxt")) == ACTIONS
    assert len(ava_labels.read_label_map(str(ann / "ava_action_list_v2.2.pbtxt"))) == 80
    assert read_exclusions(str(ann / "ava_val_excluded_timestamps_v2.2.csv"))[0] == {"val_000,0904"}
    assert os.path.isfile(synthetic_root / "frames" / "train_000" / "train_000_000001.jpg")
    assert ensure_ava_synthetic(str(synthetic_root), seed=123)["train"].endswith("frame_lists/train.csv")  # kept as is


def test_synthetic_ava_is_ava_like_ten_of_eighty_classes_skewed_some_seen_only_in_motion():
    """At least 8 evaluated classes of an 80-id map; frequencies skewed as in AVA (the rarest several times
    rarer than the commonest); uniformly random scores then reach an AP near each class's frequency, so a
    random mAP of about their mean, <= 0.3; talk and shake change every 2 frames (seen by the Fast pathway at
    stride 2) and repeat every 4, so the Slow pathway's stride 8 samples always the same phase."""
    from slowfast.datasets import synthetic_ava as S

    assert len(ACTIONS) >= 8 and all(1 <= k <= S.NUM_LABEL_IDS == 80 for k in ACTIONS)
    rng = np.random.default_rng(0)
    people = [S._draw_person(rng, 0, 26, 80, 60) for _ in range(3000)]
    freq = {k: np.mean([k in p["actions"] for p in people]) for k in ACTIONS}
    assert max(freq.values()) / min(freq.values()) > 5
    assert np.mean(list(freq.values())) <= 0.3
    shaker = next(p for p in people if S.SHAKE in p["actions"] and S.WALK not in p["actions"] and S.JUMP not in p["actions"])
    xs = [S.person_box(shaker, t)[0] for t in range(-16, 14, 2)]
    assert len(set(xs)) == 2 and xs[0::4] == [xs[0]] * len(xs[0::4])
    frame = lambda person, t: (S._draw(img := np.zeros((60, 80, 3), np.uint8), person, t), img)[1]  # noqa: E731
    talker = next(p for p in people if p["actions"] == [S.STAND, S.TALK])
    still = dict(talker, actions=[S.STAND])
    assert not np.array_equal(frame(talker, 0), frame(talker, 2))
    assert np.array_equal(frame(talker, 0), frame(talker, 8))
    assert np.array_equal(frame(still, 0), frame(still, 2))


@pytest.mark.parametrize("reverse", [False, True])
def test_clip_normalisation_is_the_textbook_formula_bit_for_bit(reverse):
    """(x / 255 - mean[c]) / std[c] in the frames' channel order, then channels reversed (AVA.BGR False):
    the in-place form gives exactly the out-of-place formula's floats, for strided (flipped) frames too."""
    from slowfast.datasets.ava import normalize_frames

    frames = np.random.default_rng(0).integers(0, 256, (3, 5, 7, 3), dtype=np.uint8)[:, :, ::-1]
    mean, std = [0.45, 0.4, 0.35], [0.225, 0.2, 0.25]
    x = torch.from_numpy(frames.copy()).permute(3, 0, 1, 2).float() / 255.0
    want = (x - torch.tensor(mean).view(3, 1, 1, 1)) / torch.tensor(std).view(3, 1, 1, 1)
    got = normalize_frames(frames, mean, std, reverse)
    assert torch.equal(got, want.flip(0) if reverse else want) and got.is_contiguous()


@pytest.mark.parametrize("seed", range(6))
def test_the_training_crop_is_resize_then_crop_then_flip_up_to_uint8_rounding_with_the_same_draws(seed):
    """AVA training views compute only the crop of the jittered resize: same random scale, offsets and flip
    as PySlowFast's resize / crop / flip steps (same torch draws, same order), same boxes, pixels within
    OpenCV's rounding of the full resize."""
    from slowfast.datasets.ava import (crop_frames, cv2_short_side_scale, flip_frames_inclusive, jitter_scale,
                                       train_crop)

    rng = np.random.default_rng(seed)
    smooth = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (96, 72), interpolation=cv2.INTER_CUBIC)
    frames = np.stack([np.roll(smooth, t, axis=1) for t in range(4)])  # 4 x 72 x 96 x 3
    boxes = np.array([[3.0, 5.0, 40.0, 60.0], [50.0, 0.0, 95.0, 71.0]])
    jitter, size = ([48, 72], 40) if seed % 2 else ([72, 72], 72)  # the second: short side kept, no crop in y
    torch.manual_seed(seed)
    got, got_boxes = train_crop(frames, boxes, jitter, size, random_flip=True)
    torch.manual_seed(seed)
    want, want_boxes = cv2_short_side_scale(frames, jitter_scale(*jitter), boxes)
    height, width = want.shape[1:3]
    y = int(torch.randint(0, height - size, ()).item()) if height > size else 0
    x = int(torch.randint(0, width - size, ()).item()) if width > size else 0
    want, want_boxes = crop_frames(want, x, y, size, want_boxes)
    if torch.rand(()).item() < 0.5:
        want, want_boxes = flip_frames_inclusive(want, want_boxes)
    assert got.shape == want.shape == (4, size, size, 3)
    np.testing.assert_allclose(got_boxes, want_boxes, rtol=0, atol=1e-9)
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 3 and diff.mean() < 0.6, (diff.max(), diff.mean())
    if jitter[0] == jitter[1] == min(frames.shape[1:3]):
        assert diff.max() == 0  # no resize: an exact crop


def test_a_training_crop_larger_than_the_jittered_frame_is_an_error_naming_the_keys():
    from slowfast.datasets.ava import train_crop

    with pytest.raises(ValueError, match="DATA.TRAIN_CROP_SIZE 64"):
        train_crop(np.zeros((2, 40, 50, 3), np.uint8), np.zeros((1, 4)), [32, 32], 64, random_flip=False)


@pytest.mark.parametrize("bgr,reverse", [(False, False), (True, False), (False, True)])
def test_training_clips_travel_as_uint8_and_the_model_normalises_them_like_the_loader(synthetic_root, bgr,
                                                                                      reverse):
    """DATA.NORMALIZE_ON_DEVICE for AVA ("pyslowfast" preprocessing): training clips leave the loader as
    uint8; the model's normalisation gives the loader's floats (OpenCV's BGR order, AVA.BGR,
    DATA.REVERSE_INPUT_CHANNEL), up to float rounding of the two forms of the formula; same boxes."""
    from slowfast.models import build_model

    opts = ["DATA.MEAN", "[0.40, 0.45, 0.50]", "DATA.STD", "[0.20, 0.225, 0.25]", "AVA.BGR", str(bgr),
            "DATA.REVERSE_INPUT_CHANNEL", str(reverse)]
    items = {}
    for on_device in (True, False):
        ds = Ava(ava_cfg(synthetic_root, *opts, "DATA.NORMALIZE_ON_DEVICE", str(on_device)), "train")
        torch.manual_seed(5)
        items[on_device] = detection_collate([ds[0], ds[1]])
    (shipped, _, _, extra), (want, _, _, want_extra) = items[True], items[False]
    assert all(x.dtype == torch.uint8 for x in shipped) and all(x.dtype == torch.float32 for x in want)
    assert torch.equal(extra["boxes"], want_extra["boxes"])
    model = build_model(ava_cfg(synthetic_root, *opts))
    for got, ref in zip(model.normalize_inputs(shipped), want):
        torch.testing.assert_close(got, ref, rtol=0, atol=1e-5)
    test_views = [Ava(ava_cfg(synthetic_root, *opts, "DATA.NORMALIZE_ON_DEVICE", str(on)), "test")[0][0]
                  for on in (True, False)]
    assert all(x.dtype == torch.float32 and torch.equal(x, y) for x, y in zip(*test_views))  # reference floats
