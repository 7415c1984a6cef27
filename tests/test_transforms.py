"""Specification of the clip transforms (slowfast.datasets.transforms).

Clips are C x T x H x W float tensors; boxes are N x 4 (x1, y1, x2, y2) with
pixel column i covering [i, i + 1).
"""
import numpy as np
import pytest
import torch

from slowfast.datasets.transforms import (
    clip_boxes_to_image,
    color_normalization,
    frames_to_clip,
    horizontal_flip,
    random_crop,
    random_short_side_scale_jitter,
    short_side_scale,
    uniform_crop,
)


def clip_with_drawn_box(height, width, box, num_frames=2):
    """A 3 x T x H x W zero clip with the pixels of ``box`` (integer x1, y1, x2, y2) set to 1."""
    clip = torch.zeros(3, num_frames, height, width)
    x1, y1, x2, y2 = box
    clip[:, :, y1:y2, x1:x2] = 1.0
    return clip, torch.tensor([box], dtype=torch.float32)


def drawn_pixels_bounds(clip):
    """(x1, y1, x2, y2) bounding the pixels brighter than 0.5 in the first channel and frame."""
    ys, xs = torch.nonzero(clip[0, 0] > 0.5, as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


def generator(seed):
    return torch.Generator().manual_seed(seed)


def test_a_box_drawn_on_the_frame_stays_on_the_same_pixels_after_scale_crop_and_flip():
    checked = 0
    for seed in range(10):
        clip, boxes = clip_with_drawn_box(60, 90, (23, 11, 47, 40))
        clip, boxes = random_short_side_scale_jitter(clip, 40, 80, boxes, rng=generator(seed))
        clip, boxes = random_crop(clip, 36, boxes, rng=generator(seed))
        clip, boxes = horizontal_flip(1.0, clip, boxes)
        boxes = clip_boxes_to_image(boxes, clip.shape[2], clip.shape[3])
        assert clip.shape[2:] == (36, 36)
        if (clip[0, 0] > 0.5).any():
            assert torch.allclose(drawn_pixels_bounds(clip), boxes[0], atol=1.0), seed
            checked += 1
    assert checked >= 5


def test_the_box_flip_convention_is_exact_for_whole_pixels():
    clip, boxes = clip_with_drawn_box(8, 10, (1, 2, 4, 7))
    flipped, flipped_boxes = horizontal_flip(1.0, clip, boxes)
    assert flipped_boxes.tolist() == [[6.0, 2.0, 9.0, 7.0]]  # x1' = W - x2, x2' = W - x1
    assert torch.equal(drawn_pixels_bounds(flipped), flipped_boxes[0])
    twice, twice_boxes = horizontal_flip(1.0, flipped, flipped_boxes)
    assert torch.equal(twice, clip) and torch.equal(twice_boxes, boxes)


def test_flip_probability_zero_keeps_the_clip_and_boxes():
    clip, boxes = clip_with_drawn_box(8, 10, (1, 2, 4, 7))
    same, same_boxes = horizontal_flip(0.0, clip, boxes)
    assert torch.equal(same, clip) and torch.equal(same_boxes, boxes)


def test_short_side_scale_keeps_the_aspect_ratio_and_scales_boxes_per_axis():
    clip, boxes = clip_with_drawn_box(40, 71, (10, 4, 30, 36))
    scaled, scaled_boxes = short_side_scale(clip, 20, boxes)
    assert scaled.shape == (3, 2, 20, 35)  # floor(71 * 20 / 40)
    assert torch.allclose(scaled_boxes, torch.tensor([[10 * 35 / 71, 2.0, 30 * 35 / 71, 18.0]]))
    portrait, _ = short_side_scale(torch.rand(3, 1, 71, 40), 20)
    assert portrait.shape == (3, 1, 35, 20)


def test_scale_jitter_draws_the_short_side_from_the_whole_closed_range():
    rng = generator(0)
    sizes = {random_short_side_scale_jitter(torch.rand(1, 1, 10, 12), 4, 7, rng=rng)[0].shape[2] for _ in range(60)}
    assert sizes == {4, 5, 6, 7}


def test_random_crop_is_reproducible_by_generator_and_moves_boxes_with_the_pixels():
    clip, boxes = clip_with_drawn_box(30, 40, (12, 9, 20, 18))
    a, a_boxes = random_crop(clip, 24, boxes, rng=generator(5))
    b, b_boxes = random_crop(clip, 24, boxes, rng=generator(5))
    assert torch.equal(a, b) and torch.equal(a_boxes, b_boxes)
    assert torch.equal(drawn_pixels_bounds(a), a_boxes[0])


def test_three_uniform_crops_cover_the_long_side():
    for height, width in [(256, 455), (455, 256), (64, 170)]:
        clip = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width).expand(1, 1, height, width)
        clip = clip + 1000 * torch.arange(height, dtype=torch.float32).view(1, 1, height, 1)
        long_side = max(height, width)
        size = min(height, width)
        covered = set()
        for spatial_idx in range(3):
            crop, _ = uniform_crop(clip, size, spatial_idx)
            assert crop.shape[2:] == (size, size)
            coords = crop % 1000 if width >= height else torch.div(crop, 1000, rounding_mode="floor")
            covered |= set(coords.long().flatten().tolist())
        assert covered == set(range(long_side)), (height, width)


