"""The Kinetics test protocol is PySlowFast's (issue 9): the same frames, pixels and head outputs.

Expected values are derived here, independently of our implementation, from the formulas of PySlowFast's
code (facebookresearch/SlowFast, files and functions named in each test); nothing here imports it.
"""
import functools
import math
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from slowfast.config import load_config
from slowfast.datasets import transforms as T
from slowfast.datasets.decoder import sample_clip_pyslowfast
from slowfast.datasets.sampling import pack_pathway_output, pathway_indices, reference_window
from slowfast.models import build_model

NTSC = Fraction(30000, 1001)
BITS = 8


def write_index_video(path, num_frames, fps, width=64, height=48, codec="libx264"):
    """Video whose frame i shows i in binary as BITS vertical bars (H.264: GOP 12, with B-frames)."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            s.options = {"g": "12", "crf": "10"}
        bar = width // BITS
        for i in range(num_frames):
            img = np.zeros((height, width, 3), np.uint8)
            for b in range(BITS):
                img[:, b * bar:(b + 1) * bar] = 255 if (i >> b) & 1 else 0
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return str(path)


def read_indices(frames):
    """Frame indices shown by `T x H x W x 3` frames of `write_index_video`."""
    bar = frames.shape[2] // BITS
    cols = frames[:, frames.shape[1] // 2, bar // 2::bar, 1][:, :BITS].long()
    return ((cols > 127).long() << torch.arange(BITS)).sum(1).tolist()


@functools.lru_cache(maxsize=None)
def stream_facts(path):
    """(stored frame count, stored duration, average rate, sorted frame timestamps) of a video."""
    with av.open(path) as c:
        st = c.streams.video[0]
        return st.frames, st.duration, Fraction(st.average_rate), tuple(sorted(f.pts for f in c.decode(st)))


def pyslowfast_test_clip_indices(path, clip_idx, num_clips, num_frames, rate, target_fps=30):
    """Frame indices of test clip `clip_idx`, from PySlowFast's formulas.

    slowfast/datasets/decoder.py, pyav_decode: clip_size = max(1, ceil(rate * (T - 1) / target_fps * fps)),
    get_start_end_idx(N = stream.frames, clip_size, clip_idx, num_clips): delta = max(N - clip_size, 0),
    start = delta * clip_idx / num_clips, end = start + clip_size - 1; timebase = duration / N, the range
    [int(start * timebase), int(end * timebase)] of timestamps; pyav_decode_stream keeps frames with pts in
    that range and the first one after it. decode() then calls get_start_end_idx(M decoded frames,
    rate * T / target_fps * fps, 0, 1) = (0, rate * T / target_fps * fps - 1), and temporal_sampling takes
    linspace(start, end, T), clamped to [0, M - 1], truncated (computed here in exact fractions)."""
    n, duration, fps, pts = stream_facts(path)
    # In double precision and in PySlowFast's order of operations: 2 * 31 / 30 * 30 = 62.00000000000001,
    # so a 30 fps clip of 32 x 2 frames decodes ceil(...) = 63 frames, not 62.
    size = max(1.0, math.ceil(rate * (num_frames - 1) / target_fps * float(fps)))
    start = max(n - size, 0) * clip_idx / num_clips
    end = start + size - 1
    start_pts, end_pts = int(start * (duration / n)), int(end * (duration / n))
    window = [i for i, p in enumerate(pts) if start_pts <= p <= end_pts]
    after = [i for i, p in enumerate(pts) if p > end_pts]
    window += after[:1]
    last = Fraction(rate * num_frames * float(fps) / target_fps) - 1
    picks = [min(math.floor(last * k / (num_frames - 1)), len(window) - 1) for k in range(num_frames)]
    return [window[0] + p for p in picks]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("rates")
    return {
        "25": write_index_video(d / "v25.mp4", 100, Fraction(25)),
        "29.97": write_index_video(d / "v2997.mp4", 110, NTSC),
        "30": write_index_video(d / "v30.mp4", 120, Fraction(30)),
        "short": write_index_video(d / "short.mp4", 40, Fraction(30)),  # 1.3 s < the 64-frame clip
    }


@pytest.mark.parametrize("rate", ["25", "29.97", "30", "short"])
def test_every_test_clip_takes_pyslowfasts_frames(videos, rate):
    """SlowFast 8x8 (32 frames at stride 2, 30 fps grid), 10 test clips: each takes exactly the frames
    PySlowFast's decoder takes, at 25, 29.97 and 30 fps and for a video shorter than one clip."""
    path = videos[rate]
    for clip_idx in range(10):
        got = read_indices(sample_clip_pyslowfast(path, clip_idx, 10, 32, 2, 30))
        assert got == pyslowfast_test_clip_indices(path, clip_idx, 10, 32, 2), (rate, clip_idx)


