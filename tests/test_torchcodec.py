"""DATA.DECODING_BACKEND torchcodec: the same frame indices and pixels as the PyAV path (both temporal
samplings, training and test views) on real encoded videos (the synthetic Kinetics set, a variable frame
rate MP4 / MKV, NTSC, MPEG-4 in AVI, VP9 in WebM, a video shorter than a clip), from a path or from bytes;
the same test scores end to end; and one-line errors when TorchCodec, its FFmpeg libraries or CUDA are
missing. Tests that decode skip with the reason when TorchCodec cannot load here."""
import json
import os
import sys
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.datasets import decoder, torchcodec_decoder
from slowfast.datasets.decoding import check_decoding, clip_sampler
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.datasets.video_container import VideoBytes, VideoDecodeError
from slowfast.datasets.video_encode import codec_available, default_codec, write_video

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
try:
    torchcodec_decoder.load_torchcodec()
    UNUSABLE = None
except torchcodec_decoder.TorchCodecUnavailable as err:  # not installed, or no FFmpeg libraries
    UNUSABLE = str(err)
needs_torchcodec = pytest.mark.skipif(UNUSABLE is not None, reason=f"TorchCodec cannot decode here: {UNUSABLE}")

SAMPLERS = {"pyslowfast": (decoder.sample_clip_pyslowfast, torchcodec_decoder.sample_clip_pyslowfast),
            "timestamps": (decoder.sample_clip, torchcodec_decoder.sample_clip)}
# Clip shapes: (frames, sampling rate) a SlowFast 8x8 / 4x16-style clip, a short one, one longer than some videos.
CLIPS = [(8, 8), (4, 2), (32, 2)]


def noise_frames(n: int, height: int = 32, width: int = 48, seed: int = 1) -> np.ndarray:
    """Frames that all differ, so equal pixels mean equal frame indices."""
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