def test_uniform_crop_left_centre_right_and_boxes_follow():
    clip, boxes = clip_with_drawn_box(20, 50, (22, 5, 28, 15))
    offsets = []
    for spatial_idx in range(3):
        crop, crop_boxes = uniform_crop(clip, 20, spatial_idx, boxes)
        offsets.append(boxes[0, 0].item() - crop_boxes[0, 0].item())
        visible = clip_boxes_to_image(crop_boxes, 20, 20)[0]
        if visible[2] > visible[0]:
            assert torch.equal(drawn_pixels_bounds(crop), visible)
    assert offsets == [0, 15, 30]


def test_clip_boxes_to_image_uses_the_full_width_and_height_as_bounds():
    boxes = torch.tensor([[-3.0, -1.0, 12.5, 9.0], [2.0, 3.0, 4.0, 5.0]])
    assert clip_boxes_to_image(boxes, height=8, width=10).tolist() == [[0, 0, 10, 8], [2, 3, 4, 5]]


def test_boxes_may_be_given_as_numpy():
    clip, _ = clip_with_drawn_box(8, 10, (1, 2, 4, 7))
    _, boxes = horizontal_flip(1.0, clip, np.array([[1, 2, 4, 7]]))
    assert boxes.tolist() == [[6.0, 2.0, 9.0, 7.0]]


def test_color_normalization_is_per_channel():
    clip = torch.ones(3, 2, 4, 4) * torch.tensor([0.5, 0.25, 1.0]).view(3, 1, 1, 1)
    out = color_normalization(clip, mean=[0.5, 0.0, 0.5], std=[1.0, 0.25, 0.5])
    assert out[:, 0, 0, 0].tolist() == [0.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        color_normalization(clip, mean=[0.5], std=[1.0])


def test_frames_to_clip_turns_uint8_thwc_into_float_cthw():
    frames = torch.zeros(4, 6, 5, 3, dtype=torch.uint8)
    frames[2, 1, 3] = torch.tensor([255, 0, 51], dtype=torch.uint8)
    clip = frames_to_clip(frames)
    assert clip.shape == (3, 4, 6, 5) and clip.dtype == torch.float32
    assert clip[:, 2, 1, 3].tolist() == pytest.approx([1.0, 0.0, 0.2])


def test_transforms_reject_uint8_clips_and_oversized_crops():
    with pytest.raises(ValueError):
        short_side_scale(torch.zeros(3, 1, 8, 8, dtype=torch.uint8), 4)
    with pytest.raises(ValueError):
        random_crop(torch.zeros(3, 1, 8, 8), 9)
