"""AVA test protocol held to PySlowFast's (facebookresearch/SlowFast, the reference of the report).

Every expected value here is computed in the test from PySlowFast's formulas, written out again (the
file and function of PySlowFast each one comes from is named in the docstring); nothing calls the
code under test to make an expectation.  Frames are PNG files so that pixel values survive exactly.
"""
import math
import os

import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import roi_align

from slowfast.config import load_config
from slowfast.datasets.ava import Ava, clip_frame_indices
from slowfast.formats import ava_csv, ava_frames, ava_labels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs", "Synthetic", "AVA_SLOWFAST_TINY.yaml")
MEAN, STD = [0.40, 0.45, 0.50], [0.20, 0.225, 0.25]  # per channel, so channel order matters


def get_sequence(center, half_len, sample_rate, num_frames):
    """PySlowFast ``slowfast/datasets/utils.py::get_sequence``, restated."""
    seq = list(range(center - half_len, center + half_len, sample_rate))
    return [min(max(i, 0), num_frames - 1) for i in seq]


def write_video_layout(root, videos, proposals, gt=()):
    """``videos`` = {video_id: T x H x W x 3 uint8 BGR}; proposal rows ``(video, sec, box, -1, score)``."""
    for sub in ("frames", "frame_lists", "annotations"):
        os.makedirs(root / sub, exist_ok=True)
    for vid, frames in videos.items():
        os.makedirs(root / "frames" / vid, exist_ok=True)
        for t, image in enumerate(frames):
            cv2.imwrite(str(root / "frames" / ava_frames.frame_file_name(vid, t, "png")), image)
    for split in ("train", "val"):
        ava_frames.write_frame_list(str(root / "frame_lists" / f"{split}.csv"), [(v, len(f)) for v, f in videos.items()], "png")
    ava_csv.write_box_csv(str(root / "annotations" / "ava_val_predicted_boxes.csv"), proposals, proposals=True)
    ava_csv.write_box_csv(str(root / "annotations" / "ava_train_v2.2.csv"), gt)
    ava_csv.write_box_csv(str(root / "annotations" / "ava_train_predicted_boxes.csv"), proposals, proposals=True)


def cfg_for(root, *opts):
    return load_config(TINY, ["DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", False,
                              "DATA.MEAN", MEAN, "DATA.STD", STD, *opts])


def noise_video(rng, num_frames, height, width):
    return rng.integers(0, 256, size=(num_frames, height, width, 3), dtype=np.uint8)


# --------------------------------------------------------------------------- clip indices


