"""Clips of one user video for inference (demo, feature extraction), through the test-time pipeline.

Nothing here is a second pipeline: frame selection is that of
:func:`slowfast.datasets.decoder.sample_clip` (a ``DATA.TARGET_FPS`` grid, indices from
:func:`slowfast.datasets.sampling.uniform_indices`, each served by the nearest decoded frame), the
spatial steps are those of the Kinetics test view (short side ``DATA.TEST_CROP_SIZE``, centre crop)
and of the AVA test view (short side ``DATA.TEST_CROP_SIZE`` on the full frame, boxes moved with the
pixels), and pathways are packed by :func:`slowfast.datasets.sampling.pack_pathway_output`.
``tests/test_demo.py`` checks that a clip equals the Kinetics test dataset's item for the same window.

What is added for users' videos: a clip can start at any grid index (clips every ``DEMO.STRIDE_SEC``
seconds), and frames are turned upright when the file carries rotation metadata (phone videos).

Times are seconds from the first frame of the video stream (the decoder's convention).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import av
import numpy as np
import torch

from slowfast.config.validation import num_pathways
from slowfast.datasets import transforms as T
from slowfast.datasets.ava import clip_frame_indices
from slowfast.datasets.decoder import decode_window, nearest_frames
from slowfast.datasets.sampling import pack_pathway_output, temporal_window, uniform_indices
from slowfast.datasets.video_container import VideoDecodeError, VideoInfo, get_video_info, open_video


def grid_length(info: VideoInfo, target_fps: float) -> int:
    """Frames of the video on the ``target_fps`` sampling grid (as :func:`~.decoder.sample_clip` counts them)."""
    return max(1, int(math.floor(info.duration * target_fps + 1e-6)))


@dataclass(frozen=True)
class ClipPlan:
    """Where the clips of one video lie.

    ``starts``: first grid index of each clip; ``window``: grid frames a clip spans
    (``NUM_FRAMES * SAMPLING_RATE``); ``fps``: the grid rate (``DATA.TARGET_FPS``); ``duration``: video
    seconds.
    """

    starts: Tuple[int, ...]
    window: int
    fps: float
    duration: float

    def __len__(self) -> int:
        return len(self.starts)

    def clip_span(self, i: int) -> Tuple[float, float]:
        """Seconds ``(start, end)`` the model sees for clip ``i`` (end capped at the video's end)."""
        start = self.starts[i] / self.fps
        return start, min((self.starts[i] + self.window) / self.fps, self.duration)

    def centers(self) -> List[float]:
        return [sum(self.clip_span(i)) / 2 for i in range(len(self))]

    def shown_spans(self) -> List[Tuple[float, float]]:
        """Consecutive intervals ``[b_i, b_{i+1})`` covering ``[0, duration]`` without gaps: clip ``i``
        labels the part of the video nearer to its centre than to any other clip's centre."""
        c = self.centers()
        bounds = [0.0] + [(a + b) / 2 for a, b in zip(c, c[1:])] + [self.duration]
        return list(zip(bounds[:-1], bounds[1:]))


def plan_clips(info: VideoInfo, num_frames: int, sampling_rate: int, target_fps: float,
               stride_sec: float = 1.0, num_clips: int = 0) -> ClipPlan:
    """Clips along a video.

    ``num_clips > 0``: the test protocol's ``num_clips`` uniformly spaced windows
    (:func:`~.sampling.temporal_window`, first at the start, last at the end). Otherwise one clip
    every ``stride_sec`` seconds from the start, the last one moved to end at the video's end (so the
    whole video is seen); a video shorter than one window gets one clip, padded as in testing.
    """
    grid = grid_length(info, target_fps)
    window = num_frames * sampling_rate
    if num_clips > 0:
        starts = [temporal_window(grid, window, i, num_clips)[0] for i in range(num_clips)]
    elif grid <= window:
        starts = [0]
    else:
        stride = stride_sec * target_fps
        count = int(math.ceil((grid - window) / stride - 1e-9)) + 1
        starts = sorted({min(int(round(i * stride)), grid - window) for i in range(count)})
    return ClipPlan(tuple(starts), window, float(target_fps), info.duration)


def upright_turns(container) -> int:
    """Counter-clockwise quarter turns that make the video's frames upright (from the display matrix
    that phones write; 0 without one)."""
    stream = container.streams.video[0]
    try:
        frame = next(container.decode(stream), None)
        container.seek(0)
    except av.FFmpegError as err:
        raise VideoDecodeError(str(getattr(container, "name", "<container>")), f"cannot decode the first frame ({err})") from err
    rotation = getattr(frame, "rotation", 0) if frame is not None else 0
    return int(round((rotation or 0) / 90.0)) % 4


def turn_frames(frames: torch.Tensor, turns: int) -> torch.Tensor:
    """Rotate ``T x H x W x C`` frames by ``turns`` quarter turns counter-clockwise."""
    return torch.rot90(frames, turns, dims=(1, 2)).contiguous() if turns else frames


def frames_at(container, info: VideoInfo, grid_index: torch.Tensor, target_fps: float, turns: int = 0) -> torch.Tensor:
    """Frames shown at grid indices ``grid_index`` (``(T,)`` int64): each index ``i`` is the time
    ``i / target_fps``, served by the decoded frame nearest in time, as in
    :func:`~.decoder.sample_clip`. Returns ``T x H x W x 3`` uint8 RGB, upright."""
    query = grid_index.to(torch.float64) / float(target_fps)
    half_frame = 0.5 / info.fps
    window = decode_window(container, float(query.min()) - half_frame, float(query.max()) + half_frame)
    return turn_frames(window.frames[nearest_frames(window.timestamps, query)], turns)


def classification_frames(container, info: VideoInfo, plan: ClipPlan, i: int, num_frames: int,
                          sampling_rate: int, turns: int = 0) -> torch.Tensor:
    """Uint8 frames ``T x H x W x 3`` of clip ``i`` of ``plan`` (frame selection of the test loop)."""
    grid = grid_length(info, plan.fps)
    start = plan.starts[i]
    index = uniform_indices(start, start + (num_frames - 1) * sampling_rate, num_frames, grid)
    return frames_at(container, info, index, plan.fps, turns)


def classification_inputs(cfg, frames: torch.Tensor) -> List[torch.Tensor]:
    """Test-time view of uint8 ``T x H x W x 3`` frames -> per-pathway ``C x T_p x H x W`` inputs.

    As the Kinetics test view (:class:`slowfast.datasets.kinetics.Kinetics`): normalised with
    ``DATA.MEAN`` / ``DATA.STD`` first, short side ``DATA.TEST_CROP_SIZE``, then the centre
    ``TEST_CROP_SIZE`` square (``DEMO.CROP center``, the single-crop test view) or the whole frame
    (``DEMO.CROP full``); channels reversed when ``DATA.REVERSE_INPUT_CHANNEL``; pathways packed with
    ``DATA.SLOW_PATHWAY_SAMPLING``.
    """
    clip = T.color_normalization(T.frames_to_clip(frames), cfg.DATA.MEAN, cfg.DATA.STD)
    clip, _ = T.short_side_scale(clip, cfg.DATA.TEST_CROP_SIZE)
    if cfg.DEMO.CROP == "center":
        clip, _ = T.uniform_crop(clip, cfg.DATA.TEST_CROP_SIZE, 1)
    if cfg.DATA.REVERSE_INPUT_CHANNEL:
        clip = clip.flip(0)
    return pack_pathway_output(clip, cfg.SLOWFAST.ALPHA, num_pathways(cfg), cfg.DATA.SLOW_PATHWAY_SAMPLING)


def detection_frames(container, info: VideoInfo, second: float, cfg, turns: int = 0) -> torch.Tensor:
    """Uint8 frames of the AVA clip of key second ``second``: ``DATA.NUM_FRAMES`` grid frames
    ``DATA.SAMPLING_RATE`` apart with the key frame at position ``NUM_FRAMES // 2``, indices clamped to
    the video (:func:`slowfast.datasets.ava.clip_frame_indices`)."""
    fps = cfg.DATA.TARGET_FPS
    grid = grid_length(info, fps)
    center = min(int(round(second * fps)), grid - 1)
    index = torch.from_numpy(clip_frame_indices(center, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, grid))
    return frames_at(container, info, index.long(), fps, turns)


def detection_inputs(cfg, frames: torch.Tensor, boxes: np.ndarray) -> Tuple[List[torch.Tensor], torch.Tensor]:
    """AVA test view: uint8 RGB frames and ``N x 4`` normalised boxes -> (per-pathway inputs, ``N x 5``
    boxes ``(0, x1, y1, x2, y2)`` in pixels of the resized clip), exactly as the AVA test dataset makes
    it: ``AVA.PREPROCESS "pyslowfast"`` (default) through :func:`slowfast.datasets.ava.pyslowfast_view`
    (on the frames in OpenCV's BGR order), ``"exact"`` through short side ``DATA.TEST_CROP_SIZE`` on the
    full frame, channels reversed when ``AVA.BGR``."""
    if cfg.AVA.PREPROCESS == "pyslowfast":
        from slowfast.datasets.ava import AvaSpec, pyslowfast_view

        bgr = np.ascontiguousarray(frames.numpy()[..., ::-1])
        boxes32 = np.asarray(boxes, np.float32)  # the dataset keeps CSV boxes as float32
        clip, px = pyslowfast_view(bgr, boxes32, AvaSpec.from_config(cfg, "test"))  # short side DATA.TEST_CROP_SIZE
    else:
        clip = T.frames_to_clip(frames)
        height, width = clip.shape[2:]
        px = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4) * torch.tensor([width, height, width, height])
        clip, px = T.short_side_scale(clip, cfg.DATA.TEST_CROP_SIZE, px)
        px = T.clip_boxes_to_image(px, clip.shape[2], clip.shape[3])
        if cfg.AVA.BGR:
            clip = clip.flip(0)
        clip = T.color_normalization(clip, cfg.DATA.MEAN, cfg.DATA.STD)
    if cfg.DATA.REVERSE_INPUT_CHANNEL:
        clip = clip.flip(0).contiguous()
    inputs = pack_pathway_output(clip, cfg.SLOWFAST.ALPHA, num_pathways(cfg), cfg.DATA.SLOW_PATHWAY_SAMPLING)
    return inputs, torch.cat([torch.zeros(len(px), 1), px], dim=1)


