"""Score averaging over the prediction files of several models.

AVA (detections CSVs, see :mod:`slowfast.formats.ava_boxes`)
    A row is keyed by ``(video_id, timestamp, x1, y1, x2, y2, action_id)``:
    the frame key as the 2019 scorer builds it (``%04d`` timestamp) and the
    box coordinates as written, compared as the numbers they read as (``0.1``
    and ``0.100`` are one box).  Members must therefore share the person
    proposal set (the same boxes written with the same rounding), as the 2019
    challenge report's 7-model ensemble did, which averaged the class scores
    of each proposal box.  The averaged score of a key is

    * ``missing="average"`` (default): ``sum_i w_i s_i / sum_i w_i`` over the
      members i that have the key (a box one model dropped keeps the other
      models' average);
    * ``missing="zero"``: the same sum divided by the sum of all weights,
      i.e. a member without the key counts as score 0.

    A key written several times in one file (duplicate proposal boxes) is
    paired by occurrence: the j-th copy in one file with the j-th copy in the
    others.  Output rows follow the first file's row order; keys only found in
    later files follow in their order.

Kinetics (per-video ``.npz`` written by the Kinetics test loop)
    Arrays ``videos`` (str [N], the video path as written in the dataset
    CSV), ``labels`` (int64 [N]), ``scores`` (float32 [N, C], softmax averaged
    over the views) and ``num_views`` (int64 [N], or one int64 for all).
    Members are aligned by ``videos``; labels of a video and C must agree
    (:class:`EnsembleError` naming the file otherwise).  Scores are averaged
    with the same ``missing`` rules; ``num_views`` of the result is the sum of
    the members' views.  :func:`topk_accuracy` gives top-1/top-5 accuracy and
    the challenge metric, the mean of top-1 and top-5 error.
"""

import os
import zipfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from slowfast.utils.io import atomic_write

from slowfast.formats.ava_boxes import BoxRows, read_boxes_csv

MISSING = ("average", "zero")


class EnsembleError(ValueError):
    """Members that cannot be combined; the message names the file."""


def _name(path) -> str:
    return os.path.basename(str(path)) or str(path)


def check_weights(weights: Optional[Sequence[float]], num_members: int) -> np.ndarray:
    """-> float64 [num_members] weights (default all 1); they must be finite,
    >= 0 and not all 0."""
    if weights is None:
        return np.ones(num_members)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != num_members:
        raise EnsembleError("got %d weights for %d input files" % (w.size, num_members))
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise EnsembleError("weights must be finite, >= 0 and not all 0, got %s" % w.tolist())
    return w


