"""tools/check_dataset.py: each injected defect is found and named by file and line; the synthetic
datasets are clean; the exit code says which. tools/run_net.py refuses to start, within seconds and
before building a model, when a split it will use has a label out of range, a proposals file or the label
map is missing, or OUTPUT_DIR cannot be written."""
import json
import os
import shutil
import time

import pytest

from slowfast.apps.run_net import main as run_net_main
from slowfast.config import load_config
from slowfast.data_prep.check import check_dataset, main
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.datasets.synthetic_ava import make_ava_synthetic

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
SPLITS = ["train", "val", "test"]


@pytest.fixture(scope="module")
def kinetics_master(tmp_path_factory):
    root = tmp_path_factory.mktemp("check_k") / "data"
    make_kinetics_synthetic(str(root), num_classes=4, num_train=4, num_val=2, num_test=2, size=32, num_frames=12,
                            num_workers=1)
    return root


@pytest.fixture(scope="module")
def ava_master(tmp_path_factory):
    root = tmp_path_factory.mktemp("check_ava") / "data"
    make_ava_synthetic(str(root), num_train_videos=1, num_val_videos=1, num_keyframes=2, seed=0)
    return root


@pytest.fixture
def kin(kinetics_master, tmp_path):
    root = tmp_path / "kinetics"
    shutil.copytree(kinetics_master, root)
    return root


@pytest.fixture
def ava(ava_master, tmp_path):
    root = tmp_path / "ava"
    shutil.copytree(ava_master, root)
    return root


def problems(cfg_path, root, *opts, splits=SPLITS, decode=False):
    cfg = load_config(cfg_path, ["DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False", *opts])
    return [str(p) for p in check_dataset(cfg, splits, decode=decode)]


def replace_line(path, number, text):
    lines = open(path).read().splitlines()
    lines[number - 1] = text
    open(path, "w").write("\n".join(lines) + "\n")


def append(path, text):
    with open(path, "a") as f:
        f.write(text + "\n")


# ------------------------------------------------------------------------------------------ clean
def test_the_synthetic_kinetics_set_is_clean_even_decoded(kinetics_master):
    assert problems(TINY, kinetics_master, decode=True) == []


def test_the_synthetic_ava_set_is_clean_even_decoded(ava_master):
    assert problems(AVA_TINY, ava_master, decode=True) == []


# ------------------------------------------------------------------------------------------ Kinetics
def test_kinetics_line_that_does_not_parse(kin):
    append(kin / "train.csv", "videos/train/train_00000.mp4")
    assert problems(TINY, kin) == [f"{kin}/train.csv:5: expected 'path label', got 'videos/train/train_00000.mp4'"]


def test_kinetics_label_outside_num_classes(kin):
    replace_line(kin / "train.csv", 2, "videos/train/train_00001.mp4 7")
    assert problems(TINY, kin) == [f"{kin}/train.csv:2: label 7 is outside 0..3 (MODEL.NUM_CLASSES 4)"]


def test_kinetics_duplicate_entry(kin):
    first = open(kin / "val.csv").readline().strip()
    append(kin / "val.csv", first)
    assert problems(TINY, kin) == [f"{kin}/val.csv:3: {first.split()[0]} is already listed on line 1"]


def test_kinetics_missing_video(kin):
    os.remove(kin / "videos/test/test_00001.mp4")
    assert problems(TINY, kin) == [f"{kin}/test.csv:2: video {kin}/videos/test/test_00001.mp4: missing (no such file)"]


def test_kinetics_undecodable_video_is_found_with_decode(kin):
    (kin / "videos/train/train_00002.mp4").write_bytes(b"garbage" * 100)
    assert problems(TINY, kin) == []  # exists: only decoding finds it
    found = problems(TINY, kin, decode=True)
    assert len(found) == 1 and found[0].startswith(f"{kin}/train.csv:3: video {kin}/videos/train/train_00002.mp4: cannot open")


def test_kinetics_classnames_of_another_size(kin):
    (kin / "classnames.json").write_text(json.dumps({"a": 0, "b": 1, "c": 2}))
    assert problems(TINY, kin) == [f"{kin}/classnames.json: 3 classes but MODEL.NUM_CLASSES is 4 (set it to 3, or 0)"]


