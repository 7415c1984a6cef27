"""Tests for slowfast.evaluation.ava: hand-computed cases, bad input, properties,
and a comparison with a slow pure-Python reference of the documented rules."""

import heapq
import json
import math
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slowfast.evaluation.ava import AvaFormatError, evaluate, read_boxes_csv, write_detections_csv
from slowfast.evaluation.ava.metrics import voc_average_precision
from slowfast.formats.boxes import iou_matrix

REPO = Path(__file__).resolve().parents[1]
LABELS = {1: "bend", 2: "sit", 4: "stand"}  # id 3 missing on purpose
BOX = (0.1, 0.1, 0.5, 0.5)
OTHER = (0.6, 0.6, 0.9, 0.9)


def labelmap_text(labels=LABELS):
    return "".join('item {\n  name: "%s"\n  id: %d\n}\n' % (n, i) for i, n in labels.items())


def csv_text(rows):
    return "".join(",".join(str(x) for x in row) + "\n" for row in rows)


def gt_row(box, action, vid="v", ts="0902", person=0):
    return (vid, ts, *box, action, person)


def det_row(box, action, score, vid="v", ts="0902"):
    return (vid, ts, *box, action, score)


@pytest.fixture
def files(tmp_path):
    """Writes label map / GT / detections / exclusions; returns their paths."""

    def write(gt, det, excl=None, labels=LABELS, raw_gt=None, raw_det=None):
        paths = {"labelmap": tmp_path / "lm.pbtxt", "groundtruth": tmp_path / "gt.csv",
                 "detections": tmp_path / "det.csv"}
        paths["labelmap"].write_text(labelmap_text(labels))
        paths["groundtruth"].write_text(raw_gt if raw_gt is not None else csv_text(gt))
        paths["detections"].write_text(raw_det if raw_det is not None else csv_text(det))
        if excl is not None:
            paths["exclusions"] = tmp_path / "excl.csv"
            paths["exclusions"].write_text(csv_text(excl))
        return {k: str(v) for k, v in paths.items()}

    return write


def run(files, gt, det, excl=None, version="2019", **kw):
    return evaluate(**files(gt, det, excl), version=version, **kw)


# ----------------------------------------------------------------------------
# Hand-computed cases


def test_perfect_predictions_give_one(files):
    gt = [gt_row(BOX, 1), gt_row(OTHER, 2, person=1), gt_row(BOX, 4, ts="0903")]
    det = [det_row(b[2:6], b[6], 0.9, ts=b[1]) for b in gt]
    r = run(files, gt, det)
    assert r.mAP == 1.0
    assert r.per_class == {"bend": 1.0, "sit": 1.0, "stand": 1.0}


def test_false_positive_ranked_first_halves_ap(files):
    gt = [gt_row(BOX, 1)]
    r = run(files, gt, [det_row(OTHER, 1, 0.9), det_row(BOX, 1, 0.8)])
    # ranked FP, TP: precision 1/2 at recall 1 -> AP = 1 * 0.5
    assert r.per_class["bend"] == 0.5


def test_iou_exactly_half_is_a_match(files):
    gt = [gt_row((0.0, 0.0, 0.5, 1.0), 1)]
    # det (0,0)-(1,1): intersection 0.5, union 1.0 -> IoU == 0.5 exactly
    assert iou_matrix(np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[0.0, 0.0, 0.5, 1.0]]))[0, 0] == 0.5
    assert run(files, gt, [det_row((0.0, 0.0, 1.0, 1.0), 1, 0.9)]).per_class["bend"] == 1.0
    # a hair below 0.5 is a false positive
    assert run(files, gt, [det_row((0.0, 0.0, 1.0, 1.0000001), 1, 0.9)]).per_class["bend"] == 0.0


def test_duplicate_detections_count_once_then_as_false_positive(files):
    gt = [gt_row(BOX, 1), gt_row(OTHER, 1, person=1)]
    det = [det_row(BOX, 1, 0.9), det_row(BOX, 1, 0.8), det_row(OTHER, 1, 0.7)]
    # TP, FP, TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 -> 0.5 + 0.5 * 2/3
    assert run(files, gt, det).per_class["bend"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-15)


