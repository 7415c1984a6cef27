"""AVA spatio-temporal action detection dataset: one item per key frame, with all its person boxes.

Paths.  ``AVA.FRAME_DIR``, ``AVA.FRAME_LIST_DIR`` and ``AVA.ANNOTATION_DIR`` are used as written when
absolute; a relative path is joined to ``DATA.PATH_TO_DATA_DIR``; an empty one defaults to
``DATA.PATH_TO_DATA_DIR/frames``, ``.../frame_lists`` and ``.../annotations`` (PySlowFast's layout, see
:mod:`slowfast.datasets.ava_io`).  List and box file names in ``AVA.*_LISTS`` are relative to the
frame-list and annotation folders.

Samples.
* ``train``: key frames of ``AVA.TRAIN_GT_BOX_LISTS``; their boxes are the ground-truth boxes plus the
  proposals of ``AVA.TRAIN_PREDICT_BOX_LISTS`` with score > ``AVA.DETECTION_SCORE_THRESH`` (as in the
  report: proposals are person boxes with score > 0.8) whose IoU with a ground-truth box of the same key
  frame is > ``AVA.TRAIN_PROPOSAL_IOU``; such a proposal takes the labels of its best-matching GT box.
  Repeated rows of one box (one row per action) are merged into one multi-label box.
* ``val`` / ``test``: key frames of ``AVA.TEST_PREDICT_BOX_LISTS`` with the proposals of score
  > ``AVA.DETECTION_SCORE_THRESH``; labels are all zero (scoring is done on the written CSV).
  A key frame left without proposals is logged by name and counted in ``stats["empty_keyframes"]``.
Excluded timestamps are not removed here: the evaluator ignores them.

Problems that do not stop the run are counted in ``dataset.stats`` (a ``Counter``): ``clipped_boxes``,
``degenerate_boxes``, ``unknown_video_boxes``, ``empty_keyframes``, ``keyframes_out_of_range``,
``low_score_proposals``, ``unmatched_proposals``, ``replaced_keyframes``, ``replaced_frames``.

Missing or unreadable frame files (JPEGs) do not abort a run; each is logged with its path.
* ``train``: the key frame is replaced by another random one, like an unreadable Kinetics video
  (``replaced_keyframes``; the count travels with the batch as "retries" into the epoch stats);
  ``DATA.MAX_DECODE_RETRIES`` replacements in a row, or more than ``AVA.MAX_REPLACED_KEYFRAMES`` in one
  epoch (checked by the training loop), stop the run.
* ``val`` / ``test``: a key frame cannot be replaced by another (its boxes are scored), so each
  unreadable frame of its clip is replaced by the nearest readable frame of the same clip
  (``replaced_frames``); a clip without any readable frame stops the run.

Key frame of second ``sec``: frame-list entry ``(sec - AVA.START_SEC) * AVA.FPS`` (AVA: 900 and 30, the
constants of :mod:`slowfast.datasets.ava_io`; other values for custom data, see ``tools/prepare_ava.py``).

Item ``(inputs, labels, index, extra)``: see :mod:`slowfast.datasets.build`.  The clip has
``DATA.NUM_FRAMES`` frames at stride ``DATA.SAMPLING_RATE`` with the key frame at position
``NUM_FRAMES // 2`` (frame indices clamped to the video).  Spatial pipeline: train = short-side jitter in
``DATA.TRAIN_JITTER_SCALES``, random ``DATA.TRAIN_CROP_SIZE`` square crop, horizontal flip with p = 0.5
(``DATA.RANDOM_FLIP``), boxes clipped to the crop (a box may end up with no area; it is kept so labels
stay aligned); test = short side to ``test_scale`` (default ``DATA.TEST_CROP_SIZE``) on the full frame,
mirrored when ``test_flip``.
"""
from __future__ import annotations

import logging
import os
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np
import torch
import torch.utils.data

from slowfast.config.loader import num_pathways
from slowfast.datasets import ava_io
from slowfast.datasets import transforms as T
from slowfast.datasets.ava_io import Box, BoxRow, Key
from slowfast.datasets.build import DATASET_REGISTRY
from slowfast.datasets.sampling import pack_pathway_output
from slowfast.datasets.validation import UnreadableDataError, raise_problems
from slowfast.evaluation.ava.metrics import iou_matrix

