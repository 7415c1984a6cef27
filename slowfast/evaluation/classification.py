"""Multi-view video classification: combine the views of each video, then top-k accuracy.

Each video's score is the sum (DATA.ENSEMBLE_METHOD "sum", PySlowFast's TestMeter), the average
("mean") or the element-wise max ("max") of the softmax scores of its views; views that could not be
decoded are left out. A video is counted once
however many processes tested its views.
"""
from __future__ import annotations

import numpy as np


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
            "num_videos": int(tested.sum()),
            "num_videos_without_views": int((~tested).sum()),
            "num_failed_views": int(self.failed_views.sum()),
            "views": int(expected_views),
            "videos_with_missing_views": int(((self.views + self.failed_views) != expected_views).sum()),
        }
