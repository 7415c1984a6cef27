"""The one-screen summary `tools/run_net.py` prints when a run ends: where its outputs are (checkpoints,
results.json, per-video scores or detections, log.txt, TensorBoard), the headline metric of the test, the
fraction of training time spent waiting for data, and the time taken."""
from __future__ import annotations

import json
import os

from slowfast.checkpoint import checkpoint_dir, list_checkpoints
from slowfast.reports.benchmark_loader import data_wait_line, logged_data_wait
from slowfast.utils.progress import format_seconds


def headline(results: dict) -> str:
    """The test's main number in words: top-1 (classification) or mAP (detection); "" when neither."""
    if "top1_acc" in results:
        return (f"test top-1 {results['top1_acc']:.1f} % (top-5 {results.get('top5_acc', float('nan')):.1f} %) "
                f"over {results.get('num_videos', '?')} videos")
    if "mAP" in results:
        m, r = results["mAP"], results.get("random_mAP")
        text = "undefined (no ground truth on the scored key frames)" if m is None else f"{m:.3f}"
        floor = f" (random scores: {r:.3f})" if r is not None else ""
        over = (f"{results['num_boxes']} boxes" if "num_boxes" in results  # AVA detection
                else f"{results.get('num_videos', '?')} videos")  # multi-label classification
        return f"test mAP {text}{floor} over {over}"
    return ""


def run_summary(cfg, seconds: float) -> str:
    """Lines saying what the run wrote where, its headline metric and how long it took."""
    out = os.path.abspath(cfg.OUTPUT_DIR)
    lines = [f"run finished in {format_seconds(seconds)}; outputs in {out}/"]
    if cfg.TRAIN.ENABLE:
        ckpts = list_checkpoints(cfg.OUTPUT_DIR)
        keep = f", TRAIN.CHECKPOINT_KEEP {cfg.TRAIN.CHECKPOINT_KEEP}" if cfg.TRAIN.CHECKPOINT_KEEP else ""
        last = f", last {os.path.basename(ckpts[-1])}" if ckpts else ""
        lines.append(f"  checkpoints:  {checkpoint_dir(out)}/ ({len(ckpts)} kept{last}{keep})")
    results_path = os.path.join(out, "results.json")
    if cfg.TEST.ENABLE and os.path.isfile(results_path):
        with open(results_path, encoding="utf-8") as f:
            results = json.load(f)
        lines.insert(1, f"  {headline(results)}")
        lines.append(f"  results:      {results_path}")
        for key, what in (("scores_file", "scores:      "), ("detections_file", "detections:  ")):
            if results.get(key):
                lines.append(f"  {what} {os.path.abspath(results[key])}")
    lines.append(f"  log:          {os.path.join(out, 'log.txt')} (json_stats lines for tools)")
    if cfg.TRAIN.ENABLE and (wait := logged_data_wait(out)):
        lines.append(f"  data:         {data_wait_line(wait)}")
    runs = cfg.TENSORBOARD.LOG_DIR or os.path.join(out, "runs")
    if os.path.isdir(runs):
        lines.append(f"  TensorBoard:  tensorboard --logdir {runs}")
    return "\n".join(lines)