def batch(inputs: Sequence[Sequence[torch.Tensor]]) -> List[torch.Tensor]:
    """Stack per-clip pathway lists into per-pathway batches ``B x C x T x H x W``."""
    return [torch.stack(p) for p in zip(*inputs)]


class VideoClips:
    """One video opened for clip reading: ``info``, ``turns`` (upright rotation) and a clip plan.

    Use as a context manager; :meth:`inputs` returns the model inputs of clip ``i``.
    """

    def __init__(self, path: str, cfg, stride_sec: Optional[float] = None, num_clips: int = 0):
        self.path, self.cfg = path, cfg
        self.container = open_video(path)
        try:
            self.info = get_video_info(self.container)
            self.turns = upright_turns(self.container)
        except BaseException:
            self.container.close()
            raise
        stride = cfg.DEMO.STRIDE_SEC if stride_sec is None else stride_sec
        self.plan = plan_clips(self.info, cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE, cfg.DATA.TARGET_FPS,
                               stride, num_clips)

    def frames(self, i: int) -> torch.Tensor:
        return classification_frames(self.container, self.info, self.plan, i, self.cfg.DATA.NUM_FRAMES,
                                     self.cfg.DATA.SAMPLING_RATE, self.turns)

    def inputs(self, i: int) -> List[torch.Tensor]:
        return classification_inputs(self.cfg, self.frames(i))

    def close(self) -> None:
        self.container.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
