"""Specification of the temporal index math (slowfast.datasets.sampling)."""
import pytest
import torch

from slowfast.datasets.sampling import (
    pack_pathway_output,
    pathway_indices,
    temporal_window,
    uniform_indices,
)


def test_window_always_spans_window_len():
    for clip_idx in (-1, 0, 4, 9):
        start, end = temporal_window(300, 64, clip_idx, 10, torch.Generator().manual_seed(0))
        assert end - start == 64


def test_test_windows_are_uniformly_spaced_and_the_first_and_last_touch_the_video_ends():
    num_frames, window, num_clips = 300, 64, 5
    starts = [temporal_window(num_frames, window, i, num_clips)[0] for i in range(num_clips)]
    assert starts[0] == 0
    assert starts[-1] + window == num_frames
    gaps = torch.tensor(starts).diff()
    assert int(gaps.max() - gaps.min()) <= 1  # even up to rounding


def test_a_single_test_window_is_centred():
    start, end = temporal_window(100, 40, 0, 1)
    assert start == 30 and end == 70


def test_training_windows_are_random_inside_the_video_and_reproducible_by_generator():
    def draw_starts(seed):
        rng = torch.Generator().manual_seed(seed)
        return [temporal_window(100, 40, -1, 1, rng)[0] for _ in range(1000)]

    starts = draw_starts(0)
    assert min(starts) == 0 and max(starts) == 60  # the whole valid range is reachable
    assert starts == draw_starts(0)


def test_a_video_shorter_than_the_window_starts_at_zero_and_is_padded_not_dropped():
    start, end = temporal_window(20, 64, -1, 1, torch.Generator().manual_seed(3))
    assert (start, end) == (0, 64)
    index = uniform_indices(start, start + 31 * 2, 32, num_video_frames=20)
    assert index.shape == (32,)
    assert index.tolist()[:10] == list(range(0, 20, 2))
    assert set(index.tolist()[10:]) == {19}  # padded by repeating the last frame


def test_uniform_indices_with_an_exact_stride_never_lose_a_frame():
    assert uniform_indices(7, 7 + 31 * 2, 32).tolist() == list(range(7, 71, 2))
    assert uniform_indices(0, 63 * 1, 64).tolist() == list(range(64))


def test_uniform_indices_are_clamped_to_the_valid_range():
    index = uniform_indices(-5, 50, 12, num_video_frames=30)
    assert index.min() == 0 and index.max() == 29


def test_invalid_clip_idx_is_rejected():
    with pytest.raises(ValueError):
        temporal_window(100, 10, 3, 3)


def test_with_stride_sampling_the_slow_pathway_gets_every_alpha_th_frame_of_the_fast_pathway():
    alpha, t_fast = 4, 32
    clip = torch.arange(t_fast, dtype=torch.float32).view(1, t_fast, 1, 1).expand(3, t_fast, 2, 2)
    slow, fast = pack_pathway_output(clip, alpha, num_pathways=2, method="stride")
    assert fast is clip
    assert slow.shape == (3, t_fast // alpha, 2, 2)
    assert slow[0, :, 0, 0].tolist() == list(range(0, t_fast, alpha))
    assert pathway_indices(64, 8, "stride").tolist() == [0, 8, 16, 24, 32, 40, 48, 56]


def test_a_single_pathway_model_gets_the_clip_unchanged():
    clip = torch.rand(3, 8, 4, 4)
    out = pack_pathway_output(clip, alpha=4, num_pathways=1)
    assert len(out) == 1 and out[0] is clip


def test_pack_pathway_output_rejects_bad_shapes_and_pathway_counts():
    with pytest.raises(ValueError):
        pack_pathway_output(torch.rand(8, 4, 4), 4, 2)
    with pytest.raises(ValueError):
        pack_pathway_output(torch.rand(3, 8, 4, 4), 4, 3)