def write_vfr(path: str, frames: np.ndarray, steps_ms) -> None:
    """A variable-frame-rate video: frame i shown for steps_ms[i % len] milliseconds."""
    with av.open(path, "w") as container:
        stream = container.add_stream(default_codec(), rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.codec_context.time_base = stream.time_base = Fraction(1, 1000)
        t = 0
        for i, array in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(array, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            t += steps_ms[i % len(steps_ms)]
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("kinetics") / "data")
    make_kinetics_synthetic(d, num_classes=4, num_train=8, num_val=2, num_test=4, size=32, num_frames=40, seed=0,
                            num_workers=1)
    return d


@pytest.fixture(scope="module")
def odd_videos(tmp_path_factory):
    """name -> path: variable frame rate (MP4, MKV), NTSC 29.97, 25 fps MKV, MPEG-4 AVI, VP9 WebM, 6 frames."""
    d = tmp_path_factory.mktemp("odd")
    frames = noise_frames(50)
    paths = {name: str(d / name) for name in ("vfr.mp4", "vfr.mkv", "ntsc.mp4", "p25.mkv", "short.mp4", "m4.avi")}
    write_vfr(paths["vfr.mp4"], frames, [20, 50, 33, 90])
    write_vfr(paths["vfr.mkv"], frames, [20, 50, 33, 90])
    write_video(paths["ntsc.mp4"], frames, Fraction(30000, 1001))
    write_video(paths["p25.mkv"], frames, 25)
    write_video(paths["short.mp4"], frames[:6], 30)
    if codec_available("mpeg4"):
        write_video(paths["m4.avi"], frames, 30, codec="mpeg4")
    if codec_available("libvpx-vp9"):
        paths["vp9.webm"] = str(d / "vp9.webm")
        write_video(paths["vp9.webm"], frames[:20], 30, codec="libvpx-vp9")
    return {name: p for name, p in paths.items() if os.path.isfile(p)}


def assert_same_clips(source, sampling: str, clip_idx: int, num_clips: int = 3, seed: int = 0) -> int:
    """Both backends' clips for every CLIPS shape are identical (same rng seed for random windows)."""
    pyav, torchcodec = SAMPLERS[sampling]
    for num_frames, rate in CLIPS:
        a = pyav(source, clip_idx, num_clips, num_frames, rate, 30, rng=torch.Generator().manual_seed(seed))
        b = torchcodec(source, clip_idx, num_clips, num_frames, rate, 30, rng=torch.Generator().manual_seed(seed))
        assert b.dtype == torch.uint8 and b.shape == a.shape == (num_frames, *a.shape[1:3], 3)
        diff = (a.int() - b.int()).abs().max().item()
        assert diff == 0, f"{source} {sampling} clip {clip_idx} ({num_frames}x{rate}): max |PyAV - TorchCodec| {diff}"
    return a.shape[0]


def synthetic_videos(data_dir):
    return sorted(os.path.join(root, f) for root, _, files in os.walk(os.path.join(data_dir, "videos")) for f in files)


@needs_torchcodec
@pytest.mark.parametrize("sampling", list(SAMPLERS))
def test_torchcodec_gives_pyav_s_frames_on_the_synthetic_videos_train_and_test_views(data_dir, sampling):
    videos = [v for v in synthetic_videos(data_dir) if "/test/" in v] + [v for v in synthetic_videos(data_dir) if "/train/" in v][:2]
    assert len(videos) == 6 and "/train/" in videos[-1]
    for i, path in enumerate(videos):
        assert_same_clips(path, sampling, -1, seed=i)  # training: a random window, same draws
        for clip_idx in range(3):  # the test protocol's windows
            assert_same_clips(path, sampling, clip_idx)


@needs_torchcodec
@pytest.mark.parametrize("sampling", list(SAMPLERS))
def test_variable_frame_rate_other_containers_and_a_short_video_give_pyav_s_frames(odd_videos, sampling):
    assert {"vfr.mp4", "vfr.mkv", "short.mp4"} <= set(odd_videos)
    for name, path in odd_videos.items():
        for clip_idx in (-1, 0, 2):
            assert_same_clips(path, sampling, clip_idx)


@needs_torchcodec
def test_frames_are_distinct_so_equal_pixels_mean_equal_indices(odd_videos):
    """The noise videos' frames all differ: the equality above is one of frame indices, not of look-alikes."""
    with av.open(odd_videos["vfr.mp4"]) as c:
        frames = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])
    flat = frames.reshape(len(frames), -1).astype(np.int16)
    gaps = np.abs(flat[:, None] - flat[None]).max(-1)
    assert gaps[~np.eye(len(frames), dtype=bool)].min() > 50
    # The VFR stream really is variable: PySlowFast's fps (avg_frame_rate) differs from r_frame_rate.
    with av.open(odd_videos["vfr.mp4"]) as c:
        assert c.streams.video[0].average_rate != c.streams.video[0].base_rate


@needs_torchcodec
def test_a_video_shorter_than_the_clip_is_padded_with_its_last_frame(odd_videos):
    clip = torchcodec_decoder.sample_clip_pyslowfast(odd_videos["short.mp4"], 0, 1, 8, 8, 30)
    with av.open(odd_videos["short.mp4"]) as c:
        last = torch.from_numpy(list(c.decode(video=0))[-1].to_ndarray(format="rgb24"))
    assert torch.equal(clip[-1], last) and torch.equal(clip[-2], last)


@needs_torchcodec
@pytest.mark.parametrize("backend", ["pyav", "torchcodec"])
def test_bytes_and_path_give_the_same_frames_for_both_backends(odd_videos, backend, tmp_path):
    cfg = load_config(TINY, ["DATA.DECODING_BACKEND", backend, "DATA.TEMPORAL_SAMPLING", "pyslowfast",
                             "OUTPUT_DIR", str(tmp_path)])
    sample = clip_sampler(cfg)
    path = odd_videos["vfr.mp4"]
    data = open(path, "rb").read()
    for clip_idx in range(3):
        from_path = sample(path, clip_idx, 3, 8, 4, 30)
        assert torch.equal(sample(data, clip_idx, 3, 8, 4, 30), from_path)
        assert torch.equal(sample(VideoBytes(data, "shard-000001.tar:vfr"), clip_idx, 3, 8, 4, 30), from_path)


