"""uint8 training views (crop of the jittered resize only) against the float pipeline of transforms.py."""
import numpy as np
import pytest
import torch

from slowfast.datasets import transforms as T
from slowfast.datasets.fast_train_clip import draw_train_params, train_clip

MEAN, STD = [0.45, 0.45, 0.45], [0.225, 0.225, 0.225]


def float_pipeline(frames, jitter, crop, flip_prob, rng):
    clip = T.frames_to_clip(frames)
    clip, _ = T.random_short_side_scale_jitter(clip, jitter[0], jitter[1], rng=rng)
    clip, _ = T.random_crop(clip, crop, rng=rng)
    if flip_prob > 0:
        clip, _ = T.horizontal_flip(flip_prob, clip, rng=rng)
    return T.color_normalization(clip, MEAN, STD)


def smooth_frames(t=4, h=48, w=64, seed=0):
    """Natural-image-like frames: smooth gradients plus a little noise (uint8)."""
    g = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing="ij")
    base = np.stack([yy, xx, (yy + xx) / 2], -1)[None] * 200 + g.uniform(0, 40, (t, h, w, 3))
    return torch.from_numpy(base.clip(0, 255).astype(np.uint8))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shape", [(48, 64), (64, 48)])
def test_same_view_as_resizing_the_float_clip_then_cropping(seed, shape):
    frames = smooth_frames(h=shape[0], w=shape[1], seed=seed)
    jitter, crop = [40, 60], 32
    ref = float_pipeline(frames, jitter, crop, 0.5, torch.Generator().manual_seed(seed))
    out = train_clip(frames, jitter, crop, 0.5, MEAN, STD, rng=torch.Generator().manual_seed(seed))
    assert out.shape == ref.shape == (3, 4, crop, crop) and out.dtype == torch.float32 and out.is_contiguous()
    # uint8 rounding of the interpolated value (<= 1/255) and OpenCV's 1/32-pixel sample grid.
    diff = (out - ref).abs() * STD[0] * 255
    assert diff.max() <= 3.0 and diff.mean() < 0.6, (diff.max(), diff.mean())


def test_no_rescale_no_flip_is_an_exact_crop():
    frames = smooth_frames(h=40, w=50)
    out = train_clip(frames, [40, 40], 32, 0.0, [0, 0, 0], [1, 1, 1], rng=torch.Generator().manual_seed(3))
    p = draw_train_params(40, 50, [40, 40], 32, 0.0, torch.Generator().manual_seed(3))
    y0, x0 = p["offset"]
    expected = frames[:, y0:y0 + 32, x0:x0 + 32].permute(3, 0, 1, 2).float() / 255
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)


def test_augmentation_draws_the_configured_distribution():
    """Scales in [min, max], crops of the configured size anywhere inside the scaled frame, flips half the time."""
    h, w, jitter, crop = 256, 340, [256, 320], 224
    rng = torch.Generator().manual_seed(0)
    draws = [draw_train_params(h, w, jitter, crop, 0.5, rng) for _ in range(3000)]
    shorts = np.array([min(d["size"]) for d in draws])
    assert shorts.min() == 256 and shorts.max() == 320 and abs(shorts.mean() - 288) < 2
    for d in draws:
        (nh, nw), (y0, x0) = d["size"], d["offset"]
        assert nw == int(np.floor(w * nh / h)) and 0 <= y0 <= nh - crop and 0 <= x0 <= nw - crop
    x_room = np.array([d["offset"][1] / (d["size"][1] - crop) for d in draws])
    assert x_room.min() == 0 and x_room.max() == 1 and abs(x_room.mean() - 0.5) < 0.03
    assert abs(np.mean([d["flip"] for d in draws]) - 0.5) < 0.03


def test_rejects_float_frames():
    with pytest.raises(ValueError, match="uint8"):
        train_clip(torch.zeros(2, 8, 8, 3), [8, 8], 8, 0.0, MEAN, STD)
