"""AVA frame-level mAP@0.5 IoU, identical to ActivityNet's official scorer.

The official scorer is ``Evaluation/get_ava_performance.py`` of
github.com/activitynet/ActivityNet with its ``ava/`` package (the TensorFlow
object-detection ``PascalDetectionEvaluator``).  Its rules changed over time;
``version`` picks one set:

========  ====================================================================
"2018"    Scorer bundled with PySlowFast (``slowfast/utils/ava_eval_helper``):
          exclusions file, no cap on detections per frame, detections of a
          frame evaluated in file order (never sorted by score), detections
          need 8 columns.
"2019"    The ActivityNet 2019 challenge scorer (default): exclusions file,
          at most 50 detections per key frame kept with a heap, detections of
          a frame then sorted by score; a 7-column detection scores 1.0.
"2020"    Later scorer: no exclusions file; timestamps may be fractional
          (key ``"%s,%.6f"``); 2-column ``video_id,timestamp`` rows list key
          frames; detections on key frames that the ground-truth file does not
          list are ignored instead of counted as false positives; same cap.
========  ====================================================================

Rules, each with the reason (the official code does it this way):

1. Frame key.  A row belongs to the key ``"%s,%04d" % (video_id,
   int(timestamp))`` (2020: ``"%s,%.6f" % (video_id, Decimal(timestamp))``):
   the official reader builds exactly this string, so ``0902`` and ``902``
   are one frame, and a non-integer timestamp is an error before 2020.
2. Label map filter.  Ground-truth and detection rows whose action id is not
   in the label map are dropped while reading, before the cap: the reader
   skips them with its class whitelist.  They are counted in the warnings.
3. Exclusions (2018/2019).  Keys listed in the exclusions file are dropped
   from ground truth and detections: the official loop ``continue``-s on
   them.  Found keys are counted.
4. Cap (2019/2020).  Per key frame at most 50 detections (over all classes)
   are kept: the reader pushes ``(score, action_id, y1, x1, y2, x2)`` tuples
   in file order on a min-heap of capacity 50 and replaces the heap minimum
   only when a new score is strictly greater.  So all detections scoring
   above the 50th highest score are kept, and among ties at that score the
   heap decides; we reproduce that heap exactly for such frames.
5. Order inside a frame.  2019/2020 sort the kept heap list by descending
   score with Python's stable ``sorted`` (ties keep heap-list order); 2018
   keeps file order.  This order decides which of two detections claims a
   ground-truth box, and the order of scores fed to the ranking sort.
6. Invalid detections.  Detections with x2 <= x1 or y2 <= y1 are dropped
   after the cap (``_remove_invalid_boxes``); they still used cap slots.
7. Matching, per frame and class.  Each detection, in the frame order of
   rule 5, looks only at the ground-truth box of highest IoU in its frame and
   class (``np.argmax``: first on ties).  IoU >= 0.5 (inclusive: the official
   test is ``iou >= matching_iou_threshold``) and that box not yet claimed:
   true positive, and the box is claimed; otherwise false positive.  So a
   duplicate detection of a box is one TP then FPs, and a detection whose
   best box is taken is an FP even if another box overlaps enough.  Boxes
   use the TF formula area = (y2 - y1) * (x2 - x1) without +1.
8. Several labels on one box.  Each CSV row is a separate (box, class)
   ground truth (or detection), evaluated only within its class: the
   official evaluator splits every frame by class before matching.
9. Frames without ground truth.  Detections there are all false positives
   (2018/2019: the evaluator uses an empty ground-truth list), or are
   ignored when the ground-truth file does not list the key (2020).
10. Ranking and ties.  Per class, scores are concatenated frame by frame in
    order of first appearance in the detections file (the evaluator's
    insertion order) and ranked with ``np.argsort(scores)[::-1]``.  NumPy's
    default sort is not stable, so tied scores are ordered by that exact call
    on that exact array, which we make too: results are identical to the
    official scorer run with the same NumPy on the same CPU.
11. AP.  PASCAL-VOC: precision made non-increasing from the right, summed
    over recall changes, recall padded with 0 and 1 (``metrics.py``).  A
    class with ground truth but no detections has AP 0.
12. Mean.  ``np.nanmean`` over classes 1..max id: a class without ground
    truth has AP NaN (reported, with a warning) and is left out of the mean,
    as are ids missing from the label map.

Ground-truth files, read once by the format layer that the dataset checker
(``tools/check_dataset.py``) also uses (:mod:`slowfast.formats.ava_gt`), so
both report the same rows:

* A UTF-8 byte-order mark at the start of any file is dropped.
* Duplicate ground-truth rows (same video, timestamp, box and action as an
  earlier row) are counted once, with a warning naming the file, each first
  line and its copies.  The official scorer keeps every row as a separate
  ground-truth box; since a detection only looks at the first box of highest
  IoU (rule 7), a copy can never be matched, so each copy is a missed box and
  the class's recall (and AP) for it is halved.  A repeated row is an error
  in the file, not a second person, so we count it once.  The standard AVA
  files have no duplicate rows, so official numbers on them do not change.
* Ground-truth rows of videos that the detections do not have (a video not
  in the evaluated set) are counted, as the official scorer counts all ground
  truth (they are missed boxes: PySlowFast's numbers stay), and reported in a
  warning naming the videos and the file.  ``only_detected_videos=True``
  scores only the videos present in the detections instead.

Deliberate differences: ``nan``/``inf`` numbers are rejected as unreadable
(the official result for them is meaningless); rows with a wrong column count
are errors although ``python -O`` (the official usage line) disables the
assertion that catches them; ground-truth boxes with x2 < x1 (which make the
official scorer crash when the frame has a detection of that class) are
scored by the same IoU formula and reported.
"""