def test_num_classes_0_without_classnames_reads_train_csv_as_the_loader_does(tmp_path):
    from slowfast.data_prep.check import resolve_num_classes
    (tmp_path / "train.csv").write_text("a.mp4,0\nb c.mp4,5\nbroken line\n")  # the loader's rows: labels 0 and 5
    cfg = load_config(TINY, ["DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False",
                             "DATA.PATH_LABEL_SEPARATOR", ",", "MODEL.NUM_CLASSES", "0"])
    assert resolve_num_classes(cfg).MODEL.NUM_CLASSES == 6


# ------------------------------------------------------------------------------------------ AVA frame lists
# Frame list line numbers: line 1 is the header, frame_id k is on line k + 2.
def test_ava_frame_list_with_a_gap(ava):
    path = ava / "frame_lists/train.csv"
    lines = open(path).read().splitlines()
    del lines[50 + 1]  # frame_id 50
    open(path, "w").write("\n".join(lines) + "\n")
    assert f"{path}:52: gap in video 'train_000': frame_id 51 follows frame_id 49 (line 51); frames 50..50 are " \
           "missing (key frames after the gap would point at the wrong time)" in problems(AVA_TINY, ava, splits=["train"])


def test_ava_frame_list_with_wrong_names(ava):
    path = ava / "frame_lists/train.csv"
    replace_line(path, 12, 'train_000 0 10 train_000/frame_10.jpg ""')
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{path}:12: frame_id 10 of video 'train_000' is file 'train_000/frame_10.jpg'; the loaders expect "
        "'train_000/train_000_000011.jpg'"]


def test_ava_frame_list_with_a_bad_header(ava):
    path = ava / "frame_lists/val.csv"
    replace_line(path, 1, "video frame path")
    assert f"{path}:1: expected the header 'original_vido_id video_idx frame_id path labels'" in problems(AVA_TINY, ava)


def test_ava_missing_jpeg_of_a_key_frame_clip(ava):
    os.remove(ava / "frames/train_000/train_000_000061.jpg")  # key frame of second 902 = frame_id 60
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{ava}/frame_lists/train.csv:62: frame {ava}/frames/train_000/train_000_000061.jpg of a key-frame clip is missing"]


def test_ava_unreadable_jpeg_is_found_with_decode(ava):
    (ava / "frames/val_000/val_000_000063.jpg").write_bytes(b"not a jpeg")
    assert problems(AVA_TINY, ava) == []
    assert problems(AVA_TINY, ava, decode=True) == [
        f"{ava}/frame_lists/val.csv:64: frame {ava}/frames/val_000/val_000_000063.jpg of a key-frame clip cannot be decoded"]


# ------------------------------------------------------------------------------------------ AVA boxes
def test_ava_timestamp_outside_the_key_frame_window(ava):
    path = ava / "annotations/ava_train_v2.2.csv"
    replace_line(path, 1, "train_000,0901,0.025,0.117,0.212,0.650,3,0")
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{path}:1: timestamp 901 outside the key-frame window 902..1798 (AVA.KEYFRAME_START_SEC..AVA.KEYFRAME_END_SEC)"]


def test_ava_key_frame_past_the_end_of_the_video(ava):
    path = ava / "annotations/ava_train_v2.2.csv"
    replace_line(path, 1, "train_000,0950,0.025,0.117,0.212,0.650,3,0")
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{path}:1: key frame train_000,950 is frame 1500, but the video has 120 frames (AVA.START_SEC 900, AVA.FPS 30)"]


def test_ava_box_outside_the_frame(ava):
    path = ava / "annotations/ava_train_v2.2.csv"
    replace_line(path, 2, "train_000,0902,0.388,0.483,1.575,0.983,7,1")
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{path}:2: box 0.388,0.483,1.575,0.983 outside the frame (coordinates are normalised to [0, 1])"]


def label_map(ava):
    from slowfast.formats.ava_labels import read_labelmap

    path = ava / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt"
    return path, read_labelmap(str(path))