logger = logging.getLogger(__name__)

# key frame -> {box: set of 1-based action ids}; dicts keep insertion (file) order.
KeyBoxes = Dict[Key, Dict[Box, Set[int]]]


# --------------------------------------------------------------------------- paths


def _resolve(root: str, path: str, default: str) -> str:
    """``path`` if absolute, else ``root/path``; ``root/default`` when ``path`` is empty."""
    return os.path.join(root, path or default)


def resolve_dirs(cfg) -> Tuple[str, str, str]:
    """``(frame_dir, frame_list_dir, annotation_dir)`` by the rule in the module docstring."""
    root = cfg.DATA.PATH_TO_DATA_DIR
    return (
        _resolve(root, cfg.AVA.FRAME_DIR, "frames"),
        _resolve(root, cfg.AVA.FRAME_LIST_DIR, "frame_lists"),
        _resolve(root, cfg.AVA.ANNOTATION_DIR, "annotations"),
    )


# --------------------------------------------------------------------------- box bookkeeping


def drop_unknown_videos(rows: List[BoxRow], known: Set[str], path: str, stats: Counter) -> List[BoxRow]:
    """Rows whose video is in ``known``; each other video is warned about by name, its rows counted
    in ``stats["unknown_video_boxes"]``."""
    unknown = Counter(r.video for r in rows if r.video not in known)
    for video, count in unknown.items():
        logger.warning("%s: video %r is not in the frame lists; its %d box rows are skipped", path, video, count)
    if not unknown:
        return rows
    stats["unknown_video_boxes"] += sum(unknown.values())
    return [r for r in rows if r.video in known]


def keep_confident(rows: List[BoxRow], thresh: float, stats: Counter) -> List[BoxRow]:
    """Proposal rows with ``score > thresh``; the others are counted in ``stats["low_score_proposals"]``."""
    kept = [r for r in rows if r.score > thresh]
    if len(kept) < len(rows):
        stats["low_score_proposals"] += len(rows) - len(kept)
    return kept


def group_boxes(rows: Sequence[BoxRow]) -> KeyBoxes:
    """Merge rows into key frame -> box -> action ids (rows of the same box add their actions;
    action -1 adds none)."""
    out: KeyBoxes = defaultdict(dict)
    for r in rows:
        labels = out[(r.video, r.sec)].setdefault(r.box, set())
        if r.action > 0:
            labels.add(r.action)
    return out


def add_matched_proposals(gt: KeyBoxes, proposals: Sequence[BoxRow], iou_thresh: float, stats: Counter) -> KeyBoxes:
    """Training boxes: ``gt`` plus every proposal whose IoU with a GT box of its key frame is
    ``> iou_thresh``, labelled with the best-matching GT box's actions (merged into the box's
    labels when the proposal repeats a box).  Unmatched proposals are counted in
    ``stats["unmatched_proposals"]``.  ``gt`` is not modified."""
    out: KeyBoxes = {key: {box: set(labels) for box, labels in boxes.items()} for key, boxes in gt.items()}
    by_key: Dict[Key, List[Box]] = defaultdict(list)
    for r in proposals:
        by_key[(r.video, r.sec)].append(r.box)
    for key, boxes in by_key.items():
        gt_boxes = list(gt.get(key, {}))
        if not gt_boxes:
            stats["unmatched_proposals"] += len(boxes)
            continue
        # The evaluator's IoU (0/0 for two empty boxes is NaN there; no overlap here).
        iou = np.nan_to_num(iou_matrix(np.asarray(boxes, dtype=np.float64), np.asarray(gt_boxes, dtype=np.float64)))
        for box, row in zip(boxes, iou):
            best = int(row.argmax())
            if row[best] > iou_thresh:
                out[key].setdefault(box, set()).update(gt[key][gt_boxes[best]])
            else:
                stats["unmatched_proposals"] += 1
    return out


def _check_actions(rows: Sequence[BoxRow], path: str, num_classes: int) -> None:
    raise_problems(ava_io.check_action_range(rows, path, num_classes), ava_io.AvaFormatError)