import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import metrics
from .frame_order import _simulate_frames, official_frame_order
from .resample import Matches
from slowfast.formats.ava_boxes import BoxRows, read_boxes_csv
from slowfast.formats.ava_csv import read_exclusions
from slowfast.formats.ava_gt import duplicate_rows, duplicates_phrase, rows_of_videos, videos_phrase
from slowfast.formats.ava_labels import LabelMap, read_labelmap


@dataclass(frozen=True)
class VersionRules:
    """What changed between scorer versions (see the module docstring)."""

    max_per_frame: int
    sort_frame_by_score: bool
    uses_exclusions: bool
    ignore_dets_without_gt_key: bool
    key_format: str
    gt_columns: Tuple[int, ...]
    det_columns: Tuple[int, ...]
    gt_column8: str


RULES = {
    "2018": VersionRules(0, False, True, False, "int", (7, 8), (8,), ""),
    "2019": VersionRules(50, True, True, False, "int", (7, 8), (7, 8), "person_id"),
    "2020": VersionRules(50, True, False, True, "decimal", (2, 7, 8), (2, 7, 8), "person_id"),
}


@dataclass
class AvaResult:
    """mAP, per-class AP {name: AP} (NaN: no ground truth), and warnings.

    ``warnings`` counts oddities by kind; ``messages`` explains each one.
    """

    mAP: float
    per_class: Dict[str, float]
    per_class_id: Dict[int, float]
    num_groundtruth: Dict[str, int]
    version: str
    warnings: Dict[str, int] = field(default_factory=dict)
    messages: List[str] = field(default_factory=list)
    matches: Optional[Matches] = field(default=None, repr=False)  # evaluate(keep_matches=True): for resampling

    def __getitem__(self, name):
        return getattr(self, name)

    def to_dict(self) -> dict:
        """JSON-ready dict; NaN becomes None."""

        def clean(x):
            return None if x != x else x

        return {
            "mAP": clean(self.mAP),
            "version": self.version,
            "per_class": {k: clean(v) for k, v in self.per_class.items()},
            "per_class_id": {str(k): clean(v) for k, v in self.per_class_id.items()},
            "num_groundtruth": dict(self.num_groundtruth),
            "warnings": dict(self.warnings),
            "messages": list(self.messages),
        }

    def table(self) -> str:
        """Readable per-class table sorted by name, then the mean."""
        width = max([len(n) for n in self.per_class] + [10])
        lines = ["%-*s  %8s  %6s" % (width, "class", "AP", "#GT")]
        for name in sorted(self.per_class):
            ap = self.per_class[name]
            lines.append("%-*s  %8s  %6d" % (width, name, "n/a" if ap != ap else "%.4f" % ap,
                                              self.num_groundtruth[name]))
        lines.append("%-*s  %8.4f" % (width, "mAP@0.5IOU (%s rules)" % self.version, self.mAP))
        return "\n".join(lines)


class _Notes:
    """Collects warning counts and their explanations."""

    def __init__(self):
        self.counts: Dict[str, int] = {}
        self.messages: List[str] = []

    def add(self, kind: str, count: int, message: str) -> None:
        if count:
            self.counts[kind] = self.counts.get(kind, 0) + int(count)
            self.messages.append(message)


