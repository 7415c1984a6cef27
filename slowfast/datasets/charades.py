"""Charades-layout multi-label dataset (``TRAIN.DATASET charades`` / ``TEST.DATASET charades``): PySlowFast's
frame lists (:mod:`slowfast.formats.charades`) over frames extracted as image files.

Layout: ``DATA.PATH_TO_DATA_DIR/{train,val}.csv`` (the test split reads ``test.csv``, or ``val.csv`` when there
is none, as PySlowFast tests on val); frame paths are joined to DATA.PATH_PREFIX (empty: relative to the
frame list's folder). Needs DATA.MULTI_LABEL True; the label of every clip is the multi-hot vector of the
video's labels (the union over its frames; PySlowFast trains on the labels of the sampled frames' span).

Frames of a clip (PySlowFast's Charades sampling, on the video's frame indices): DATA.NUM_FRAMES frames at
stride DATA.SAMPLING_RATE, spanning ``(NUM_FRAMES - 1) * SAMPLING_RATE + 1`` frames, indices clamped to the
video. Random views (training; validation with DATA.VAL_VIEW random) start at a uniformly random frame;
test view ``c`` of ``C = TEST.NUM_ENSEMBLE_VIEWS`` starts at ``round(c * max(n - span, 0) / (C - 1))`` (the
windows spread evenly from the first frame to the last; the centre window when ``C`` is 1). DATA.TARGET_FPS is
not used: frames are taken as extracted. Read with OpenCV; then the Kinetics dataset's transforms, crops and
pathways (:class:`slowfast.datasets.kinetics.Kinetics`), so items follow the same batch contract. PySlowFast's
Charades test combines the views by max: set ``DATA.ENSEMBLE_METHOD max``.

A missing or undecodable frame file is replaced by the nearest readable frame of the clip, logged with its
path and counted (item extra ``"replaced_frames"``); a clip with no readable frame is an unreadable video
(replaced in training, a failed view in val / test, as for Kinetics).
"""
from __future__ import annotations

import logging
import os

import torch

from slowfast.datasets.ava.frames import read_frames_replacing_unreadable
from slowfast.datasets.kinetics import DatasetFormatError, Kinetics
from slowfast.datasets.registry import DATASET_REGISTRY
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.formats.charades import check_frame_label_range, group_videos, read_frame_list_rows
from slowfast.formats.kinetics import resolve_video_path
from slowfast.formats.problems import raise_problems

logger = logging.getLogger(__name__)


def frame_list_path(data_dir: str, split: str) -> str:
    """The frame list of ``split``: ``{split}.csv``; for test, ``val.csv`` when there is no ``test.csv``."""
    path = os.path.join(data_dir, f"{split}.csv")
    if split == "test" and not os.path.isfile(path):
        return os.path.join(data_dir, "val.csv")
    return path


def read_charades_videos(path: str, prefix: str = "", num_classes: int | None = None) -> list[tuple[str, tuple, tuple]]:
    """[(video name, frame paths, label ids), ...] per video of a Charades frame list; DatasetFormatError
    naming file and line for a malformed row or (given ``num_classes``) a label outside ``0..num_classes-1``."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Charades frame list not found: {path}")
    rows = read_frame_list_rows(path, DatasetFormatError)
    if num_classes is not None:
        raise_problems(check_frame_label_range(rows, num_classes, path), DatasetFormatError)
    videos = group_videos(rows)
    if not videos:
        raise DatasetFormatError(f"{path}: no frames listed")
    return [(v.name, tuple(resolve_video_path(path, p, prefix) for p in v.paths), v.labels) for v in videos]


def clip_indices(num_video_frames: int, num_frames: int, rate: int, clip_idx: int, num_clips: int) -> list[int]:
    """Frame indices of a clip: random start when ``clip_idx`` is -1, else view ``clip_idx`` of ``num_clips``
    windows spread evenly over the video (module docstring)."""
    span = (num_frames - 1) * rate + 1
    if clip_idx == -1:
        low, high = sorted((0, num_video_frames - span))
        start = int(torch.randint(low, high + 1, (1,)).item())
    elif num_clips == 1:
        start = max(num_video_frames - span, 0) // 2
    else:
        start = int(round(clip_idx * max(num_video_frames - span, 0) / (num_clips - 1)))
    return [min(max(start + i * rate, 0), num_video_frames - 1) for i in range(num_frames)]


@DATASET_REGISTRY.register()
class Charades(Kinetics):
    """Charades frame-list dataset; items are ``(inputs, label, index, extra)`` as Kinetics items."""

    def __init__(self, cfg, split: str):
        if not cfg.DATA.MULTI_LABEL:
            raise ValueError("the Charades dataset is multi-label: set DATA.MULTI_LABEL True")
        self._replaced = 0
        super().__init__(cfg, split)

    def read_videos(self, csv: str, cfg) -> list:
        """[(video name, label ids), ...] (the names identify the videos in test_scores.npz); the frame paths
        of video i are ``self.frame_paths[i]``."""
        videos = read_charades_videos(frame_list_path(cfg.DATA.PATH_TO_DATA_DIR, self.split), cfg.DATA.PATH_PREFIX,
                                      cfg.MODEL.NUM_CLASSES)
        self.frame_paths = [paths for _, paths, _ in videos]
        return [(name, labels) for name, _, labels in videos]

    def _frames(self, video_idx: int, view: int) -> torch.Tensor:
        """Read the frames of one view (T x H x W x C uint8 RGB), replacing unreadable frame files."""
        paths = self.frame_paths[video_idx]
        clip_idx = -1 if self.random_view else view // self.num_crops
        index = clip_indices(len(paths), self.num_frames, self.sampling_rate, clip_idx, self.num_clips)
        try:
            frames, unreadable = read_frames_replacing_unreadable([paths[i] for i in index])
        except OSError as e:
            raise VideoDecodeError(paths[0], str(e)) from e
        for path, reason in unreadable:
            logger.warning("replaced an unreadable frame by the nearest readable one (%s): %s", self.split, reason)
        self._replaced += len(unreadable)
        return torch.from_numpy(frames)

    def __getitem__(self, index: int):
        self._replaced = 0
        inputs, label, video_idx, extra = super().__getitem__(index)
        return inputs, label, video_idx, {**extra, "replaced_frames": self._replaced}