def test_detection_only_compares_with_its_best_ground_truth(files):
    # both GT boxes overlap the detections >= 0.5; the second detection's best
    # box is taken, so it is a false positive although the other box is free
    a, b = (0.1, 0.1, 0.5, 0.5), (0.1, 0.1, 0.5, 0.45)
    gt = [gt_row(a, 1), gt_row(b, 1, person=1)]
    det = [det_row(a, 1, 0.9), det_row((0.1, 0.1, 0.5, 0.49), 1, 0.8)]
    assert run(files, gt, det).per_class["bend"] == 0.5


def test_excluded_keys_do_not_count(files):
    gt = [gt_row(BOX, 1), gt_row(BOX, 1, ts="0905")]
    det = [det_row(BOX, 1, 0.9), det_row(OTHER, 1, 0.95, ts="0905")]
    assert run(files, gt, det).per_class["bend"] == 0.25
    r = run(files, gt, det, excl=[("v", "905")])
    assert r.per_class["bend"] == 1.0
    assert r.warnings["excluded_keys_in_groundtruth"] == 1
    assert r.warnings["excluded_keys_in_detections"] == 1


def test_classes_outside_label_map_are_ignored(files):
    gt = [gt_row(BOX, 1), gt_row(BOX, 3), gt_row(BOX, 99)]
    det = [det_row(BOX, 1, 0.9), det_row(OTHER, 3, 0.99), det_row(OTHER, 99, 0.99)]
    r = run(files, gt, det)
    assert r.per_class["bend"] == 1.0 and set(r.per_class) == {"bend", "sit", "stand"}
    assert r.warnings["groundtruth_action_not_in_labelmap"] == 2
    assert r.warnings["detections_action_not_in_labelmap"] == 2


def test_several_labels_on_one_box_are_separate_ground_truths(files):
    gt = [gt_row(BOX, 1), gt_row(BOX, 2)]
    r = run(files, gt, [det_row(BOX, 1, 0.9)])
    assert r.per_class["bend"] == 1.0 and r.per_class["sit"] == 0.0
    assert r.mAP == 0.5


def test_class_without_ground_truth_is_nan_and_left_out_of_mean(files):
    r = run(files, [gt_row(BOX, 1)], [det_row(BOX, 1, 0.9), det_row(BOX, 2, 0.9)])
    assert math.isnan(r.per_class["sit"]) and math.isnan(r.per_class["stand"])
    assert r.mAP == 1.0
    assert r.warnings["classes_without_groundtruth"] == 2
    assert json.loads(json.dumps(r.to_dict()))["per_class"]["sit"] is None


def test_timestamp_key_is_integer_formatted(files):
    assert run(files, [gt_row(BOX, 1, ts="902")], [det_row(BOX, 1, 0.5, ts="0902")]).mAP == 1.0


def test_cap_keeps_50_highest_scores_per_frame_in_2019_only(files):
    gt = [gt_row(BOX, 1)]
    det = [det_row(OTHER, 2, 0.5 + i / 1000) for i in range(50)] + [det_row(BOX, 1, 0.1)]
    assert run(files, gt, det).per_class["bend"] == 0.0
    assert run(files, gt, det).warnings["detections_over_cap"] == 1
    assert run(files, gt, det, version="2018").per_class["bend"] == 1.0


def test_2018_matches_in_file_order_2019_in_score_order(files):
    gt = [gt_row(BOX, 1)]
    det = [det_row(BOX, 1, 0.3), det_row(BOX, 1, 0.9)]
    assert run(files, gt, det, version="2019").per_class["bend"] == 1.0
    # 2018: the 0.3 detection, listed first, claims the box; 0.9 is an FP
    assert run(files, gt, det, version="2018").per_class["bend"] == 0.5


def test_frames_without_ground_truth(files):
    gt = [gt_row(BOX, 1)]
    det = [det_row(BOX, 1, 0.5), det_row(BOX, 1, 0.9, ts="0950")]
    r2019 = run(files, gt, det)
    assert r2019.per_class["bend"] == 0.5
    assert r2019.warnings["detection_keys_without_groundtruth"] == 1
    assert run(files, gt, det, version="2020").per_class["bend"] == 1.0
    # a 2-column ground-truth row lists the frame: its detections are FPs again
    listed = evaluate(**files(None, det, raw_gt=csv_text(gt + [("v", "0950")])), version="2020")
    assert listed.per_class["bend"] == 0.5


def test_2020_accepts_fractional_timestamps_and_refuses_exclusions(files):
    gt = [gt_row(BOX, 1, ts="902.5")]
    assert run(files, gt, [det_row(BOX, 1, 0.9, ts="902.50")], version="2020").mAP == 1.0
    with pytest.raises(ValueError, match="takes no exclusions"):
        run(files, gt, [], excl=[("v", "902")], version="2020")


