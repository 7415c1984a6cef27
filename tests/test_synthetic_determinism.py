"""Same seed, same bytes: tools/make_synthetic_data.py writes identical files on every run (issue 18).

The encoder runs in one thread and the RGB -> YUV conversion too (slowfast.datasets.video_encode);
PyAV's implicit conversion used one swscale thread per core, and some videos came out different.
"""
import os

import av
import numpy as np

from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.datasets.video_encode import DEFAULT_CODEC_OPTIONS


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def _pixels(path):
    with av.open(path) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_same_seed_gives_the_same_bytes_and_pixels(tmp_path):
    kwargs = dict(num_classes=2, num_train=6, num_val=2, num_test=2, size=32, num_frames=12, fps=10, seed=5,
                  num_workers=2)  # 10 videos: encoded by two worker processes
    make_kinetics_synthetic(str(tmp_path / "one"), **kwargs)
    make_kinetics_synthetic(str(tmp_path / "two"), **kwargs)
    files = _files(tmp_path / "one")
    assert files == _files(tmp_path / "two") and sum(f.endswith(".mp4") for f in files) == 10
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
        if name.endswith(".mp4"):
            np.testing.assert_array_equal(_pixels(str(tmp_path / "one" / name)), _pixels(str(tmp_path / "two" / name)))


def test_encoder_defaults_are_single_threaded():
    for options in DEFAULT_CODEC_OPTIONS.values():
        assert options["threads"] == "1"
    assert "threads=1" in DEFAULT_CODEC_OPTIONS["libx264"]["x264-params"]
