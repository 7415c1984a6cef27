"""Vectorised box matching and PASCAL-VOC average precision.

Every floating-point operation here is the one the official scorer (the
TensorFlow object-detection ``np_box_ops``/``per_image_evaluation``/``metrics``
modules bundled with ActivityNet's ``get_ava_performance.py``) performs, in
the same order, so thresholds and sums agree to the last bit:

* area, intersection and IoU as :mod:`slowfast.formats.boxes` computes them
  (no +1: normalised coordinates);
* a detection is compared only with the ground truth of highest IoU in its
  frame and class (first one on ties, NaN counting as highest, as
  ``np.argmax``); it is a true positive iff that IoU >= threshold and no
  earlier detection (in processing order) claimed that ground truth;
* detections of a class are ranked by ``np.argsort(scores)[::-1]`` on the
  class's scores in the official concatenation order (NumPy's default sort is
  not stable, so only the identical call reproduces its order of ties);
* AP = sum over recall changes of (delta recall) * (precision made
  non-increasing from the right), with recall padded by 0 and 1 and precision
  by 0 and 0, summed with ``np.sum`` over the same array.

Box arrays are float64 [N, 4] in file order x1, y1, x2, y2.
"""

import numpy as np

from slowfast.formats.boxes import paired_iou


def _expand_pairs(lo: np.ndarray, counts: np.ndarray):
    """For ranges [lo[i], lo[i] + counts[i]) -> (owner [P], member [P], offset [P])."""
    owner = np.repeat(np.arange(lo.shape[0]), counts)
    starts = np.cumsum(counts) - counts
    offset = np.arange(owner.shape[0]) - np.repeat(starts, counts)
    return owner, np.repeat(lo, counts) + offset, offset


def _segment_first_argmax(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """values: [P] laid out in consecutive segments of the given (>0) counts.

    Returns [S] offsets of the first maximum of each segment, NaN counting as
    larger than any number (the semantics of ``np.argmax``).
    """
    starts = np.cumsum(counts) - counts
    v = np.where(np.isnan(values), np.inf, values)
    seg_max = np.maximum.reduceat(v, starts)
    offset = np.arange(v.shape[0]) - np.repeat(starts, counts)
    candidate = np.where(v == np.repeat(seg_max, counts), offset, np.iinfo(np.int64).max)
    return np.minimum.reduceat(candidate, starts)


def greedy_match(det_group, det_boxes, gt_group, gt_boxes, iou_threshold=0.5):
    """Marks detections as true positives, all frames and classes at once.

    det_group: int64 [N] (frame, class) group of each detection; detections of
      one group must appear in processing order (higher priority first).
    det_boxes: [N, 4].  gt_group: int64 [M] sorted ascending, ground truth of
      one group in the official order.  gt_boxes: [M, 4].
    Returns (tp: bool [N], matched_gt: int64 [N] index into gt or -1).
    """
    n = det_group.shape[0]
    lo = np.searchsorted(gt_group, det_group, side="left")
    counts = np.searchsorted(gt_group, det_group, side="right") - lo
    has_gt = counts > 0
    owner, gt_idx, _ = _expand_pairs(lo[has_gt], counts[has_gt])
    iou = paired_iou(det_boxes[has_gt][owner], gt_boxes[gt_idx])
    first = _segment_first_argmax(iou, counts[has_gt]) if owner.size else np.zeros(0, np.int64)
    best_gt = np.full(n, -1, dtype=np.int64)
    best_iou = np.full(n, np.nan)
    best_gt[has_gt] = lo[has_gt] + first
    best_iou[has_gt] = iou[(np.cumsum(counts[has_gt]) - counts[has_gt]) + first]
    with np.errstate(invalid="ignore"):
        candidate = np.flatnonzero(best_iou >= iou_threshold)
    # Only the first claimant of a ground truth box is a true positive.
    _, first_claim = np.unique(best_gt[candidate], return_index=True)
    tp = np.zeros(n, dtype=bool)
    tp[candidate[first_claim]] = True
    return tp, np.where(tp, best_gt, -1)


def voc_average_precision(tp_ranked: np.ndarray, num_gt: int) -> float:
    """PASCAL-VOC AP of a ranked list.

    tp_ranked: bool [N], true positives in rank order (best first);
    num_gt: number of ground-truth boxes (> 0).  Returns a float in [0, 1];
    0.0 for an empty list.
    """
    if tp_ranked.size == 0:
        return 0.0
    tp = tp_ranked.astype(int)
    cum_tp = np.cumsum(tp)
    cum_fp = np.cumsum(1 - tp)
    precision = cum_tp.astype(float) / (cum_tp + cum_fp)
    recall = cum_tp.astype(float) / num_gt
    recall = np.concatenate([[0], recall, [1]])
    precision = np.concatenate([[0], precision, [0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    changed = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[changed] - recall[changed - 1]) * precision[changed]))


def rank_order(scores: np.ndarray) -> np.ndarray:
    """The official ranking: ``np.argsort(scores)[::-1]`` (default, unstable
    sort) on a fresh copy, exactly as the official scorer calls it."""
    return np.argsort(np.array(scores, dtype=np.float64, copy=True))[::-1]


def class_average_precision(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """AP of one class; scores, tp: [N] in official concatenation order."""
    if num_gt <= 0:
        return float("nan")
    return voc_average_precision(tp[rank_order(scores)], num_gt)
