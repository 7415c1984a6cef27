"""The checks agree with what fails later (issue 18): tools/check_dataset.py --decode reports a truncated
video (frames decoded of the frames its container states) and passes what the loader reads (a one-frame
video, a still image); tools/prepare_kinetics.py lists each real video once however its source tree links
back into itself, and a name with a space is included after --short-side, as its message promises."""
import os
import re

import numpy as np
import pytest
from PIL import Image

from slowfast.data_prep.check_kinetics import check_kinetics_csv
from slowfast.data_prep.kinetics import prepare_kinetics
from slowfast.datasets.decoder import sample_clip, sample_clip_pyslowfast
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.datasets.video_encode import write_video


def frames(n, seed=0):
    return np.random.RandomState(seed).randint(0, 255, (n, 32, 32, 3), dtype=np.uint8)


def video(path, n=4, seed=0, **kw):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    write_video(str(path), frames(n, seed), 30, **kw)
    return str(path)


def checked(tmp_path, path):
    """The --decode problems of a one-video split file listing ``path``."""
    csv = tmp_path / "test.csv"
    csv.write_text(f"{path} 0\n")
    return check_kinetics_csv(str(csv), 2, decode=True)


def loader_reads_every_view(path):
    try:
        for sampler in (sample_clip_pyslowfast, sample_clip):
            for view in range(3):
                sampler(path, view, 3, 8, 2, 30)
    except VideoDecodeError:
        return False
    return True


def test_a_truncated_h264_video_is_reported_with_frames_decoded_of_expected(tmp_path):
    full = video(tmp_path / "full.mp4", n=120, gop=10, container_options={"movflags": "faststart"})
    data = open(full, "rb").read()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 3 // 10])  # the header (moov first) states 120 frames; the data stops early
    assert checked(tmp_path, full) == []
    assert not loader_reads_every_view(str(cut))  # the test loop would drop views of it
    (problem,) = checked(tmp_path, str(cut))
    assert problem.kind == "truncated_video" and problem.line == 1 and str(cut) in problem.message
    decoded = int(re.search(r"(\d+) of 120 frames decode", problem.message).group(1))
    assert 0 < decoded < 120


@pytest.mark.parametrize("name", ["one_frame.mp4", "still.jpg"])
def test_a_one_frame_video_passes_the_checker_iff_the_loader_reads_it(tmp_path, name):
    path = str(tmp_path / name)
    if name.endswith(".jpg"):
        Image.fromarray(frames(1)[0]).save(path)
    else:
        video(path, n=1)
    reads = loader_reads_every_view(path)
    assert reads  # each view repeats the one frame
    assert (checked(tmp_path, path) == []) == reads


def test_a_symlink_loop_in_the_source_tree_lists_each_video_once(tmp_path):
    src, ext = tmp_path / "src", tmp_path / "elsewhere"
    video(src / "train/abseiling/a.mp4", seed=1)
    video(src / "train/bowling/b.mp4", seed=2)
    video(ext / "c.mp4", seed=3)
    os.symlink("..", src / "train/abseiling/loop")  # -> train/: a loop that reaches the other classes
    os.symlink("../..", src / "train/bowling/up")  # -> src/
    os.symlink(str(ext), src / "train/cooking")  # a link farm: followed
    os.symlink(str(ext), ext / "self")  # a loop outside the tree
    os.symlink("../abseiling/a.mp4", src / "train/bowling/a_again.mp4")  # one real file, two names
    out = tmp_path / "out"
    summary = prepare_kinetics(str(out), src=str(src), workers=1)
    rows = sorted((out / "train.csv").read_text().split("\n")[:-1])
    names = [os.path.basename(r.split()[0]) for r in rows]
    assert names == ["a.mp4", "b.mp4", "c.mp4"], rows
    labels = {os.path.basename(r.split()[0]): int(r.split()[1]) for r in rows}
    assert labels == {"a.mp4": 0, "b.mp4": 1, "c.mp4": 2}
    assert summary["videos"]["train"] == 3
    bad = (out / "bad_videos.txt").read_text()
    assert "a_again.mp4\tthe same file as" in bad


def test_a_name_with_a_space_is_included_after_short_side(tmp_path):
    src = tmp_path / "src"
    video(src / "train/abseiling/my clip.mp4")
    plain = tmp_path / "plain"
    prepare_kinetics(str(plain), src=str(src), workers=1)
    assert "re-encode with --short-side" in (plain / "bad_videos.txt").read_text()
    out = tmp_path / "out"
    summary = prepare_kinetics(str(out), src=str(src), short_side=16, workers=1)
    assert (out / "train.csv").read_text() == "videos/train/abseiling/my_clip.mp4 0\n"
    assert summary["bad_videos"] == 0 and (out / "videos/train/abseiling/my_clip.mp4").is_file()
