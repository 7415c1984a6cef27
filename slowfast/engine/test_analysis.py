"""What a test adds to its accuracies (master process): 95 % bootstrap intervals over the test videos
(TEST.BOOTSTRAP_SAMPLES resamples, TEST.BOOTSTRAP_SEED), and for classification the per-class accuracy,
the confusion matrix and its largest off-diagonal cells, drawn to OUTPUT_DIR/confusion.png (and to
TensorBoard with TENSORBOARD.CONFUSION_MATRIX.ENABLE). The computations live in `slowfast.evaluation`
(`classification.analysis`, `bootstrap`, `ava.resample`), the figure in `slowfast.visualization`.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np

from slowfast.datasets.class_names import LabelFileError, class_names_for, read_class_names, resolve_label_file
from slowfast.evaluation.classification import analysis
from slowfast.visualization.evaluation_figures import confusion_figure, save_png
from slowfast.visualization.tensorboard import TensorboardWriter

logger = logging.getLogger("slowfast.engine.test")
CONFUSION_PNG = "confusion.png"


def classification_class_names(cfg) -> list[str]:
    """Names of the classes for figures: TENSORBOARD.CLASS_NAMES_PATH, else DEMO.LABEL_FILE_PATH's (or the
    shipped list that fits); "class K" (with a warning) when the file cannot be read: a test is not lost
    over a figure's labels."""
    try:
        if cfg.TENSORBOARD.CLASS_NAMES_PATH:
            path = resolve_label_file(cfg.TENSORBOARD.CLASS_NAMES_PATH, cfg.MODEL.NUM_CLASSES, False)
            return read_class_names(path, cfg.MODEL.NUM_CLASSES)
        return class_names_for(cfg, detection=False)[0]
    except LabelFileError as e:
        logger.warning("class names for the confusion matrix: %s; using class 0..%d", e, cfg.MODEL.NUM_CLASSES - 1)
        return [f"class {k}" for k in range(cfg.MODEL.NUM_CLASSES)]


def add_classification_analysis(cfg, results: dict, scores: np.ndarray, labels: np.ndarray) -> dict:
    """Add top1_ci, top5_ci, per_class, confusion, top_confusions and confusion_png to `results` (per-video
    `scores` [N, C] and `labels` [N] of the tested videos); -> `results`."""
    t0 = time.perf_counter()
    names = classification_class_names(cfg)
    results.update(analysis(scores, labels, names, cfg.TEST.BOOTSTRAP_SAMPLES, cfg.TEST.BOOTSTRAP_SEED))
    counts = np.asarray(results["confusion"]["counts"])
    figsize = tuple(cfg.TENSORBOARD.CONFUSION_MATRIX.FIGSIZE)
    title = "Confusion matrix: top-1 %.1f%% over %d videos" % (results["top1_acc"], len(labels))
    results["confusion_png"] = save_png(confusion_figure(counts, names, figsize, title),
                                        os.path.join(cfg.OUTPUT_DIR, CONFUSION_PNG))
    if cfg.TENSORBOARD.ENABLE and cfg.TENSORBOARD.CONFUSION_MATRIX.ENABLE:
        writer = TensorboardWriter(cfg)
        writer.add_figure("test/confusion_matrix", confusion_figure(counts, names, figsize, title))
        writer.close()
    logger.info("test: per-class accuracy, intervals and confusion matrix in %.1f s (%s)", time.perf_counter() - t0,
                results["confusion_png"])
    return results


def accuracy_line(results: dict, views: int) -> str:
    """The test's one summary line: top-1 / top-5 with their 95 % bootstrap intervals where `results` has
    them (`top1_ci`, `top5_ci`), the average error, the videos and views, the GFLOPs per view."""
    def acc(k):
        ci = results.get(f"top{k}_ci")
        return "%.2f%%" % results[f"top{k}_acc"] + (" [%.2f, %.2f]" % tuple(ci) if ci else "")
    interval = ""
    if "top1_ci" in results:
        interval = " (95%% bootstrap intervals, %d resamples)" % results["bootstrap"]["samples"]
    return "test: top-1 %s, top-5 %s, avg error %.2f%% over %d videos x %d views%s, %.3g GFLOPs x %d views" % (
        acc(1), acc(5), results["avg_err"], results["num_videos"], views, interval, results["gflops_per_view"], views)


def add_map_interval(cfg, results: dict, matches) -> dict:
    """Add `mAP_ci` and `per_class_ci` (95 % bootstrap over the test videos; `matches`: the evaluation's
    `slowfast.evaluation.ava.resample.Matches`) to `results` unless TEST.BOOTSTRAP_SAMPLES is 0."""
    if cfg.TEST.BOOTSTRAP_SAMPLES <= 0 or matches is None or not matches.num_videos:
        return results
    t0 = time.perf_counter()
    results.update(matches.bootstrap(cfg.TEST.BOOTSTRAP_SAMPLES, cfg.TEST.BOOTSTRAP_SEED))
    results["bootstrap"] = {"samples": int(cfg.TEST.BOOTSTRAP_SAMPLES), "seed": int(cfg.TEST.BOOTSTRAP_SEED),
                            "level": 0.95, "unit": "video", "num_videos": matches.num_videos}
    logger.info("AVA test: mAP 95%% bootstrap interval [%s] over %d videos (%d resamples, %.1f s)",
                ", ".join("n/a" if v is None else "%.4f" % v for v in results["mAP_ci"]), matches.num_videos,
                cfg.TEST.BOOTSTRAP_SAMPLES, time.perf_counter() - t0)
    return results
