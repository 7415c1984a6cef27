"""AVA box bookkeeping: box CSV rows -> key frame -> box -> action ids.

A proposal is kept when its score is ``>= AVA.DETECTION_SCORE_THRESH`` (PySlowFast's rule;
``AVA.DETECTION_SCORE_STRICT True``: ``>``, the report's wording "confidence > 0.8").  Training boxes
are the ground-truth boxes plus the kept proposals whose IoU with a ground-truth box of the same key
frame is > ``AVA.TRAIN_PROPOSAL_IOU``; such a proposal takes the labels of its best-matching GT box.
With ``AVA.TRAIN_NEGATIVE_PROPOSALS`` the other kept proposals join too, with all-zero targets
(PySlowFast's ``..._include_negative_...`` proposal files); off by default, as in the report.  Repeated
rows of one box (one row per action) are merged into one multi-label box.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Dict, List, Sequence, Set

import numpy as np

from slowfast.formats import ava_boxes, problems
from slowfast.formats.ava_boxes import Box, BoxRow, Key
from slowfast.formats.boxes import iou_matrix
from slowfast.formats.problems import raise_problems

logger = logging.getLogger(__name__)

# key frame -> {box: set of 1-based action ids}; dicts keep insertion (file) order.
KeyBoxes = Dict[Key, Dict[Box, Set[int]]]


def drop_unknown_videos(rows: List[BoxRow], known: Set[str], path: str, stats: Counter) -> List[BoxRow]:
    """Rows whose video is in ``known``; each other video is warned about by name, its rows counted
    in ``stats["unknown_video_boxes"]``."""
    unknown = Counter(r.video for r in rows if r.video not in known)
    for video, count in unknown.items():
        logger.warning("%s: video %r is not in the frame lists; its %d box rows are skipped", path, video, count)
    if not unknown:
        return rows
    stats["unknown_video_boxes"] += sum(unknown.values())
    return [r for r in rows if r.video in known]


def keep_confident(rows: List[BoxRow], thresh: float, stats: Counter, strict: bool = False) -> List[BoxRow]:
    """Proposal rows with ``score >= thresh`` (PySlowFast's ``parse_bboxes_file`` drops ``score < thresh``),
    or ``score > thresh`` when ``strict``; the others are counted in ``stats["low_score_proposals"]``."""
    kept = [r for r in rows if (r.score > thresh if strict else r.score >= thresh)]
    if len(kept) < len(rows):
        stats["low_score_proposals"] += len(rows) - len(kept)
    return kept


def group_boxes(rows: Sequence[BoxRow]) -> KeyBoxes:
    """Merge rows into key frame -> box -> action ids (rows of the same box add their actions;
    action -1 adds none)."""
    out: KeyBoxes = defaultdict(dict)
    for r in rows:
        labels = out[(r.video, r.sec)].setdefault(r.box, set())
        if r.action > 0:
            labels.add(r.action)
    return out


def add_matched_proposals(gt: KeyBoxes, proposals: Sequence[BoxRow], iou_thresh: float, stats: Counter,
                          negatives: bool = False) -> KeyBoxes:
    """Training boxes: ``gt`` plus every proposal whose IoU with a GT box of its key frame is
    ``> iou_thresh``, labelled with the best-matching GT box's actions (merged into the box's
    labels when the proposal repeats a box).  Unmatched proposals are counted in
    ``stats["unmatched_proposals"]``; with ``negatives`` they are added too, with no action (all-zero
    targets), also on key frames without ground truth.  ``gt`` is not modified."""
    out: KeyBoxes = defaultdict(dict, {key: {box: set(labels) for box, labels in boxes.items()} for key, boxes in gt.items()})
    by_key: Dict[Key, List[Box]] = defaultdict(list)
    for r in proposals:
        by_key[(r.video, r.sec)].append(r.box)
    for key, boxes in by_key.items():
        gt_boxes = list(gt.get(key, {}))
        if not gt_boxes:
            stats["unmatched_proposals"] += len(boxes)
            if negatives:
                for box in boxes:
                    out[key].setdefault(box, set())
            continue
        # The evaluator's IoU (0/0 for two empty boxes is NaN there; no overlap here).
        iou = np.nan_to_num(iou_matrix(np.asarray(boxes, dtype=np.float64), np.asarray(gt_boxes, dtype=np.float64)))
        for box, row in zip(boxes, iou):
            best = int(row.argmax())
            if row[best] > iou_thresh:
                out[key].setdefault(box, set()).update(gt[key][gt_boxes[best]])
            else:
                stats["unmatched_proposals"] += 1
                if negatives:
                    out[key].setdefault(box, set())
    return dict(out)


def check_actions(rows: Sequence[BoxRow], path: str, num_classes: int) -> None:
    """Raise ``AvaFormatError`` naming the first row of ``path`` whose action id is neither -1 nor in
    ``1..num_classes`` (and how many more there are)."""
    raise_problems(ava_boxes.check_action_range(rows, path, num_classes), problems.AvaFormatError)


def labels_to_multi_hot(label_sets: Sequence[Set[int]], num_classes: int) -> np.ndarray:
    """``N`` sets of 1-based action ids -> ``N x num_classes`` float32 multi-hot (id k -> column k-1)."""
    out = np.zeros((len(label_sets), num_classes), dtype=np.float32)
    for i, labels in enumerate(label_sets):
        out[i, [k - 1 for k in labels]] = 1.0
    return out
