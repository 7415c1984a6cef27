"""The AVA evaluator and the dataset checker read the same files the same way (issue 18): a byte-order
mark, duplicate ground-truth rows and ground-truth rows of videos outside the evaluated set are found
by both, on the same file and lines, and handled alike."""

import re

import pytest

from slowfast.config import get_cfg
from slowfast.data_prep.check_ava import VideoFrames, check_box_csv, check_exclusions, check_label_map
from slowfast.evaluation.ava import evaluate

BOX, OTHER, THIRD = (0.1, 0.1, 0.5, 0.5), (0.6, 0.6, 0.9, 0.9), (0.2, 0.5, 0.4, 0.9)
LABELMAP = 'item {\n  name: "bend"\n  id: 1\n}\nitem {\n  name: "sit"\n  id: 2\n}\n'


def row(vid, box, action, last, ts="0902"):
    return ",".join(str(x) for x in (vid, ts, *box, action, last))


GT = [row("v", BOX, 1, 0), row("v", OTHER, 1, 1), row("v", BOX, 2, 0), row("u", THIRD, 2, 0)]
DET = [row("v", BOX, 1, 0.9), row("v", OTHER, 1, 0.8), row("v", BOX, 2, 0.7), row("u", THIRD, 2, 0.4),
       row("v", THIRD, 2, 0.95)]


@pytest.fixture
def cfg():
    c = get_cfg()
    c.MODEL.NUM_CLASSES = 2
    return c


def videos(*names):
    return {n: VideoFrames([("frames.csv", i + 2, "f%d.jpg" % i) for i in range(200)]) for n in names}


def write(tmp_path, name, lines, bom=False):
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + "".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def score(tmp_path, gt_lines, bom=False, **kw):
    paths = dict(labelmap=write(tmp_path, "lm.pbtxt", [LABELMAP], bom),
                 groundtruth=write(tmp_path, "gt.csv", gt_lines, bom),
                 detections=write(tmp_path, "det.csv", DET, bom))
    return evaluate(**paths, **kw)


def checked(tmp_path, cfg, gt_lines, vids=("v", "u"), bom=False):
    return check_box_csv(write(tmp_path, "gt.csv", gt_lines, bom), False, cfg, videos(*vids), evaluated=True)


def test_a_byte_order_mark_changes_nothing(tmp_path, cfg):
    plain = score(tmp_path, GT)
    marked = score(tmp_path, GT, bom=True)
    assert marked.mAP == plain.mAP and marked.per_class == plain.per_class
    assert marked.warnings == plain.warnings == {}
    assert checked(tmp_path, cfg, GT, bom=True) == []
    # the exclusions file and the label map too, read by the evaluator's readers in the checker
    excl = write(tmp_path, "excl.csv", ["v,0902"], bom=True)
    assert check_exclusions(excl, videos("v")) == []
    assert check_label_map(write(tmp_path, "lm.pbtxt", [LABELMAP], bom=True), 2) == []
    assert score(tmp_path, GT, bom=True, exclusions=excl).warnings["excluded_keys_in_groundtruth"] == 1


def _duplicate_lines_in_messages(result):
    (msg,) = [m for m in result.messages if "duplicate" in m]
    assert msg.startswith("gt.csv: ")
    return sorted((int(first), int(c)) for first, copies in re.findall(r"line (\d+) \(\d+ cop(?:y|ies): lines? ([\d, ]+)\)", msg)
                  for c in copies.split(", "))


def test_duplicate_rows_are_found_by_both_and_counted_once(tmp_path, cfg):
    duplicated = GT + [GT[0], GT[2], GT[0]]  # lines 5, 6, 7 repeat lines 1, 3, 1
    clean = score(tmp_path, GT)
    result = score(tmp_path, duplicated)
    assert result.mAP == clean.mAP and result.num_groundtruth == clean.num_groundtruth
    assert result.warnings == {"groundtruth_duplicate_rows": 3}
    evaluator_rows = _duplicate_lines_in_messages(result)
    problems = checked(tmp_path, cfg, duplicated)
    assert {p.kind for p in problems} == {"duplicate_row"}
    checker_rows = sorted((int(re.search(r"repeats line (\d+)", p.message).group(1)), p.line) for p in problems)
    assert evaluator_rows == checker_rows == [(1, 5), (1, 7), (3, 6)]
    assert all(p.file.endswith("gt.csv") for p in problems)