def test_clip_placement_examples():
    """get_start_end_idx in slowfast/datasets/decoder.py: the last of 10 clips starts at 9/10 of the spare
    frames (not at the end), a video shorter than the clip starts at 0."""
    assert reference_window(300, 62, 9, 10) == (pytest.approx(214.2), pytest.approx(275.2))
    assert reference_window(300, 62, 0, 10) == (0.0, 61.0)
    assert reference_window(40, 62, 5, 10) == (0.0, 61.0)


def test_short_video_is_padded_with_its_last_frame(videos):
    got = read_indices(sample_clip_pyslowfast(videos["short"], 3, 10, 32, 2, 30))
    assert got[:20] == [math.floor(k * 63 / 31) for k in range(20)] and got[-1] == 39 and len(got) == 32


def test_slow_pathway_takes_pyslowfasts_linspace_frames():
    """slowfast/datasets/utils.py, pack_pathway_output: Slow = Fast frames linspace(0, T - 1, T // alpha)
    truncated; for T = 32, alpha = 4: 0, 4, 8, 13, 17, 22, 26, 31."""
    expected = [math.floor(Fraction(31 * k, 7)) for k in range(8)]
    assert expected == [0, 4, 8, 13, 17, 22, 26, 31]
    assert pathway_indices(32, 4).tolist() == expected
    assert pathway_indices(64, 8).tolist() == [math.floor(Fraction(63 * k, 7)) for k in range(8)]
    clip = torch.arange(32.0).view(1, 32, 1, 1).expand(3, 32, 2, 2)
    slow, fast = pack_pathway_output(clip, 4, 2)
    assert slow[0, :, 0, 0].tolist() == expected and fast is clip


def test_short_side_resize_rounds_like_pyslowfast():
    """slowfast/datasets/transform.py, random_short_side_scale_jitter: long side
    int(floor(float(long) / short * size)), bilinear, align_corners False. 230 x 224 to 224 gives 229
    (230 / 224 * 224 = 229.99999999999997), not 230."""
    clip = torch.rand(3, 1, 224, 230)
    out, _ = T.short_side_scale(clip, 224)
    assert out.shape[2:] == (224, int(math.floor(float(230) / 224 * 224))) == (224, 229)
    clip = torch.rand(3, 2, 90, 60)
    out, _ = T.short_side_scale(clip, 40)
    assert out.shape[2:] == (60, 40)
    torch.testing.assert_close(out, F.interpolate(clip, size=(60, 40), mode="bilinear", align_corners=False))


@pytest.mark.parametrize("height,width", [(40, 57), (40, 40), (63, 40)])
def test_three_crops_sit_where_pyslowfast_puts_them(height, width):
    """slowfast/datasets/transform.py, uniform_crop: centred offsets ceil((side - size) / 2); crops 0 and 2
    start at 0 and at side - size along the long side (width when W >= H)."""
    size = 40
    rows = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1).expand(1, 1, height, width)
    cols = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width).expand(1, 1, height, width)
    clip = torch.cat([rows, cols])
    centre_y, centre_x = math.ceil((height - size) / 2), math.ceil((width - size) / 2)
    for idx in range(3):
        out, _ = T.uniform_crop(clip, size, idx)
        if width >= height:
            x = {0: 0, 1: centre_x, 2: width - size}[idx]
            y = centre_y
        else:
            y = {0: 0, 1: centre_y, 2: height - size}[idx]
            x = centre_x
        assert (out[0, 0, 0, 0].item(), out[1, 0, 0, 0].item()) == (y, x), idx


TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
# The tiny demo config trains from scratch with our sampling options; these tests restore PySlowFast's defaults.
TINY_OPTS = ["DATA.TEMPORAL_SAMPLING", "pyslowfast", "DATA.SLOW_PATHWAY_SAMPLING", "linspace", "DATA.VAL_VIEW", "random",
             "MODEL.HEAD_POOLING", "train_crop", "DATA.NUM_FRAMES", "8", "DATA.TRAIN_CROP_SIZE", "64", "DATA.TRAIN_JITTER_SCALES", "[64, 80]",
             "RESNET.WIDTH_PER_GROUP", "8", "MODEL.STEM_DIM", "8", "MODEL.NUM_CLASSES", "5"]


def tiny_cfg(*opts):
    return load_config(TINY, [*TINY_OPTS, *opts])


def test_head_at_a_test_size_larger_than_the_training_crop_averages_a_grid_of_softmax_scores():
    """slowfast/models/head_helper.py, ResNetBasicHead, with the pool sizes of video_model_builder.py
    (SlowFast._construct_network): AvgPool3d([T / alpha, crop / 32, crop / 32]) and
    ([T, crop / 32, crop / 32]), stride 1, on each pathway; concatenation; the linear layer at every
    position; softmax over classes; mean over the positions. Training crop 64 -> 2 x 2 kernel; a 96 test
    view gives 3 x 3 res5 maps, so 2 x 2 positions."""
    torch.manual_seed(0)
    model = build_model(tiny_cfg()).eval()
    with torch.no_grad():
        model.head.projection.weight.normal_(0, 0.2)
    feats = []
    model.head.register_forward_hook(lambda m, i, o: feats.append([x.clone() for x in i[0]]))
    fast = torch.randn(2, 3, 8, 96, 96)
    fast[..., :48, :] += 2.0  # top and bottom halves differ, so the four positions score differently
    with torch.no_grad():
        out = model([fast[:, :, ::4], fast])
    slow_f, fast_f = feats[0]
    assert slow_f.shape[2:] == (2, 3, 3) and fast_f.shape[2:] == (8, 3, 3)
    w, b = model.head.projection.weight, model.head.projection.bias
    scores = []
    for y in range(2):
        for x in range(2):
            v = torch.cat([slow_f[:, :, :, y:y + 2, x:x + 2].mean((2, 3, 4)), fast_f[:, :, :, y:y + 2, x:x + 2].mean((2, 3, 4))], 1)
            scores.append(torch.softmax(v @ w.T + b, dim=1))
    expected = torch.stack(scores).mean(0)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    globally = torch.softmax(torch.cat([slow_f.mean((2, 3, 4)), fast_f.mean((2, 3, 4))], 1) @ w.T + b, dim=1)
    assert (out - globally).abs().max() > 1e-3  # the grid average is not the global-pool score

    glob = build_model(tiny_cfg("MODEL.HEAD_POOLING", "global")).eval()
    glob.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(glob([fast[:, :, ::4], fast]), globally, rtol=1e-5, atol=1e-6)


def test_head_is_adaptive_where_the_input_is_smaller_than_the_training_crop():
    """Where the feature map is smaller than the kernel (32 px view, 64 training crop: 1 x 1 < 2 x 2) the
    head pools the whole map (PySlowFast's AvgPool3d would fail)."""
    model = build_model(tiny_cfg()).eval()
    glob = build_model(tiny_cfg("MODEL.HEAD_POOLING", "global")).eval()
    glob.load_state_dict(model.state_dict())
    fast = torch.randn(2, 3, 8, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model([fast[:, :, ::4], fast]), glob([fast[:, :, ::4], fast]))
        train_size = torch.randn(2, 3, 8, 64, 64)
        torch.testing.assert_close(model([train_size[:, :, ::4], train_size]), glob([train_size[:, :, ::4], train_size]))


# ------------------------------------------------------------------------------------ end to end
E2E_MEAN, E2E_STD = [0.40, 0.45, 0.50], [0.20, 0.225, 0.25]


