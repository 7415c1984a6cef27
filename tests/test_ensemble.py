"""Tests for slowfast.evaluation.ensemble and tools/ensemble.py."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from slowfast.evaluation import ensemble as ens
from slowfast.evaluation.ava import AvaFormatError, evaluate, read_boxes_csv, write_predictions_csv

REPO = Path(__file__).resolve().parents[1]
TOOL = [sys.executable, str(REPO / "tools" / "ensemble.py")]
IDS = [1, 2, 4]


def tool(*args, check=True):
    return subprocess.run(TOOL + [str(a) for a in args], capture_output=True, text=True, check=check, cwd=REPO)


def ava_scores(tmp_path, name, seed, n=30, order=None):
    """Writes an AVA detections CSV of n boxes x 4 classes (same boxes for
    every seed, scores depend on the seed); rows in ``order`` if given."""
    rng = np.random.default_rng(0)
    meta = np.stack([rng.integers(0, 2, n), 902 + rng.integers(0, 3, n)], axis=1)
    x1, y1 = rng.uniform(0, 0.6, n), rng.uniform(0, 0.6, n)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0.1, 0.4, n), y1 + rng.uniform(0.1, 0.4, n)], axis=1)
    scores = np.random.default_rng(seed).random((n, 4))
    path = tmp_path / name
    rows = write_predictions_csv(path, ["va", "vb"], meta, boxes, scores)
    if order is not None:
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines[i] for i in order))
    return path, rows


def by_key(rows):
    """{(frame, x1, y1, x2, y2, action): score} of BoxRows without duplicates."""
    keys = [(rows.key_names[k], *b, a) for k, b, a in zip(rows.key.tolist(), rows.boxes.tolist(),
                                                         rows.action.tolist())]
    assert len(set(keys)) == len(keys)
    return dict(zip(keys, rows.score.tolist()))


def truth_files(tmp_path):
    """Label map and ground truth: the first proposals of ava_scores as truth."""
    (tmp_path / "lm.pbtxt").write_text("".join('item {\n  name: "c%d"\n  id: %d\n}\n' % (i, i) for i in IDS))
    _, rows = ava_scores(tmp_path, "tmp.csv", 0)
    lines = ["%s,%r,%r,%r,%r,%d,0\n" % (rows.key_names[rows.key[i]], *rows.boxes[i].tolist(), 1 + i % 4)
             for i in range(0, len(rows), 9)]
    (tmp_path / "gt.csv").write_text("".join(lines))
    return tmp_path / "lm.pbtxt", tmp_path / "gt.csv"


# ----------------------------------------------------------------------------
# AVA


def test_ava_identical_files_change_nothing(tmp_path):
    a, rows = ava_scores(tmp_path, "a.csv", 1)
    b, _ = ava_scores(tmp_path, "b.csv", 1)
    out = ens.ensemble_ava(ens.read_ava_members([a, b])).rows
    assert out.key_names == rows.key_names and np.array_equal(out.key, rows.key)
    assert np.array_equal(out.boxes, rows.boxes) and np.array_equal(out.score, rows.score)


def test_ava_shuffled_copy_changes_no_score_and_keeps_first_order(tmp_path):
    a, rows = ava_scores(tmp_path, "a.csv", 1)
    b, _ = ava_scores(tmp_path, "b.csv", 1, order=np.random.default_rng(5).permutation(len(rows)))
    out = ens.ensemble_ava(ens.read_ava_members([a, b]))
    assert by_key(out.rows) == by_key(rows) and list(by_key(out.rows)) == list(by_key(rows))
    assert (out.members == 2).all()


def test_ava_two_files_give_the_mean_per_key(tmp_path):
    a, ra = ava_scores(tmp_path, "a.csv", 1)
    b, rb = ava_scores(tmp_path, "b.csv", 2, order=np.random.default_rng(5).permutation(len(ra)))
    out = by_key(ens.ensemble_ava(ens.read_ava_members([a, b])).rows)
    sa, sb = by_key(ra), by_key(rb)
    assert out == pytest.approx({k: (sa[k] + sb[k]) / 2 for k in sa}, rel=1e-15, abs=0)
    weighted = by_key(ens.ensemble_ava(ens.read_ava_members([a, b]), weights=[3, 1]).rows)
    assert weighted == pytest.approx({k: (3 * sa[k] + sb[k]) / 4 for k in sa}, rel=1e-15, abs=0)


def test_ava_rows_missing_from_some_files(tmp_path):
    a, ra = ava_scores(tmp_path, "a.csv", 1)
    b, rb = ava_scores(tmp_path, "b.csv", 2, order=range(2, len(ra)))  # first two rows dropped
    members = ens.read_ava_members([a, b])
    average, zero = ens.ensemble_ava(members), ens.ensemble_ava(members, missing="zero")
    sa, sb = by_key(ra), by_key(rb)
    dropped = list(sa)[:2]
    assert average.members.tolist()[:3] == [1, 1, 2]
    assert [by_key(average.rows)[k] for k in dropped] == [sa[k] for k in dropped]
    assert [by_key(zero.rows)[k] for k in dropped] == [sa[k] / 2 for k in dropped]
    kept = list(sa)[2]
    assert by_key(zero.rows)[kept] == by_key(average.rows)[kept] == (sa[kept] + sb[kept]) / 2


def test_ava_keys_use_numbers_as_written_and_pair_duplicates_by_occurrence(tmp_path):
    (tmp_path / "a.csv").write_text("v,902,0.1,0.2,0.3,0.4,1,0.2\nv,0902,0.1,0.2,0.3,0.4,1,0.4\n")
    (tmp_path / "b.csv").write_text("v,0902,0.100,0.2,0.3,0.40,1,0.6\nv,0902,0.1,0.2,0.3,0.4,1,0.8\n"
                                    "v,0902,0.1,0.2,0.3,0.4001,1,0.5\n")
    out = ens.ensemble_ava(ens.read_ava_members([tmp_path / "a.csv", tmp_path / "b.csv"]))
    assert out.rows.key_names == ["v,0902"]
    assert out.rows.score.tolist() == pytest.approx([0.4, 0.6, 0.5]) and out.members.tolist() == [2, 2, 1]


def test_ava_identical_files_give_the_same_map(tmp_path):
    lm, gt = truth_files(tmp_path)
    a, _ = ava_scores(tmp_path, "a.csv", 1)
    b, _ = ava_scores(tmp_path, "b.csv", 1, order=np.random.default_rng(3).permutation(120))
    done = tool("--inputs", a, b, "--output", tmp_path / "e.csv", "--labelmap", lm, "--groundtruth", gt)
    maps = [float(line.split()[-1]) for line in done.stdout.splitlines() if "mAP@0.5IOU" in line]
    assert len(maps) == 3 and maps[0] == maps[1] == maps[2] > 0
    assert evaluate(lm, gt, tmp_path / "e.csv").per_class == evaluate(lm, gt, a).per_class


def test_ava_bad_row_names_file_and_line(tmp_path):
    a, _ = ava_scores(tmp_path, "a.csv", 1)
    (tmp_path / "bad.csv").write_text("v,0902,0.1,0.2,0.3,0.4,1,0.5\nv,0902,0.1,0.2,0.3,0.4,1\n")
    with pytest.raises(AvaFormatError, match=r"^bad.csv line 2: expected 8 columns, got 7$"):
        ens.read_ava_members([a, tmp_path / "bad.csv"])
    done = tool("--inputs", a, tmp_path / "bad.csv", "--output", tmp_path / "e.csv", check=False)
    assert done.returncode == 2 and "bad.csv line 2: expected 8 columns, got 7" in done.stderr
    assert not (tmp_path / "e.csv").exists()


def test_ava_cli_writes_a_readable_file(tmp_path):
    a, ra = ava_scores(tmp_path, "a.csv", 1)
    b, rb = ava_scores(tmp_path, "b.csv", 2)
    done = tool("--inputs", a, b, "--output", tmp_path / "e.csv", "--weights", 1, 3)
    assert "2 files -> 120 rows" in done.stdout
    out = read_boxes_csv(tmp_path / "e.csv", allowed_columns=(8,))
    assert np.allclose(out.score, (ra.score + 3 * rb.score) / 4, rtol=1e-15, atol=0)


# ----------------------------------------------------------------------------
# Kinetics


def kinetics_file(tmp_path, name, seed, n=50, classes=7, order=None, labels=None):
    rng = np.random.default_rng(seed)
    scores = rng.random((n, classes)).astype(np.float32)
    vs = ens.VideoScores(np.array(["/data/k/%03d.mp4" % i for i in range(n)]),
                         np.arange(n, dtype=np.int64) % classes if labels is None else labels,
                         scores / scores.sum(1, keepdims=True), np.full(n, 30, dtype=np.int64))
    if order is not None:
        vs = ens.VideoScores(vs.videos[order], vs.labels[order], vs.scores[order], vs.num_views[order])
    ens.write_video_scores(tmp_path / name, vs)
    return tmp_path / name, vs


def test_kinetics_identical_and_shuffled_files_change_nothing(tmp_path):
    a, va = kinetics_file(tmp_path, "a.npz", 1)
    b, _ = kinetics_file(tmp_path, "b.npz", 1, order=np.random.default_rng(2).permutation(50))
    for paths in ([a, a], [a, b]):
        out, count = ens.ensemble_kinetics([ens.read_video_scores(p) for p in paths])
        assert np.array_equal(out.videos, va.videos) and np.array_equal(out.scores, va.scores)
        assert np.array_equal(out.labels, va.labels) and out.num_views.tolist() == [60] * 50
        assert (count == 2).all()


def test_kinetics_mean_and_missing_videos(tmp_path):
    a, va = kinetics_file(tmp_path, "a.npz", 1)
    b, vb = kinetics_file(tmp_path, "b.npz", 2, order=np.arange(1, 50))
    members = [ens.read_video_scores(p) for p in (a, b)]
    out, count = ens.ensemble_kinetics(members)
    assert np.allclose(out.scores[1:], (va.scores[1:].astype(np.float64) + vb.scores) / 2, rtol=1e-6, atol=0)
    assert np.array_equal(out.scores[0], va.scores[0]) and count[0] == 1 and out.num_views[0] == 30
    zero, _ = ens.ensemble_kinetics(members, missing="zero")
    assert np.allclose(zero.scores[0], va.scores[0] / 2)


@pytest.mark.parametrize("change, message", [
    (dict(labels=np.r_[1, np.arange(1, 50)].astype(np.int64) % 7),
     r"^b.npz: video '/data/k/000.mp4' has label 1, but a.npz has label 0$"),
    (dict(classes=8), r"^b.npz: scores have 8 classes, but a.npz has 7$"),
])
def test_kinetics_mismatch_names_the_file(tmp_path, change, message):
    a, _ = kinetics_file(tmp_path, "a.npz", 1)
    b, _ = kinetics_file(tmp_path, "b.npz", 2, **change)
    with pytest.raises(ens.EnsembleError, match=message):
        ens.ensemble_kinetics([ens.read_video_scores(p) for p in (a, b)])
    done = tool("--inputs", a, b, "--output", tmp_path / "e.npz", check=False)
    assert done.returncode == 2 and "error: b.npz:" in done.stderr


def test_kinetics_bad_files_name_the_file(tmp_path):
    np.savez(tmp_path / "x.npz", videos=np.array(["a", "a"]), labels=np.zeros(2, np.int64),
             scores=np.zeros((2, 3), np.float32), num_views=np.int64(3))
    with pytest.raises(ens.EnsembleError, match=r"^x.npz: video 'a' is listed 2 times$"):
        ens.read_video_scores(tmp_path / "x.npz")
    np.savez(tmp_path / "y.npz", videos=np.array(["a"]), scores=np.zeros((1, 3)))
    with pytest.raises(ens.EnsembleError, match=r"^y.npz: missing array\(s\) labels, num_views"):
        ens.read_video_scores(tmp_path / "y.npz")
    (tmp_path / "z.npz").write_text("not a zip")
    with pytest.raises(ens.EnsembleError, match=r"^z.npz: cannot be read"):
        ens.read_video_scores(tmp_path / "z.npz")


def test_kinetics_cli_prints_accuracy(tmp_path):
    a, _ = kinetics_file(tmp_path, "a.npz", 1)
    b, _ = kinetics_file(tmp_path, "b.npz", 2)
    done = tool("--inputs", a, b, "--output", tmp_path / "e.npz")
    table = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[0] for row in table] == ["a.npz", "b.npz", "e.npz"]
    out = ens.read_video_scores(tmp_path / "e.npz")
    acc = ens.topk_accuracy(out.scores, out.labels)
    assert table[2][1:] == ["50", "%.4f" % acc["top1"], "%.4f" % acc["top5"], "%.4f" % acc["mean_error"]]


def test_topk_accuracy_by_hand():
    scores = np.array([[0.1, 0.5, 0.4], [0.3, 0.3, 0.4], [0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    acc = ens.topk_accuracy(scores, np.array([1, 0, 0, -1]), ks=(1, 2))
    assert acc == {"videos": 3, "top1": 1 / 3, "top2": 2 / 3}
    acc = ens.topk_accuracy(scores, np.array([1, 0, 0, -1]))
    assert acc["top5"] == 1.0 and acc["mean_error"] == pytest.approx(1 - (1 / 3 + 1) / 2)


def test_mode_detection_and_argument_errors(tmp_path):
    a, _ = kinetics_file(tmp_path, "a.npz", 1)
    done = tool("--inputs", a, tmp_path / "x.csv", "--output", tmp_path / "e", check=False)
    assert done.returncode == 2 and "pass --mode ava|kinetics" in done.stderr
    done = tool("--inputs", a, "--output", tmp_path / "e.npz", "--weights", 1, 2, check=False)
    assert done.returncode == 2 and "got 2 weights for 1 input files" in done.stderr
    done = tool("--inputs", a, "--output", tmp_path / "e.npz", "--labelmap", "x", check=False)
    assert done.returncode == 2 and "are for --mode ava" in done.stderr