# ----------------------------------------------------------------------------
# Evaluation


def _load(labelmap, groundtruth, detections, exclusions, rules, skip_bad_rows):
    lm = labelmap if isinstance(labelmap, LabelMap) else read_labelmap(labelmap)
    gt = groundtruth if isinstance(groundtruth, BoxRows) else read_boxes_csv(
        groundtruth, rules.gt_columns, rules.key_format, rules.gt_column8, skip_bad_rows)
    det = detections if isinstance(detections, BoxRows) else read_boxes_csv(
        detections, rules.det_columns, rules.key_format, "score", skip_bad_rows)
    excluded, bad = set(), []
    if exclusions is not None and not isinstance(exclusions, (set, frozenset)):
        excluded, bad = read_exclusions(exclusions, rules.key_format, skip_bad_rows)
    elif exclusions is not None:
        excluded = set(exclusions)
    return lm, gt, det, excluded, bad


def _note_bad_rows(notes: _Notes, name: str, bad: List[Tuple[int, str]]) -> None:
    if bad:
        first = "; ".join("line %d: %s" % b for b in bad[:3])
        notes.add("unreadable_rows_skipped", len(bad),
                  "%s: skipped %d unreadable rows (%s%s)" % (name, len(bad), first, "; ..." if len(bad) > 3 else ""))


def _note_boxes(notes: _Notes, what: str, rows: BoxRows) -> None:
    b = rows.boxes
    outside = np.any((b < 0) | (b > 1), axis=1)
    notes.add(what + "_coords_outside_0_1", outside.sum(),
              "%s: %d rows with coordinates outside [0, 1] (scored as given)" % (rows.path, outside.sum()))
    if what == "detections":
        bad = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])
        notes.add("detections_empty_or_inverted_box", bad.sum(),
                  "%s: %d rows with x2 <= x1 or y2 <= y1; dropped after the per-frame cap, "
                  "as the official scorer drops them" % (rows.path, bad.sum()))
        return
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    notes.add("groundtruth_inverted_box", bad.sum(),
              "%s: %d rows with x2 < x1 or y2 < y1 (the official scorer crashes on these when the frame "
              "has a detection of that class; here no detection can match them)" % (rows.path, bad.sum()))


def _groundtruth_rows(notes: _Notes, gt: BoxRows, det: BoxRows, only_detected_videos: bool) -> np.ndarray:
    """[N] rows of ``gt`` to score: duplicates dropped, and (with ``only_detected_videos``) rows of
    videos the detections lack; both reported (module docstring)."""
    keep, groups = duplicate_rows(gt.key, gt.boxes, gt.action, gt.line)
    notes.add("groundtruth_duplicate_rows", (~keep).sum(),
              "%s: %d duplicate rows (same video, timestamp, box and action as an earlier row) counted once: %s"
              % (gt.path, (~keep).sum(), duplicates_phrase(groups)))
    if len(det) == 0 or len(gt) == 0:
        return keep
    det_videos = {k.rsplit(",", 1)[0] for k in det.key_names}
    key_video = [k.rsplit(",", 1)[0] for k in gt.key_names]
    absent_key = np.array([v not in det_videos for v in key_video], dtype=bool)
    absent = absent_key[gt.key]
    if not absent.any():
        return keep
    rows = np.flatnonzero(absent)
    found = rows_of_videos([key_video[k] for k in gt.key[rows].tolist()], gt.line[rows], lambda v: True)
    verdict = ("left out (only_detected_videos)" if only_detected_videos else
               "counted as missed ground truth, as the official scorer counts all ground truth")
    notes.add("groundtruth_videos_without_detections", len(found),
              "%s: %d videos (%d rows) not in the detections %s: %s"
              % (gt.path, len(found), rows.size, verdict, videos_phrase(found)))
    return keep & ~absent if only_detected_videos else keep


def _labelmap_filter(notes: _Notes, what: str, rows: BoxRows, lm: LabelMap) -> np.ndarray:
    in_map = np.isin(rows.action, lm.ids)
    if not in_map.all():
        ids = np.unique(rows.action[~in_map])
        shown = ", ".join(str(i) for i in ids[:10].tolist()) + (", ..." if ids.size > 10 else "")
        notes.add(what + "_action_not_in_labelmap", (~in_map).sum(),
                  "%s: %d rows with action ids not in the label map ignored (ids %s)"
                  % (rows.path, (~in_map).sum(), shown))
    return in_map


