"""Ground-truth rules that the evaluator (:mod:`slowfast.evaluation.ava`) and the dataset checker
(:mod:`slowfast.data_prep.check_ava`) share, so both find and treat the same rows of the same file.

* Duplicate rows (:func:`duplicate_rows`): rows with the same video, timestamp (frame key), box and
  action as an earlier row.  They are counted once: the evaluator drops them (with a warning naming
  the file, the first line and the count), the checker reports each as a problem of kind
  ``duplicate_row`` naming the line it repeats.
* Rows of videos outside the evaluated set (:func:`rows_of_videos`): the videos a ground-truth file
  has and the detections (evaluator) or the frame lists (checker) have not, each with its first line
  and row count.  The evaluator counts them, as the official scorer does (they are missed ground
  truth), and warns; the checker reports one problem per video.

Both take plain arrays, so the strict reader's :class:`~slowfast.formats.ava_boxes.BoxRows` and the
lenient reader's row lists go through the same code.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np


def duplicate_rows(key: np.ndarray, boxes: np.ndarray, action: np.ndarray,
                   line: np.ndarray) -> Tuple[np.ndarray, List[Tuple[int, List[int]]]]:
    """``(keep [N] bool, groups)`` for rows given as frame-key codes ``key`` [N], ``boxes`` [N, 4],
    ``action`` [N] and file ``line`` numbers [N].

    A row is a duplicate when an earlier row (in file order) has the same key, box (the same float
    values) and action; ``keep`` is False for it.  ``groups``: ``(first line, [lines repeating it])``
    per row that has copies, in order of the first line.
    """
    n = int(np.asarray(key).shape[0])
    keep = np.ones(n, dtype=bool)
    if n < 2:
        return keep, []
    b = np.ascontiguousarray(boxes, dtype=np.float64) + 0.0  # -0.0 and 0.0 are one value
    table = np.column_stack([np.asarray(key, np.int64), np.asarray(action, np.int64), b.view(np.int64)])
    _, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
    first_of_row = first[np.asarray(inverse).reshape(-1)]
    dup = np.flatnonzero(first_of_row != np.arange(n))
    if dup.size == 0:
        return keep, []
    keep[dup] = False
    line = np.asarray(line)
    groups: Dict[int, List[int]] = {}
    for i in dup.tolist():
        groups.setdefault(int(first_of_row[i]), []).append(int(line[i]))
    return keep, [(int(line[f]), copies) for f, copies in sorted(groups.items())]


def duplicates_phrase(groups: Sequence[Tuple[int, List[int]]], most: int = 5) -> str:
    """``line 3 (2 copies: lines 7, 9); ...`` for :func:`duplicate_rows`' groups."""
    parts = ["line %d (%d %s: line%s %s)" % (first, len(copies), "copy" if len(copies) == 1 else "copies",
                                             "s" if len(copies) > 1 else "", ", ".join(map(str, copies)))
             for first, copies in groups[:most]]
    return "; ".join(parts) + ("; ..." if len(groups) > most else "")


def rows_of_videos(videos: Sequence[str], line: np.ndarray, wanted) -> Dict[str, Tuple[int, int]]:
    """``{video: (first line, rows)}`` of the rows (``videos[i]`` on file line ``line[i]``) whose video
    ``wanted(video)`` accepts, in order of first appearance."""
    out: Dict[str, Tuple[int, int]] = {}
    verdict: Dict[str, bool] = {}
    for vid, number in zip(videos, np.asarray(line).tolist()):
        ok = verdict.get(vid)
        if ok is None:
            ok = verdict[vid] = bool(wanted(vid))
        if ok:
            first, count = out.get(vid, (int(number), 0))
            out[vid] = (first, count + 1)
    return out


def videos_phrase(found: Dict[str, Tuple[int, int]], most: int = 10) -> str:
    """``vid_a (line 3, 4 rows), vid_b (line 9, 1 row)`` for :func:`rows_of_videos`' result."""
    parts = ["%s (line %d, %d row%s)" % (vid, first, n, "" if n == 1 else "s")
             for vid, (first, n) in list(found.items())[:most]]
    return ", ".join(parts) + (", ..." if len(found) > most else "")