@pytest.mark.parametrize("center, num_frames, rate, length", [
    (90, 32, 2, 300), (60, 32, 2, 300), (10, 32, 2, 300), (290, 32, 2, 300),  # AVA 8x8: clamped at both ends
    (150, 64, 2, 300), (150, 8, 8, 300), (150, 3, 3, 300), (150, 5, 3, 300),  # 16x8, Slow-only 8x8, odd lengths
    (5, 16, 2, 12),                                                          # a video shorter than the clip
])
def test_clip_frame_indices_are_pyslowfast_get_sequence_of_the_key_frame(center, num_frames, rate, length):
    """PySlowFast ``ava_dataset.Ava.__getitem__``: ``seq = get_sequence(center_idx, seq_len // 2, sample_rate,
    num_frames=len(video))`` with ``seq_len = NUM_FRAMES * SAMPLING_RATE`` (``utils.get_sequence``: a range of
    stride ``sample_rate`` from ``center - half`` below ``center + half``, clamped to the video)."""
    expected = get_sequence(center, num_frames * rate // 2, rate, length)
    assert len(expected) == num_frames
    assert clip_frame_indices(center, num_frames, rate, length).tolist() == expected


def test_the_dataset_reads_the_frames_of_get_sequence_around_second_to_frame(tmp_path):
    """PySlowFast ``ava_helper.get_keyframe_data``: key frame of second ``sec`` = ``(sec - 900) * FPS`` (FPS 30),
    the clip = ``get_sequence`` of it (frame t of this video is uniformly grey at level t)."""
    n = 200
    grey = np.repeat(np.arange(n, dtype=np.uint8), 12 * 16 * 3).reshape(n, 12, 16, 3)
    proposals = [("v", sec, (0.1, 0.1, 0.5, 0.9), -1, 0.9) for sec in (902, 903, 906)]
    write_video_layout(tmp_path, {"v": grey}, proposals)
    ds = Ava(cfg_for(tmp_path, "DATA.NUM_FRAMES", 16, "DATA.SAMPLING_RATE", 4, "DATA.TEST_CROP_SIZE", 12,
                     "DATA.MEAN", [0.0] * 3, "DATA.STD", [1.0] * 3), "test")
    assert len(ds) == 3
    for i, sec in enumerate((902, 903, 906)):
        fast = ds[i][0][1]
        levels = torch.round(fast[0, :, 0, 0] * 255).long().tolist()
        assert levels == get_sequence((sec - 900) * 30, 16 * 4 // 2, 4, n), sec


# --------------------------------------------------------------------------- pixels and boxes


def cv2_reference(frames_bgr, boxes_norm, size, flip=False, crop=False):
    """PySlowFast ``ava_dataset.Ava._images_and_boxes_preprocessing_cv2`` (test / val split), restated:
    boxes to pixels and ``cv2_transform.clip_boxes_to_image`` ([0, W-1] x [0, H-1]); ``cv2_transform.scale``
    (short side ``size``, long side ``floor(long / short * size)``, ``cv2.resize`` INTER_LINEAR of the uint8
    image, skipped when the short side is already ``size``) and ``scale_boxes`` (times new_long / long);
    val: ``spatial_shift_crop_list(size, .., 1)`` (offsets ``ceil((H - size) / 2)``); ``flip_boxes``
    (x -> W - 1 - x); ``/ 255``; ``color_normalization`` per channel in BGR order; channels reversed
    (``AVA.BGR`` False); boxes clipped again to the output."""
    h, w = frames_bgr.shape[1:3]
    boxes = boxes_norm.astype(np.float64) * [w, h, w, h]
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w - 1)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h - 1)
    imgs = list(frames_bgr)
    if min(h, w) != size:
        if w < h:
            nw, nh = size, int(math.floor(h / w * size))
            boxes = boxes * (nh / h)
        else:
            nw, nh = int(math.floor(w / h * size)), size
            boxes = boxes * (nw / w)
        imgs = [cv2.resize(im, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32) for im in imgs]
    if crop:
        y0, x0 = int(math.ceil((imgs[0].shape[0] - size) / 2)), int(math.ceil((imgs[0].shape[1] - size) / 2))
        imgs = [im[y0:y0 + size, x0:x0 + size] for im in imgs]
        boxes = boxes - [x0, y0, x0, y0]
    if flip:
        width = imgs[0].shape[1]
        boxes = np.stack([width - boxes[:, 2] - 1, boxes[:, 1], width - boxes[:, 0] - 1, boxes[:, 3]], 1)
        imgs = [im[:, ::-1] for im in imgs]
    chw = np.stack([np.asarray(im, dtype=np.float32).transpose(2, 0, 1) / 255.0 for im in imgs], 1)  # C x T x H x W, BGR
    for c in range(3):
        chw[c] = (chw[c] - MEAN[c]) / STD[c]
    chw = chw[::-1].copy()
    oh, ow = chw.shape[2:]
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, ow - 1)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, oh - 1)
    return torch.from_numpy(chw), torch.from_numpy(boxes)


@pytest.mark.parametrize("height, width, scale, flip, split", [
    (60, 80, 48, False, "test"), (60, 80, 72, True, "test"), (60, 80, 60, False, "test"),  # down, up, no resize
    (64, 48, 40, True, "test"),                                                         # portrait frame
    (60, 80, 48, False, "val"), (64, 48, 40, True, "val"),                              # val: centre crop
])
def test_test_and_val_views_are_pyslowfast_cv2_pipeline(tmp_path, height, width, scale, flip, split):
    rng = np.random.default_rng(height + width + scale)
    video = noise_video(rng, 70, height, width)
    boxes = np.array([[0.1, 0.2, 0.45, 0.95], [0.55, 0.0, 1.0, 0.6], [0.3, 0.3, 0.7, 0.7]])
    write_video_layout(tmp_path, {"v": video}, [("v", 902, tuple(b), -1, 0.9) for b in boxes])
    ds = Ava(cfg_for(tmp_path, "DATA.NUM_FRAMES", 8, "DATA.SAMPLING_RATE", 2, "SLOWFAST.ALPHA", 4,
                     "AVA.FULL_TEST_ON_VAL", True), split, test_scale=scale, test_flip=flip)
    (_, fast), _, _, extra = ds[0]
    seq = get_sequence((902 - 900) * 30, 8, 2, 70)
    ref_clip, ref_boxes = cv2_reference(video[seq], np.asarray(ds._keyframes[0][3], dtype=np.float64), scale,
                                        flip=flip, crop=split == "val")
    assert fast.shape == ref_clip.shape
    torch.testing.assert_close(fast, ref_clip, atol=1e-6, rtol=0)
    torch.testing.assert_close(extra["boxes"].double(), ref_boxes, atol=1e-4, rtol=0)
    torch.testing.assert_close(extra["ori_boxes"].double(), torch.from_numpy(boxes), atol=1e-3, rtol=0)


