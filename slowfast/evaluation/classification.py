"""Multi-view video classification: combine the views of each video, then top-k accuracy.

Each video's score is the sum (DATA.ENSEMBLE_METHOD "sum", PySlowFast's TestMeter), the average
("mean") or the element-wise max ("max") of the softmax scores of its views; views that could not be
decoded are left out. A video is counted once
however many processes tested its views.

`analysis` adds what a researcher reports beside the accuracies: 95 % bootstrap intervals of top-1 / top-5
over videos (`slowfast.evaluation.bootstrap`), per-class accuracy, the confusion matrix (rows = true class,
columns = predicted class: the top-1 prediction) and its largest off-diagonal cells.
"""
from __future__ import annotations

import numpy as np

from slowfast.evaluation.bootstrap import mean_interval


class VideoAggregator:
    """Accumulate per-view scores into per-video scores.

    add(video_idx (B), scores (B x C), labels (B), failed (B bool)); merge() with other processes'
    aggregators; results() -> dict of metrics.
    """

    def __init__(self, num_videos: int, num_classes: int, method: str = "sum"):
        if method not in ("sum", "mean", "max"):
            raise ValueError(f"unknown ensemble method {method!r}")
        self.method = method
        # "max" starts below any score (PySlowFast's TestMeter: -1e10), so scores < 0 (HEAD_ACT none) work too.
        self.scores = np.full((num_videos, num_classes), -np.inf if method == "max" else 0.0, dtype=np.float64)
        self._adds = method != "max"  # "sum" and "mean" accumulate sums
        self.views = np.zeros(num_videos, dtype=np.int64)
        self.failed_views = np.zeros(num_videos, dtype=np.int64)
        self.labels = np.full(num_videos, -1, dtype=np.int64)

    def add(self, video_idx, scores, labels, failed=None) -> None:
        video_idx = np.asarray(video_idx, dtype=np.int64)
        scores = np.asarray(scores, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        failed = np.zeros(len(video_idx), bool) if failed is None else np.asarray(failed, bool)
        for v, s, y, f in zip(video_idx, scores, labels, failed):
            self.labels[v] = y
            if f:
                self.failed_views[v] += 1
                continue
            self.scores[v] = self.scores[v] + s if self._adds else np.maximum(self.scores[v], s)
            self.views[v] += 1

    def merge(self, other: "VideoAggregator") -> None:
        if self._adds:
            self.scores += other.scores
        else:
            self.scores = np.maximum(self.scores, other.scores)
        self.views += other.views
        self.failed_views += other.failed_views
        self.labels = np.where(other.labels >= 0, other.labels, self.labels)

    def video_scores(self) -> np.ndarray:
        """Per-video scores (N x C): the sum, mean or max over the decoded views (the method)."""
        if self.method == "mean":
            return self.scores / np.maximum(self.views, 1)[:, None]
        return self.scores

    def results(self, expected_views: int) -> dict:
        tested = self.views > 0
        scores = self.video_scores()[tested]
        labels = self.labels[tested]
        order = np.argsort(-scores, axis=1, kind="stable")
        top1 = float((order[:, 0] == labels).mean() * 100) if len(labels) else 0.0
        k = min(5, scores.shape[1])
        top5 = float((order[:, :k] == labels[:, None]).any(1).mean() * 100) if len(labels) else 0.0
        return {
            "top1_acc": top1,
            "top5_acc": top5,
            "top1_err": 100 - top1,
            "top5_err": 100 - top5,
            "avg_err": ((100 - top1) + (100 - top5)) / 2,
            **self.view_counts(expected_views),
        }

    def view_counts(self, expected_views: int) -> dict:
        """The results' counts of videos and views (tested videos, videos without a view, failed views,
        videos short of `expected_views` decoded or failed views)."""
        tested = self.views > 0
        return {
            "num_videos": int(tested.sum()),
            "num_videos_without_views": int((~tested).sum()),
            "num_failed_views": int(self.failed_views.sum()),
            "views": int(expected_views),
            "videos_with_missing_views": int(((self.views + self.failed_views) != expected_views).sum()),
        }


def video_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """bool [N]: the label is among the `k` (capped at C) highest scores, ties by the stable order that
    `VideoAggregator.results` uses."""
    order = np.argsort(-np.asarray(scores), axis=1, kind="stable")
    return (order[:, :min(k, order.shape[1])] == np.asarray(labels)[:, None]).any(1)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """int64 [C, C] counts: row = true class, column = predicted class."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    return np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray, names: list[str]) -> list[dict]:
    """Per class: {"name", "count" (test videos of that class), "top1" (percent; None without videos)}."""
    counts = confusion.sum(axis=1)
    return [{"name": names[c], "count": int(counts[c]),
             "top1": float(100.0 * confusion[c, c] / counts[c]) if counts[c] else None}
            for c in range(len(names))]


def top_confusions(confusion: np.ndarray, names: list[str], k: int = 10) -> list[dict]:
    """The `k` largest off-diagonal cells, largest first: {"true", "predicted", "count"} (count > 0)."""
    off = confusion.astype(np.int64).copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    rows, cols = np.unravel_index(flat, off.shape)
    return [{"true": names[r], "predicted": names[c], "count": int(off[r, c])}
            for r, c in zip(rows.tolist(), cols.tolist()) if off[r, c] > 0]


def analysis(scores: np.ndarray, labels: np.ndarray, names: list[str], samples: int = 1000, seed: int = 0) -> dict:
    """What results.json adds to the accuracies: `top1_ci`, `top5_ci` (95 % bootstrap intervals over
    videos, percent; omitted when `samples` is 0), `per_class`, `confusion` ({"class_names", "counts"})
    and `top_confusions`."""
    labels = np.asarray(labels, dtype=np.int64)
    out: dict = {}
    if samples > 0 and len(labels):
        for k in (1, 5):
            out[f"top{k}_ci"] = mean_interval(video_correct(scores, labels, k), 100.0, samples, seed)
        out["bootstrap"] = {"samples": int(samples), "seed": int(seed), "level": 0.95, "unit": "video"}
    pred = np.argmax(scores, axis=1) if len(labels) else np.zeros(0, np.int64)
    counts = confusion_matrix(labels, pred, len(names))
    out["per_class"] = per_class_accuracy(counts, names)
    out["confusion"] = {"class_names": list(names), "counts": counts.tolist()}
    out["top_confusions"] = top_confusions(counts, names)
    return out