def _global_keys(gt: BoxRows, det: BoxRows):
    """One key space for both files -> (names, gt map [Kg], det map [Kd])."""
    index: Dict[str, int] = {}
    gt_map = np.array([index.setdefault(k, len(index)) for k in gt.key_names], dtype=np.int64)
    det_map = np.array([index.setdefault(k, len(index)) for k in det.key_names], dtype=np.int64)
    return list(index), gt_map, det_map


def _first_appearance_rank(key: np.ndarray, num_keys: int) -> np.ndarray:
    """[num_keys] rank of each key by its first row (unseen keys: large)."""
    uniq, first = np.unique(key, return_index=True)
    rank = np.full(num_keys, np.iinfo(np.int64).max, dtype=np.int64)
    rank[uniq[np.argsort(first)]] = np.arange(uniq.size)
    return rank


def _prepare_groundtruth(gt, gt_key, in_map, excluded_key, rules, notes):
    """-> (rows kept [M] in (class, key, official order), their frame set)."""
    ex = excluded_key[gt_key]
    notes.add("excluded_keys_in_groundtruth", np.unique(gt_key[ex]).size,
              "%s: %d excluded key frames found (%d rows dropped)" % (gt.path, np.unique(gt_key[ex]).size, ex.sum()))
    rows = np.flatnonzero(in_map & ~ex)
    if rules.sort_frame_by_score:
        kept, pos = _simulate_frames(rows, gt_key, gt.score, gt.action, gt.boxes, 0)
    else:
        kept, pos = rows, np.zeros(rows.size, np.int64)  # lexsort below keeps file order
    order = np.lexsort((kept, pos, gt_key[kept], gt.action[kept]))
    return kept[order]


def _prepare_detections(det, det_key, in_map, excluded_key, gt_frames, listed_keys, rules, notes):
    """-> (rows kept, pos within frame, frame rank) after cap and filters."""
    rows = np.flatnonzero(in_map)
    kept_local, pos = official_frame_order(det_key[rows], det.score[rows], det.action[rows],
                                           det.boxes[rows], rules.max_per_frame, rules.sort_frame_by_score)
    kept = rows[kept_local]
    notes.add("detections_over_cap", rows.size - kept.size,
              "%s: %d rows beyond %d detections per key frame dropped (lowest scores)"
              % (det.path, rows.size - kept.size, rules.max_per_frame))
    frame_rank = _first_appearance_rank(det_key[rows], excluded_key.size)
    k = det_key[kept]
    ex = excluded_key[k]
    notes.add("excluded_keys_in_detections", np.unique(k[ex]).size,
              "%s: %d excluded key frames found (%d rows dropped)" % (det.path, np.unique(k[ex]).size, ex.sum()))
    no_gt = ~gt_frames[k] & ~ex
    if rules.ignore_dets_without_gt_key:
        no_gt &= ~listed_keys[k]
        verdict = "ignored (key not listed in the ground truth)"
        keep = ~ex & ~no_gt
    else:
        verdict = "all counted as false positives"
        keep = ~ex
    notes.add("detection_keys_without_groundtruth", np.unique(k[no_gt]).size,
              "%s: %d key frames (%d rows) have no ground truth: %s"
              % (det.path, np.unique(k[no_gt]).size, no_gt.sum(), verdict))
    kept, pos = kept[keep], pos[keep]
    b = det.boxes[kept]
    valid = (b[:, 0] < b[:, 2]) & (b[:, 1] < b[:, 3])
    return kept[valid], pos[valid], frame_rank


