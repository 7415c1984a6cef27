"""Glue between the AVA test loop and the evaluator.

The test loop collects, for N detected person boxes of the key frames it ran
on, the arrays below; :func:`detections_to_rows` turns them into the
evaluator's in-memory :class:`~.io.BoxRows` (one row per box and kept class,
accepted by :func:`~.evaluate.evaluate` as ``detections``), and
:func:`write_predictions_csv` also writes them as the official detections
CSV ``video_id,timestamp,x1,y1,x2,y2,action_id,score``.

Precision (the rows hold exactly the values the file holds, so evaluating the
rows in memory gives the same result as evaluating the written file):

* timestamps: the official ``%04d`` integer seconds; a non-integer timestamp
  is an error (the 2018/2019 scorers cannot read it);
* boxes: rounded to ``box_decimals`` decimals (default 3, the precision of the
  AVA box and proposal files, which undoes float32 noise added by scaling
  boxes to pixels and back; ``None`` keeps every digit).  Rounding is done by
  formatting ``"%.3f"`` and reading back, as a reader of a ``%.3f`` file
  would; the file then holds the shortest ``repr`` of those values
  (``0.1`` rather than ``0.100``);
* scores: kept exact by default (``score_digits=None``: written with
  ``repr``, up to 17 significant digits), because rounding creates tied
  scores and ties change AP; ``score_digits=6`` writes 6 significant digits
  for files about 40 % smaller.

Rows are written detection by detection, classes in increasing id order
within a detection, like PySlowFast's ``write_results``.
"""

import os
from typing import Iterable, Optional, Sequence

import numpy as np

from slowfast.formats.ava_boxes import BoxRows
from slowfast.formats.ava_csv import check_video_ids, write_box_rows


def _rounded(values: np.ndarray, fmt: str) -> np.ndarray:
    """float64 values as read back after formatting each with ``fmt``."""
    flat = values.reshape(-1).tolist()
    return np.array([float(fmt % v) for v in flat], dtype=np.float64).reshape(values.shape)


def _check_inputs(video_ids, metadata, boxes, scores):
    """Validates shapes and values -> (metadata [N, 2], boxes [N, 4], scores
    [N, C]) as float64 arrays."""
    metadata = np.asarray(metadata, dtype=np.float64)
    boxes = np.asarray(boxes, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    n = metadata.shape[0] if metadata.ndim == 2 else -1
    if metadata.ndim != 2 or metadata.shape[1] != 2:
        raise ValueError("metadata must be [N, 2] (video index, timestamp), got shape %s" % (metadata.shape,))
    if boxes.shape != (n, 4):
        raise ValueError("boxes must be [N, 4] with N = %d, got shape %s" % (n, boxes.shape))
    if scores.ndim != 2 or scores.shape[0] != n:
        raise ValueError("scores must be [N, num_classes] with N = %d, got shape %s" % (n, scores.shape))
    for name, arr in (("metadata", metadata), ("boxes", boxes), ("scores", scores)):
        bad = np.flatnonzero(~np.isfinite(arr).reshape(n, -1).all(axis=1)) if n else []
        if len(bad):
            raise ValueError("%s of detection %d is not finite: %s" % (name, bad[0], arr[bad[0]].tolist()))
    video, stamp = metadata[:, 0], metadata[:, 1]
    bad = np.flatnonzero((video != np.round(video)) | (video < 0) | (video >= len(video_ids)))
    if bad.size:
        raise ValueError("detection %d: video index %g is not an index into %d video ids"
                         % (bad[0], float(video[bad[0]]), len(video_ids)))
    bad = np.flatnonzero(stamp != np.round(stamp))
    if bad.size:
        raise ValueError("detection %d: timestamp %r is not a whole second" % (bad[0], float(stamp[bad[0]])))
    return metadata, boxes, scores


def _kept_columns(num_classes: int, class_ids: Optional[Iterable[int]]) -> np.ndarray:
    """Score columns to keep, increasing: all, or those of ``class_ids``
    (column k scores action id k + 1)."""
    if class_ids is None:
        return np.arange(num_classes)
    ids = np.unique(np.asarray(list(class_ids), dtype=np.int64))
    outside = ids[(ids < 1) | (ids > num_classes)]
    if outside.size:
        raise ValueError("class id %d has no score column (scores have %d columns, column k is id k + 1)"
                         % (outside[0], num_classes))
    return ids - 1


def _frame_keys(video_ids: Sequence[str], metadata: np.ndarray):
    """-> (key names in order of first appearance, key code [N])."""
    names = [video_ids[int(v)] + ",%04d" % int(t) for v, t in metadata.tolist()]
    index: dict = {}
    codes = np.array([index.setdefault(k, len(index)) for k in names], dtype=np.int64)
    return list(index), codes


def detections_to_rows(
    video_ids: Sequence[str],
    metadata,
    boxes,
    scores,
    class_ids: Optional[Iterable[int]] = None,
    box_decimals: Optional[int] = 3,
    score_digits: Optional[int] = None,
    name: str = "predictions",
) -> BoxRows:
    """Test-loop arrays -> :class:`BoxRows` of N * K detection rows.

    video_ids: V strings; metadata: [N, 2] (index into ``video_ids``,
    timestamp in whole seconds); boxes: [N, 4] normalised x1, y1, x2, y2;
    scores: [N, C], column k scores action id k + 1; class_ids: ids to keep
    (e.g. ``read_labelmap(...).ids``; K of them), default all C.  Values are
    rounded as described in the module docstring.  ``name`` is used in the
    evaluator's messages.  Raises ValueError on inconsistent shapes,
    non-finite values, bad indices, fractional timestamps or video ids that a
    CSV cannot hold.
    """
    video_ids = list(video_ids)
    check_video_ids(video_ids)
    metadata, boxes, scores = _check_inputs(video_ids, metadata, boxes, scores)
    cols = _kept_columns(scores.shape[1], class_ids)
    if box_decimals is not None:
        boxes = _rounded(boxes, "%%.%df" % box_decimals)
    kept = scores[:, cols]
    if score_digits is not None:
        kept = _rounded(kept, "%%.%dg" % score_digits)
    key_names, codes = _frame_keys(video_ids, metadata)
    k, n = cols.size, codes.size
    return BoxRows(
        path=name,
        key_names=key_names,
        key=np.repeat(codes, k),
        boxes=np.repeat(boxes, k, axis=0),
        action=np.tile(cols + 1, n).astype(np.int64),
        score=kept.reshape(-1).copy(),
        line=np.arange(1, n * k + 1, dtype=np.int64),
    )


def write_predictions_csv(path, video_ids, metadata, boxes, scores, class_ids=None,
                          box_decimals: Optional[int] = 3, score_digits: Optional[int] = None) -> BoxRows:
    """Writes the test-loop arrays (see :func:`detections_to_rows`) to
    ``path`` as an official AVA detections CSV, atomically (temporary file and
    rename); returns the rows written, which evaluate exactly like the file."""
    rows = detections_to_rows(video_ids, metadata, boxes, scores, class_ids, box_decimals, score_digits,
                              name=os.path.basename(str(path)) or str(path))
    write_box_rows(path, rows)
    return rows
