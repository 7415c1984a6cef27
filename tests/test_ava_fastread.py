"""The pandas fast path of read_boxes_csv gives exactly what the strict parser gives."""

import numpy as np
import pytest

from slowfast.evaluation.ava import AvaFormatError, read_boxes_csv
from slowfast.formats import ava_boxes

pytest.importorskip("pandas")

ARRAYS = ("key", "boxes", "action", "score", "line", "bare_keys")


def _random_csv(rng, n=3000):
    lines = []
    for i in range(n):
        vid = "vid%02d" % rng.integers(0, 7)
        ts = int(rng.integers(900, 930))
        stamp = "%04d" % ts if rng.random() < 0.7 else str(ts)      # 0902 and 902: one frame
        coords = []
        for _ in range(4):
            x = rng.random()
            form = rng.integers(0, 5)
            coords.append([repr(x), "%.3f" % x, "%.1f" % x, "1", "%.2e" % x][form])
        action = str(int(rng.integers(1, 81)))
        row = [vid, stamp] + coords + [action]
        if rng.random() < 0.6:                                       # 8-column rows, many tied scores
            score = rng.random()
            row.append(repr(score) if rng.random() < 0.5 else "%.2f" % score)
        lines.append(",".join(row))
    return "\n".join(lines) + ("\n" if rng.random() < 0.5 else "")


def _same(a, b):
    assert a.key_names == b.key_names
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name
    assert a.bad_rows == b.bad_rows and a.path == b.path


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("column8", ["score", "person_id", ""])
def test_fast_path_matches_strict_parser(tmp_path, seed, column8):
    text = _random_csv(np.random.default_rng(seed))
    fast = ava_boxes._fast_box_rows(text, "d.csv", (7, 8), "int", column8)
    assert fast is not None, "a clean file must take the fast path"
    strict = ava_boxes._strict_box_rows(text, "d.csv", (7, 8), "int", column8, False)
    _same(fast, strict)
    path = tmp_path / "d.csv"
    path.write_text(text)
    _same(read_boxes_csv(path, column8=column8), strict)


@pytest.mark.parametrize("bad, message", [
    ("vid01,0902,0.1,0.2,0.3,0.4", "expected 7 or 8 columns, got 6"),
    ("vid01,0902,0.1,0.2,0.3,0.4,5,0.5,1", "expected 7 or 8 columns, got 9"),
    ("vid01,0902,0.1,,0.3,0.4,5,0.5", "y1 is not a number: ''"),
    ("vid01,0902,0.1,0.2,0.3,0.4,5.0,0.5", "action_id is not an integer: '5.0'"),
    ("vid01,902.5,0.1,0.2,0.3,0.4,5,0.5", "timestamp is not an integer: '902.5'"),
    ("vid01,0902,0.1,0.2,0.3,0.4,1e3,0.5", "action_id is not an integer: '1e3'"),
    ("vid01,0902,nan,0.2,0.3,0.4,5,0.5", "x1 is not a finite number: 'nan'"),
    ("vid01,0902,0.1,0.2,0.3,0.4,5,NA", "score is not a number: 'NA'"),
    ("vid01,0902,0.1,0.2,0.3,0.4,5,", "score is not a number: ''"),
])
def test_bad_row_keeps_strict_message(tmp_path, bad, message):
    lines = _random_csv(np.random.default_rng(5), n=50).splitlines()
    lines.insert(20, bad)
    text = "\n".join(lines) + "\n"
    path = tmp_path / "gt.csv"
    path.write_text(text)
    with pytest.raises(AvaFormatError) as err:
        read_boxes_csv(path)
    assert str(err.value) == "gt.csv line 21: " + message
    skipped = read_boxes_csv(path, skip_bad_rows=True)
    assert skipped.bad_rows == [(21, message)]
    _same(skipped, ava_boxes._strict_box_rows(text, "gt.csv", (7, 8), "int", "score", True))


def test_without_pandas_uses_strict_parser(tmp_path, monkeypatch):
    text = _random_csv(np.random.default_rng(7), n=200)
    path = tmp_path / "d.csv"
    path.write_text(text)
    with_pandas = read_boxes_csv(path)
    monkeypatch.setattr(ava_boxes, "_pd", None)
    assert ava_boxes._fast_box_rows(text, "d.csv", (7, 8), "int", "score") is None
    _same(read_boxes_csv(path), with_pandas)
