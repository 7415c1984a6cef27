"""Classification inference and evaluation: single-view validation during training (top-1 / top-5 error
of the val split's clips) and the multi-view test: every view of every video (TEST.NUM_ENSEMBLE_VIEWS
clips x TEST.NUM_SPATIAL_CROPS crops), softmax scores combined per video, top-1 / top-5 accuracy and
their average error, FLOPs per view x views.

The test writes (master process) OUTPUT_DIR/test_scores.npz (or TEST.SAVE_RESULTS_PATH): per-video
scores for ensembling, arrays `videos` (str, CSV paths as written), `labels` (int64), `scores`
(float32, N x C, view-combined softmax), `num_views` (int64, views that were decoded); and
OUTPUT_DIR/confusion.png, with bootstrap intervals and per-class results (`engine.test_analysis`).

Multi-label (DATA.MULTI_LABEL): validation and test report mAP over classes instead
(`evaluation.multilabel`: the AP rules, `random_mAP`); the scores file then has labels -1.
"""
from __future__ import annotations

import logging
import os

import numpy as np
import torch

from slowfast.datasets.build import build_loader
from slowfast.engine.common import device_for, to_device
from slowfast.engine.test_analysis import accuracy_line, add_classification_analysis
from slowfast.evaluation.classification import VideoAggregator
from slowfast.evaluation.ensemble import VideoScores, write_video_scores
from slowfast.evaluation.multilabel import MultiLabelAggregator, mean_average_precision
from slowfast.models.inputs import dummy_inputs
from slowfast.engine.runtime import runtime_model
from slowfast.utils import distributed as du
from slowfast.utils.complexity import count_flops
from slowfast.utils.meters import topk_errors
from slowfast.utils.progress import Progress

logger = logging.getLogger("slowfast.engine.test")  # the test's log lines keep the name they had in engine/test.py
SCORES_NAME = "test_scores.npz"
PROGRESS_PERIOD_SEC = 5.0  # seconds between progress lines (count, rate, ETA) of the test and validation loops


@torch.no_grad()
def val_topk_errors(cfg, model, loader) -> dict:
    """{"top1_err", "top5_err"} (percent) of one view per val clip over all processes; clips that could
    not be decoded are left out."""
    model.eval()
    device = device_for(cfg)
    n, top1_wrong, top5_wrong = 0, 0.0, 0.0
    progress = Progress("val", len(loader), "batches", logger, period=PROGRESS_PERIOD_SEC)
    for inputs, labels, _, extra in loader:
        keep = ~extra["failed"]
        preds = model(to_device(inputs, device)).float().cpu()[keep]
        labels = labels[keep]
        t1, t5 = topk_errors(preds, labels) if len(labels) else (0.0, 0.0)
        top1_wrong += t1 * len(labels) / 100
        top5_wrong += t5 * len(labels) / 100
        n += len(labels)
        progress.step()
    n, top1_wrong, top5_wrong = du.all_reduce_mean([n, top1_wrong, top5_wrong], device)
    return {"top1_err": 100 * top1_wrong / max(n, 1e-9), "top5_err": 100 * top5_wrong / max(n, 1e-9)}


@torch.no_grad()
def val_mean_ap(cfg, model, loader) -> dict:
    """{"mAP"} (DATA.MULTI_LABEL; `evaluation.multilabel`'s rules) of one view per val clip over all
    processes; clips that could not be decoded are left out."""
    model.eval()
    device = device_for(cfg)
    scores, labels = [], []
    for inputs, batch_labels, _, extra in loader:
        keep = ~extra["failed"]
        scores.append(model(to_device(inputs, device)).float().cpu()[keep].numpy())
        labels.append(batch_labels[keep].numpy())
    parts = du.all_gather_objects((np.concatenate(scores), np.concatenate(labels)))
    m = mean_average_precision(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return {"mAP": None if np.isnan(m["mAP"]) else m["mAP"]}


@torch.no_grad()
def run_classification_test(cfg, model) -> dict:
    """Test every view of the test split; returns (master process) the results of `VideoAggregator`
    with num_classes, gflops_per_view and scores_file; other processes return {}."""
    device = device_for(cfg)
    loader = build_loader(cfg, "test")
    dataset = loader.dataset
    multi = cfg.DATA.MULTI_LABEL  # multi-hot labels, mAP over classes (evaluation.multilabel)
    agg = (MultiLabelAggregator if multi else VideoAggregator)(dataset.num_videos, cfg.MODEL.NUM_CLASSES, cfg.DATA.ENSEMBLE_METHOD)
    net = runtime_model(cfg, model)  # TEST.OPTIMIZE_MODEL (BN folded, channels_last_3d), TEST.PRECISION, TEST.RUNTIME
    progress = Progress("test", len(loader), "batches", logger, period=PROGRESS_PERIOD_SEC)
    replaced = 0  # frame files replaced by the nearest readable frame (frame-list datasets)
    for inputs, labels, index, extra in loader:
        scores = net(to_device(inputs, device)).float().cpu()
        agg.add(index.numpy(), scores.numpy(), labels.numpy(), extra["failed"].numpy())
        replaced += extra.get("replaced_frames", 0)
        progress.step()
    parts = du.all_gather_objects((agg, replaced))
    if not du.is_master():
        return {}
    total = parts[0][0]
    for other, _ in parts[1:]:
        total.merge(other)
    views = dataset.views_per_video
    results = total.results(views, seed=cfg.RNG_SEED) if multi else total.results(views)
    results["num_classes"] = cfg.MODEL.NUM_CLASSES
    results["gflops_per_view"] = round(count_flops(model, dummy_inputs(cfg, cfg.DATA.TEST_CROP_SIZE, device=device)), 4)
    scores_path = os.path.join(cfg.OUTPUT_DIR, cfg.TEST.SAVE_RESULTS_PATH or SCORES_NAME)
    tested = total.views > 0
    write_video_scores(scores_path, VideoScores(
        videos=np.asarray([dataset.videos[i][0] for i in np.flatnonzero(tested)], dtype=str),
        labels=total.labels[tested] if not multi else np.full(int(tested.sum()), -1), scores=total.video_scores()[tested], num_views=total.views[tested]))
    results["scores_file"] = scores_path
    if not multi:  # confusion matrix, per-class accuracy, top-1 / top-5 intervals: single-label only
        add_classification_analysis(cfg, results, total.video_scores()[tested], total.labels[tested])
    results["replaced_frames"] = sum(n for _, n in parts)
    if results["replaced_frames"]:
        logger.warning("%d frame files (counted once per view) were missing or unreadable and were replaced by the "
                       "nearest readable frame of their clip (paths in the warnings above)", results["replaced_frames"])
    if results["num_failed_views"]:
        logger.warning("%d views could not be decoded and were left out; %d videos had no view at all",
                       results["num_failed_views"], results["num_videos_without_views"])
    if multi:
        logger.info("test: mAP %s (random scores: %s) over %d videos x %d views", results["mAP"],
                    results["random_mAP"], results["num_videos"], views)
        return results
    logger.info("%s", accuracy_line(results, views))
    return results
