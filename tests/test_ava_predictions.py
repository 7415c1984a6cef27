"""Tests for slowfast.evaluation.ava.predictions: test-loop arrays -> rows/CSV."""

import os

import numpy as np
import pytest

from slowfast.evaluation.ava import (
    detections_to_rows,
    evaluate,
    read_boxes_csv,
    read_labelmap,
    write_predictions_csv,
)

IDS = [1, 3, 4, 6]  # label map ids; score columns cover ids 1..6
VIDEOS = ["vidA", "vidB"]


def random_case(seed=0, n=40):
    """-> (metadata [n, 2], boxes [n, 4] float32, scores [n, 6] float32)."""
    rng = np.random.default_rng(seed)
    meta = np.stack([rng.integers(0, 2, n), 902 + rng.integers(0, 5, n)], axis=1).astype(np.float64)
    x1, y1 = rng.uniform(0, 0.6, n), rng.uniform(0, 0.6, n)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0.05, 0.4, n), y1 + rng.uniform(0.05, 0.4, n)], axis=1)
    return meta, boxes.astype(np.float32), rng.random((n, 6)).astype(np.float32)


def write_truth(tmp_path, meta, boxes, seed=1):
    """Label map and a ground truth made of jittered copies of half the boxes."""
    rng = np.random.default_rng(seed)
    (tmp_path / "lm.pbtxt").write_text("".join('item {\n  name: "c%d"\n  id: %d\n}\n' % (i, i) for i in IDS))
    lines = []
    for i in range(0, len(meta), 2):
        b = np.clip(boxes[i] + rng.normal(0, 0.03, 4), 0, 1)
        lines.append("%s,%04d,%.3f,%.3f,%.3f,%.3f,%d,%d\n"
                     % (VIDEOS[int(meta[i, 0])], meta[i, 1], *b, rng.choice(IDS), i))
    (tmp_path / "gt.csv").write_text("".join(lines))
    return read_labelmap(tmp_path / "lm.pbtxt"), str(tmp_path / "gt.csv")


@pytest.mark.parametrize("box_decimals, score_digits", [(3, None), (None, None), (3, 6)])
def test_written_csv_round_trips_and_scores_like_rows(tmp_path, box_decimals, score_digits):
    meta, boxes, scores = random_case()
    lm, gt = write_truth(tmp_path, meta, boxes)
    path = tmp_path / "det.csv"
    rows = write_predictions_csv(path, VIDEOS, meta, boxes, scores, lm.ids, box_decimals, score_digits)
    back = read_boxes_csv(path)
    assert back.key_names == rows.key_names and np.array_equal(back.key, rows.key)
    for name in ("boxes", "action", "score", "line"):
        assert np.array_equal(getattr(back, name), getattr(rows, name)), name
    in_memory, from_file = evaluate(lm, gt, rows), evaluate(lm, gt, str(path))
    assert in_memory.per_class == from_file.per_class and in_memory.mAP == from_file.mAP
    assert 0 < from_file.mAP < 1


def test_rows_layout_and_precision():
    meta = np.array([[1, 905], [0, 3]])
    boxes = np.array([[0.1 + 1e-7, 0.2, 0.30049, 0.4], [0.0, 0.0, 1.0, 1.0]], dtype=np.float32)
    scores = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.123456789]])
    rows = detections_to_rows(["a", "b"], meta, boxes, scores, class_ids=[3, 1], score_digits=6)
    assert rows.key_names == ["b,0905", "a,0003"] and rows.key.tolist() == [0, 0, 1, 1]
    assert rows.action.tolist() == [1, 3, 1, 3]
    assert rows.boxes[0].tolist() == [0.1, 0.2, 0.3, 0.4]
    assert rows.score.tolist() == [0.1, 0.3, 0.4, 0.123457]
    exact = detections_to_rows(["a", "b"], meta, boxes, scores, box_decimals=None)
    assert exact.boxes[0].tolist() == boxes[0].astype(np.float64).tolist() and exact.score[-1] == 0.123456789


def test_written_file_looks_like_ava(tmp_path):
    path = tmp_path / "det.csv"
    write_predictions_csv(path, ["vid"], [[0, 902]], [[0.1, 0.25, 0.5, 0.75]], [[0.5, 0.25]])
    assert path.read_text() == "vid,0902,0.1,0.25,0.5,0.75,1,0.5\nvid,0902,0.1,0.25,0.5,0.75,2,0.25\n"


def test_write_is_atomic_and_replaces(tmp_path):
    path = tmp_path / "det.csv"
    path.write_text("old\n")
    with pytest.raises(ValueError):
        write_predictions_csv(path, ["v,x"], [[0, 902]], [[0, 0, 1, 1]], [[0.5]])
    assert path.read_text() == "old\n"
    write_predictions_csv(path, ["v"], [[0, 902]], [[0, 0, 1, 1]], [[0.5]])
    assert path.read_text() == "v,0902,0.0,0.0,1.0,1.0,1,0.5\n" and os.listdir(tmp_path) == ["det.csv"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(metadata=[[0, 902.5]]), "detection 0: timestamp 902.5 is not a whole second"),
    (dict(metadata=[[2, 902]]), "detection 0: video index 2 is not an index into 1 video ids"),
    (dict(metadata=[902]), r"metadata must be \[N, 2\]"),
    (dict(boxes=[[0, 0, 1]]), r"boxes must be \[N, 4\] with N = 1"),
    (dict(scores=[[0.5, np.nan]]), "scores of detection 0 is not finite"),
    (dict(class_ids=[1, 3]), "class id 3 has no score column"),
])
def test_bad_inputs(kwargs, message):
    args = dict(video_ids=["v"], metadata=[[0, 902]], boxes=[[0, 0, 1, 1]], scores=[[0.5, 0.5]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        detections_to_rows(**args)