def evaluate(labelmap, groundtruth, detections, exclusions=None, version="2019",
             skip_bad_rows=False, iou_threshold=0.5, only_detected_videos=False, keep_matches=False) -> AvaResult:
    """Frame-level AVA mAP as the official scorer of ``version`` computes it.

    labelmap/groundtruth/detections/exclusions: paths, or already-read
    :class:`LabelMap`/:class:`BoxRows`/set of keys.  Raises AvaFormatError on
    unreadable rows unless ``skip_bad_rows`` (they are then reported).
    Duplicate ground-truth rows are counted once; ground-truth rows of videos
    without detections are counted (official) unless ``only_detected_videos``;
    both are reported in the warnings (module docstring, "Ground-truth files").
    ``keep_matches``: also keep the scored detections' per-class arrays (``result.matches``,
    :class:`.resample.Matches`: bootstrap intervals and precision-recall curves without re-reading).
    """
    version = str(version)
    if version not in RULES:
        raise ValueError("version must be one of %s, got %r" % (sorted(RULES), version))
    rules = RULES[version]
    if exclusions is not None and not rules.uses_exclusions:
        raise ValueError("the %s scorer takes no exclusions file; use version 2018 or 2019" % version)
    lm, gt, det, excluded, bad_excl = _load(labelmap, groundtruth, detections, exclusions, rules, skip_bad_rows)
    notes = _Notes()
    for name, bad in ((gt.path, gt.bad_rows), (det.path, det.bad_rows), ("exclusions", bad_excl)):
        _note_bad_rows(notes, name, bad)
    _note_boxes(notes, "groundtruth", gt)
    _note_boxes(notes, "detections", det)
    names, gt_map, det_map = _global_keys(gt, det)
    gt_key, det_key = gt_map[gt.key], det_map[det.key]
    excluded_key = np.array([k in excluded for k in names], dtype=bool)
    gt_use = _labelmap_filter(notes, "groundtruth", gt, lm) & _groundtruth_rows(notes, gt, det, only_detected_videos)
    gt_rows = _prepare_groundtruth(gt, gt_key, gt_use, excluded_key, rules, notes)
    gt_frames = np.zeros(len(names), dtype=bool)
    gt_frames[gt_key[gt_rows]] = True
    listed = np.zeros(len(names), dtype=bool)
    listed[gt_key] = True
    listed[gt_map[gt.bare_keys]] = True
    det_rows, pos, frame_rank = _prepare_detections(
        det, det_key, _labelmap_filter(notes, "detections", det, lm), excluded_key, gt_frames, listed, rules, notes)
    if len(det) == 0:
        notes.add("empty_detections", 1, "%s: no detections; every class with ground truth has AP 0" % det.path)
    return _score(lm, gt, det, gt_rows, gt_key, det_rows, det_key, pos, frame_rank,
                  len(names), version, notes, iou_threshold, names if keep_matches else None)


def _score(lm, gt, det, gt_rows, gt_key, det_rows, det_key, pos, frame_rank,
           num_keys, version, notes, iou_threshold, key_names=None) -> AvaResult:
    """Matches and computes per-class AP and the mean (rules 7, 10-12)."""
    class_ids = np.unique(lm.ids)
    gt_cls = np.searchsorted(class_ids, gt.action[gt_rows])
    det_cls = np.searchsorted(class_ids, det.action[det_rows])
    order = np.lexsort((pos, frame_rank[det_key[det_rows]], det_cls))
    det_rows, det_cls = det_rows[order], det_cls[order]
    tp, _ = metrics.greedy_match(det_cls * num_keys + det_key[det_rows], det.boxes[det_rows],
                                 gt_cls * num_keys + gt_key[gt_rows], gt.boxes[gt_rows], iou_threshold)
    num_gt = np.bincount(gt_cls, minlength=class_ids.size)
    bounds = np.searchsorted(det_cls, np.arange(class_ids.size + 1))
    ap_by_id = np.full(int(class_ids.max()), np.nan)
    scores = det.score[det_rows]
    for c in np.flatnonzero(num_gt > 0):
        sl = slice(bounds[c], bounds[c + 1])
        ap_by_id[class_ids[c] - 1] = metrics.class_average_precision(scores[sl], tp[sl], int(num_gt[c]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_ap = float(np.nanmean(ap_by_id))
    gt_count = dict(zip(class_ids.tolist(), num_gt.tolist()))
    missing = [n for i, n in zip(lm.ids.tolist(), lm.names) if gt_count[i] == 0]
    notes.add("classes_without_groundtruth", len(missing),
              "%d classes have no ground truth: AP is NaN and left out of the mean (%s)"
              % (len(missing), ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else "")))
    per_id = {i: float(ap_by_id[i - 1]) for i in lm.ids.tolist()}
    matches = None if key_names is None else Matches.build(
        class_ids, lm, key_names, det_cls, scores, tp, det_key[det_rows], gt_cls, gt_key[gt_rows])
    return AvaResult(
        mAP=mean_ap,
        per_class={n: per_id[i] for i, n in zip(lm.ids.tolist(), lm.names)},
        per_class_id=per_id,
        num_groundtruth={n: gt_count[i] for i, n in zip(lm.ids.tolist(), lm.names)},
        version=version,
        warnings=notes.counts,
        messages=notes.messages,
        matches=matches,
    )