def test_ava_action_id_outside_the_label_map(ava):
    path = ava / "annotations/ava_train_v2.2.csv"
    top = int(label_map(ava)[1].ids.max())
    replace_line(path, 3, f"train_000,0902,0.388,0.483,0.575,0.983,{top + 1},1")
    # MODEL.NUM_CLASSES = the label map's largest id, as MODEL.NUM_CLASSES 0 would take it.
    assert problems(AVA_TINY, ava, "MODEL.NUM_CLASSES", str(top), splits=["train"]) == [
        f"{path}:3: action_id {top + 1} outside 1..{top} (MODEL.NUM_CLASSES; the label map's ids)"]


def test_ava_label_map_id_beyond_num_classes(ava):
    path, labels = label_map(ava)
    top = int(labels.ids.max())
    line = labels.lines[int(labels.ids.argmax())]
    found = problems(AVA_TINY, ava, "MODEL.NUM_CLASSES", str(top - 1), splits=["val"])
    assert f"{path}:{line}: class id {top} > MODEL.NUM_CLASSES {top - 1}: the model has no output for it" in found


def test_ava_box_rows_of_a_video_not_in_the_frame_lists(ava):
    path = ava / "annotations/ava_train_v2.2.csv"
    append(path, "ghost_video,0902,0.1,0.1,0.2,0.2,3,0")
    n = len(open(path).read().splitlines())
    assert problems(AVA_TINY, ava, splits=["train"]) == [
        f"{path}:{n}: video ghost_video is not in the frame lists (its rows are skipped)"]


def test_ava_box_files_without_a_key_frame_of_a_known_video(ava):
    """What the loader refuses (an AVA split without key frames) is a problem of the checker too."""
    path = ava / "annotations/ava_train_v2.2.csv"
    rows = open(path).read().splitlines()
    open(path, "w").write("".join(f"ghost_video{line[line.index(','):]}\n" for line in rows))
    found = problems(AVA_TINY, ava, splits=["train"])
    assert found[0] == f"{path}:1: video ghost_video is not in the frame lists (its rows are skipped)"
    assert found[1:] == [f"{path}: no key frame: no row of {path} is a key frame of a video of the frame lists "
                         "(the loader refuses a split without key frames)"]
    open(path, "w").write("")
    assert len(problems(AVA_TINY, ava, splits=["train"])) == 1
    assert problems(AVA_TINY, ava, "AVA.TRAIN_NEGATIVE_PROPOSALS", "True", splits=["train"]) == []


def test_ava_missing_proposals_file(ava):
    path = ava / "annotations/ava_val_predicted_boxes.csv"
    os.remove(path)
    assert problems(AVA_TINY, ava, splits=["val"]) == [f"{path}: proposals file not found"]


def test_ava_proposals_without_scores(ava):
    path = ava / "annotations/ava_val_predicted_boxes.csv"
    replace_line(path, 2, "val_000,0902,0.413,0.142,0.518,0.518,,")
    assert problems(AVA_TINY, ava, splits=["val"]) == [f"{path}:2: no detector score in the last column ('')"]


def test_ava_ground_truth_used_as_proposals(ava):
    gt = ava / "annotations/ava_val_v2.2.csv"
    found = problems(AVA_TINY, ava, "AVA.TEST_PREDICT_BOX_LISTS", "['ava_val_v2.2.csv']", splits=["val"])
    third_person = next(i for i, line in enumerate(open(gt), 1) if line.strip().endswith(",2"))
    assert f"{gt}:{third_person}: score 2 outside [0, 1] (a ground-truth file, whose last column is the person id, " \
           "used as proposals?)" in found


def test_ava_exclusions_naming_unknown_videos(ava):
    path = ava / "annotations/ava_val_excluded_timestamps_v2.2.csv"
    append(path, "some_other_movie,0902")
    assert problems(AVA_TINY, ava, splits=["val"]) == [f"{path}:2: excluded video some_other_movie is not in the frame lists"]


def test_ava_missing_label_map(ava):
    path = ava / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt"
    os.remove(path)
    assert problems(AVA_TINY, ava, splits=["val"]) == [f"{path}: label map (AVA.LABEL_MAP_FILE) not found"]