@needs_torchcodec
@pytest.mark.parametrize("backend", ["pyav", "torchcodec"])
def test_a_corrupt_video_raises_video_decode_error_naming_it(odd_videos, backend, tmp_path):
    cfg = load_config(TINY, ["DATA.DECODING_BACKEND", backend, "OUTPUT_DIR", str(tmp_path)])
    sample = clip_sampler(cfg)
    data = open(odd_videos["ntsc.mp4"], "rb").read()
    with pytest.raises(VideoDecodeError, match=r"shard-000007\.tar:clip42"):
        sample(VideoBytes(data[: len(data) // 5], "shard-000007.tar:clip42"), 0, 1, 8, 8, 30)
    with pytest.raises(VideoDecodeError, match=r"<in-memory video>"):
        sample(b"not a video" * 100, 0, 1, 8, 8, 30)
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 4096)
    with pytest.raises(VideoDecodeError, match=r"junk\.mp4"):
        sample(str(tmp_path / "junk.mp4"), 0, 1, 8, 8, 30)
    with pytest.raises(VideoDecodeError, match=r"missing\.mp4.*no such file"):
        sample(str(tmp_path / "missing.mp4"), 0, 1, 8, 8, 30)


@needs_torchcodec
def test_the_tiny_quick_start_gives_identical_test_scores_with_pyav_and_torchcodec(data_dir, tmp_path):
    """Trained and tested with TorchCodec's clips, then tested from that checkpoint with PyAV's: the scores of
    every video (2 clips x 3 crops each) are equal, bit for bit."""
    from slowfast import checkpoint as cu
    from slowfast.apps.run_net import main

    def run(out, *opts):
        assert main(["--cfg", TINY, "DATA.PATH_TO_DATA_DIR", data_dir, "DATA.GENERATE_SYNTHETIC", "False",
                     "OUTPUT_DIR", str(out), "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4",
                     "DATA_LOADER.NUM_WORKERS", "0", "SOLVER.MAX_EPOCH", "1", "SOLVER.WARMUP_EPOCHS", "0.5",
                     "LOG_MODEL_INFO", "False", "TRAIN.EVAL_PERIOD", "9", *opts]) == 0
        return out

    runs = {"torchcodec": run(tmp_path / "torchcodec", "DATA.DECODING_BACKEND", "torchcodec")}
    weights = cu.checkpoint_path(str(runs["torchcodec"]), 1)
    runs["pyav"] = run(tmp_path / "pyav", "DATA.DECODING_BACKEND", "pyav", "TRAIN.ENABLE", "False",
                       "TEST.CHECKPOINT_FILE_PATH", weights)
    scores = {backend: np.load(out / "test_scores.npz")["scores"] for backend, out in runs.items()}
    assert scores["pyav"].shape == (4, 4) and np.isfinite(scores["pyav"]).all()
    np.testing.assert_array_equal(scores["torchcodec"], scores["pyav"])


# ------------------------------------------------------------------------------------------- bad input
def cfg_with(tmp_path, *opts):
    return load_config(TINY, ["OUTPUT_DIR", str(tmp_path), *opts])


def test_torchcodec_not_installed_is_one_line_naming_what_to_install(tmp_path, monkeypatch, capsys):
    from slowfast.apps.run_net import main

    monkeypatch.setitem(sys.modules, "torchcodec", None)  # `import torchcodec` raises ImportError
    with pytest.raises(ConfigError, match=r"DATA.DECODING_BACKEND torchcodec: TorchCodec is not installed .*"
                                          r"pip install -e \.\[torchcodec\].*libavcodec59"):
        check_decoding(cfg_with(tmp_path, "DATA.DECODING_BACKEND", "torchcodec"))
    assert main(["--cfg", TINY, "OUTPUT_DIR", str(tmp_path / "run"), "DATA.DECODING_BACKEND", "torchcodec"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("config error: DATA.DECODING_BACKEND torchcodec: TorchCodec is not installed")
    assert "Traceback" not in "\n".join(err)
    check_decoding(cfg_with(tmp_path))  # the default backend needs nothing more


@needs_torchcodec
def test_missing_ffmpeg_libraries_are_one_line_naming_the_packages(tmp_path, monkeypatch):
    import torchcodec

    monkeypatch.setattr(torchcodec, "ffmpeg_major_version", None)  # what torchcodec reports without FFmpeg
    with pytest.raises(ConfigError, match=r"DATA.DECODING_BACKEND torchcodec: .*found no FFmpeg libraries.*"
                                          r"libavcodec59 libavformat59 libavutil57"):
        clip_sampler(cfg_with(tmp_path, "DATA.DECODING_BACKEND", "torchcodec"))


@needs_torchcodec
def test_decoding_device_cuda_without_cuda_is_a_config_error(tmp_path, monkeypatch, capsys):
    from slowfast.apps.run_net import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"DATA.DECODING_DEVICE cuda: CUDA is not available"):
        clip_sampler(cfg_with(tmp_path, "DATA.DECODING_BACKEND", "torchcodec", "DATA.DECODING_DEVICE", "cuda"))
    assert main(["--cfg", TINY, "OUTPUT_DIR", str(tmp_path / "run"), "DATA.DECODING_BACKEND", "torchcodec",
                 "DATA.DECODING_DEVICE", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("config error: DATA.DECODING_DEVICE cuda: CUDA is not available")


def test_decoding_device_cuda_needs_the_torchcodec_backend_and_values_are_checked_at_load_time(tmp_path, capsys):
    from slowfast.apps.run_net import main

    with pytest.raises(ConfigError, match=r"DATA.DECODING_DEVICE cuda needs DATA.DECODING_BACKEND torchcodec"):
        clip_sampler(cfg_with(tmp_path, "DATA.DECODING_DEVICE", "cuda"))
    assert main(["--cfg", TINY, "OUTPUT_DIR", str(tmp_path / "run"), "DATA.DECODING_DEVICE", "cuda"]) == 2
    assert capsys.readouterr().err.startswith("config error: DATA.DECODING_DEVICE cuda needs DATA.DECODING_BACKEND")
    with pytest.raises(ConfigError, match=r"DATA.DECODING_BACKEND is 'opencv'; choose one of \['pyav', 'torchcodec'\]"):
        cfg_with(tmp_path, "DATA.DECODING_BACKEND", "opencv")
    with pytest.raises(ConfigError, match=r"DATA.DECODING_DEVICE is 'gpu'; choose one of \['cpu', 'cuda'\]"):
        cfg_with(tmp_path, "DATA.DECODING_DEVICE", "gpu")


@needs_torchcodec
def test_the_decode_benchmark_times_both_backends_on_the_same_clips(odd_videos):
    from slowfast.reports.benchmark_decode import time_clips

    result = time_clips([odd_videos["vfr.mp4"], odd_videos["ntsc.mp4"]], 2, "cpu")
    assert set(result) == {"pyav", "torchcodec (cpu)"}
    assert all(r["clips"] == 2 and 0 < r["median_ms"] <= r["p90_ms"] for r in result.values())


# 10-bit video is where the two FFmpeg builds disagree: PyAV's bundled swscale and TorchCodec's conversion of
# yuv420p10le to RGB differ (measured 2026-12-06 on this 64x48 clip: max 58-63, mean 10.8-10.9 grey levels of
# 255; every 8-bit format tested, yuv420p / yuv444p / yuvj420p / yuvj422p, is identical). The frames picked are
# still the same.
TEN_BIT_MAX_DIFF, TEN_BIT_MEAN_DIFF = 80, 16.0


@needs_torchcodec
def test_ten_bit_video_same_frames_pixels_within_the_stated_tolerance(tmp_path):
    from slowfast.reports.benchmark_media import render_frames

    path = str(tmp_path / "ten_bit.mp4")
    try:
        with av.open(path, "w") as container:
            stream = container.add_stream("libx264", rate=30, options={"crf": "18", "threads": "1"})
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p10le"
            for i, array in enumerate(render_frames(30, 64, 48)):
                frame = av.VideoFrame.from_ndarray(array, format="rgb24").reformat(format="yuv420p10le")
                frame.pts = i
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    except (av.FFmpegError, ValueError) as err:
        pytest.skip(f"this PyAV build cannot encode 10-bit H.264 ({err})")
    with av.open(path) as c:
        every = torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])).int()
    for clip_idx in range(3):
        a = decoder.sample_clip_pyslowfast(path, clip_idx, 3, 8, 2, 30).int()
        b = torchcodec_decoder.sample_clip_pyslowfast(path, clip_idx, 3, 8, 2, 30).int()
        nearest = lambda clip: [int((every - f).abs().flatten(1).float().mean(1).argmin()) for f in clip]  # noqa: E731
        assert nearest(b) == nearest(a)  # the same frame indices
        diff = (a - b).abs().float()
        print(f"10-bit clip {clip_idx}: max {diff.max():.0f}, mean {diff.mean():.2f} grey levels")
        assert diff.max() <= TEN_BIT_MAX_DIFF and diff.mean() <= TEN_BIT_MEAN_DIFF, (diff.max(), diff.mean())


@needs_torchcodec
def test_nvdec_decoding_workers_are_spawned_not_forked(data_dir, tmp_path, monkeypatch):
    """CUDA cannot run in a forked process: with DATA.DECODING_DEVICE cuda the loader's workers are spawned.
    (Only the loader's set-up runs here; NVDEC itself needs a GPU and was not measured.)"""
    from slowfast.datasets.build import build_loader

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    opts = ["DATA.PATH_TO_DATA_DIR", data_dir, "DATA.GENERATE_SYNTHETIC", "False", "DATA.DECODING_BACKEND", "torchcodec",
            "DATA_LOADER.NUM_WORKERS", "2", "TRAIN.BATCH_SIZE", "4", "DATA_LOADER.PIN_MEMORY", "False"]
    loader = build_loader(cfg_with(tmp_path, *opts, "DATA.DECODING_DEVICE", "cuda"), "train")
    assert loader.multiprocessing_context.get_start_method() == "spawn"
    assert loader.dataset.sample_clip.keywords == {"device": "cuda"}
    assert build_loader(cfg_with(tmp_path, *opts), "train").multiprocessing_context is None  # CPU: as before


@needs_torchcodec
def test_the_dataset_replaces_or_leaves_out_a_video_torchcodec_cannot_read(data_dir, tmp_path):
    """As with PyAV: a corrupt training video is replaced by another (and counted), a test view of one is left
    out (failed) instead of stopping the run."""
    from slowfast.datasets.build import build_dataset

    good = [v for v in synthetic_videos(data_dir) if "/test/" in v][0]
    (tmp_path / "junk.mp4").write_bytes(open(good, "rb").read()[:2000])
    for split in ("train", "test"):
        (tmp_path / f"{split}.csv").write_text(f"{tmp_path / 'junk.mp4'} 0\n{good} 1\n")
    opts = ["DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False", "DATA.DECODING_BACKEND",
            "torchcodec", "DATA.NUM_FRAMES", "8", "MODEL.NUM_CLASSES", "4"]
    torch.manual_seed(0)
    train = build_dataset("kinetics", cfg_with(tmp_path, *opts), "train")
    _, label, video, extra = train[0]
    assert extra["retries"] >= 1 and video == 1 and label == 1 and not extra["failed"]
    test = build_dataset("kinetics", cfg_with(tmp_path, *opts), "test")
    assert test[0][3]["failed"] and not test[test.views_per_video][3]["failed"]
