"""Test loop: the configured model's weights (see `load_weights_for_testing`) tested as its task does it.
Classification (`engine.classification_inference`): every view of every video, softmax scores combined
per video, top-1 / top-5 accuracy and their average error, FLOPs per view x views, per-video scores in
OUTPUT_DIR/test_scores.npz (or TEST.SAVE_RESULTS_PATH). Detection (`engine.ava_inference`): AVA frame
mAP of the test split's proposals over the test views, detections in OUTPUT_DIR/detections.csv.

Outputs (master process): OUTPUT_DIR/results.json: the task's results plus `checkpoint`, the weights
tested (classification: top1_acc, top5_acc (percent), top1_err, top5_err, avg_err, num_classes,
num_videos, views, gflops_per_view, scores_file, plus failure counts; top1_ci / top5_ci (AVA: mAP_ci),
per_class, confusion, top_confusions, confusion_png: see `engine.test_analysis`).
"""
from __future__ import annotations

import logging
import os

from slowfast.engine.acceleration import keep_freed_memory
from slowfast.engine.common import device_for, load_weights_for_testing, setup_run
from slowfast.engine.tasks import build_task
from slowfast.models import build_model
from slowfast.utils import distributed as du
from slowfast.utils.io import write_json_atomic
from slowfast.utils.logging import log_json_stats

logger = logging.getLogger(__name__)


def _is_stat(value) -> bool:
    """A value for the test's stats line: not a table (dict, or list of dicts such as per_class)."""
    return not isinstance(value, dict) and not (isinstance(value, list) and value and isinstance(value[0], (dict, list)))


def test(cfg) -> dict:
    """Test the configured model; writes OUTPUT_DIR/results.json on the master process."""
    setup_run(cfg)
    task = build_task(cfg)
    keep_freed_memory()  # large activations reuse freed heap instead of fresh zero-filled pages
    model = build_model(cfg, device=device_for(cfg))
    ckpt = load_weights_for_testing(cfg, model)
    results = task.test(model)
    if du.is_master():
        results["checkpoint"] = ckpt
        log_json_stats({"_type": "test", **{k: v for k, v in results.items() if _is_stat(v)}}, logger,
                       readable=False)  # the task logged its readable result line
        write_json_atomic(os.path.join(cfg.OUTPUT_DIR, "results.json"), results)
    return results
