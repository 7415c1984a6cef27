"""Specification of the synthetic Kinetics-format motion dataset (slowfast.datasets.synthetic)."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from slowfast.datasets import synthetic
from slowfast.datasets.decoder import decode_window
from slowfast.datasets.video_container import get_video_info
from slowfast.datasets.synthetic import (
    SPEED_PER_64PX,
    class_velocity,
    ensure_kinetics_synthetic,
    make_kinetics_synthetic,
    render_moving_disc,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=12, num_workers=1)


def read_csv(path):
    with open(path) as f:
        return [(rel, int(label)) for rel, label in (line.split(" ") for line in f.read().splitlines())]


def decoded_video(root, relative):
    """All frames of a dataset video, ``T x H x W x 3`` uint8 numpy."""
    return decode_window(os.path.join(root, relative), 0.0, 1e6).frames.numpy()


def test_csvs_list_existing_decodable_videos_with_balanced_labels(tmp_path):
    csvs = make_kinetics_synthetic(str(tmp_path), seed=1, **TINY)
    assert sorted(csvs) == ["test", "train", "val"]
    train = read_csv(csvs["train"])
    assert [rel for rel, _ in train][:2] == ["videos/train/train_00000.mp4", "videos/train/train_00001.mp4"]
    assert np.bincount([label for _, label in train]).tolist() == [2, 2, 2, 2]
    for split in ("train", "val", "test"):
        for relative, label in read_csv(csvs[split]):
            info = get_video_info(os.path.join(str(tmp_path), relative))
            assert (info.num_frames, info.fps, info.width, info.height) == (12, 30.0, 32, 32)
            assert 0 <= label < 4


def test_the_synthetic_dataset_is_deterministic_by_seed(tmp_path):
    first = make_kinetics_synthetic(str(tmp_path / "a"), seed=7, **TINY)
    second = make_kinetics_synthetic(str(tmp_path / "b"), seed=7, **TINY)
    other = make_kinetics_synthetic(str(tmp_path / "c"), seed=8, **TINY)
    for split in ("train", "val", "test"):
        assert open(first[split], "rb").read() == open(second[split], "rb").read()
    relative = read_csv(first["train"])[3][0]
    same_a = decoded_video(str(tmp_path / "a"), relative)
    same_b = decoded_video(str(tmp_path / "b"), relative)
    assert np.array_equal(same_a, same_b)
    assert not np.array_equal(same_a, decoded_video(str(tmp_path / "c"), relative))


def estimated_velocity(video):
    """Mean per-frame displacement (vx, vy) of the moving disc in a ``T x S x S x 3`` video.

    The background is the temporal median (the disc covers any pixel less than
    half of the time); the disc's position is the circular mean of the pixels
    that differ from it, because the disc wraps around the frame edges.
    """
    size = video.shape[1]
    background = np.median(video, axis=0)
    moving = np.abs(video.astype(np.float32) - background).sum(axis=3) > 60
    phase = np.exp(2j * np.pi * np.arange(size) / size)
    positions = []
    for mask in moving:
        ys, xs = np.nonzero(mask)
        positions.append([np.angle(phase[xs].mean()), np.angle(phase[ys].mean())])
    steps = np.diff(np.array(positions), axis=0)
    steps = (steps + np.pi) % (2 * np.pi) - np.pi  # wrap to the shortest way round
    return steps.mean(axis=0) * size / (2 * np.pi)


@pytest.fixture(scope="module")
def motion_dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("motion"))
    csvs = make_kinetics_synthetic(
        root, num_classes=4, num_train=32, num_val=0, num_test=0, size=32, num_frames=45, seed=3, num_workers=1
    )
    return root, read_csv(csvs["train"])


def test_classes_differ_by_motion_that_frame_differences_reveal(motion_dataset):
    root, videos = motion_dataset
    for relative, label in videos:
        expected = np.array(class_velocity(label, 4, 32))
        assert np.abs(estimated_velocity(decoded_video(root, relative)) - expected).max() < 0.25, relative


def test_appearance_does_not_depend_on_the_class():
    # Same random draws, different class velocity: identical first frames.
    first_frames = [
        render_moving_disc(np.random.default_rng(11), 32, 3, class_velocity(label, 4, 32))[0] for label in range(4)
    ]
    assert all(np.array_equal(first_frames[0], frame) for frame in first_frames[1:])


def test_a_single_frame_does_not_reveal_the_class(motion_dataset):
    root, videos = motion_dataset
    per_class = {label: [] for label in range(4)}
    for relative, label in videos:
        per_class[label].append(decoded_video(root, relative)[0].astype(np.float32).mean())
    class_means = [np.mean(v) for v in per_class.values()]
    standard_error = np.mean([np.std(v) / np.sqrt(len(v)) for v in per_class.values()])
    assert max(class_means) - min(class_means) < 5 * standard_error  # differences are sampling noise


def test_more_classes_add_speeds_to_the_four_directions():
    velocities = [class_velocity(label, 8, 64) for label in range(8)]
    speeds = [math.hypot(*v) for v in velocities]
    assert speeds[:4] == pytest.approx([SPEED_PER_64PX] * 4) and speeds[4:] == pytest.approx([2 * SPEED_PER_64PX] * 4)
    assert len({(round(vx, 6), round(vy, 6)) for vx, vy in velocities}) == 8


def test_ensure_generates_only_when_train_csv_is_absent(tmp_path, monkeypatch):
    out = str(tmp_path / "data")
    csvs = ensure_kinetics_synthetic(out, seed=0, **TINY)
    assert os.path.isfile(csvs["train"])

    def must_not_run(*args, **kwargs):
        raise AssertionError("regenerated an existing dataset")

    monkeypatch.setattr(synthetic, "make_kinetics_synthetic", must_not_run)
    assert ensure_kinetics_synthetic(out, seed=0, **TINY) == csvs


def test_a_crash_during_generation_leaves_no_half_dataset(tmp_path, monkeypatch):
    out = tmp_path / "data"

    def crash(directory, **kwargs):
        open(os.path.join(directory, "val.csv"), "w").close()
        raise RuntimeError("disk full")

    monkeypatch.setattr(synthetic, "make_kinetics_synthetic", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        ensure_kinetics_synthetic(str(out), **TINY)
    assert os.listdir(tmp_path) == []  # neither the dataset nor its temporary directory


def test_the_cli_runs_from_the_repo_root_without_installing_the_package(tmp_path):
    out = tmp_path / "cli"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, "tools/make_synthetic_data.py", "--dataset", "kinetics", "--out", str(out),
            "--num-train", "4", "--num-val", "2", "--num-test", "2", "--size", "32", "--num-frames", "10", "--seed", "5"]
    result = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [len(read_csv(out / f"{s}.csv")) for s in ("train", "val", "test")] == [4, 2, 2]
