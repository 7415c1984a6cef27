"""Dataset files are checked when read: nothing is silently shifted or dropped.

- AVA frame lists: one deleted line used to shift every later frame of the video (key frames read from
  the wrong JPEG); gaps, repeats and misnamed frames are now errors naming file and line.
- Kinetics CSVs: a label outside 0..NUM_CLASSES-1 used to crash deep inside the loss (train) or give a
  wrong accuracy (test); it is an error naming file and line, for every split.
The checks are importable functions that return every problem (for tools/check_dataset.py)."""
import os

import pytest

from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.datasets.kinetics import DatasetFormatError, read_video_list
from slowfast.formats import ava_boxes, ava_frames, ava_labels
from slowfast.formats.ava_frames import read_frame_list_rows, validate_frame_list
from slowfast.formats.kinetics import check_label_range
from slowfast.formats.problems import AvaFormatError, Problem

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")


def frame_list(tmp_path, videos=(("v", 5), ("w", 3))):
    path = tmp_path / "train.csv"
    ava_frames.write_frame_list(str(path), list(videos))
    return path


def drop_line(path, number):
    lines = path.read_text().splitlines(keepends=True)
    del lines[number - 1]
    path.write_text("".join(lines))


# ------------------------------------------------------------------------------------------- AVA
def test_a_deleted_frame_list_line_is_an_error_naming_the_file_and_line(tmp_path):
    path = frame_list(tmp_path)
    assert validate_frame_list(read_frame_list_rows(str(path)), str(path)) == []
    drop_line(path, 4)  # v frame 2: frames 3 and 4 would have become entries 2 and 3
    with pytest.raises(AvaFormatError, match=r"train\.csv line 4: gap in video 'v': frame_id 3 follows frame_id 1 "
                                             r"\(line 3\); frames 2\.\.2 are missing"):
        ava_frames.read_frame_lists([str(path)], "frames")


def test_frame_list_problems_are_all_returned_with_their_lines(tmp_path):
    path = frame_list(tmp_path)
    text = path.read_text().splitlines()
    text[1] = text[1].replace("v_000001.jpg", "v_000009.jpg")       # line 2: file of another frame
    text[7] = text[7].replace("w 1 1", "w 0 1")                       # w frame 1: another video_idx
    text.append('w 1 2 w/w_000003.jpg ""')                            # w frame 2 again
    path.write_text("\n".join(text) + "\n")
    drop_line(path, 7)                                                # w frame 0: w starts at 1
    problems = validate_frame_list(read_frame_list_rows(str(path)), str(path))
    assert all(isinstance(p, Problem) and p.file == str(path) for p in problems)
    assert [p.message for p in problems] == [
        "frame_id 0 of video 'v' is file 'v/v_000009.jpg'; the loaders expect 'v/v_000001.jpg'",
        "video 'w' starts at frame_id 1, expected 0 (frames 0..0 missing)",
        "video 'w' has video_idx 1 here and 0 on line 7",
        "frame_id 2 of video 'w' listed twice (also on line 8)"]
    assert [p.line for p in problems] == [2, 7, 8, 9]
    assert [p.kind for p in problems] == ["frame_name", "frame_list_gap", "frame_list_idx", "frame_list_duplicate"]
    assert str(problems[0]) == f"{path}:2: {problems[0].message}"  # the checker's wording of the same problem


def test_a_video_listed_in_two_frame_list_files_is_an_error(tmp_path):
    a = frame_list(tmp_path)
    b = tmp_path / "val.csv"
    ava_frames.write_frame_list(str(b), [("w", 3)])
    with pytest.raises(AvaFormatError, match=r"val\.csv line 2: video 'w' is also listed in .*train\.csv"):
        ava_frames.read_frame_lists([str(a), str(b)], "frames")


