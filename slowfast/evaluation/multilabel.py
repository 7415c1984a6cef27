"""Multi-label video classification (DATA.MULTI_LABEL): average precision per class and their mean (mAP).

AP rules (those of PySlowFast's Charades evaluation, `sklearn.metrics.average_precision_score`, computed
here with numpy):
- AP of a class = sum over score thresholds of (recall_k - recall_{k-1}) * precision_k, thresholds taken at
  each distinct score from high to low (tied scores enter together), i.e. the non-interpolated area under
  the precision-recall steps; 1.0 when every positive video scores above every negative one;
- a class with no positive video in the evaluated set has no AP and is left out of the mean (its
  count is reported as `num_classes_skipped`);
- mAP = the mean of the APs of the other classes.
"""
from __future__ import annotations

import numpy as np

from slowfast.evaluation.classification import VideoAggregator


def average_precision(scores: np.ndarray, positives: np.ndarray) -> float:
    """AP of one class: `scores` (N) of the videos, `positives` (N bool); NaN when there is no positive."""
    positives = np.asarray(positives, dtype=bool)
    n_pos = int(positives.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    s, y = np.asarray(scores, dtype=np.float64)[order], positives[order]
    tp, fp = np.cumsum(y), np.cumsum(~y)
    last_of_tie = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # one threshold per distinct score
    tp, fp = tp[last_of_tie], fp[last_of_tie]
    precision = tp / (tp + fp)
    recall_steps = np.diff(np.r_[0, tp]) / n_pos
    return float(np.sum(recall_steps * precision))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> dict:
    """{"mAP", "per_class_ap" (None for skipped classes), "num_classes_skipped"} of `scores` (N x C)
    against multi-hot `targets` (N x C; > 0.5 is positive)."""
    scores, targets = np.asarray(scores), np.asarray(targets) > 0.5
    aps = [average_precision(scores[:, c], targets[:, c]) for c in range(scores.shape[1])]
    kept = [a for a in aps if not np.isnan(a)]
    return {"mAP": float(np.mean(kept)) if kept else float("nan"),
            "per_class_ap": [None if np.isnan(a) else round(a, 6) for a in aps],
            "num_classes_skipped": len(aps) - len(kept)}


class MultiLabelAggregator(VideoAggregator):
    """`VideoAggregator` whose labels are multi-hot rows (N x C); results are mAP over classes (a fraction,
    as the AVA results; null when no class has a positive) and `random_mAP`, the mAP of uniformly random
    scores (numpy generator seeded by `seed`) on the same videos, instead of top-k accuracy."""

    def __init__(self, num_videos: int, num_classes: int, method: str = "sum"):
        super().__init__(num_videos, num_classes, method)
        self.labels = np.full((num_videos, num_classes), -1.0, dtype=np.float32)

    def add(self, video_idx, scores, labels, failed=None) -> None:
        video_idx = np.asarray(video_idx, dtype=np.int64)
        super().add(video_idx, scores, np.zeros(len(video_idx), np.int64), failed)  # sets the rows to 0 ...
        self.labels[video_idx] = np.asarray(labels, dtype=np.float32)  # ... then to the video's labels
        # merge(): the base class's element-wise "known labels win" works on rows too

    def results(self, expected_views: int, seed: int = 0) -> dict:
        tested = self.views > 0
        scores, labels = self.video_scores()[tested], self.labels[tested]
        m = mean_average_precision(scores, labels)
        floor = mean_average_precision(np.random.default_rng(seed).random(scores.shape), labels)["mAP"]
        return {
            "mAP": None if np.isnan(m["mAP"]) else m["mAP"],
            "random_mAP": None if np.isnan(floor) else floor,
            "per_class_ap": m["per_class_ap"],
            "num_classes_skipped": m["num_classes_skipped"],
            **self.view_counts(expected_views),
        }
