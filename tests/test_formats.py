"""slowfast.formats: one box-CSV parser behind the evaluator's strict reader and the datasets' lenient one,
and the old module paths that still resolve (with a DeprecationWarning)."""
import importlib
import sys
import warnings

import numpy as np
import pytest

from slowfast.formats import ava_boxes
from slowfast.formats.problems import AvaFormatError


def write(tmp_path, text, name="boxes.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_strict_and_lenient_modes_read_a_clean_file_alike(tmp_path):
    path = write(tmp_path, "v,0902,0.1,0.2,0.3,0.4,5,1\nw,903,0.5,0.5,0.9,1,7,2\nv,0902,0.2,0.2,0.3,0.4,6,1\n")
    strict = ava_boxes.read_boxes_csv(path, column8="")
    lenient = ava_boxes.read_box_rows(path)
    assert [(r.video, r.sec) for r in lenient] == [("v", 902), ("w", 903), ("v", 902)]
    assert [list(r.box) for r in lenient] == strict.boxes.tolist()
    assert [r.action for r in lenient] == strict.action.tolist() and [r.line for r in lenient] == [1, 2, 3]
    assert all(r.score is None for r in lenient)


def test_one_bad_row_in_each_mode(tmp_path):
    path = write(tmp_path, "v,0902,0.1,0.2,0.3,0.4,5,1\nv,0902,abc,0.2,0.3,0.4,5,1\n")
    with pytest.raises(AvaFormatError, match=r"^boxes\.csv line 2: x1 is not a number: 'abc'$"):
        ava_boxes.read_boxes_csv(path)
    with pytest.raises(AvaFormatError, match=rf"^{path} line 2: coordinate x1 is not a number: 'abc'$"):
        ava_boxes.read_box_rows(path)
    found = []
    assert [r.line for r in ava_boxes.read_box_rows(path, problems=found)] == [1]
    assert [(p.line, p.kind) for p in found] == [(2, "parse")]


def test_lenient_problems_keep_their_kind_and_line_order(tmp_path):
    path = tmp_path / "proposals.csv"
    path.write_bytes(b"v,0902,0.1,0.2,0.3,0.4,,\n\nv,0902,0.1,0.2,0.3,0.4,x,0.5\nv,0902,\xff\n"
                     b"v,0902,0.1,0.2,0.3,0.4\nv,0902,0.1,0.2,0.3,0.4,0.7\n")
    found = []
    rows = ava_boxes.read_box_rows(str(path), True, found)
    assert [(p.line, p.kind) for p in found] == [(1, "no_score"), (3, "parse"), (4, "encoding"), (5, "parse")]
    assert found[3].message == "expected 7 or 8 columns, got 6: 'v,0902,0.1,0.2,0.3,0.4'"
    assert [(r.line, r.action, r.score) for r in rows] == [(6, -1, 0.7)]  # 7 columns: the last one is the score


def test_ground_truth_action_ids_below_one_and_beyond_int64(tmp_path):
    huge = 10**30
    path = write(tmp_path, f"v,0902,0.1,0.2,0.3,0.4,0,1\nv,0902,0.1,0.2,0.3,0.4,{huge},1\n")
    found = []
    rows = ava_boxes.read_box_rows(path, problems=found)
    assert [(p.line, p.kind, p.message) for p in found] == [
        (1, "action_range", "action_id must be >= 1 in ground truth, got 0")]
    assert [r.action for r in rows] == [huge]  # kept as written; the range check names it
    assert [p.line for p in ava_boxes.check_action_range(rows, path, 80)] == [2]


def test_read_box_csv_clips_and_drops_and_counts(tmp_path):
    from collections import Counter
    path = write(tmp_path, "v,0902,-0.1,0.2,1.3,0.4,5,1\nv,0902,1.1,0.2,1.3,0.4,5,1\n")
    stats = Counter()
    rows = ava_boxes.read_box_csv(path, stats=stats)
    assert [r.box for r in rows] == [(0.0, 0.2, 1.0, 0.4)]
    assert stats == {"clipped_boxes": 2, "degenerate_boxes": 1}


@pytest.mark.parametrize("old, name, new", [
    ("slowfast.evaluation.ava.io", "read_boxes_csv", "slowfast.formats.ava_boxes"),
    ("slowfast.evaluation.ava.io", "read_labelmap", "slowfast.formats.ava_labels"),
    ("slowfast.datasets.ava_io", "read_box_csv", "slowfast.formats.ava_boxes"),
    ("slowfast.datasets.ava_io", "sec_to_frame", "slowfast.formats.ava_frames"),
])
def test_old_module_paths_warn_and_resolve_to_the_new_objects(old, name, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_moved_dataset_validation_names_warn_and_unreadable_data_error_does_not():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from slowfast.datasets.validation import UnreadableDataError  # noqa: F401
    from slowfast.datasets import validation
    from slowfast.formats.kinetics import check_label_range
    with pytest.warns(DeprecationWarning, match="slowfast.formats.kinetics.check_label_range"):
        assert validation.check_label_range is check_label_range


def test_box_iou_is_the_evaluators():
    from slowfast.formats.boxes import iou_matrix, paired_iou
    a, b = np.array([[0.0, 0.0, 1.0, 1.0]]), np.array([[0.0, 0.0, 0.5, 1.0], [2.0, 2.0, 3.0, 3.0]])
    assert iou_matrix(a, b).tolist() == [[0.5, 0.0]]
    assert paired_iou(a, b[:1]).tolist() == [0.5]
