"""Kinetics-format video classification dataset.

Layout: `DATA.PATH_TO_DATA_DIR/{train,val,test}.csv`, one `path label` line per video (separator
DATA.PATH_LABEL_SEPARATOR); paths are joined to DATA.PATH_PREFIX (empty = as written; relative
paths are then taken relative to the CSV's folder).

Sampling (report, section 3), by default exactly PySlowFast's (`slowfast/datasets/kinetics.py`):
- frames: `decoder.sample_clip_pyslowfast` (DATA.TEMPORAL_SAMPLING "pyslowfast"; "timestamps" =
  `decoder.sample_clip`, a time grid over the whole video with nearest-frame resampling), decoded by
  PyAV or TorchCodec (DATA.DECODING_BACKEND: the same frames, `decoding.clip_sampler`);
- pixels: /255, then (x - DATA.MEAN) / DATA.STD, then the spatial transforms (PySlowFast's order),
  then the optional RGB -> BGR reversal, then the pathways (`sampling.pack_pathway_output`, Slow
  frames by DATA.SLOW_PATHWAY_SAMPLING);
- train: a random window, short side scaled to a random size in DATA.TRAIN_JITTER_SCALES, a random
  TRAIN_CROP_SIZE^2 crop, random flip (DATA.UINT8_TRAIN_PIPELINE: only the crop is computed, on uint8;
  DATA.NORMALIZE_ON_DEVICE: returned as uint8, and the model normalises it on its device);
- val: DATA.VAL_VIEW "random" (PySlowFast: a training-style random view) or "fixed" (the one view
  of a 1 clip x 1 crop test: clip 0 of 1, short side DATA.TRAIN_JITTER_SCALES[0], centre crop);
- test: TEST.NUM_ENSEMBLE_VIEWS windows x TEST.NUM_SPATIAL_CROPS crops of TEST_CROP_SIZE^2 (short side
  TEST_CROP_SIZE with 3 crops, DATA.TRAIN_JITTER_SCALES[0] with 1 centre crop, as PySlowFast);
  item i is view (i % views) of video (i // views), view v = clip v // crops, crop v % crops.

Multi-label (DATA.MULTI_LABEL, Charades-style): rows `path id,id,...`; the label is a multi-hot float
vector of MODEL.NUM_CLASSES. Training augmentation: AUG.ENABLE applies RandAugment (`rand_augment`) to the
decoded frames of each training view, the same operations on every frame; AUG.NUM_SAMPLE = k > 1 cuts k
training views (each with its own crop, flip and RandAugment draws) from one decode of the video, and
the item carries the k views (`datasets.build` flattens them: the loader yields k times more clips).

Multigrid training (MULTIGRID.*, `datasets.multigrid`): the training loop sets each long-cycle phase's
frames, crop and stride on the dataset, and an index may come as `(index, crop)` (the short cycle's crop).

A video that cannot be decoded is logged with its path. In training it is replaced by another random
video, at most DATA.MAX_DECODE_RETRIES times in a row (then an `UnreadableDataError` naming the last
video stops the run: a one-line error from tools/run_net.py); the number of replacements travels with
the batch so the loop can count them. In val/test the view is returned as zeros with `failed` set, and
the test loop leaves it out of the video's average and reports it.

Random draws are per item (`datasets.seeding`): every draw of an item (window, scale, crop, flip, RandAugment,
the replacement of an unreadable video) happens inside `item_rng(item_seed(RNG_SEED, epoch, video index))`,
the epoch being the one `set_epoch` recorded (0 before any). An item is therefore the same bit for bit
whatever DATA_LOADER.NUM_WORKERS, the process that reads it or where a resumed run starts.
"""
from __future__ import annotations

import logging
import os

import torch
import torch.utils.data

from slowfast.config.validation import num_pathways
from slowfast.datasets import transforms as T
from slowfast.datasets.decoding import clip_sampler
from slowfast.datasets.fast_train_clip import train_clip, train_crop_uint8
from slowfast.datasets.rand_augment import RandAugment
from slowfast.datasets.registry import DATASET_REGISTRY
from slowfast.datasets.sampling import pack_pathway_output
from slowfast.datasets.seeding import item_rng, item_seed
from slowfast.datasets.validation import UnreadableDataError
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.formats.kinetics import check_label_range, read_multi_label_rows, read_video_list_rows, resolve_video_path
from slowfast.formats.problems import raise_problems

logger = logging.getLogger(__name__)


class DatasetFormatError(ValueError):
    """A dataset file is malformed; the message names file and line."""