def write_texture_video(path, num_frames, fps, width, height, seed):
    """H.264 video of a moving random texture (every frame differs, every pixel matters)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"g": "8", "crf": "20"}
        for i in range(num_frames):
            img = np.ascontiguousarray(np.roll(base, (i, 2 * i), axis=(0, 1))[:height, :width])
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return str(path)


@torch.no_grad()
def reference_video_score(path, model, cfg):
    """A video's score by PySlowFast's test protocol, from its formulas (files and functions as above):
    10 clips (pyslowfast_test_clip_indices) x 3 crops; /255, (x - mean) / std (kinetics.py, tensor_normalize
    before spatial_sampling); short side to TEST_CROP_SIZE (random_short_side_scale_jitter with min = max),
    uniform_crop; Slow = linspace frames (pack_pathway_output); the backbone; the head's 2 x 2 grid of
    softmax scores averaged (ResNetBasicHead); the 30 view scores summed (TestMeter, ensemble "sum",
    DATA.ENSEMBLE_METHOD's default)."""
    with av.open(path) as c:
        frames = torch.from_numpy(np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]))
    size, t, rate, alpha = cfg.DATA.TEST_CROP_SIZE, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, cfg.SLOWFAST.ALPHA
    kernel = cfg.DATA.TRAIN_CROP_SIZE // 32
    feats = []
    hook = model.head.register_forward_hook(lambda m, i, o: feats.append(i[0]))
    w, b = model.head.projection.weight, model.head.projection.bias
    slows, fasts = [], []
    for clip_idx in range(10):
        clip = frames[pyslowfast_test_clip_indices(path, clip_idx, 10, t, rate)].float() / 255.0
        clip = ((clip - torch.tensor(E2E_MEAN)) / torch.tensor(E2E_STD)).permute(3, 0, 1, 2)
        h, wd = clip.shape[2:]
        new = (size, int(math.floor(float(wd) / h * size))) if wd >= h else (int(math.floor(float(h) / wd * size)), size)
        clip = F.interpolate(clip, size=new, mode="bilinear", align_corners=False)
        for crop in range(3):
            y, x = math.ceil((new[0] - size) / 2), math.ceil((new[1] - size) / 2)
            if new[1] >= new[0]:
                x = (0, x, new[1] - size)[crop]
            else:
                y = (0, y, new[0] - size)[crop]
            fast = clip[:, :, y:y + size, x:x + size]
            slows.append(fast[:, [math.floor(Fraction((t - 1) * k, t // alpha - 1)) for k in range(t // alpha)]])
            fasts.append(fast)
    model([torch.stack(slows), torch.stack(fasts)])  # the 30 views as one batch; we keep the head's inputs
    hook.remove()
    slow_f, fast_f = feats[0]
    grid = slow_f.shape[-1] - kernel + 1
    scores = [torch.softmax(torch.cat([
        slow_f[..., i:i + kernel, j:j + kernel].mean((2, 3, 4)),
        fast_f[..., i:i + kernel, j:j + kernel].mean((2, 3, 4))], 1) @ w.T + b, 1)
        for i in range(grid) for j in range(grid)]
    views = torch.stack(scores).mean(0)  # 30 x classes
    return views.sum(0), grid


def test_a_checkpoint_tested_with_our_command_gives_pyslowfasts_video_scores(tmp_path):
    """End to end: a randomly initialised tiny SlowFast saved as .pyth, three H.264 videos (25 fps landscape,
    29.97 fps portrait, 30 fps shorter than a clip), `slowfast.apps.run_net.main` with TRAIN.ENABLE False and
    TEST.CHECKPOINT_FILE_PATH; the per-video scores it writes equal those computed above from PySlowFast's
    formulas. Training crop 64, test views 96: res5 maps of 3 x 3, a 2 x 2 grid of scores per view."""
    from slowfast.apps.run_net import main
    from slowfast import checkpoint as cu

    vids = [write_texture_video(tmp_path / "a25.mp4", 60, Fraction(25), 80, 60, 0),
            write_texture_video(tmp_path / "b2997.mp4", 70, NTSC, 60, 90, 1),
            write_texture_video(tmp_path / "c30short.mp4", 12, Fraction(30), 100, 76, 2)]
    (tmp_path / "test.csv").write_text("".join(f"{v} {i}\n" for i, v in enumerate(vids)))
    opts = ["DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR",
            str(tmp_path / "out"), "DATA.TEST_CROP_SIZE", "96", "DATA.MEAN", str(E2E_MEAN), "DATA.STD", str(E2E_STD),
            "TEST.NUM_ENSEMBLE_VIEWS", "10", "TEST.NUM_SPATIAL_CROPS", "3", "TEST.BATCH_SIZE", "10",
            "DATA_LOADER.NUM_WORKERS", "0", "TRAIN.ENABLE", "False", "LOG_MODEL_INFO", "False"]
    cfg = tiny_cfg(*opts)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.2, 0.2, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
        model.head.projection.weight.normal_(0, 0.3, generator=g)
    ckpt = cu.save_checkpoint(str(tmp_path / "model.pyth"), model, epoch=1, cfg=cfg)
    assert main(["--cfg", TINY, *TINY_OPTS, *opts, "TEST.CHECKPOINT_FILE_PATH", ckpt]) == 0
    saved = np.load(tmp_path / "out" / "test_scores.npz")
    assert list(saved["videos"]) == vids and saved["num_views"].tolist() == [30, 30, 30]
    for v, path in enumerate(vids):
        expected, grid = reference_video_score(path, model, cfg)
        assert grid == 2
        np.testing.assert_allclose(saved["scores"][v], expected.numpy(), rtol=1e-4, atol=2e-6, err_msg=path)
    assert np.abs(saved["scores"][0] - saved["scores"][1]).max() > 1e-3  # the videos score differently


def test_a_container_without_a_stored_frame_count_is_decoded_whole_and_sampled_on_all_frames(tmp_path):
    """WebM stores no frame count: PySlowFast's decode() then samples on all decoded frames,
    get_start_end_idx(all M frames, rate * T / target_fps * fps, clip_idx, num_clips) and
    temporal_sampling (slowfast/datasets/decoder.py)."""
    from slowfast.datasets.video_encode import codec_available

    if not codec_available("libvpx-vp9"):
        pytest.skip("no VP9 encoder in this FFmpeg build")
    path = write_index_video(tmp_path / "v.webm", 90, 25, codec="libvpx-vp9")
    with av.open(path) as c:
        assert not c.streams.video[0].frames
    span = 2 * 16 / 30 * 25.0
    for clip_idx in (0, 4, 9):
        start = (90 - span) * clip_idx / 10
        expected = [min(math.floor(start + (span - 1) * k / 15), 89) for k in range(16)]
        assert read_indices(sample_clip_pyslowfast(path, clip_idx, 10, 16, 2, 30)) == expected


@pytest.mark.parametrize("rate", ["25", "29.97", "30", "short", "textured"])
def test_a_clip_decodes_only_the_frames_it_needs_with_the_full_decodes_pixels(videos, rate, tmp_path, monkeypatch):
    """Frames the clip does not take and that no other frame references (H.264 non-reference B-frames)
    are not decoded; every clip (10 test clips and random training windows) is bit-identical to the plain
    decode of the whole range."""
    from slowfast.datasets import decoder
    from slowfast.reports.benchmark_media import make_benchmark_video

    path = videos.get(rate) or make_benchmark_video(str(tmp_path / "textured.mp4"), seconds=4, width=96, height=64)
    counts = []
    real = decoder._selective_range_frames

    def spy(container, stream, start_pts, end_pts, pick):
        out = real(container, stream, start_pts, end_pts, pick)
        assert out is not None  # these streams take the selective path
        counts.append((out.num_decoded, out.num_packets, sum(f is not None for f in out.frames)))
        return out

    clips = [(i, 10) for i in range(10)] + [(-1, 1)] * 4
    monkeypatch.setattr(decoder, "_selective_range_frames", spy)
    torch.manual_seed(0)
    fast = [sample_clip_pyslowfast(path, c, n, 32, 2, 30) for c, n in clips]
    monkeypatch.setattr(decoder, "_selective_range_frames", lambda *args: None)
    torch.manual_seed(0)
    plain = [sample_clip_pyslowfast(path, c, n, 32, 2, 30) for c, n in clips]
    assert all(torch.equal(a, b) for a, b in zip(fast, plain))
    assert len(counts) == len(clips)
    assert all(kept <= decoded <= packets for decoded, packets, kept in counts)
    # A clip at stride 2 leaves frames out, and x264 makes some of them non-reference: skipped.
    assert sum(d for d, _, _ in counts) < 0.9 * sum(p for _, p, _ in counts)