# ------------------------------------------------------------------------------------------ the tool
def test_all_problems_are_collected_and_the_exit_code_says_so(ava, capsys):
    os.remove(ava / "annotations/ava_val_predicted_boxes.csv")
    replace_line(ava / "annotations/ava_train_v2.2.csv", 2, "train_000,0902,0.388,0.483,1.575,0.983,7,1")
    opts = ["DATA.PATH_TO_DATA_DIR", str(ava), "DATA.GENERATE_SYNTHETIC", "False"]
    assert main(["--cfg", AVA_TINY, "--split", "train,val", "--json", *opts]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["ok"] and report["num_problems"] == 2 and report["splits"] == ["train", "val"]
    assert {(os.path.basename(p["file"]), p["line"], p["kind"]) for p in report["problems"]} == {
        ("ava_val_predicted_boxes.csv", None, "missing_file"), ("ava_train_v2.2.csv", 2, "box_outside")}


def test_a_clean_dataset_exits_0(ava_master, capsys):
    opts = ["DATA.PATH_TO_DATA_DIR", str(ava_master), "DATA.GENERATE_SYNTHETIC", "False"]
    assert main(["--cfg", AVA_TINY, "--decode", *opts]) == 0
    assert "0 problem(s) in splits train,val,test" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------ run_net pre-flight
def refused(capsys, cfg, root, out, *opts):
    """Run run_net's main; assert it refuses quickly, return its stderr."""
    start = time.monotonic()
    code = run_net_main(["--cfg", cfg, "DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False",
                 "OUTPUT_DIR", str(out), "DATA_LOADER.NUM_WORKERS", "0", *opts])
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2 and elapsed < 10, (code, elapsed, err)
    assert "the run cannot start" in err
    return err


def test_a_label_out_of_range_in_the_test_split_stops_the_run_before_training(kin, tmp_path, capsys):
    root = kin
    lines = open(root / "test.csv").read().splitlines()
    lines[1] = lines[1].rsplit(" ", 1)[0] + " 4"
    open(root / "test.csv", "w").write("\n".join(lines) + "\n")
    err = refused(capsys, TINY, root, tmp_path / "out")
    assert f"{root}/test.csv:2: label 4 is outside 0..3 (MODEL.NUM_CLASSES 4)" in err
    assert not list((tmp_path / "out").glob("checkpoints/*.pyth"))  # not one epoch was trained


def test_a_missing_proposals_file_stops_the_run(ava, tmp_path, capsys):
    root = ava
    os.remove(root / "annotations/ava_train_predicted_boxes.csv")
    err = refused(capsys, AVA_TINY, root, tmp_path / "out")
    assert f"{root}/annotations/ava_train_predicted_boxes.csv: proposals file not found" in err


def test_a_missing_label_map_stops_the_run(ava, tmp_path, capsys):
    root = ava
    os.remove(root / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    err = refused(capsys, AVA_TINY, root, tmp_path / "out")
    assert "ava_action_list_v2.2_for_activitynet_2019.pbtxt: label map (AVA.LABEL_MAP_FILE) not found" in err


def test_an_unwritable_output_dir_stops_the_run(ava_master, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("OUTPUT_DIR cannot be made under a file")
    err = refused(capsys, AVA_TINY, ava_master, blocker / "out")
    assert f"{blocker}/out: cannot write here" in err


def test_an_unwritable_checkpoint_dir_stops_the_run(ava_master, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "checkpoints").write_text("a file where the checkpoint folder should be")
    err = refused(capsys, AVA_TINY, ava_master, out)
    assert f"{out}/checkpoints: cannot write here" in err


def test_num_classes_0_without_a_label_map_is_refused(ava, tmp_path, capsys):
    root = ava
    os.remove(root / "annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt")
    code = run_net_main(["--cfg", AVA_TINY, "DATA.PATH_TO_DATA_DIR", str(root), "DATA.GENERATE_SYNTHETIC", "False",
                 "OUTPUT_DIR", str(tmp_path / "out"), "MODEL.NUM_CLASSES", "0"])
    assert code == 2 and "MODEL.NUM_CLASSES 0 needs the label map" in capsys.readouterr().err


def test_a_missing_frame_list_stops_the_run(ava, tmp_path, capsys):
    os.remove(ava / "frame_lists/val.csv")
    err = refused(capsys, AVA_TINY, ava, tmp_path / "out")
    assert f"{ava}/frame_lists/val.csv: frame list not found" in err