def test_val_scores_every_fourth_key_second_and_test_every_one(tmp_path):
    """PySlowFast ``ava_helper.load_boxes_and_labels``: ``boxes_sample_rate = 4`` for the val split unless
    ``AVA.FULL_TEST_ON_VAL`` (``frame_sec % 4 != 0`` skipped); 1 for the test split.  Key seconds outside
    902..1798 are never used (``AVA_VALID_FRAMES``)."""
    video = noise_video(np.random.default_rng(0), 300, 12, 16)
    secs = list(range(901, 910))
    write_video_layout(tmp_path, {"v": video}, [("v", s, (0.1, 0.1, 0.5, 0.9), -1, 0.9) for s in secs])
    cfg = cfg_for(tmp_path, "DATA.TEST_CROP_SIZE", 12)
    seconds = lambda ds: [ds._keyframes[i][1] for i in range(len(ds))]  # noqa: E731
    assert seconds(Ava(cfg, "test")) == list(range(902, 910))
    assert seconds(Ava(cfg, "val")) == [904, 908]
    assert seconds(Ava(cfg_for(tmp_path, "DATA.TEST_CROP_SIZE", 12, "AVA.FULL_TEST_ON_VAL", True), "val")) == list(range(902, 910))
    assert Ava(cfg, "test").stats["keyframes_outside_valid_seconds"] == 1


def test_unmatched_training_proposals_become_all_zero_negatives_only_when_asked(tmp_path):
    """PySlowFast trains on proposal files that list unmatched boxes with action -1 (its
    ``..._include_negative_...`` files): boxes with all-zero targets.  Off by default (the report trains on
    ground-truth boxes and proposals with IoU > 0.9)."""
    video = noise_video(np.random.default_rng(1), 120, 12, 16)
    a, near_a, far = (0.1, 0.1, 0.4, 0.9), (0.105, 0.1, 0.4, 0.9), (0.6, 0.1, 0.9, 0.5)
    gt = [("v", 903, a, 5, 0)]
    proposals = [("v", 903, near_a, -1, 0.95), ("v", 903, far, -1, 0.95), ("v", 902, far, -1, 0.9)]
    write_video_layout(tmp_path, {"v": video}, proposals, gt)
    plain = Ava(cfg_for(tmp_path), "train")
    assert len(plain) == 1 and plain.num_boxes == 2
    neg = Ava(cfg_for(tmp_path, "AVA.TRAIN_NEGATIVE_PROPOSALS", True), "train")
    assert len(neg) == 2 and neg.num_boxes == 4  # the key frame without ground truth becomes a sample too
    by_sec = {neg[i][3]["metadata"][0, 1].item(): neg[i] for i in range(len(neg))}
    ori, labels = by_sec[903][3]["ori_boxes"], by_sec[903][1]
    rows = {tuple(np.round(b.tolist(), 3)): lab for b, lab in zip(ori, labels)}
    assert rows[far].sum() == 0 and rows[a][4] == 1 and rows[near_a][4] == 1 and rows[a].sum() == 1
    assert by_sec[902][1].sum() == 0


# --------------------------------------------------------------------------- end to end


def reference_head_scores(model, slow, fast, boxes, aligned):
    """PySlowFast ``head_helper.ResNetRoIHead.forward`` at test time, restated on the backbone's res5 maps:
    per pathway temporal average pooling, ``ROIAlign((7, 7), 1 / 16, sampling_ratio=0, aligned)``, 7x7 spatial
    max pooling; concatenation, linear layer, sigmoid (dropout is the identity at test)."""
    x = [slow[None], fast[None]]
    for name in ("s1", "s1_fuse", "s2", "s2_fuse", "s3", "s3_fuse", "s4", "s4_fuse", "s5"):
        x = getattr(model, name)(x)
    rois = torch.cat([torch.zeros(len(boxes), 1), boxes.float()], 1)
    pooled = [roi_align(p.mean(2), rois, (7, 7), 1.0 / 16, 0, aligned).amax((2, 3)) for p in x]
    feats = torch.cat(pooled, 1)
    return torch.sigmoid(feats @ model.head.projection.weight.T + model.head.projection.bias)