def read_video_list(csv_path: str, separator: str = " ", prefix: str = "",
                    num_classes: int | None = None, multi_label: bool = False) -> list[tuple[str, int]]:
    """[(video path, label), ...] from a Kinetics CSV (UTF-8); raises DatasetFormatError naming file and
    line, also for a label outside 0..num_classes-1 when `num_classes` is given. `multi_label`: rows
    `path id,id,...`, and the labels are tuples of ids."""
    if not os.path.isfile(csv_path):
        raise FileNotFoundError(f"Kinetics split file not found: {csv_path}")
    if multi_label:
        rows = read_multi_label_rows(csv_path, separator, DatasetFormatError)
        pairs = [(r.line, label) for r in rows for label in r.labels]
    else:
        rows = read_video_list_rows(csv_path, separator, DatasetFormatError)
        pairs = [(r.line, r.label) for r in rows]
    if num_classes is not None:
        raise_problems(check_label_range(pairs, num_classes, csv_path), DatasetFormatError)
    if not rows:
        raise DatasetFormatError(f"{csv_path}: no videos listed")
    return [(resolve_video_path(csv_path, r.path, prefix), r.labels if multi_label else r.label) for r in rows]


@DATASET_REGISTRY.register()
class Kinetics(torch.utils.data.Dataset):
    """Kinetics-format dataset; items are `(inputs, label, index, extra)` (see datasets.build)."""

    def __init__(self, cfg, split: str):
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be train, val or test, got {split!r}")
        self.split = split
        self.num_frames = cfg.DATA.NUM_FRAMES
        self.sampling_rate = cfg.DATA.SAMPLING_RATE
        self.target_fps = cfg.DATA.TARGET_FPS
        self.alpha = cfg.SLOWFAST.ALPHA
        self.num_pathways = num_pathways(cfg)
        self.mean, self.std = list(cfg.DATA.MEAN), list(cfg.DATA.STD)
        self.jitter = list(cfg.DATA.TRAIN_JITTER_SCALES)
        self.train_crop = self.base_crop = cfg.DATA.TRAIN_CROP_SIZE  # datasets.multigrid changes train_crop
        self.test_crop = cfg.DATA.TEST_CROP_SIZE
        self.random_flip = cfg.DATA.RANDOM_FLIP
        self.reverse_channels = cfg.DATA.REVERSE_INPUT_CHANNEL
        self.max_retries = cfg.DATA.MAX_DECODE_RETRIES
        self.seed, self.epoch = cfg.RNG_SEED, 0  # per-item seeds (set_epoch)
        self.sample_clip = clip_sampler(cfg)  # DATA.DECODING_BACKEND / DECODING_DEVICE / TEMPORAL_SAMPLING
        self.slow_sampling = cfg.DATA.SLOW_PATHWAY_SAMPLING
        self.random_view = split == "train" or (split == "val" and cfg.DATA.VAL_VIEW == "random")
        self.uint8_train = cfg.DATA.UINT8_TRAIN_PIPELINE
        # Random views leave the dataset as uint8; the model normalises them (VideoNet.normalize_inputs).
        self.uint8_out = self.random_view and self.uint8_train and cfg.DATA.NORMALIZE_ON_DEVICE
        csv = os.path.join(cfg.DATA.PATH_TO_DATA_DIR, f"{split}.csv")
        self.multi_label, self.num_classes = cfg.DATA.MULTI_LABEL, cfg.MODEL.NUM_CLASSES
        self.videos = self.read_videos(csv, cfg)
        train = split == "train"
        self.rand_augment = RandAugment(cfg.AUG.AA_TYPE) if train and cfg.AUG.ENABLE else None
        self.num_samples = cfg.AUG.NUM_SAMPLE if train else 1  # views per decode (AUG.NUM_SAMPLE)
        if split == "test":
            self.num_clips, self.num_crops = cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.TEST.NUM_SPATIAL_CROPS
        else:
            self.num_clips, self.num_crops = 1, 1
        # Short side of the deterministic views: PySlowFast uses the jitter minimum for one crop.
        self.test_scale = self.test_crop if self.num_crops > 1 else self.jitter[0]
        logger.info("%s %s: %d videos x %d views from %s", type(self).__name__, split, len(self.videos),
                    self.views_per_video, self.list_source(csv))

    def list_source(self, csv: str) -> str:
        """Where the video list came from, for the log (the shard dataset names its index)."""
        return csv

    def read_videos(self, csv: str, cfg) -> list:
        """[(video, label), ...] of the split's list `csv` (the Charades dataset overrides it)."""
        return read_video_list(csv, cfg.DATA.PATH_LABEL_SEPARATOR, cfg.DATA.PATH_PREFIX, cfg.MODEL.NUM_CLASSES,
                               self.multi_label)

    @property
    def views_per_video(self) -> int:
        return self.num_clips * self.num_crops

    @property
    def num_videos(self) -> int:
        return len(self.videos)

    def __len__(self) -> int:
        return len(self.videos) * self.views_per_video

    def set_epoch(self, epoch: int, start_iter: int = 0) -> None:
        """Record the epoch whose per-item seeds the items use (`datasets.build.shuffle_loader` calls it;
        the sampler skips the first `start_iter` batches, so nothing else changes here)."""
        self.epoch = int(epoch)

    def _frames(self, video_idx: int, view: int) -> torch.Tensor:
        """Decode the frames of one view (T x H x W x C uint8)."""
        path, _ = self.videos[video_idx]
        clip_idx = -1 if self.random_view else view // self.num_crops
        return self.sample_clip(path, clip_idx, self.num_clips, self.num_frames, self.sampling_rate, self.target_fps)

    def label(self, video_idx: int):
        """The video's label: the class id, or (DATA.MULTI_LABEL) a multi-hot float vector."""
        label = self.videos[video_idx][1]
        if not self.multi_label:
            return label
        hot = torch.zeros(self.num_classes)
        hot[list(label)] = 1.0
        return hot

    def _clip(self, frames: torch.Tensor, view: int, crop: int | None = None) -> torch.Tensor:
        """Transform decoded frames into one view -> C x T x H x W normalised (uint8 when
        DATA.NORMALIZE_ON_DEVICE applies: the model normalises it, VideoNet.normalize_inputs). `crop`:
        multigrid's training crop size (the jitter minimum scaled with it, as PySlowFast)."""
        if self.rand_augment is not None:
            frames = self.rand_augment(frames)
        flip_prob = 0.5 if self.random_flip else 0.0
        crop = crop or self.train_crop
        lo = int(round(self.jitter[0] * crop / self.base_crop))
        jitter = [lo, max(lo, self.jitter[1])]
        if self.uint8_out:
            return train_crop_uint8(frames, jitter, crop, flip_prob, self.reverse_channels)
        if self.random_view and self.uint8_train:  # same random draws as below, only the crop is computed (uint8)
            return train_clip(frames, jitter, crop, flip_prob, self.mean, self.std, self.reverse_channels)
        clip = T.color_normalization(T.frames_to_clip(frames), self.mean, self.std)
        if self.random_view:
            clip, _ = T.random_short_side_scale_jitter(clip, jitter[0], jitter[1])
            clip, _ = T.random_crop(clip, crop)
            if self.random_flip:
                clip, _ = T.horizontal_flip(0.5, clip)
        else:
            clip, _ = T.short_side_scale(clip, self.test_scale)
            spatial_idx = view % self.num_crops if self.num_crops == 3 else 1
            clip, _ = T.uniform_crop(clip, self.test_crop, spatial_idx)
        if self.reverse_channels:
            clip = clip.flip(0)
        return clip

    def _blank(self) -> torch.Tensor:
        size = self.train_crop if self.random_view else self.test_crop
        return torch.zeros(3, self.num_frames, size, size, dtype=torch.uint8 if self.uint8_out else torch.float32)

    def __getitem__(self, index):
        index, crop = index if isinstance(index, tuple) else (index, None)  # (index, crop): datasets.multigrid
        video_idx, view = divmod(index, self.views_per_video)
        with item_rng(item_seed(self.seed, self.epoch, video_idx)):  # every random draw of this item
            frames, video_idx, retries = self._decode_with_retries(video_idx, view)
            return self.item(frames, video_idx, view, crop, retries)

    def _decode_with_retries(self, video_idx: int, view: int) -> tuple:
        """(frames or None, video index used, replacements): an unreadable training video is replaced by a
        random other one (at most DATA.MAX_DECODE_RETRIES in a row); in val / test the frames are None (the
        item's view is a blank, marked failed)."""
        retries = 0
        while True:
            try:
                return self._frames(video_idx, view), video_idx, retries
            except VideoDecodeError as e:
                logger.warning("skipping unreadable video (%s): %s", self.split, e)
                if self.split != "train":
                    return None, video_idx, retries
                retries += 1
                if retries > self.max_retries:
                    raise UnreadableDataError(
                        f"{retries} unreadable videos in a row (last: {e.path}: {e.reason}); check the dataset "
                        f"(DATA.MAX_DECODE_RETRIES = {self.max_retries})") from e
                video_idx = int(torch.randint(len(self.videos), (1,)).item())

    def item(self, frames, video_idx: int, view: int, crop: int | None = None, retries: int = 0):
        """The item `(inputs, label, video_idx, extra)` of decoded `frames` (None: undecodable, a blank view
        marked failed); shared with the shard dataset (datasets.shards). Its random draws (crop, flip,
        RandAugment) come from the caller's per-item generator state (datasets.seeding)."""
        if frames is None:
            clips, failed = [self._blank()], True
        else:
            clips, failed = [self._clip(frames, view, crop) for _ in range(self.num_samples)], False
        views = [pack_pathway_output(c, self.alpha, self.num_pathways, self.slow_sampling) for c in clips]
        extra = {"failed": failed, "retries": retries}
        if self.num_samples == 1:
            return views[0], self.label(video_idx), video_idx, extra
        return views, self.label(video_idx), video_idx, {**extra, "num_samples": self.num_samples}