def test_invalid_detection_boxes_are_dropped(files):
    r = run(files, [gt_row(BOX, 1)], [det_row((0.5, 0.1, 0.5, 0.5), 1, 0.99), det_row(BOX, 1, 0.9)])
    assert r.per_class["bend"] == 1.0
    assert r.warnings["detections_empty_or_inverted_box"] == 1


def test_empty_detections_give_zero_with_warning(files):
    r = run(files, [gt_row(BOX, 1)], [])
    assert r.mAP == 0.0 and r.warnings["empty_detections"] == 1


def test_oddities_are_reported(files):
    gt = [gt_row((0.5, 0.1, 0.2, 0.5), 1), gt_row((-0.1, 0.0, 0.5, 1.2), 1)]
    r = run(files, gt, [det_row((0.0, 0.0, 1.5, 1.0), 1, 0.9)])
    assert r.warnings["groundtruth_inverted_box"] == 1
    assert r.warnings["groundtruth_coords_outside_0_1"] == 1
    assert r.warnings["detections_coords_outside_0_1"] == 1


def test_voc_ap_by_hand():
    assert voc_average_precision(np.array([True, False, True]), 2) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert voc_average_precision(np.array([False, True]), 2) == 0.25
    assert voc_average_precision(np.array([], dtype=bool), 3) == 0.0


def test_writer_round_trips(tmp_path):
    path = tmp_path / "d.csv"
    boxes = np.array([[0.1, 0.2, 0.3, 0.4], [1 / 3, 0.0, 1.0, 2 / 3]])
    write_detections_csv(path, ["a", "b"], [902, 3], boxes, [1, 80], [0.123456789012345, 1e-9])
    rows = read_boxes_csv(path)
    assert rows.key_names == ["a,0902", "b,0003"]
    assert np.array_equal(rows.boxes, boxes) and rows.score.tolist() == [0.123456789012345, 1e-9]


# ----------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("row, message", [
    ("v,0902,0.1,0.1,0.5,0.5", "gt.csv line 2: expected 7 or 8 columns, got 6"),
    ("v,0902,abc,0.1,0.5,0.5,1,0", "gt.csv line 2: x1 is not a number: 'abc'"),
    ("v,0902,0.1,0.1,0.5,,1,0", "gt.csv line 2: y2 is not a number: ''"),
    ("v,0902,0.1,0.1,0.5,0.5,1.0,0", "gt.csv line 2: action_id is not an integer: '1.0'"),
    ("v,902.5,0.1,0.1,0.5,0.5,1,0", "gt.csv line 2: timestamp is not an integer: '902.5'"),
    ("v,0902,0.1,0.1,0.5,0.5,1,x", "gt.csv line 2: person_id is not a number: 'x'"),
    ("", "gt.csv line 2: expected 7 or 8 columns, got 0"),
])
def test_unreadable_groundtruth_rows(files, row, message):
    raw = csv_text([gt_row(BOX, 1)]) + row + "\n"
    with pytest.raises(AvaFormatError) as err:
        evaluate(**files(None, [], raw_gt=raw))
    assert str(err.value) == message


@pytest.mark.parametrize("row, message, version", [
    ("v,0902,0.1,0.1,0.5,0.5,1,high", "det.csv line 1: score is not a number: 'high'", "2019"),
    ("v,0902,0.1,0.1,0.5,0.5,1,nan", "det.csv line 1: score is not a finite number: 'nan'", "2019"),
    ("v,0902,0.1,inf,0.5,0.5,1,0.3", "det.csv line 1: y1 is not a finite number: 'inf'", "2019"),
    ("v,0902,0.1,0.1,0.5,0.5,1", "det.csv line 1: expected 8 columns, got 7", "2018"),
    ("v,0902", "det.csv line 1: expected 7 or 8 columns, got 2", "2019"),
    ("v,0902,0.1,0.1,0.5,0.5,1,0.3,9", "det.csv line 1: expected 2, 7 or 8 columns, got 9", "2020"),
    ("v,x,0.1,0.1,0.5,0.5,1,0.3", "det.csv line 1: timestamp is not a number: 'x'", "2020"),
])
def test_unreadable_detection_rows(files, row, message, version):
    with pytest.raises(AvaFormatError) as err:
        evaluate(**files([gt_row(BOX, 1)], None, raw_det=row + "\n"), version=version)
    assert str(err.value) == message