def test_our_test_command_gives_per_box_scores_of_the_pyslowfast_protocol(tmp_path):
    """A tiny SlowFast detector checkpoint, an AVA folder, ``run_net --cfg ... TRAIN.ENABLE False
    TEST.CHECKPOINT_FILE_PATH ...``: every row of ``detections.csv`` equals the score computed here from
    PySlowFast's formulas (clip = ``get_sequence``, pixels and boxes = ``cv2_reference``, head =
    ``reference_head_scores``; RoIAlign ``aligned=False`` as in its zoo configs).  One Slow frame per clip
    (4 Fast frames, alpha 4), where PySlowFast's ``linspace`` Slow sampling and any other agree: the Slow
    rule is held to PySlowFast's by the Kinetics tests."""
    from slowfast.apps.run_net import main
    from slowfast.models import build_model

    rng = np.random.default_rng(7)
    videos = {"vid_a": noise_video(rng, 150, 60, 80), "vid_b": noise_video(rng, 150, 72, 96)}  # both 48 x 64 at scale 48
    proposals = [("vid_a", 902, (0.1, 0.2, 0.45, 0.95), -1, 0.9), ("vid_a", 902, (0.5, 0.1, 1.0, 0.7), -1, 0.8),
                 ("vid_a", 903, (0.2, 0.2, 0.6, 0.6), -1, 0.99), ("vid_a", 903, (0.0, 0.0, 0.3, 0.3), -1, 0.79),
                 ("vid_b", 903, (0.3, 0.1, 0.9, 0.8), -1, 0.85)]
    write_video_layout(tmp_path, videos, proposals)
    labels = {12: "stand", 17: "carry", 79: "talk"}
    ava_labels.write_label_map(str(tmp_path / "annotations" / "ava_action_list_v2.2_for_activitynet_2019.pbtxt"), labels)
    ava_csv.write_box_csv(str(tmp_path / "annotations" / "ava_val_v2.2.csv"), [("vid_a", 902, proposals[0][2], 12, 0)])
    (tmp_path / "annotations" / "ava_val_excluded_timestamps_v2.2.csv").write_text("")
    out = tmp_path / "out"
    # PySlowFast's detector geometry (res5 features at 1/16; the quick-start config uses 1/8).
    opts = ["DATA.NUM_FRAMES", 4, "DATA.SAMPLING_RATE", 3, "SLOWFAST.ALPHA", 4, "DATA.TEST_CROP_SIZE", 48,
            "DETECTION.SPATIAL_SCALE_FACTOR", 16, "RESNET.SPATIAL_STRIDES", "[[1, 1], [2, 2], [2, 2], [1, 1]]",
            "DETECTION.ALIGNED", False, "DATA_LOADER.NUM_WORKERS", 0, "LOG_MODEL_INFO", False, "OUTPUT_DIR", str(out)]
    cfg = cfg_for(tmp_path, *opts)
    torch.manual_seed(0)
    model = build_model(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # a "trained" detector: scores spread over (0, 1)
    model.eval()
    ckpt = str(tmp_path / "tiny.pyth")  # PySlowFast's checkpoint layout
    torch.save({"model_state": model.state_dict(), "epoch": 1, "cfg": cfg.dump()}, ckpt)
    argv = ["--cfg", TINY, "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False",
            "DATA.MEAN", str(MEAN), "DATA.STD", str(STD), *map(str, opts),
            "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", ckpt]
    assert main(argv) == 0
    rows = [line.split(",") for line in (out / "detections.csv").read_text().splitlines()]
    written = {(r[0], int(r[1]), *np.round(np.array(r[2:6], dtype=float), 4).tolist(), int(r[6])): float(r[7]) for r in rows}
    expected = {}
    for vid, sec, box, _, score in proposals:
        if score < 0.8:  # PySlowFast keeps score >= DETECTION_SCORE_THRESH
            continue
        seq = get_sequence((sec - 900) * 30, 4 * 3 // 2, 3, 150)
        clip, boxes = cv2_reference(videos[vid][seq], np.array([box]), 48)
        with torch.no_grad():
            scores = reference_head_scores(model, clip[:, :1], clip, boxes, aligned=False)[0]
        for k in labels:
            expected[(vid, sec, *np.round(box, 4).tolist(), k)] = float(scores[k - 1])
    assert set(written) == set(expected)
    spread = np.array(list(expected.values()))
    assert np.mean((spread > 0.05) & (spread < 0.95)) > 0.5  # the comparison is not between saturated scores
    for key, value in expected.items():
        assert written[key] == pytest.approx(value, abs=1e-5), key
