"""Box areas and IoU of normalised boxes, pure NumPy.

Box arrays are float64 [N, 4] in file order x1, y1, x2, y2. The operations and their order are the
official AVA scorer's (TensorFlow object-detection ``np_box_ops``), so IoU thresholds agree to the last
bit (:mod:`slowfast.evaluation.ava.metrics`):

* area = (y2 - y1) * (x2 - x1), no +1 (normalised coordinates);
* intersection = max(0, min(y2) - max(y1)) * max(0, min(x2) - max(x1));
* IoU = intersection / ((area_det + area_gt) - intersection).
"""

import numpy as np


def box_areas(boxes: np.ndarray) -> np.ndarray:
    """boxes: [N, 4] x1, y1, x2, y2 -> [N] areas (negative if inverted)."""
    return (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0])


def paired_iou(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of det[i] with gt[i]; det, gt: [P, 4] -> [P] (NaN for 0/0)."""
    heights = np.maximum(0.0, np.minimum(det[:, 3], gt[:, 3]) - np.maximum(det[:, 1], gt[:, 1]))
    widths = np.maximum(0.0, np.minimum(det[:, 2], gt[:, 2]) - np.maximum(det[:, 0], gt[:, 0]))
    inter = heights * widths
    union = (box_areas(det) + box_areas(gt)) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def iou_matrix(det: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """All-pairs IoU; det: [N, 4], gt: [M, 4] -> [N, M]."""
    n, m = det.shape[0], gt.shape[0]
    return paired_iou(np.repeat(det, m, axis=0), np.tile(gt, (n, 1))).reshape(n, m)