def test_unreadable_exclusion_rows(files):
    with pytest.raises(AvaFormatError, match=r"^excl.csv line 2: expected 2 columns, got 3$"):
        run(files, [gt_row(BOX, 1)], [], excl=[("v", "0902"), ("v", "0903", "x")])
    with pytest.raises(AvaFormatError, match=r"^excl.csv line 1: timestamp is not an integer: 'a'$"):
        run(files, [gt_row(BOX, 1)], [], excl=[("v", "a")])


@pytest.mark.parametrize("text, message", [
    ('item {\n  name: "a"\n}\n', "lm.pbtxt line 1: item needs exactly one id or label_id"),
    ('item {\n  id: 1\n}\n', "lm.pbtxt line 1: item has no name"),
    ('item {\n  name: "a"\n  id: 0\n}\n', "lm.pbtxt line 3: id must be in [1, 2^31) (ids are 1-indexed), got 0"),
    ('item {\n  name: "a"\n  id: x\n}\n', "lm.pbtxt line 3: id is not an integer: x"),
    ('item { name: "a" id: 1 }\nitem { name: "b" id: 1 }\n', "lm.pbtxt line 2: duplicate id 1 (first at line 1)"),
    ('item {\n  name: "a"\n  id: 1\n', "lm.pbtxt line 3: expected '}', got end of file"),
    ('thing { }\n', "lm.pbtxt line 1: expected 'item {' or 'label {', got 'thing'"),
    ('', "lm.pbtxt: the label map has no classes"),
])
def test_bad_labelmaps(tmp_path, text, message):
    (tmp_path / "lm.pbtxt").write_text(text)
    (tmp_path / "x.csv").write_text("")
    with pytest.raises(AvaFormatError) as err:
        evaluate(tmp_path / "lm.pbtxt", tmp_path / "x.csv", tmp_path / "x.csv")
    assert str(err.value) == message


def test_full_ava_action_list_spelling(tmp_path):
    (tmp_path / "lm.pbtxt").write_text(
        'label {\n  name: "bend/bow (at the waist)"\n  label_id: 1\n  label_type: PERSON_MOVEMENT\n}\n')
    (tmp_path / "g.csv").write_text(csv_text([gt_row(BOX, 1)]))
    assert evaluate(tmp_path / "lm.pbtxt", tmp_path / "g.csv", tmp_path / "g.csv").per_class == {
        "bend/bow (at the waist)": 1.0}


def test_skip_bad_rows_counts_and_reports(files):
    raw = csv_text([det_row(BOX, 1, 0.9)]) + "v,0902,1\nv,0902,a,0,1,1,1,0.5\n"
    r = evaluate(**files([gt_row(BOX, 1)], None, raw_det=raw), skip_bad_rows=True)
    assert r.mAP == 1.0 and r.warnings["unreadable_rows_skipped"] == 2
    assert "det.csv: skipped 2 unreadable rows (line 2: expected 7 or 8 columns, got 3" in r.messages[0]