def labels_to_multi_hot(label_sets: Sequence[Set[int]], num_classes: int) -> np.ndarray:
    """``N`` sets of 1-based action ids -> ``N x num_classes`` float32 multi-hot (id k -> column k-1)."""
    out = np.zeros((len(label_sets), num_classes), dtype=np.float32)
    for i, labels in enumerate(label_sets):
        out[i, [k - 1 for k in labels]] = 1.0
    return out


# --------------------------------------------------------------------------- frames


def clip_frame_indices(center: int, num_frames: int, sampling_rate: int, num_video_frames: int) -> np.ndarray:
    """Frame indices of a clip centred on frame ``center``: ``center + (i - num_frames // 2) * sampling_rate``
    for ``i < num_frames``, clamped to ``[0, num_video_frames - 1]``. -> int64 array ``(num_frames,)``."""
    offsets = (np.arange(num_frames) - num_frames // 2) * sampling_rate
    return np.clip(center + offsets, 0, num_video_frames - 1)


def read_frames(paths: Sequence[str], bgr: bool = False) -> np.ndarray:
    """Read image files with OpenCV. -> ``T x H x W x 3`` uint8, RGB (BGR when ``bgr``).

    Raises:
        FileNotFoundError: a file is missing (the message names it).
        OSError: a file exists but cannot be decoded, or frame sizes differ.
    """
    frames = []
    for path in paths:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            if not os.path.exists(path):
                raise FileNotFoundError(f"AVA frame file not found: {path}")
            raise OSError(f"AVA frame file cannot be decoded: {path}")
        if frames and image.shape != frames[0].shape:
            raise OSError(f"AVA frame {path} is {image.shape[1]}x{image.shape[0]}, earlier frames of the clip are "
                          f"{frames[0].shape[1]}x{frames[0].shape[0]}")
        frames.append(image if bgr else cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return np.stack(frames)


def read_frames_replacing_unreadable(paths: Sequence[str], bgr: bool = False) -> Tuple[np.ndarray, List[Tuple[str, str]]]:
    """:func:`read_frames`, but a missing or undecodable file is replaced by the nearest readable frame of
    ``paths`` (the earlier one on a tie). -> frames and ``[(path, reason), ...]`` of the replaced files.

    Raises:
        OSError: no file of ``paths`` can be read, or frame sizes differ.
    """
    images: List[Optional[np.ndarray]] = []
    unreadable: List[Tuple[str, str]] = []
    for path in paths:
        try:
            images.append(read_frames([path], bgr)[0])
        except OSError as e:
            images.append(None)
            unreadable.append((path, str(e)))
    good = [i for i, im in enumerate(images) if im is not None]
    if not good:
        raise OSError(f"no frame of the clip can be read: {unreadable[0][1]} (and {len(unreadable) - 1} more)")
    filled = [im if im is not None else images[min(good, key=lambda j: (abs(j - i), j))] for i, im in enumerate(images)]
    shapes = {im.shape for im in filled}
    if len(shapes) > 1:
        raise OSError(f"AVA frames of one clip differ in size: {sorted(shapes)} ({paths[0]} ...)")
    return np.stack(filled), unreadable


# --------------------------------------------------------------------------- dataset


class Ava(torch.utils.data.Dataset):
    """AVA key-frame dataset (see module docstring); registered as ``"ava"``.

    Attributes:
        video_names: video index -> video id (for writing detection CSVs).
        num_boxes: boxes over all key frames.
        stats: counts of skipped / repaired input (module docstring).
    """

    def __init__(self, cfg, split: str, test_scale: Optional[int] = None, test_flip: bool = False):
        if split not in ("train", "val", "test"):
            raise ValueError(f"Ava: split must be train, val or test, got {split!r}")
        if cfg.DATA.GENERATE_SYNTHETIC:
            from slowfast.datasets.synthetic_ava import ensure_ava_synthetic

            ensure_ava_synthetic(cfg.DATA.PATH_TO_DATA_DIR)
        self.cfg, self.split = cfg, split
        self.is_train = split == "train"
        self.test_scale = test_scale or cfg.DATA.TEST_CROP_SIZE
        self.test_flip = test_flip
        self.num_classes = cfg.MODEL.NUM_CLASSES
        self.stats: Counter = Counter()
        frame_dir, list_dir, ann_dir = resolve_dirs(cfg)
        lists = cfg.AVA.TRAIN_LISTS if self.is_train else cfg.AVA.TEST_LISTS
        self._frames = ava_io.read_frame_lists([os.path.join(list_dir, f) for f in lists], frame_dir)
        self.video_names: List[str] = self._frames.video_names
        key_boxes = self._load_train_boxes(ann_dir) if self.is_train else self._load_test_boxes(ann_dir)
        self._keyframes = self._make_keyframes(key_boxes)
        self.num_boxes = sum(len(k[3]) for k in self._keyframes)
        logger.info("AVA %s: %d key frames, %d boxes, %d videos; %s", split, len(self._keyframes), self.num_boxes,
                    len(self.video_names), dict(self.stats) or "no input problems")

    # ----------------------------------------------------------------- loading

    def _read_rows(self, ann_dir: str, names: Sequence[str], proposals: bool) -> List[BoxRow]:
        known = set(self.video_names)
        rows = []
        for name in names:
            path = os.path.join(ann_dir, name)
            file_rows = ava_io.read_box_csv(path, proposals=proposals, stats=self.stats)
            _check_actions(file_rows, path, self.num_classes)
            rows += drop_unknown_videos(file_rows, known, path, self.stats)
        return rows

    def _load_train_boxes(self, ann_dir: str) -> KeyBoxes:
        gt = group_boxes(self._read_rows(ann_dir, self.cfg.AVA.TRAIN_GT_BOX_LISTS, proposals=False))
        proposals = self._read_rows(ann_dir, self.cfg.AVA.TRAIN_PREDICT_BOX_LISTS, proposals=True)
        proposals = keep_confident(proposals, self.cfg.AVA.DETECTION_SCORE_THRESH, self.stats)
        return add_matched_proposals(gt, proposals, self.cfg.AVA.TRAIN_PROPOSAL_IOU, self.stats)

    def _load_test_boxes(self, ann_dir: str) -> KeyBoxes:
        rows = self._read_rows(ann_dir, self.cfg.AVA.TEST_PREDICT_BOX_LISTS, proposals=True)
        boxes = group_boxes(keep_confident(rows, self.cfg.AVA.DETECTION_SCORE_THRESH, self.stats))
        empty = sorted({(r.video, r.sec) for r in rows} - set(boxes))
        for video, sec in empty:
            logger.info("AVA %s: key frame %s,%04d has no proposal with score > %g; skipped",
                        self.split, video, sec, self.cfg.AVA.DETECTION_SCORE_THRESH)
            self.stats["empty_keyframes"] += 1
        return boxes

    def _make_keyframes(self, key_boxes: KeyBoxes) -> list:
        """-> list of ``(video_idx, sec, frame_index, boxes N x 4 float32, labels N x C float32)``
        ordered by video index then second."""
        video_index = self._frames.video_index()
        out = []
        for (video, sec), boxes in sorted(key_boxes.items(), key=lambda kv: (video_index[kv[0][0]], kv[0][1])):
            if not boxes:
                continue
            idx = video_index[video]
            frame = ava_io.sec_to_frame(sec, self.cfg.AVA.FPS, self.cfg.AVA.START_SEC)
            if not 0 <= frame < len(self._frames.frame_paths[idx]):
                logger.warning("AVA %s: key frame %s,%04d is frame %d but the video has %d frames; skipped",
                               self.split, video, sec, frame, len(self._frames.frame_paths[idx]))
                self.stats["keyframes_out_of_range"] += 1
                continue
            box_array = np.asarray(list(boxes), dtype=np.float32).reshape(-1, 4)
            out.append((idx, sec, frame, box_array, labels_to_multi_hot(list(boxes.values()), self.num_classes)))
        return out

    # ----------------------------------------------------------------- items

    def __len__(self) -> int:
        return len(self._keyframes)

    def _spatial_transform(self, clip: torch.Tensor, boxes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Train or test pipeline of the module docstring on a ``C x T x H x W`` clip and ``N x 4`` pixel boxes."""
        data = self.cfg.DATA
        if self.is_train:
            clip, boxes = T.random_short_side_scale_jitter(clip, data.TRAIN_JITTER_SCALES[0], data.TRAIN_JITTER_SCALES[1], boxes)
            clip, boxes = T.random_crop(clip, data.TRAIN_CROP_SIZE, boxes)
            clip, boxes = T.horizontal_flip(0.5 if data.RANDOM_FLIP else 0.0, clip, boxes)
        else:
            clip, boxes = T.short_side_scale(clip, self.test_scale, boxes)
            if self.test_flip:
                clip, boxes = T.horizontal_flip(1.0, clip, boxes)
        return clip, T.clip_boxes_to_image(boxes, clip.shape[2], clip.shape[3])

    def load_clip(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Key frame ``index`` before the spatial pipeline: ``C x T x H x W`` float clip in ``[0, 1]`` and
        its ``N x 4`` boxes in pixels of the frame."""
        video_idx, _, frame, boxes, _ = self._keyframes[index]
        paths = self._frames.frame_paths[video_idx]
        indices = clip_frame_indices(frame, self.cfg.DATA.NUM_FRAMES, self.cfg.DATA.SAMPLING_RATE, len(paths))
        clip_paths = [paths[i] for i in indices]
        if self.is_train:
            images = read_frames(clip_paths, self.cfg.AVA.BGR)
        else:
            images, unreadable = read_frames_replacing_unreadable(clip_paths, self.cfg.AVA.BGR)
            for path, why in unreadable:
                logger.warning("AVA %s: %s; the nearest readable frame of the clip is used instead", self.split, why)
            self.stats["replaced_frames"] += len(unreadable)
        clip = T.frames_to_clip(torch.from_numpy(images))
        height, width = clip.shape[2:]
        return clip, torch.from_numpy(boxes) * torch.tensor([width, height, width, height], dtype=torch.float32)

    def _load_or_replace(self, index: int) -> Tuple[int, int, Tuple[torch.Tensor, torch.Tensor]]:
        """``(index, replacements, load_clip(index))``. In training a key frame whose clip has a missing or
        unreadable frame file is replaced by another random key frame (logged with the path, counted in
        ``stats["replaced_keyframes"]`` and in the batch's "retries"), at most ``DATA.MAX_DECODE_RETRIES``
        times in a row. (Val / test clips replace single frames instead, see :meth:`load_clip`.)"""
        retries = 0
        while True:
            try:
                return index, retries, self.load_clip(index)
            except OSError as e:  # FileNotFoundError included
                if not self.is_train:
                    raise
                video_idx, sec = self._keyframes[index][:2]
                logger.warning("AVA train: key frame %s,%04d replaced by another: %s", self.video_names[video_idx], sec, e)
                self.stats["replaced_keyframes"] += 1
                retries += 1
                if retries > self.cfg.DATA.MAX_DECODE_RETRIES:
                    raise UnreadableDataError(f"{retries} AVA key frames in a row have unreadable frame files (last: "
                                              f"{e}); check the dataset (DATA.MAX_DECODE_RETRIES)") from e
                index = int(torch.randint(len(self._keyframes), (1,)).item())

    def __getitem__(self, index: int):
        index, retries, loaded = self._load_or_replace(index)
        video_idx, sec, _, ori_boxes, labels = self._keyframes[index]
        clip, boxes = self._spatial_transform(*loaded)
        clip = T.color_normalization(clip, self.cfg.DATA.MEAN, self.cfg.DATA.STD)
        inputs = pack_pathway_output(clip, self.cfg.SLOWFAST.ALPHA, num_pathways(self.cfg))
        metadata = torch.tensor([[video_idx, sec]] * len(ori_boxes), dtype=torch.long).reshape(-1, 2)
        extra = {"boxes": boxes.float(), "ori_boxes": torch.from_numpy(ori_boxes), "metadata": metadata,
                 "retries": retries}
        return inputs, torch.from_numpy(labels), index, extra


# build_dataset looks datasets up by lower-case name (TRAIN.DATASET "ava").
DATASET_REGISTRY._do_register("ava", Ava)