def test_ava_files_with_bytes_that_are_not_utf8_name_the_line(tmp_path):
    path = frame_list(tmp_path)
    path.write_bytes(path.read_bytes() + b"v 0 5 v/v_000006.jpg \xff\xfe\n")
    with pytest.raises(AvaFormatError, match=r"train\.csv line 10: not UTF-8 text"):
        ava_frames.read_frame_lists([str(path)], "frames")


# ------------------------------------------------------------------------------------------- Kinetics
def test_label_range_check_returns_every_problem():
    assert check_label_range([(1, 0), (2, 3), (3, 4), (4, -1)], 4, "x.csv") == [
        Problem("x.csv", 3, "label_range", "label 4 is outside 0..3 (MODEL.NUM_CLASSES 4)"),
        Problem("x.csv", 4, "label_range", "label -1 is outside 0..3 (MODEL.NUM_CLASSES 4)")]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_a_label_outside_num_classes_names_the_file_and_line_in_every_split(tmp_path, split):
    (tmp_path / f"{split}.csv").write_text("a.mp4 0\nb.mp4 3\nc.mp4 4\nd.mp4 9\n")
    cfg = load_config(TINY, ["DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False"])
    assert cfg.MODEL.NUM_CLASSES == 4
    with pytest.raises(DatasetFormatError, match=rf"{split}\.csv line 3: label 4 is outside 0\.\.3 \(MODEL\.NUM_CLASSES "
                                                 r"4\) \(and 1 more problems in this file\)"):
        build_dataset("kinetics", cfg, split)


def test_a_kinetics_csv_with_bytes_that_are_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "train.csv"
    p.write_bytes("\ufeffa.mp4 0\n".encode() + b"caf\xe9.mp4 1\n")
    with pytest.raises(DatasetFormatError, match=r"train\.csv line 2: not UTF-8 text"):
        read_video_list(str(p))
    p.write_bytes("\ufeffa.mp4 0\nb\u00e9.mp4 1\n".encode())  # a byte-order mark and UTF-8 names are fine
    assert [label for _, label in read_video_list(str(p), num_classes=2)] == [0, 1]


@pytest.mark.parametrize("row, message", [
    ("v,0903,nan,0.1,0.4,0.9,,0.9", "box coordinates must be finite"),
    ("v,0903,0.1,0.1,inf,0.9,,0.9", "box coordinates must be finite"),
    ("v,0903,0.1,0.1,0.4,0.9,,nan", "score must be a finite number"),
])
def test_non_finite_box_numbers_are_errors_not_silently_kept_or_dropped(tmp_path, row, message):
    path = tmp_path / "proposals.csv"
    path.write_text("v,0903,0.1,0.1,0.4,0.9,,0.95\n" + row + "\n")
    with pytest.raises(AvaFormatError, match=rf"proposals\.csv line 2: {message}"):
        ava_boxes.read_box_csv(str(path), proposals=True)


# ------------------------------------------------------------------------------------------- one rule, two uses
# The loaders raise the first problem; tools/check_dataset.py collects every problem with the same check,
# so both name the same file, line and words ("f line N: m" from a loader is "f:N: m" in the checker).
def as_checker_line(error: Exception) -> str:
    file, rest = str(error).split(" line ", 1)
    line, message = rest.split(": ", 1)
    return f"{file}:{line}: {message.split(' (and ')[0]}"


@pytest.mark.parametrize("edit", [
    lambda lines: lines.pop(4),                                                       # a gap
    lambda lines: lines.__setitem__(3, 'v 0 2 v/frame_2.jpg ""'),                     # a wrong name
    lambda lines: lines.insert(3, 'v 0 1 v/v_000002.jpg ""'),                         # a repeat
    lambda lines: lines.__setitem__(8, 'w 7 1 w/w_000002.jpg ""'),                    # another video_idx
    lambda lines: lines.__setitem__(0, "video frame path"),                           # a bad header
    lambda lines: lines.__setitem__(2, "v 0 one v/v_000002.jpg"),                     # a row that does not parse
])
def test_the_loader_and_the_checker_report_a_frame_list_defect_in_the_same_words(tmp_path, edit):
    from slowfast.data_prep.check_ava import check_frame_list
    path = frame_list(tmp_path)
    lines = path.read_text().splitlines()
    edit(lines)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(AvaFormatError) as raised:
        ava_frames.read_frame_lists([str(path)], "frames")
    found = check_frame_list(str(path), "frames", {})
    assert found and str(found[0]) == as_checker_line(raised.value)