def test_cli(files, tmp_path):
    paths = files([gt_row(BOX, 1)], [det_row(BOX, 1, 0.9)], excl=[("v", "0999")])
    out = tmp_path / "r.json"
    cmd = [sys.executable, str(REPO / "tools" / "eval_ava.py"), "--labelmap", paths["labelmap"],
           "--groundtruth", paths["groundtruth"], "--detections", paths["detections"],
           "--exclusions", paths["exclusions"], "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "bend" in done.stdout and "mAP@0.5IOU (2019 rules)" in done.stdout
    assert json.loads(out.read_text())["per_class"]["bend"] == 1.0
    Path(paths["detections"]).write_text("v,0902,1\n")
    bad = subprocess.run(cmd, capture_output=True, text=True)
    assert bad.returncode == 2 and "det.csv line 1: expected 7 or 8 columns, got 3" in bad.stderr


def test_cli_plot(files, tmp_path):
    pytest.importorskip("matplotlib")
    from slowfast.evaluation.ava.__main__ import main

    paths = files([gt_row(BOX, 1)], [det_row(BOX, 1, 0.9)])
    argv = ["-l", paths["labelmap"], "-g", paths["groundtruth"], "-d", paths["detections"],
            "--plot", str(tmp_path / "ap.png")]
    assert main(argv) == 0 and (tmp_path / "ap.png").stat().st_size > 0


# ----------------------------------------------------------------------------
# Reference implementation: the documented rules, slowly, with loops


def ref_key(vid, ts, version):
    return "%s,%.6f" % (vid, float(ts)) if version == "2020" else "%s,%04d" % (vid, int(ts))


def ref_frames(rows, version, whitelist, cap):
    """{key: [(score, action, y1, x1, y2, x2), ...]} in official frame order."""
    frames = {}
    for row in rows:
        if len(row) == 2:
            continue
        vid, ts, x1, y1, x2, y2, action = row[:7]
        if action not in whitelist:
            continue
        score = float(row[7]) if len(row) == 8 else 1.0
        item = (score, action, y1, x1, y2, x2)
        heap = frames.setdefault(ref_key(vid, ts, version), [])
        if version == "2018":
            heap.append(item)
        elif cap < 1 or len(heap) < cap:
            heapq.heappush(heap, item)
        elif score > heap[0][0]:
            heapq.heapreplace(heap, item)
    if version != "2018":
        frames = {k: sorted(v, key=lambda t: -t[0]) for k, v in frames.items()}
    return frames


def ref_iou(d, g):
    h = max(0.0, min(d[2], g[2]) - max(d[0], g[0]))
    w = max(0.0, min(d[3], g[3]) - max(d[1], g[1]))
    inter = h * w
    union = ((d[2] - d[0]) * (d[3] - d[1]) + (g[2] - g[0]) * (g[3] - g[1])) - inter
    return inter / union if union != 0 else float("nan")


def ref_frame_tp(dets, gts):
    """dets, gts: [(y1, x1, y2, x2)] of one frame and class -> TP flags."""
    claimed, flags = set(), []
    for d in dets:
        ious = [ref_iou(d, g) for g in gts]
        best = None
        for j, v in enumerate(ious):
            if best is None or (not math.isnan(ious[best]) and (math.isnan(v) or v > ious[best])):
                best = j
        ok = best is not None and ious[best] >= 0.5 and best not in claimed
        if ok:
            claimed.add(best)
        flags.append(ok)
    return flags


def ref_ap(scores, tps, num_gt):
    order = np.argsort(np.array(scores, dtype=float))[::-1]
    ranked = [tps[i] for i in order]
    prec, rec, tp = [], [], 0
    for i, t in enumerate(ranked):
        tp += t
        prec.append(tp / (i + 1))
        rec.append(tp / num_gt)
    rec, prec = [0.0] + rec + [1.0], [0.0] + prec + [0.0]
    for i in range(len(prec) - 2, -1, -1):
        prec[i] = max(prec[i], prec[i + 1])
    return sum((rec[i] - rec[i - 1]) * prec[i] for i in range(1, len(rec)) if rec[i] != rec[i - 1])


def reference(labels, gt_rows, det_rows, excluded, version):
    whitelist = set(labels)
    excluded = {ref_key(v, t, version) for v, t in excluded}
    seen = set()  # a duplicate row (frame, box, action) is counted once (the evaluator's docstring)
    unique = [r for r in gt_rows if not ((k := (ref_key(r[0], r[1], version), *r[2:7])) in seen or seen.add(k))]
    gt = {k: v for k, v in ref_frames(unique, version, whitelist, 0).items() if k not in excluded}
    listed = {ref_key(r[0], r[1], version) for r in gt_rows}
    dets = ref_frames(det_rows, version, whitelist, 0 if version == "2018" else 50)
    scores = {c: [] for c in labels}
    tps = {c: [] for c in labels}
    for key, items in dets.items():
        if key in excluded or (version == "2020" and key not in listed):
            continue
        for c in labels:
            mine = [t for t in items if t[1] == c and t[2] < t[4] and t[3] < t[5]]
            truth = [t[2:] for t in gt.get(key, []) if t[1] == c]
            tps[c] += ref_frame_tp([t[2:] for t in mine], truth)
            scores[c] += [t[0] for t in mine]
    ap = np.full(max(labels), np.nan)
    for c in labels:
        num_gt = sum(t[1] == c for items in gt.values() for t in items)
        if num_gt:
            ap[c - 1] = ref_ap(scores[c], tps[c], num_gt)
    return {c: ap[c - 1] for c in labels}, (np.nanmean(ap) if not np.isnan(ap).all() else np.nan)


def random_case(rng, n_frames, grid, score_levels):
    coords = [i / grid for i in range(grid + 1)]

    def box():
        x = sorted(rng.sample(coords, 2))
        y = sorted(rng.sample(coords, 2))
        if rng.random() < 0.05:
            x = x[::-1]
        return x[0], y[0], x[1], y[1]

    gt, det = [], []
    for f in range(n_frames):
        ts = "%04d" % (900 + f) if rng.random() < 0.8 else str(900 + f)
        people = [box() for _ in range(rng.randint(0, 3))]
        for p, b in enumerate(people):
            for a in rng.sample([1, 2, 3, 4, 7], rng.randint(1, 3)):
                gt.append(("v%d" % (f % 3), ts, *b, a, p))
        for _ in range(rng.choice([0, 3, 20, 60])):
            b = rng.choice(people) if people and rng.random() < 0.6 else box()
            s = rng.randint(0, score_levels) / score_levels
            det.append(("v%d" % (f % 3), ts, *b, rng.choice([1, 2, 3, 4, 7]), s))
    extra = [("v9", "0001", *box(), 1, 0.5)] if rng.random() < 0.5 else []
    rng.shuffle(det)
    return gt, det + extra


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("version", ["2018", "2019", "2020"])
def test_matches_reference_on_random_inputs(files, seed, version):
    rng = random.Random(seed * 7 + int(version))
    labels = {1: "a", 2: "b", 4: "d", 7: "g"}
    gt, det = random_case(rng, n_frames=rng.randint(1, 12), grid=rng.choice([4, 10]),
                          score_levels=rng.choice([3, 20, 1000]))
    excl = [("v1", "0901")] if version != "2020" else None
    got = evaluate(**files(gt, det, excl, labels=labels), version=version)
    want, want_map = reference(labels, gt, det, excl or [], version)
    for c, name in labels.items():
        assert got.per_class[name] == pytest.approx(want[c], abs=1e-12, nan_ok=True), name
    assert got.mAP == pytest.approx(want_map, abs=1e-12, nan_ok=True)


# ----------------------------------------------------------------------------
# Properties


@st.composite
def scored_case(draw):
    n_frames = draw(st.integers(1, 4))
    cell = st.integers(0, 4)
    gt, det = [], []
    for f in range(n_frames):
        for p in range(draw(st.integers(0, 3))):
            x, y = draw(cell), draw(cell)
            gt.append(("v", "%04d" % f, x / 5, y / 5, (x + 1) / 5, (y + 1) / 5, draw(st.sampled_from([1, 2])), p))
        for _ in range(draw(st.integers(0, 6))):
            x, y = draw(cell), draw(cell)
            det.append(["v", "%04d" % f, x / 5, y / 5, (x + 1) / 5, (y + 1) / 5, draw(st.sampled_from([1, 2]))])
    scores = draw(st.lists(st.integers(1, 10**6), min_size=len(det), max_size=len(det), unique=True))
    for row, s in zip(det, scores):
        row.append(s / 10**6)
    return gt, det


PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TWO = {1: "a", 2: "b"}


@PROPS
@given(case=scored_case(), seed=st.integers(0, 10**6))
def test_ap_in_unit_interval_and_invariant_to_row_order(files, case, seed):
    gt, det = case
    r = evaluate(**files(gt, det, labels=TWO))
    for v in r.per_class.values():
        assert math.isnan(v) or 0.0 <= v <= 1.0
    random.Random(seed).shuffle(det)
    random.Random(seed + 1).shuffle(gt)
    s = evaluate(**files(gt, det, labels=TWO))
    assert s.per_class == pytest.approx(r.per_class, abs=1e-12, nan_ok=True)


@PROPS
@given(case=scored_case())
def test_invariant_to_monotone_rescaling_of_scores(files, case):
    gt, det = case
    r = evaluate(**files(gt, det, labels=TWO))
    rescaled = [(*row[:7], 3 * math.log(row[7]) - 1) for row in det]
    s = evaluate(**files(gt, rescaled, labels=TWO))
    assert s.per_class == pytest.approx(r.per_class, abs=1e-12, nan_ok=True)


def test_quoted_csv_rows_keep_their_line_numbers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('v,0902,0.1,0.1,0.5,0.5,1,0.9\n"v\nx",0902,0.1,0.1,0.5,0.5,1\nv,0902,a,0,1,1,1,0.9\n')
    rows = read_boxes_csv(path, skip_bad_rows=True)
    assert rows.key_names == ["v,0902", "v\nx,0902"] and rows.line.tolist() == [1, 2]
    assert rows.bad_rows == [(4, "x1 is not a number: 'a'")]
