"""AVA mAP of video resamples without re-reading or re-matching: the scored detections as arrays.

``evaluate(..., keep_matches=True)`` keeps, per class, its detections in the official rank order with their
true-positive flags and videos, and the ground-truth count of each (class, video) (:class:`Matches`). A
bootstrap resample of the test videos is a row of multiplicities w [V] (:mod:`slowfast.evaluation.bootstrap`);
the resample's AP of a class is the AP of the detections weighted by their video's multiplicity, which is
what concatenating the drawn videos' rows and re-scoring them gives (matching is per key frame, so a video's
true positives do not depend on the other videos; only tied scores may rank differently).

Vectorised over a batch of resamples W [B, V]: with the detections of a class ranked, the precision
envelope (precision made non-increasing from the right) is at its maximum at true positives, so only the
T true positives need the cumulative counts: the weighted false positives ranked before each true positive
come from one sparse [T, V] count matrix times W. Per batch that is a few passes over a [T, B] array, no
sorting and no CSV text.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import metrics
from slowfast.evaluation.bootstrap import LEVEL, SAMPLES, SEED, percentile_interval, resample_weights

_CHUNK_ELEMENTS = 1_000_000  # resamples scored at once: about this many (true positive, resample) pairs


@dataclass
class Matches:
    """Scored detections of one evaluation, ranked per class (class index, then official rank order).

    class_ids [K] (sorted label ids), class_names [K], videos [V] (names); det_class, det_video (int64),
    det_score (float64), det_tp (bool), each [D]; gt_count int64 [K, V] ground-truth boxes per class and video.
    """

    class_ids: np.ndarray
    class_names: list
    videos: list
    det_class: np.ndarray
    det_video: np.ndarray
    det_score: np.ndarray
    det_tp: np.ndarray
    gt_count: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, class_ids, labelmap, key_names, det_cls, scores, tp, det_keys, gt_cls, gt_keys) -> "Matches":
        """From `evaluate`'s arrays: detections in official concatenation order grouped by class index
        (`det_cls` ascending), their key indices into `key_names` ("video,timestamp"), and the scored ground
        truth's class indices and keys."""
        used = np.unique(np.concatenate([det_keys, gt_keys]).astype(np.int64))
        key_video = np.array([key_names[k].rsplit(",", 1)[0] for k in used.tolist()], dtype=str)
        videos, video_of_used = np.unique(key_video, return_inverse=True)
        video_of_key = np.zeros(len(key_names), np.int64)
        video_of_key[used] = video_of_used
        bounds = np.searchsorted(det_cls, np.arange(class_ids.size + 1))
        order = np.concatenate([bounds[c] + metrics.rank_order(scores[bounds[c]:bounds[c + 1]])
                                for c in range(class_ids.size)] + [np.zeros(0, np.int64)]).astype(np.int64)
        name_of = labelmap.name_of()
        gt_video = video_of_key[gt_keys]
        gt_count = np.bincount(gt_cls * videos.size + gt_video, minlength=class_ids.size * videos.size)
        return cls(class_ids=np.asarray(class_ids), class_names=[name_of[i] for i in class_ids.tolist()],
                   videos=videos.tolist(), det_class=np.asarray(det_cls, np.int64)[order],
                   det_video=video_of_key[det_keys][order], det_score=np.asarray(scores, np.float64)[order],
                   det_tp=np.asarray(tp, bool)[order], gt_count=gt_count.reshape(class_ids.size, videos.size))

    @property
    def num_videos(self) -> int:
        return len(self.videos)

    def _true_positives(self) -> dict:
        """Cached: per true positive (ranked) its class and video, the classes' true-positive ranges, and
        the sparse [T, V] counts of false positives ranked between the previous true positive and this one."""
        if "tp" not in self._cache:
            from scipy import sparse

            k = self.class_ids.size
            tp_pos = np.flatnonzero(self.det_tp)
            tp_class = self.det_class[tp_pos]
            bounds = np.searchsorted(tp_class, np.arange(k + 1))
            before = np.cumsum(self.det_tp) - self.det_tp  # true positives ranked before each detection
            fp = np.flatnonzero(~self.det_tp)
            seg = before[fp]
            inside = seg < bounds[self.det_class[fp] + 1]  # false positives after a class's last TP never count
            counts = sparse.csr_matrix((np.ones(int(inside.sum())), (seg[inside], self.det_video[fp][inside])),
                                       shape=(tp_pos.size, self.num_videos))
            self._cache["tp"] = {"class": tp_class, "video": self.det_video[tp_pos], "bounds": bounds,
                                 "fp_counts": counts}
        return self._cache["tp"]

    def average_precision(self, weights: np.ndarray) -> np.ndarray:
        """[B, K] AP of each class under each row of video multiplicities `weights` [B, V]; NaN for a class
        without ground truth in that resample. All ones: the evaluated per-class AP."""
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        rows = max(1, _CHUNK_ELEMENTS // max(1, int(self.det_tp.sum())))  # keeps the [T, rows] arrays small
        return np.concatenate([self._average_precision(w[i:i + rows]) for i in range(0, w.shape[0], rows)])

    def _average_precision(self, w: np.ndarray) -> np.ndarray:
        t = self._true_positives()
        k, b = self.class_ids.size, w.shape[0]
        num_gt = w @ self.gt_count.T.astype(np.float64)  # [B, K]
        ap_sum = np.zeros((b, k))
        if t["class"].size:
            wt = w[:, t["video"]].T  # [T, B]
            fp = np.asarray(t["fp_counts"] @ w.T)  # [T, B]
            row_start = t["bounds"][t["class"]]
            ctp, cfp = (_class_cumsum(x, row_start) for x in (wt, fp))
            denom = ctp + cfp
            precision = np.divide(ctp, denom, out=np.zeros_like(ctp), where=denom > 0)
            offset = 2.0 * (k - t["class"])[:, None]  # keeps each class's envelope to itself
            envelope = np.maximum.accumulate((precision + offset)[::-1], axis=0)[::-1] - offset
            present = np.flatnonzero(t["bounds"][1:] > t["bounds"][:-1])
            ap_sum[:, present] = np.add.reduceat(wt * envelope, t["bounds"][present], axis=0).T
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(num_gt > 0, ap_sum / num_gt, np.nan)

    def mean_ap(self, weights: np.ndarray) -> np.ndarray:
        """[B] mAP (mean over the classes with ground truth in each resample)."""
        ap = self.average_precision(weights)
        counted = np.isfinite(ap)
        return np.where(counted.any(1), np.nansum(ap, axis=1) / np.maximum(counted.sum(1), 1), np.nan)

    def bootstrap(self, samples: int = SAMPLES, seed: int = SEED, level: float = LEVEL) -> dict:
        """Percentile intervals over `samples` video resamples: {"mAP_ci": [low, high], "per_class_ci":
        {class name: [low, high]} (classes with ground truth)}; the same resamples as
        `bootstrap_interval(self.mean_ap, ...)` with that seed."""
        ap = np.concatenate([self.average_precision(w) for w in resample_weights(self.num_videos, samples, seed)])
        counted = np.isfinite(ap)
        mean = np.where(counted.any(1), np.nansum(ap, axis=1) / np.maximum(counted.sum(1), 1), np.nan)
        return {"mAP_ci": percentile_interval(mean, level),
                "per_class_ci": {name: percentile_interval(ap[:, k], level) for k, name in enumerate(self.class_names)
                                 if self.gt_count[k].sum() > 0}}

    def map_statistic(self, videos: list | None = None):
        """The statistic W [B, len(videos)] -> mAP [B] for :mod:`slowfast.evaluation.bootstrap`; `videos`
        (default: this evaluation's) names W's columns, those absent here contribute nothing."""
        if videos is None:
            return self.mean_ap
        column = {v: i for i, v in enumerate(videos)}
        missing = [v for v in self.videos if v not in column]
        if missing:
            raise ValueError(f"video {missing[0]!r} is not among the resampled videos")
        idx = np.array([column[v] for v in self.videos], dtype=np.int64)
        return lambda w: self.mean_ap(np.atleast_2d(w)[:, idx])

    def pr_curve(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """(recall, precision) [n] of class index `c` down its ranked detections (empty without ground truth)."""
        num_gt = int(self.gt_count[c].sum())
        tp = self.det_tp[self.det_class == c]
        if not num_gt or not tp.size:
            return np.zeros(0), np.zeros(0)
        hits = np.cumsum(tp)
        return hits / num_gt, hits / np.arange(1, tp.size + 1)


def _class_cumsum(x: np.ndarray, row_start: np.ndarray) -> np.ndarray:
    """Cumulative sums down axis 0 restarting at each class (`row_start`: first row of each row's class)."""
    total = np.cumsum(x, axis=0)
    padded = np.vstack([np.zeros((1, x.shape[1])), total])
    return total - padded[row_start]