def test_the_checker_collects_what_the_frame_list_reader_stops_at(tmp_path):
    from slowfast.data_prep.check_ava import check_frame_list
    path = frame_list(tmp_path)
    path.write_bytes(path.read_bytes().replace(b"v 0 1 ", b"v 0 x ") + b"w 1 3 w/w_000009.jpg \xff\n")
    videos = {}
    assert [(p.line, p.kind) for p in check_frame_list(str(path), "frames", videos)] == [
        (3, "parse"), (4, "frame_list_gap"), (10, "encoding")]
    assert len(videos["v"].frames) == 4 and len(videos["w"].frames) == 3  # the rows that parse are still indexed
    other = tmp_path / "val.csv"
    ava_frames.write_frame_list(str(other), [("w", 2)])
    assert [str(p) for p in check_frame_list(str(other), "frames", videos)] == [
        f"{other}:2: video 'w' is also listed in {path}"]


def test_the_loader_and_the_checker_report_a_kinetics_csv_defect_in_the_same_words(tmp_path):
    from slowfast.data_prep.check_kinetics import check_kinetics_csv
    path = tmp_path / "train.csv"
    for text in (b"a.mp4 0\nb.mp4 x\n", b"a.mp4 0\nb.mp4\n", b"a.mp4 0\nb.mp4 5\n", b"a.mp4 0\n\xff.mp4 1\n"):
        path.write_bytes(text)
        with pytest.raises(DatasetFormatError) as raised:
            read_video_list(str(path), num_classes=4)
        found = check_kinetics_csv(str(path), 4, files=False)
        assert [str(p) for p in found] == [as_checker_line(raised.value)]


def test_the_checker_finds_box_rows_the_ava_loader_refuses(tmp_path):
    path = tmp_path / "proposals.csv"
    path.write_text("v,0903,0.1,0.1,0.4,0.9,,0.95\nv,0903,0.1,0.1,0.4,0.9,,nan\nv,0903,0.1,0.1,0.4,0.9,walk,0.5\n"
                    "v,0903,0.1,0.1,0.4,0.9,99,0.5\n")
    with pytest.raises(AvaFormatError, match=r"proposals\.csv line 2: score must be a finite number"):
        ava_boxes.read_box_csv(str(path), proposals=True)
    found = []
    rows = ava_boxes.read_box_rows(str(path), True, found)
    found += ava_boxes.check_action_range(rows, str(path), 80)
    assert [(p.line, p.kind) for p in found] == [(2, "no_score"), (3, "parse"), (4, "action_range")]
    assert [r.line for r in rows] == [1, 4]


def test_the_checker_reads_label_maps_with_the_evaluators_reader(tmp_path):
    from slowfast.data_prep.check_ava import check_label_map, label_map_ids
    path = tmp_path / "labels.pbtxt"
    ava_labels.write_label_map(str(path), {3: "walk", 12: "sit"})
    assert label_map_ids(str(path)) == {3: 1, 12: 5}  # class id -> line of its block
    assert [str(p) for p in check_label_map(str(path), 10)] == [
        f"{path}:5: class id 12 > MODEL.NUM_CLASSES 10: the model has no output for it"]
    path.write_text(path.read_text() + 'item {\n  name: "run"\n  id: 3\n}\n')  # the evaluator refuses a repeated id
    assert [(p.line, p.kind) for p in check_label_map(str(path), 80)] == [(9, "parse")]
    assert "duplicate id 3 (first at line 1)" in check_label_map(str(path), 80)[0].message
