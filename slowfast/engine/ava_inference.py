"""AVA detection inference and evaluation (report, section 2 "Inference").

One clip centred on each key frame, short side DATA.TEST_CROP_SIZE (or each of AVA.TEST_SCALES),
fully convolutional; with AVA.TEST_FLIP also the horizontally flipped clip ("++"). The per-class
sigmoid scores of each proposal are averaged over these views (boxes are matched by their original,
unflipped coordinates, so flipped views map back exactly). Predictions are written as an AVA
detections CSV (OUTPUT_DIR/detections.csv) and scored with slowfast.evaluation.ava, together with the
mAP of uniformly random scores on the same boxes as a floor. Validation during training (split "val")
scores, as PySlowFast does, only key seconds divisible by 4 against the same subset of the ground truth,
unless AVA.FULL_TEST_ON_VAL.
"""
from __future__ import annotations

import logging
import os
import tempfile

import numpy as np
import torch

from slowfast.datasets.ava import VAL_SECOND_STRIDE, annotation_path
from slowfast.datasets.build import build_dataset, build_loader
from slowfast.engine.common import device_for, to_device
from slowfast.engine.test_analysis import add_map_interval
from slowfast.evaluation.ava import evaluate, read_labelmap, write_detections_csv
from slowfast.engine.runtime import runtime_model
from slowfast.utils import distributed as du
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)
DETECTIONS_NAME = "detections.csv"
EXCLUDED_NOTE = "excluded key frames found"  # the evaluator's note on rows it dropped for AVA.EXCLUSION_FILE


def test_views(cfg) -> list[tuple[int, bool]]:
    """(short side, flip) of every test view: AVA.TEST_SCALES (default DATA.TEST_CROP_SIZE) x flips."""
    scales = list(cfg.AVA.TEST_SCALES) or [cfg.DATA.TEST_CROP_SIZE]
    flips = [False, True] if cfg.AVA.TEST_FLIP else [False]
    return [(s, f) for s in scales for f in flips]


def model_inputs(inputs, extra: dict, device: torch.device) -> tuple:
    """The arguments of a detection model's forward call for one batch: the clips and their boxes
    (`N x 5`: the index of its clip in the batch, then the box)."""
    return to_device(inputs, device), extra["boxes"].to(device, non_blocking=True)


@torch.no_grad()
def predict_view(cfg, model, split: str, scale: int, flip: bool, progress: Progress | None = None,
                 num_views: int = 1) -> tuple[dict, list, int]:
    """({(video_idx, timestamp, x1, y1, x2, y2): scores (num_classes,)}, video names, frame files replaced)
    for one test view, over this process's shard of the key frames. Boxes are the original normalised
    proposals; a missing or unreadable frame file was replaced by the nearest readable frame of its clip.
    `progress` counts the batches of all `num_views` views (its total is set from the first view's loader)."""
    device = device_for(cfg)
    dataset = build_dataset(cfg.TEST.DATASET, cfg, split, test_scale=scale, test_flip=flip)
    loader = build_loader(cfg, split, dataset=dataset)
    if progress is not None and progress.total == 0:
        progress.total = len(loader) * num_views
    model.eval()
    out = {}
    replaced = 0
    for inputs, _, _, extra in loader:
        replaced += extra.get("replaced_frames", 0)
        if progress is not None:
            progress.step()
        if len(extra["boxes"]) == 0:
            continue
        scores = model(*model_inputs(inputs, extra, device)).float().cpu().numpy()
        meta = extra["metadata"].numpy()
        boxes = extra["ori_boxes"].numpy()
        for m, b, s in zip(meta, boxes, scores):
            out[(int(m[0]), int(m[1]), *np.round(b, 6).tolist())] = s
    return out, dataset.video_names, replaced


def run_ava_inference(cfg, model, split: str = "test", write: bool = True) -> dict:
    """Predict every proposal over all test views, write the detections CSV and evaluate it.

    Returns (on the master process) a dict with mAP, per_class, random_mAP, num_boxes, views,
    detections_file; other processes return {}.
    """
    views = test_views(cfg)
    model = runtime_model(cfg, model)  # TEST.OPTIMIZE_MODEL (BN folded, channels_last_3d), TEST.PRECISION, TEST.RUNTIME
    sums: dict = {}
    video_names = None
    replaced = 0
    progress = Progress(f"AVA {split}", 0, "batches", logger, period=5.0)
    for scale, flip in views:
        preds, video_names, view_replaced = predict_view(cfg, model, split, scale, flip, progress, len(views))
        replaced += view_replaced
        for k, s in preds.items():
            _accumulate(sums, k, s.astype(np.float64), 1)
    parts = du.all_gather_objects((sums, replaced))
    if not du.is_master():
        return {}
    merged: dict = {}
    for part, _ in parts:
        for k, (s, n) in part.items():
            _accumulate(merged, k, s, n)
    replaced = sum(n for _, n in parts)
    if replaced:
        logger.warning("AVA %s: %d frame files (counted once per view) were missing or unreadable and were replaced "
                       "by the nearest readable frame of their clip (paths in the warnings above)", split, replaced)
    keys = sorted(merged)
    scores = np.stack([merged[k][0] / merged[k][1] for k in keys]) if keys else np.zeros((0, cfg.MODEL.NUM_CLASSES))
    labelmap_path = annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE)
    class_ids = sorted(read_labelmap(labelmap_path).ids)
    if write:
        result = _evaluate(cfg, split, keys, video_names, scores, class_ids, labelmap_path, cfg.OUTPUT_DIR, len(views), True)
    else:
        with tempfile.TemporaryDirectory(prefix="ava_eval_") as tmp:  # validation: nothing left behind
            result = _evaluate(cfg, split, keys, video_names, scores, class_ids, labelmap_path, tmp, len(views), False)
    return {**result, "replaced_frames": replaced}


