"""Which detections the official AVA reader keeps per key frame, and their order (rules 4 and 5 of
:mod:`slowfast.evaluation.ava.evaluate`): a min-heap of capacity ``cap`` fed in file order, then
Python's stable ``sorted`` by descending score. Done vectorised for the frames where that is
unambiguous, and by simulating the heap exactly on the frames where ties make it matter."""

import heapq
from typing import List, Tuple

import numpy as np


class _Tag:
    """Carries a row index inside heap tuples without changing comparisons."""

    __slots__ = ("row",)

    def __init__(self, row):
        self.row = row

    def __eq__(self, other):
        return True

    def __lt__(self, other):
        return False

    __hash__ = None


def _heap_frame_order(rows: np.ndarray, score, action, boxes, cap: int) -> List[int]:
    """The official reader on one frame: rows (file order) -> kept rows in
    the order of ``sorted(heap, key=-score)``."""
    heap: list = []
    items = zip(rows.tolist(), score[rows].tolist(), action[rows].tolist(), boxes[rows].tolist())
    for row, s, a, (x1, y1, x2, y2) in items:
        item = (s, a, y1, x1, y2, x2, _Tag(row))
        if cap < 1 or len(heap) < cap:
            heapq.heappush(heap, item)
        elif s > heap[0][0]:
            heapq.heapreplace(heap, item)
    return [t[6].row for t in sorted(heap, key=lambda t: -t[0])]


def _simulate_frames(rows: np.ndarray, key, score, action, boxes, cap: int):
    """Heap-simulates the given rows frame by frame -> (kept rows, pos)."""
    rows = rows[np.argsort(key[rows], kind="stable")]
    bounds = np.flatnonzero(np.diff(key[rows])) + 1
    kept, pos = [], []
    for part in np.split(rows, bounds) if rows.size else []:
        order = _heap_frame_order(part, score, action, boxes, cap)
        kept.extend(order)
        pos.extend(range(len(order)))
    return np.array(kept, dtype=np.int64), np.array(pos, dtype=np.int64)


def _group_starts(sorted_codes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Start index and length of each run of equal values."""
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if sorted_codes.size else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, sorted_codes.size])
    return starts, counts


def _frames_needing_heap(key, score, action, boxes, cap):
    """Vectorised: the top-`cap` rows per frame by (-score, file order), and
    the frames where that differs from, or may differ from, the official
    heap order (a score tie at the cap boundary, or two different boxes of one
    class with equal kept scores).  Returns (kept rows, pos, complex frames)."""
    n = key.shape[0]
    order = np.lexsort((np.arange(n), -score, key))
    starts, counts = _group_starts(key[order])
    rank = np.arange(n) - np.repeat(starts, counts)
    s_sorted = score[order]
    over = starts[counts > cap] + cap if cap > 0 else np.zeros(0, np.int64)
    ambiguous = key[order][over[s_sorted[over] == s_sorted[over - 1]]]
    keep_sorted = rank < cap if cap > 0 else np.ones(n, dtype=bool)
    kept, pos = order[keep_sorted], rank[keep_sorted]
    b = boxes[kept]
    tie_order = np.lexsort((b[:, 3], b[:, 2], b[:, 1], b[:, 0], score[kept], action[kept], key[kept]))
    k = kept[tie_order]
    same = (key[k][1:] == key[k][:-1]) & (action[k][1:] == action[k][:-1]) & (score[k][1:] == score[k][:-1])
    differ = np.any(boxes[k][1:] != boxes[k][:-1], axis=1)
    tied = key[k][1:][same & differ]
    return kept, pos, np.unique(np.r_[ambiguous, tied])


def official_frame_order(key, score, action, boxes, cap: int, sort_by_score: bool):
    """Which rows the official reader keeps per frame, and their order.

    key: int64 [N] frame of each row (rows in file order); score: [N];
    action: [N]; boxes: [N, 4].  Returns (kept: int64 [K] row indices,
    pos: int64 [K] position of each kept row within its frame).
    """
    n = key.shape[0]
    if not sort_by_score:
        starts_order = np.argsort(key, kind="stable")
        starts, counts = _group_starts(key[starts_order])
        pos = np.empty(n, dtype=np.int64)
        pos[starts_order] = np.arange(n) - np.repeat(starts, counts)
        return np.arange(n), pos
    kept, pos, complex_frames = _frames_needing_heap(key, score, action, boxes, cap)
    simple = ~np.isin(key[kept], complex_frames)
    sim_kept, sim_pos = _simulate_frames(np.flatnonzero(np.isin(key, complex_frames)), key, score, action, boxes, cap)
    return np.r_[kept[simple], sim_kept], np.r_[pos[simple], sim_pos]
