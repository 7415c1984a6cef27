"""Specification of PyAV window decoding and clip sampling (slowfast.datasets.decoder).

Test videos are encoded here with PyAV.  Every frame shows its own index as two
flat grey halves (left: index % 60, right: index // 60, in steps of 4 grey
levels), which survives lossy compression, so a decoded frame tells which
source frame it is.
"""
from fractions import Fraction

import numpy as np
import pytest
import torch

from slowfast.datasets.decoder import decode_window, sample_clip
from slowfast.datasets.video_container import VideoDecodeError, _scan_packets, get_video_info, open_video
from slowfast.datasets.video_encode import codec_available, write_video

NTSC = Fraction(30000, 1001)

# (codec, extension): the container formats Kinetics-style data comes in.  WebM
# and Matroska store no per-stream frame count or duration; MPEG-TS starts at a
# non-zero timestamp and its demuxer seeks past the requested time.
FORMATS = [
    ("libx264", "mp4"),
    ("mpeg4", "mp4"),
    ("mpeg4", "avi"),
    ("libvpx-vp9", "webm"),
    ("libx264", "mkv"),
    ("libx264", "ts"),
]


def index_coded_frames(num_frames, width, height):
    """``T x H x W x 3`` uint8 frames whose grey levels encode their index."""
    frames = np.zeros((num_frames, height, width, 3), np.uint8)
    for i in range(num_frames):
        frames[i, :, : width // 2] = 8 + 4 * (i % 60)
        frames[i, :, width // 2 :] = 8 + 4 * (i // 60)
    return frames


def frame_indices(frames):
    """Read back the indices from decoded ``T x H x W x 3`` frames (tolerates codec noise)."""
    width = frames.shape[2]
    left = frames[:, 2:-2, 2 : width // 2 - 2].float().mean(dim=(1, 2, 3))
    right = frames[:, 2:-2, width // 2 + 2 : -2].float().mean(dim=(1, 2, 3))
    return (((left - 8) / 4).round() + 60 * ((right - 8) / 4).round()).long().tolist()


def make_video(tmp_path, codec="libx264", ext="mp4", num_frames=60, fps=30, width=32, height=32, gop=10, **kw):
    if not codec_available(codec):
        pytest.skip(f"this PyAV build cannot encode {codec}")
    path = str(tmp_path / f"v_{codec}_{width}x{height}_{num_frames}.{ext}")
    write_video(path, index_coded_frames(num_frames, width, height), fps, codec=codec, gop=gop, **kw)
    return path


@pytest.mark.parametrize("codec,ext", FORMATS)
@pytest.mark.parametrize("fps,width,height", [(30, 32, 32), (25, 71, 53), (NTSC, 71, 53)])
def test_metadata_and_every_frame_decode_for_each_format_rate_and_odd_size(tmp_path, codec, ext, fps, width, height):
    path = make_video(tmp_path, codec, ext, num_frames=40, fps=fps, width=width, height=height)
    info = get_video_info(path)
    assert info.fps == pytest.approx(float(fps), rel=1e-3)
    assert info.num_frames == 40
    assert info.duration == pytest.approx(40 / float(fps), rel=1e-3)
    assert (info.width, info.height) == (width, height)
    window = decode_window(path, 0.0, 10.0)
    assert window.frames.shape == (40, height, width, 3) and window.frames.dtype == torch.uint8
    assert frame_indices(window.frames) == list(range(40))
    assert window.timestamps.numpy() == pytest.approx(np.arange(40) / float(fps), abs=1e-3)


@pytest.mark.parametrize("codec,ext", FORMATS)
def test_a_window_holds_exactly_the_frames_shown_during_it(tmp_path, codec, ext):
    path = make_video(tmp_path, codec, ext, num_frames=90, fps=30, gop=10)
    window = decode_window(path, 1.01, 1.5)  # frame 30 is on screen at 1.01 s
    assert frame_indices(window.frames) == list(range(30, 46))
    assert window.timestamps.numpy() == pytest.approx(np.arange(30, 46) / 30, abs=1e-3)


def test_decoding_a_window_decodes_far_fewer_frames_than_the_whole_video(tmp_path):
    path = make_video(tmp_path, num_frames=300, fps=30, gop=15)
    window = decode_window(path, 6.0, 6.5)  # 16 frames, key frames every 0.5 s
    assert frame_indices(window.frames) == list(range(180, 196))
    assert window.num_decoded <= 15 + 16 + 1  # seek slack + window + the frame that ends it
    assert decode_window(path, 0.0, 10.0).num_decoded == 300


def test_the_packet_scan_fallback_agrees_with_the_metadata(tmp_path):
    path = make_video(tmp_path, "libvpx-vp9", "webm", num_frames=45, fps=25)
    with open_video(path) as container:
        scanned = _scan_packets(container, container.streams.video[0], fps=None)
    assert scanned == get_video_info(path)


def test_an_open_container_can_serve_several_windows(tmp_path):
    path = make_video(tmp_path, num_frames=90)
    with open_video(path) as container:
        late = decode_window(container, 2.0, 2.2)
        early = decode_window(container, 0.0, 0.2)
    assert frame_indices(late.frames) == list(range(60, 67))
    assert frame_indices(early.frames) == list(range(0, 7))


def test_test_clips_sample_every_sampling_rate_th_frame_and_the_first_and_last_touch_the_ends(tmp_path):
    path = make_video(tmp_path, num_frames=90, fps=30)
    clips = [frame_indices(sample_clip(path, i, 3, num_frames=8, sampling_rate=4)) for i in range(3)]
    assert clips[0] == list(range(0, 32, 4))
    assert clips[1] == list(range(29, 61, 4))
    assert clips[2] == list(range(58, 90, 4))


def test_a_training_clip_is_a_random_window_with_the_requested_stride(tmp_path):
    path = make_video(tmp_path, num_frames=90, fps=30)
    starts = set()
    for seed in range(6):
        frames = sample_clip(path, -1, 1, num_frames=4, sampling_rate=5, rng=torch.Generator().manual_seed(seed))
        index = frame_indices(frames)
        assert np.diff(index).tolist() == [5, 5, 5]
        assert 0 <= index[0] and index[-1] < 90
        starts.add(index[0])
    assert len(starts) > 1


def test_a_2_second_video_shorter_than_the_64_frame_window_is_padded_not_dropped(tmp_path):
    path = make_video(tmp_path, num_frames=60, fps=30)
    frames = sample_clip(path, -1, 1, num_frames=32, sampling_rate=2, rng=torch.Generator().manual_seed(0))
    assert frames.shape == (32, 32, 32, 3)
    assert frame_indices(frames) == list(range(0, 60, 2)) + [59, 59]


@pytest.mark.parametrize("fps,num_frames", [(25, 50), (NTSC, 60)])
def test_other_frame_rates_are_resampled_to_the_target_fps(tmp_path, fps, num_frames):
    path = make_video(tmp_path, num_frames=num_frames, fps=fps)
    frames = sample_clip(path, 0, 1, num_frames=10, sampling_rate=3, target_fps=30)
    grid_len = int(num_frames / float(fps) * 30 + 1e-6)
    start = (grid_len - 30) // 2
    wanted_sec = (start + 3 * np.arange(10)) / 30
    got_sec = np.array(frame_indices(frames)) / float(fps)
    assert np.abs(got_sec - wanted_sec).max() <= 0.5 / float(fps) + 1e-6  # the nearest frame in time


def test_a_missing_file_raises_video_decode_error_naming_the_path(tmp_path):
    path = str(tmp_path / "nope.mp4")
    with pytest.raises(VideoDecodeError, match="nope.mp4") as err:
        sample_clip(path, 0, 1, 8, 2)
    assert err.value.path == path


def test_a_corrupt_file_raises_video_decode_error_naming_the_path(tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="garbage.mp4"):
        get_video_info(str(path))


@pytest.mark.parametrize("index_at", ["end", "start"])
def test_a_truncated_file_raises_video_decode_error_naming_the_path(tmp_path, index_at):
    # The mp4 index (moov) is written last by default, first with faststart.
    muxer = {"movflags": "faststart"} if index_at == "start" else None
    source = make_video(tmp_path, num_frames=90, container_options=muxer)
    data = open(source, "rb").read()
    path = tmp_path / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match="truncated.mp4"):
        sample_clip(str(path), 2, 3, 8, 2)  # the last test clip lies in the missing half


def test_a_file_without_a_video_stream_raises_video_decode_error(tmp_path):
    import av

    path = str(tmp_path / "audio_only.wav")
    with av.open(path, "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(VideoDecodeError, match="no video stream"):
        decode_window(path, 0.0, 1.0)


def test_video_decode_error_survives_pickling_across_dataloader_workers():
    import pickle

    err = pickle.loads(pickle.dumps(VideoDecodeError("/data/x.mp4", "boom")))
    assert (err.path, err.reason) == ("/data/x.mp4", "boom")


@pytest.mark.parametrize("width,height,pix_fmt", [(34, 26, "yuv420p"), (33, 25, "yuv444p")])
def test_clip_rgb_conversion_is_pyav_to_ndarray_bit_for_bit(tmp_path, width, height, pix_fmt):
    """The shared-context conversion (one swscale context per clip, written straight into the clip array)
    gives exactly what `VideoFrame.to_ndarray(format="rgb24")` gives, repeated frames included."""
    import av

    from slowfast.datasets.decoder import _to_rgb_tensor

    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 256, (12, height, width, 3), dtype=np.uint8)  # textures exercise the chroma filter
    path = str(tmp_path / f"noise_{pix_fmt}.mp4")
    write_video(path, noisy, 30, codec="libx264" if codec_available("libx264") else "mpeg4", gop=4)
    with av.open(path) as container:
        frames = list(container.decode(video=0))
        index = [3, 0, 3, 7, 11, 11]
        got = _to_rgb_tensor(container, frames, index)
        want = np.stack([frames[i].to_ndarray(format="rgb24") for i in index])
    assert got.dtype == torch.uint8 and tuple(got.shape) == want.shape
    assert np.array_equal(got.numpy(), want)