def test_the_same_frame_written_two_ways_is_one_frame_for_both(tmp_path, cfg):
    duplicated = GT + [row("v", BOX, 1, 0, ts="902")]
    assert score(tmp_path, duplicated).warnings == {"groundtruth_duplicate_rows": 1}
    assert [(p.kind, p.line) for p in checked(tmp_path, cfg, duplicated)] == [("duplicate_row", 5)]


def test_rows_of_videos_outside_the_evaluated_set_are_reported_by_both(tmp_path, cfg):
    extra = GT + [row("ghost", BOX, 1, 0), row("v", THIRD, 1, 0), row("ghost", OTHER, 2, 0)]
    result = score(tmp_path, extra)
    (msg,) = [m for m in result.messages if "not in the detections" in m]
    assert msg.startswith("gt.csv: 1 videos (2 rows)") and "ghost (line 5, 2 rows)" in msg
    assert "counted" in msg
    # official default: the rows are missed ground truth; only_detected_videos leaves them out
    assert result.num_groundtruth == {"bend": 4, "sit": 3}
    assert result.mAP < score(tmp_path, GT + [row("v", THIRD, 1, 0)]).mAP
    narrowed = score(tmp_path, extra, only_detected_videos=True)
    assert narrowed.num_groundtruth == {"bend": 3, "sit": 2}
    assert narrowed.mAP == score(tmp_path, GT + [row("v", THIRD, 1, 0)]).mAP
    problems = checked(tmp_path, cfg, extra, vids=("v", "u"))
    assert [(p.kind, p.file.rsplit("/", 1)[-1], p.line) for p in problems] == [("unknown_video", "gt.csv", 5)]
    assert "ghost" in problems[0].message and "evaluator counts its 2 rows" in problems[0].message


def test_clean_files_have_no_warning_and_no_problem(tmp_path, cfg):
    assert score(tmp_path, GT).warnings == {}
    assert checked(tmp_path, cfg, GT) == []


def test_check_dataset_and_the_evaluator_agree_on_the_synthetic_set(tmp_path):
    """End to end: the val ground truth of the synthetic set, with a BOM, a duplicated row and a row of a
    video outside the frame lists; ``check_dataset`` and ``evaluate`` name the same lines."""
    from slowfast.config import load_config
    from slowfast.data_prep.check import check_dataset
    from slowfast.datasets.ava import annotation_path
    from slowfast.datasets.synthetic_ava import make_ava_synthetic

    root = tmp_path / "data"
    make_ava_synthetic(str(root), num_train_videos=1, num_val_videos=1, num_keyframes=2, seed=0)
    cfg = load_config("configs/Synthetic/AVA_SLOWFAST_TINY.yaml",
                      ["DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False"])
    gt = annotation_path(cfg, cfg.AVA.GROUNDTRUTH_FILE)
    lines = open(gt, encoding="utf-8").read().splitlines()
    ghost = "ghost_video" + lines[0][lines[0].index(","):]
    open(gt, "w", encoding="utf-8").write("\ufeff" + "\n".join(lines + [lines[0], ghost]) + "\n")
    n = len(lines)
    found = [p for p in check_dataset(cfg, ["val"]) if p.file == gt]
    assert [(p.kind, p.line) for p in found] == [("duplicate_row", n + 1), ("unknown_video", n + 2)]
    det = write(tmp_path, "det.csv", [lines[0].rsplit(",", 1)[0] + ",0.9"])
    result = evaluate(annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE), gt, det)
    assert result.warnings["groundtruth_duplicate_rows"] == 1
    assert "line 1 (1 copy: line %d)" % (n + 1) in " ".join(result.messages)
    assert "ghost_video (line %d, 1 row)" % (n + 2) in " ".join(result.messages)
