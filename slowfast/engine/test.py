"""Test loop. Classification: every view of every video (TEST.NUM_ENSEMBLE_VIEWS clips x
TEST.NUM_SPATIAL_CROPS crops), softmax scores combined per video, top-1 / top-5 accuracy and their
average error, FLOPs per view x views. Detection (AVA) goes to `engine.test_ava`.

Outputs (master process):
- OUTPUT_DIR/results.json: top1_acc, top5_acc (percent), top1_err, top5_err, avg_err, num_classes,
  num_videos, views, gflops_per_view, checkpoint, plus failure counts;
- OUTPUT_DIR/test_scores.npz (or TEST.SAVE_RESULTS_PATH): per-video scores for ensembling, arrays
  `videos` (str, CSV paths as written), `labels` (int64), `scores` (float32, N x C, view-combined
  softmax), `num_views` (int64, views that were decoded).
"""
from __future__ import annotations

import logging
import os

import numpy as np
import torch

from slowfast.datasets.build import build_loader
from slowfast.engine.acceleration import keep_freed_memory
from slowfast.engine.common import device_for, forward, load_weights_for_testing, setup_run
from slowfast.evaluation.classification import VideoAggregator
from slowfast.evaluation.ensemble import VideoScores, write_video_scores
from slowfast.models import build_model
from slowfast.models.inputs import dummy_inputs
from slowfast.models.optimize import inference_model
from slowfast.utils import distributed as du
from slowfast.utils.complexity import count_flops
from slowfast.utils.io import write_json_atomic
from slowfast.utils.logging import log_json_stats

logger = logging.getLogger(__name__)
SCORES_NAME = "test_scores.npz"


@torch.no_grad()
def run_classification_test(cfg, model) -> dict:
    device = device_for(cfg)
    loader = build_loader(cfg, "test")
    dataset = loader.dataset
    agg = VideoAggregator(dataset.num_videos, cfg.MODEL.NUM_CLASSES, cfg.DATA.ENSEMBLE_METHOD)
    net = inference_model(cfg, model)  # TEST.OPTIMIZE_MODEL: BN folded, channels_last_3d (same scores)
    n_batches = len(loader)
    for i, (inputs, labels, index, extra) in enumerate(loader):
        scores = forward(net, inputs, extra, device).float().cpu()
        agg.add(index.numpy(), scores.numpy(), labels.numpy(), extra["failed"].numpy())
        if (i + 1) % cfg.LOG_PERIOD == 0 or i + 1 == n_batches:
            logger.info("test iter %d/%d", i + 1, n_batches)
    parts = du.all_gather_objects(agg)
    if not du.is_master():
        return {}
    total = parts[0]
    for other in parts[1:]:
        total.merge(other)
    views = dataset.views_per_video
    results = total.results(views)
    results["num_classes"] = cfg.MODEL.NUM_CLASSES
    results["gflops_per_view"] = round(count_flops(model, dummy_inputs(cfg, cfg.DATA.TEST_CROP_SIZE, device=device)), 4)
    scores_path = os.path.join(cfg.OUTPUT_DIR, cfg.TEST.SAVE_RESULTS_PATH or SCORES_NAME)
    tested = total.views > 0
    write_video_scores(scores_path, VideoScores(
        videos=np.asarray([dataset.videos[i][0] for i in np.flatnonzero(tested)], dtype=str),
        labels=total.labels[tested], scores=total.video_scores()[tested], num_views=total.views[tested]))
    results["scores_file"] = scores_path
    if results["num_failed_views"]:
        logger.warning("%d views could not be decoded and were left out; %d videos had no view at all",
                       results["num_failed_views"], results["num_videos_without_views"])
    logger.info("test: top-1 %.2f%% top-5 %.2f%% avg error %.2f%% over %d videos x %d views, %.3g GFLOPs x %d views",
                results["top1_acc"], results["top5_acc"], results["avg_err"], results["num_videos"], views,
                results["gflops_per_view"], views)
    return results


def test(cfg) -> dict:
    """Test the configured model; writes OUTPUT_DIR/results.json on the master process."""
    setup_run(cfg)
    keep_freed_memory()  # large activations reuse freed heap instead of fresh zero-filled pages
    model = build_model(cfg, device=device_for(cfg))
    ckpt = load_weights_for_testing(cfg, model)
    if cfg.DETECTION.ENABLE:
        from slowfast.engine.ava_inference import run_ava_inference

        results = run_ava_inference(cfg, model, split="test", write=True)
    else:
        results = run_classification_test(cfg, model)
    if du.is_master():
        results["checkpoint"] = ckpt
        log_json_stats({"_type": "test", **{k: v for k, v in results.items() if not isinstance(v, dict)}}, logger)
        write_json_atomic(os.path.join(cfg.OUTPUT_DIR, "results.json"), results)
    return results