def _weighted_mean(group: np.ndarray, member: np.ndarray, values: np.ndarray, weights: np.ndarray,
                   num_groups: int, missing: str) -> Tuple[np.ndarray, np.ndarray]:
    """Per group, the weighted mean of ``values`` (rows [M] or [M, C]) under
    the ``missing`` rule -> (means [G] or [G, C], members per group [G])."""
    if missing not in MISSING:
        raise EnsembleError("missing must be one of %s, got %r" % (MISSING, missing))
    w = weights[member]
    if values.ndim == 1:
        total = np.bincount(group, values * w, minlength=num_groups)
    else:
        total = np.zeros((num_groups,) + values.shape[1:])
        np.add.at(total, group, values * w[:, None])
    denom = np.bincount(group, w, minlength=num_groups) if missing == "average" else np.full(
        num_groups, weights.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / denom.reshape((-1,) + (1,) * (values.ndim - 1))
    # a key only in members of weight 0 (average mode) scores 0
    return np.where(np.isfinite(mean), mean, 0.0), np.bincount(group, minlength=num_groups)


def _runs(key_cols: Sequence[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Stable lexsort of rows by ``key_cols`` (last column primary, as in
    ``np.lexsort``) -> (order [M], flag [M] per sorted row: same key as the
    previous sorted row)."""
    order = np.lexsort(tuple(key_cols))
    same = np.zeros(order.size, dtype=bool)
    same[1:] = True
    for c in key_cols:
        same[1:] &= c[order][1:] == c[order][:-1]
    return order, same


def _groups_in_order(order: np.ndarray, same: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Groups of equal keys from :func:`_runs` -> (group [M] of each row,
    numbered by first appearance; first [G], the first row of each group)."""
    sorted_group = np.cumsum(~same) - 1
    group = np.empty_like(sorted_group)
    group[order] = sorted_group
    first = order[~same]  # stable sort: a run starts with its earliest row
    renumber = np.empty_like(first)
    renumber[np.argsort(first)] = np.arange(first.size)
    return renumber[group], np.sort(first)


# ----------------------------------------------------------------------------
# AVA


@dataclass
class AvaEnsemble:
    """Averaged detections: rows (:class:`BoxRows`, R rows) and members
    [R] int64, how many input files had each row's key."""

    rows: BoxRows
    members: np.ndarray


def _box_key_cols(frame: np.ndarray, boxes: np.ndarray, action: np.ndarray, *extra) -> tuple:
    """Key columns for :func:`_runs`: frame, x1, y1, x2, y2, action, extra."""
    return tuple(extra) + (action, boxes[:, 3], boxes[:, 2], boxes[:, 1], boxes[:, 0], frame)


def _occurrence(frame, boxes, action) -> np.ndarray:
    """[M] 0 for the first row of each key in a file, 1 for its first
    duplicate, ..."""
    order, same = _runs(_box_key_cols(frame, boxes, action))
    run_start = np.maximum.accumulate(np.where(same, 0, np.arange(order.size)))
    occ = np.empty(order.size, dtype=np.int64)
    occ[order] = np.arange(order.size) - run_start
    return occ


def read_ava_members(paths: Sequence) -> List[BoxRows]:
    """Reads detection CSVs (8 columns, 2019 frame keys); the evaluator's
    reader raises AvaFormatError naming file and line for a bad row."""
    return [read_boxes_csv(p, allowed_columns=(8,), key_format="int", column8="score") for p in paths]


def ensemble_ava(members: Sequence[BoxRows], weights=None, missing: str = "average",
                 name: str = "ensemble") -> AvaEnsemble:
    """Averages the scores of detection rows with the same key (see the
    module docstring) over ``members``; ``weights`` [len(members)]."""
    w = check_weights(weights, len(members))
    index: Dict[str, int] = {}
    frame = np.concatenate([np.array([index.setdefault(k, len(index)) for k in m.key_names],
                                     dtype=np.int64)[m.key] for m in members] + [np.zeros(0, np.int64)])
    boxes = np.concatenate([m.boxes for m in members] + [np.zeros((0, 4))])
    action = np.concatenate([m.action for m in members] + [np.zeros(0, np.int64)])
    score = np.concatenate([m.score for m in members] + [np.zeros(0)])
    member = np.repeat(np.arange(len(members)), [len(m) for m in members])
    occ = np.concatenate([_occurrence(frame[member == i], boxes[member == i], action[member == i])
                          for i in range(len(members))] + [np.zeros(0, np.int64)])
    group, first = _groups_in_order(*_runs(_box_key_cols(frame, boxes, action, occ)))
    mean, count = _weighted_mean(group, member, score, w, first.size, missing)
    rows = BoxRows(path=name, key_names=list(index), key=frame[first], boxes=boxes[first],
                   action=action[first], score=mean, line=np.arange(1, first.size + 1, dtype=np.int64))
    return AvaEnsemble(rows, count)


# ----------------------------------------------------------------------------
# Kinetics


@dataclass
class VideoScores:
    """Per-video scores of the Kinetics test loop (one ``.npz``).

    videos: str [N]; labels: int64 [N]; scores: float32 [N, C];
    num_views: int64 [N]; path: display name for messages.
    """

    videos: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    num_views: np.ndarray
    path: str = ""

    def __len__(self) -> int:
        return int(self.videos.shape[0])


_NPZ_ARRAYS = ("videos", "labels", "scores", "num_views")


def read_video_scores(path) -> VideoScores:
    """Reads and checks a per-video score ``.npz``; EnsembleError names the
    file and the problem."""
    where = _name(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [a for a in _NPZ_ARRAYS if a not in data.files]
            if missing:
                raise EnsembleError("%s: missing array(s) %s (has %s)" % (where, ", ".join(missing), data.files))
            arrays = {a: data[a] for a in _NPZ_ARRAYS}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        if isinstance(exc, EnsembleError):
            raise
        raise EnsembleError("%s: cannot be read as a .npz of arrays (%s)" % (where, exc)) from None
    return _check_video_scores(arrays, where)


def _check_video_scores(a: dict, where: str) -> VideoScores:
    videos, labels, scores = a["videos"], a["labels"], a["scores"]
    if videos.ndim != 1 or videos.dtype.kind not in "US":
        raise EnsembleError("%s: videos must be a 1-d string array, got %s %s" % (where, videos.dtype, videos.shape))
    n = videos.shape[0]
    if scores.ndim != 2 or scores.shape[0] != n:
        raise EnsembleError("%s: scores must be [N, C] with N = %d videos, got %s" % (where, n, scores.shape))
    if labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise EnsembleError("%s: labels must be %d integers, got %s %s" % (where, n, labels.dtype, labels.shape))
    views = np.broadcast_to(a["num_views"], (n,)) if a["num_views"].size in (1, n) else None
    if views is None or a["num_views"].dtype.kind not in "iu":
        raise EnsembleError("%s: num_views must be one integer or %d integers, got %s %s"
                            % (where, n, a["num_views"].dtype, a["num_views"].shape))
    videos = videos.astype(str)
    uniq, counts = np.unique(videos, return_counts=True)
    if uniq.size != n:
        dup = np.flatnonzero(counts > 1)[0]
        raise EnsembleError("%s: video %r is listed %d times" % (where, str(uniq[dup]), counts[dup]))
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=1))
    if bad.size:
        raise EnsembleError("%s: scores of video %r are not finite" % (where, str(videos[bad[0]])))
    return VideoScores(videos, labels.astype(np.int64), scores.astype(np.float32),
                       np.array(views, dtype=np.int64), where)


def write_video_scores(path, vs: VideoScores) -> None:
    """Writes the ``.npz`` format (uncompressed) atomically."""
    arrays = dict(videos=np.asarray(vs.videos, dtype=str), labels=np.asarray(vs.labels, dtype=np.int64),
                  scores=np.asarray(vs.scores, dtype=np.float32), num_views=np.asarray(vs.num_views, dtype=np.int64))
    atomic_write(path, lambda f: np.savez(f, **arrays), "wb")


def _check_compatible(members: Sequence[VideoScores]) -> None:
    """Same C everywhere; a video has the same label in every file."""
    first = members[0]
    label_of = {}
    for m in members:
        if m.scores.shape[1] != first.scores.shape[1]:
            raise EnsembleError("%s: scores have %d classes, but %s has %d"
                                % (m.path, m.scores.shape[1], first.path, first.scores.shape[1]))
        for video, label in zip(m.videos.tolist(), m.labels.tolist()):
            seen = label_of.setdefault(video, (label, m.path))
            if seen[0] != label:
                raise EnsembleError("%s: video %r has label %d, but %s has label %d"
                                    % (m.path, video, label, seen[1], seen[0]))


def ensemble_kinetics(members: Sequence[VideoScores], weights=None, missing: str = "average",
                      name: str = "ensemble") -> Tuple[VideoScores, np.ndarray]:
    """Averages per-video scores over ``members`` (aligned by video) ->
    (VideoScores in order of first appearance, members per video [N])."""
    w = check_weights(weights, len(members))
    _check_compatible(members)
    videos = np.concatenate([m.videos for m in members])
    member = np.repeat(np.arange(len(members)), [len(m) for m in members])
    group, first = _groups_in_order(*_runs((videos,)))
    scores = np.concatenate([m.scores for m in members]).astype(np.float64)
    mean, count = _weighted_mean(group, member, scores, w, first.size, missing)
    views = np.bincount(group, np.concatenate([m.num_views for m in members]), minlength=first.size)
    labels = np.concatenate([m.labels for m in members])
    return VideoScores(videos[first], labels[first], mean.astype(np.float32), views.astype(np.int64), name), count


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, ks=(1, 5)) -> Dict[str, float]:
    """Top-k accuracy (in [0, 1]) of scores [N, C] for labels [N], and
    ``mean_error`` = mean of top-1 and top-5 error (the ActivityNet Kinetics
    metric).  A video is right at k when fewer than k classes score strictly
    higher than its label (ties count in its favour); k is capped at C.
    Videos with a negative label (unknown) are left out; NaN without any."""
    known = labels >= 0
    out = {"videos": int(known.sum())}
    s, y = scores[known], labels[known]
    if y.size and (y.max() >= scores.shape[1]):
        raise EnsembleError("label %d is outside the %d score columns" % (y.max(), scores.shape[1]))
    higher = (s > s[np.arange(y.size), y][:, None]).sum(axis=1)
    for k in ks:
        out["top%d" % k] = float(np.mean(higher < min(k, scores.shape[1]))) if y.size else float("nan")
    if 1 in ks and 5 in ks:
        out["mean_error"] = 1.0 - (out["top1"] + out["top5"]) / 2
    return out
