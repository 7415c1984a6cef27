"""tools/prepare_kinetics.py: a class-folder tree or the official annotation CSVs become the CSVs the
Kinetics loader reads, with class ids in the official (alphabetical) order and every bad video reported."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from slowfast.data_prep.kinetics import summary_text, clip_file_name, prepare_kinetics
from slowfast.data_prep.video_io import run_parallel
from slowfast.datasets.decoder import sample_clip
from slowfast.datasets.kinetics import read_video_list
from slowfast.datasets.video_container import get_video_info
from slowfast.datasets.video_encode import write_video

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def smooth_video(path, fps, seconds, width, height, seed=0):
    """A gradient with a moving square: cheap to encode, so the tests stay fast."""
    n = int(round(fps * seconds))
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, np.full_like(x, 60 + 40 * seed)], -1).astype(np.uint8)
    frames = np.repeat(base[None], n, 0)
    for t in range(n):
        x0 = (t * 4) % (width - 16)
        frames[t, 8:24, x0:x0 + 16] = 255
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write_video(path, frames, fps)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """train/ and val/ class folders, videos at 25 and 30 fps, one corrupt file and one dangling link."""
    src = tmp_path_factory.mktemp("kinetics_src")
    smooth_video(str(src / "train/air_drumming/a25.mp4"), 25, 1.0, 320, 240, 0)
    smooth_video(str(src / "train/air_drumming/a30.mp4"), 30, 1.0, 320, 240, 1)
    smooth_video(str(src / "train/abseiling/b30.mp4"), 30, 1.0, 320, 240, 2)
    smooth_video(str(src / "val/abseiling/c25.mp4"), 25, 1.0, 320, 240, 3)
    (src / "train/abseiling/corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video" * 50)
    os.symlink(str(src / "gone" / "d.mp4"), str(src / "train/abseiling/missing.mp4"))
    (src / "train/abseiling/notes.txt").write_text("not a video file: ignored")
    return src


@pytest.fixture(scope="module")
def prepared(tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("kinetics_out")
    summary = prepare_kinetics(str(out), src=str(tree), short_side=256, workers=1)
    return out, summary


def test_tree_gives_split_csvs_with_official_class_ids(prepared):
    out, summary = prepared
    names = json.loads((out / "classnames.json").read_text())
    assert names == {"abseiling": 0, "air drumming": 1}  # folder "air_drumming" is the class "air drumming"
    train = read_video_list(str(out / "train.csv"))
    val = read_video_list(str(out / "val.csv"))
    assert sorted((os.path.basename(p), label) for p, label in train) == [("a25.mp4", 1), ("a30.mp4", 1), ("b30.mp4", 0)]
    assert [(os.path.basename(p), label) for p, label in val] == [("c25.mp4", 0)]
    assert all(os.path.isfile(p) for p, _ in train + val)
    # no test videos: test.csv lists the val videos (the run's test step tests val), and the summary says so
    assert (out / "test.csv").read_text() == (out / "val.csv").read_text() and summary["test_csv_from"] == "val"
    assert summary["videos"] == {"train": 3, "val": 1, "test": 0} and summary["classes"] == 2


def test_corrupt_and_missing_videos_are_reported_and_left_out(prepared):
    out, summary = prepared
    rows = [line.split("\t") for line in (out / "bad_videos.txt").read_text().splitlines() if not line.startswith("#")]
    reasons = {os.path.basename(path): reason for path, reason in rows}
    assert set(reasons) == {"corrupt.mp4", "missing.mp4"} and summary["bad_videos"] == 2
    assert reasons["missing.mp4"].startswith("missing (broken link")
    assert "cannot open" in reasons["corrupt.mp4"]
    text = summary_text(summary)  # what tools/prepare_kinetics.py prints last: readable, not a dict
    assert "corrupt.mp4: cannot open" in text and str(out / "bad_videos.txt") in text and "{" not in text
    listed = (out / "train.csv").read_text()
    assert "corrupt" not in listed and "missing" not in listed


def test_resized_copies_have_short_side_256_and_the_same_frames_and_duration(tree, prepared):
    out, _ = prepared
    for split, cls, name in [("train", "air_drumming", "a25"), ("train", "air_drumming", "a30"), ("val", "abseiling", "c25")]:
        before = get_video_info(str(tree / split / cls / f"{name}.mp4"))
        after = get_video_info(str(out / "videos" / split / cls / f"{name}.mp4"))
        assert min(after.width, after.height) == 256 and (after.width, after.height) == (342, 256)
        assert after.fps == before.fps and after.num_frames == before.num_frames
        assert after.duration == pytest.approx(before.duration, abs=1e-6)
    # The copies decode through the loaders' sampler.
    clip = sample_clip(str(out / "videos/train/air_drumming/a25.mp4"), 0, 1, 8, 2, 30)
    assert tuple(clip.shape) == (8, 256, 342, 3)


def test_a_second_run_resumes_without_re_encoding(tree, prepared):
    out, _ = prepared
    copy = out / "videos/train/air_drumming/a30.mp4"
    stamp = os.stat(copy).st_mtime_ns
    again = prepare_kinetics(str(out), src=str(tree), short_side=256, workers=1)
    assert again["resumed"] == 4 and again["resized"] == 0 and os.stat(copy).st_mtime_ns == stamp


def test_official_annotation_csvs_find_the_downloaded_clips(tmp_path):
    clips = tmp_path / "clips"
    smooth_video(str(clips / "air_drumming" / clip_file_name("yt_aaaaaaa", 10, 20)), 25, 0.6, 64, 48)
    smooth_video(str(clips / clip_file_name("yt_bbbbbbb", 0, 10)), 30, 0.6, 64, 48)
    smooth_video(str(clips / clip_file_name("yt_ddddddd", 3, 13)), 30, 0.6, 64, 48)
    (tmp_path / "kinetics_train.csv").write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "air drumming,yt_aaaaaaa,10,20,train\n"
        "abseiling,yt_bbbbbbb,0,10,train\n"
        "abseiling,yt_ccccccc,5,15,train\n")  # not downloaded
    (tmp_path / "kinetics_test.csv").write_text("youtube_id,time_start,time_end,split\nyt_ddddddd,3,13,test\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "tools/prepare_kinetics.py", "--annotations", str(tmp_path / "kinetics_train.csv"),
           str(tmp_path / "kinetics_test.csv"), "--src", str(clips), "--out", str(out), "--workers", "1", "--json"]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["videos"] == {"train": 2, "val": 0, "test": 0} and summary["bad_videos"] == 2
    lines = (out / "train.csv").read_text().split("\n")
    assert lines[:2] == ["../clips/air_drumming/yt_aaaaaaa_000010_000020.mp4 1", "../clips/yt_bbbbbbb_000000_000010.mp4 0"]
    bad = (out / "bad_videos.txt").read_text()
    assert "yt_ccccccc_000005_000015.mp4\tmissing (no such file)" in bad
    assert "yt_ddddddd_000003_000013.mp4\tno label" in bad


def test_jobs_run_in_worker_processes_and_every_result_comes_back(tmp_path):
    paths = []
    for i in range(5):
        paths.append(str(tmp_path / f"f{i}"))
        open(paths[-1], "wb").write(b"x" * (10 * i + 1))
    # A torch-free function keeps the spawned workers' start-up short.
    assert dict(run_parallel(os.path.getsize, paths, 2, "sizes")) == {i: 10 * i + 1 for i in range(5)}