def _accumulate(into: dict, key, score_sum: np.ndarray, count: int) -> None:
    """Add `score_sum` over `count` views to the running [sum, count] of `key`."""
    if key in into:
        into[key][0] += score_sum
        into[key][1] += count
    else:
        into[key] = [score_sum.copy(), count]


def _evaluate(cfg, split, keys, video_names, scores, class_ids, labelmap_path, out_dir, num_views,
              keep: bool) -> dict:
    """Write the detections (and random-score) CSVs into `out_dir` and score them; `keep`: report the
    detections file in the results (it stays in OUTPUT_DIR)."""
    det_path = os.path.join(out_dir, DETECTIONS_NAME)
    _write(det_path, keys, video_names, scores, class_ids)
    rng = np.random.default_rng(cfg.RNG_SEED)
    rand_path = os.path.join(out_dir, "detections_random_scores.csv")
    _write(rand_path, keys, video_names, rng.random(scores.shape), class_ids)
    gt = annotation_path(cfg, cfg.AVA.GROUNDTRUTH_FILE)
    if split == "val" and not cfg.AVA.FULL_TEST_ON_VAL:
        gt = _every_nth_second(gt, os.path.join(out_dir, "groundtruth_val_subset.csv"), VAL_SECOND_STRIDE)
    excl = annotation_path(cfg, cfg.AVA.EXCLUSION_FILE) if cfg.AVA.EVAL_VERSION != "2020" else None
    result = evaluate(labelmap_path, gt, det_path, exclusions=excl, version=cfg.AVA.EVAL_VERSION, keep_matches=keep)
    floor = evaluate(labelmap_path, gt, rand_path, exclusions=excl, version=cfg.AVA.EVAL_VERSION)
    for line in result.messages:  # rows on excluded key frames are dropped by design: the official scorer logs it as info
        (logger.info if EXCLUDED_NOTE in line else logger.warning)("AVA evaluation: %s", line)
    logger.info("AVA %s: mAP %.4f (random scores: %.4f) over %d boxes, %d view(s)", split, result.mAP, floor.mAP,
                len(keys), num_views)
    if np.isnan(result.mAP):  # JSON has no NaN: null, with the reason
        logger.warning("AVA %s: no evaluated class has ground truth on the scored key frames, mAP undefined (null)%s",
                       split, "; the val split scores only seconds divisible by 4, see AVA.FULL_TEST_ON_VAL"
                       if split == "val" and not cfg.AVA.FULL_TEST_ON_VAL else "")
    return add_map_interval(cfg, {
        "mAP": None if np.isnan(result.mAP) else float(result.mAP),
        "per_class": {str(k): float(v) for k, v in result.per_class.items()},
        "random_mAP": None if np.isnan(floor.mAP) else float(floor.mAP),
        "num_boxes": len(keys),
        "views": num_views,
        "detections_file": det_path if keep else "",
        "eval_version": cfg.AVA.EVAL_VERSION,
    }, result.matches)


def _every_nth_second(src: str, dst: str, stride: int) -> str:
    """Copy the ground-truth rows of `src` whose timestamp is divisible by `stride` to `dst` (PySlowFast's
    "mini" validation ground truth, matching the val split's key frames); -> `dst`."""
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for number, line in enumerate(f, start=1):
            fields = line.split(",")
            if len(fields) < 2 or not fields[1].strip().isdigit():
                if line.strip():
                    raise ValueError(f"{src} line {number}: expected video_id,timestamp,... got {line.strip()!r}")
                continue
            if int(fields[1]) % stride == 0:
                out.write(line)
    return dst


def _write(path: str, keys: list, video_names, scores: np.ndarray, class_ids: list[int]) -> None:
    """One CSV row per (box, evaluated class): video_id, timestamp, box, action id, score."""
    n, c = len(keys), len(class_ids)
    vids = [video_names[k[0]] for k in keys for _ in range(c)]
    stamps = [k[1] for k in keys for _ in range(c)]
    boxes = np.repeat(np.array([k[2:] for k in keys], dtype=np.float64).reshape(n, 4), c, axis=0)
    actions = np.tile(np.asarray(class_ids), n)
    cols = np.asarray(class_ids) - 1
    write_detections_csv(path, vids, stamps, boxes, actions, scores[:, cols].reshape(-1) if n else np.zeros(0))
