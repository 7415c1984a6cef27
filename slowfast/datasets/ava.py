"""AVA spatio-temporal action detection dataset: one item per key frame, with all its person boxes.

By default every step from the files on disk to the model's input follows PySlowFast's AVA loader
(``slowfast/datasets/{ava_helper,ava_dataset,cv2_transform,utils}.py`` of facebookresearch/SlowFast), so
its model-zoo detectors give their published per-box scores here; the places where ours differs on
request are config keys, listed in GETTING_STARTED.md ("Differences from PySlowFast").

Paths.  ``AVA.FRAME_DIR``, ``AVA.FRAME_LIST_DIR`` and ``AVA.ANNOTATION_DIR`` are used as written when
absolute; a relative path is joined to ``DATA.PATH_TO_DATA_DIR``; an empty one defaults to
``DATA.PATH_TO_DATA_DIR/frames``, ``.../frame_lists`` and ``.../annotations`` (PySlowFast's layout, see
:mod:`slowfast.formats.ava_frames`).  List and box file names in ``AVA.*_LISTS`` are relative to the
frame-list and annotation folders.

Samples.  A proposal is kept when its score is ``>= AVA.DETECTION_SCORE_THRESH`` (PySlowFast's rule;
``AVA.DETECTION_SCORE_STRICT True``: ``>``, the report's wording "confidence > 0.8").
* ``train``: key frames of ``AVA.TRAIN_GT_BOX_LISTS``; their boxes are the ground-truth boxes plus the
  kept proposals of ``AVA.TRAIN_PREDICT_BOX_LISTS`` whose IoU with a ground-truth box of the same key
  frame is > ``AVA.TRAIN_PROPOSAL_IOU``; such a proposal takes the labels of its best-matching GT box.
  With ``AVA.TRAIN_NEGATIVE_PROPOSALS`` the other kept proposals join too, with all-zero targets
  (PySlowFast's ``..._include_negative_...`` proposal files); off by default, as in the report.
  Repeated rows of one box (one row per action) are merged into one multi-label box.
* ``test``: key frames of ``AVA.TEST_PREDICT_BOX_LISTS`` with their kept proposals; labels are all
  zero (scoring is done on the written CSV).  ``val`` (validation during training) is the same but,
  as in PySlowFast, only key seconds divisible by 4 unless ``AVA.FULL_TEST_ON_VAL``.
  A key frame left without proposals is logged by name and counted in ``stats["empty_keyframes"]``.
Key seconds outside AVA's annotated 902..1798 are skipped (PySlowFast's ``AVA_VALID_FRAMES``), counted
in ``stats["keyframes_outside_valid_seconds"]``.  Excluded timestamps are not removed here: the
evaluator ignores them.

A split left without any key frame (an empty box CSV, every row of videos the frame lists lack, every
proposal below the threshold, ...) raises ``AvaFormatError`` naming the split, the files and the counts
of what was dropped.

Problems that do not stop the run are counted in ``dataset.stats`` (a ``Counter``): ``clipped_boxes``,
``degenerate_boxes``, ``unknown_video_boxes``, ``empty_keyframes``, ``keyframes_out_of_range``,
``keyframes_outside_valid_seconds``, ``low_score_proposals``, ``unmatched_proposals``, ``replaced_keyframes``,
``replaced_frames``.

Missing or unreadable frame files (JPEGs) do not abort a run; each is logged with its path.
* ``train``: the key frame is replaced by another random one, like an unreadable Kinetics video
  (``replaced_keyframes``; the count travels with the batch as "retries" into the epoch stats);
  ``DATA.MAX_DECODE_RETRIES`` replacements in a row, or more than ``AVA.MAX_REPLACED_KEYFRAMES`` in one
  epoch (checked by the training loop), stop the run.
* ``val`` / ``test``: a key frame cannot be replaced by another (its boxes are scored), so each
  unreadable frame of its clip is replaced by the nearest readable frame of the same clip
  (``replaced_frames``); a clip without any readable frame stops the run.

Key frame of second ``sec``: frame-list entry ``(sec - AVA.START_SEC) * AVA.FPS`` (AVA: 900 and 30, the
constants of :mod:`slowfast.formats.ava_frames`; other values for custom data, see ``tools/prepare_ava.py``).

Item ``(inputs, labels, index, extra)``: see :mod:`slowfast.datasets.build`.  Clip: ``DATA.NUM_FRAMES``
frames at stride ``DATA.SAMPLING_RATE`` starting ``NUM_FRAMES * SAMPLING_RATE // 2`` frames before the
key frame (PySlowFast's ``get_sequence``), indices clamped to the video.

Spatial pipeline, ``AVA.PREPROCESS "pyslowfast"`` (default; PySlowFast's ``cv2`` backend).  Frames are
read with OpenCV (BGR uint8).  Boxes are scaled to pixels and clamped to ``[0, W - 1] x [0, H - 1]``.
A short-side resize to ``S`` is ``cv2.resize(INTER_LINEAR)`` of the uint8 frames to
``S x floor(long * S / short)`` (skipped when the short side is already ``S``), boxes multiplied by the
long side's factor.  train: ``S = round(1 / U(1 / max, 1 / min))`` over ``DATA.TRAIN_JITTER_SCALES``,
random ``DATA.TRAIN_CROP_SIZE`` crop (offsets in ``[0, H - size)``), horizontal flip with p = 0.5
(``DATA.RANDOM_FLIP``), only the crop of the resize computed (:func:`train_crop`: pixels within uint8
rounding of resize-then-crop); val: ``S = test_scale`` then the centre ``S x S`` crop (offset
``ceil((H - S) / 2)``); test: ``S = test_scale`` on the full frame (default ``DATA.TEST_CROP_SIZE``).
A flip maps ``x -> W - 1 - x``.  Then ``/ 255``, ``(x - DATA.MEAN[c]) / DATA.STD[c]`` over the channels
in file order, channels reversed to RGB unless ``AVA.BGR`` (and again when ``DATA.REVERSE_INPUT_CHANNEL``),
boxes clamped to ``[0, W - 1] x [0, H - 1]`` of the input.

``AVA.PREPROCESS "exact"`` (ours): frames converted to RGB first and normalised in RGB order, bilinear
resize of the float clip (:mod:`slowfast.datasets.transforms`), boxes scaled per axis by the actual
factors, half-open pixel boxes (clamped to ``[0, W]``, flip ``x -> W - x``), integer jitter scales,
crop offsets over ``[0, H - size]``, and val views are full frames like test views.
"""
from __future__ import annotations

import logging
import math
import os
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np
import torch
import torch.utils.data

from slowfast.config.loader import num_pathways
from slowfast.formats import ava_boxes, ava_frames
from slowfast.datasets import transforms as T
from slowfast.formats.ava_boxes import Box, BoxRow, Key
from slowfast.datasets.build import DATASET_REGISTRY
from slowfast.datasets.fast_train_clip import crop_of_resize
from slowfast.datasets.sampling import pack_pathway_output
from slowfast.datasets.validation import UnreadableDataError
from slowfast.formats.problems import AvaFormatError, raise_problems
from slowfast.formats.boxes import iou_matrix

logger = logging.getLogger(__name__)

# Validation during training scores only key seconds divisible by this (PySlowFast's val split).
VAL_SECOND_STRIDE = 4

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


def annotation_path(cfg, name: str) -> str:
    """AVA annotation file ``name`` (absolute, or in the annotation folder of :func:`resolve_dirs`)."""
    return name if os.path.isabs(name) else os.path.join(resolve_dirs(cfg)[2], name)


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


def keep_confident(rows: List[BoxRow], thresh: float, stats: Counter, strict: bool = False) -> List[BoxRow]:
    """Proposal rows with ``score >= thresh`` (PySlowFast's ``parse_bboxes_file`` drops ``score < thresh``),
    or ``score > thresh`` when ``strict``; the others are counted in ``stats["low_score_proposals"]``."""
    kept = [r for r in rows if (r.score > thresh if strict else r.score >= thresh)]
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


def add_matched_proposals(gt: KeyBoxes, proposals: Sequence[BoxRow], iou_thresh: float, stats: Counter,
                          negatives: bool = False) -> KeyBoxes:
    """Training boxes: ``gt`` plus every proposal whose IoU with a GT box of its key frame is
    ``> iou_thresh``, labelled with the best-matching GT box's actions (merged into the box's
    labels when the proposal repeats a box).  Unmatched proposals are counted in
    ``stats["unmatched_proposals"]``; with ``negatives`` they are added too, with no action (all-zero
    targets), also on key frames without ground truth.  ``gt`` is not modified."""
    out: KeyBoxes = defaultdict(dict, {key: {box: set(labels) for box, labels in boxes.items()} for key, boxes in gt.items()})
    by_key: Dict[Key, List[Box]] = defaultdict(list)
    for r in proposals:
        by_key[(r.video, r.sec)].append(r.box)
    for key, boxes in by_key.items():
        gt_boxes = list(gt.get(key, {}))
        if not gt_boxes:
            stats["unmatched_proposals"] += len(boxes)
            if negatives:
                for box in boxes:
                    out[key].setdefault(box, set())
            continue
        # The evaluator's IoU (0/0 for two empty boxes is NaN there; no overlap here).
        iou = np.nan_to_num(iou_matrix(np.asarray(boxes, dtype=np.float64), np.asarray(gt_boxes, dtype=np.float64)))
        for box, row in zip(boxes, iou):
            best = int(row.argmax())
            if row[best] > iou_thresh:
                out[key].setdefault(box, set()).update(gt[key][gt_boxes[best]])
            else:
                stats["unmatched_proposals"] += 1
                if negatives:
                    out[key].setdefault(box, set())
    return dict(out)


def _check_actions(rows: Sequence[BoxRow], path: str, num_classes: int) -> None:
    raise_problems(ava_boxes.check_action_range(rows, path, num_classes), AvaFormatError)


def labels_to_multi_hot(label_sets: Sequence[Set[int]], num_classes: int) -> np.ndarray:
    """``N`` sets of 1-based action ids -> ``N x num_classes`` float32 multi-hot (id k -> column k-1)."""
    out = np.zeros((len(label_sets), num_classes), dtype=np.float32)
    for i, labels in enumerate(label_sets):
        out[i, [k - 1 for k in labels]] = 1.0
    return out


# --------------------------------------------------------------------------- frames


def clip_frame_indices(center: int, num_frames: int, sampling_rate: int, num_video_frames: int) -> np.ndarray:
    """Frame indices of the clip of key frame ``center``: ``num_frames`` frames at stride ``sampling_rate``
    from ``center - (num_frames * sampling_rate) // 2``, clamped to ``[0, num_video_frames - 1]``
    (PySlowFast's ``get_sequence(center, seq_len // 2, rate, n)``: the same frames wherever that range
    holds ``num_frames`` of them, i.e. except odd ``num_frames`` at stride 1, one frame short there).
    -> int64 array ``(num_frames,)``."""
    start = center - (num_frames * sampling_rate) // 2
    return np.clip(start + np.arange(num_frames) * sampling_rate, 0, num_video_frames - 1)


# PySlowFast-style (cv2) spatial steps on ``T x H x W x 3`` uint8 frames and ``N x 4`` float64 pixel boxes
# (inclusive pixel coordinates, bounds ``W - 1`` / ``H - 1``): see the module docstring.


def clamp_boxes_inclusive(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Clamp x to ``[0, width - 1]`` and y to ``[0, height - 1]`` (PySlowFast's ``clip_boxes_to_image``)."""
    out = boxes.copy()
    out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0.0, width - 1.0)
    out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0.0, height - 1.0)
    return out


def short_side_size(height: int, width: int, size: int) -> Tuple[int, int, float]:
    """``(new_h, new_w, factor)`` of a short-side resize to ``size``: long side ``floor(long * size / short)``,
    boxes times ``factor = new_long / long`` (both axes; PySlowFast's ``cv2_transform.scale`` rule)."""
    if width < height:
        new_h = int(math.floor(height / width * size))
        return new_h, size, new_h / height
    new_w = int(math.floor(width / height * size))
    return size, new_w, new_w / width


def cv2_short_side_scale(frames: np.ndarray, size: int, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Short side to ``size`` (:func:`short_side_size`) by ``cv2.resize(INTER_LINEAR)`` of each uint8 frame;
    boxes scaled.  Unchanged when the short side is already ``size``.  (PySlowFast: ``cv2_transform.scale``
    / ``scale_boxes``.)"""
    height, width = frames.shape[1:3]
    if min(height, width) == size:
        return frames, boxes
    new_h, new_w, factor = short_side_size(height, width, size)
    resized = np.stack([cv2.resize(f, (new_w, new_h), interpolation=cv2.INTER_LINEAR) for f in frames])
    return resized, boxes * factor


def jitter_scale(min_size: int, max_size: int) -> int:
    """Training short side ``round(1 / U(1 / max_size, 1 / min_size))`` (PySlowFast's
    ``random_short_side_scale_jitter_list``; uniform in the inverse size), from the torch generator."""
    u = torch.rand(()).item()
    return int(round(1.0 / (1.0 / max_size + u * (1.0 / min_size - 1.0 / max_size))))


def crop_frames(frames: np.ndarray, x: int, y: int, size: int, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``size x size`` crop at ``(x, y)``; boxes shifted (not clamped)."""
    return frames[:, y:y + size, x:x + size], boxes - np.array([x, y, x, y], dtype=boxes.dtype)


def flip_frames_inclusive(frames: np.ndarray, boxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Mirror left-right; boxes ``(x1, x2) -> (W - 1 - x2, W - 1 - x1)`` (PySlowFast's ``flip_boxes``)."""
    width = frames.shape[2]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - 1 - boxes[:, 2], width - 1 - boxes[:, 0]
    return np.ascontiguousarray(frames[:, :, ::-1]), flipped


def train_crop(frames: np.ndarray, boxes: np.ndarray, jitter: Sequence[int], size: int,
               random_flip: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The ``"pyslowfast"`` training view: short side to :func:`jitter_scale`, a random ``size`` crop
    (offsets ``torch.randint(0, H - size)``, 0 where the side is ``size``), a flip with p = 0.5; the same
    random draws in the same order as PySlowFast.  Only the crop of the resized frames is computed
    (:func:`slowfast.datasets.fast_train_clip.crop_of_resize`: bilinear samples at the positions the full
    ``cv2.resize`` would read, flipped in the same pass), so pixels agree with resize-then-crop up to
    uint8 rounding, and exactly when no resize is needed. ``T x H x W x 3`` uint8 -> ``T x size x size x 3``."""
    height, width = frames.shape[1:3]
    scale = jitter_scale(*jitter)
    new_h, new_w, factor = short_side_size(height, width, scale) if min(height, width) != scale \
        else (height, width, 1.0)
    if new_h < size or new_w < size:
        raise ValueError(f"AVA training crop {size} is larger than the {new_w}x{new_h} jittered frame "
                         f"(DATA.TRAIN_JITTER_SCALES {list(jitter)}, DATA.TRAIN_CROP_SIZE {size})")
    y = int(torch.randint(0, new_h - size, ()).item()) if new_h > size else 0
    x = int(torch.randint(0, new_w - size, ()).item()) if new_w > size else 0
    flip = bool(random_flip and torch.rand(()).item() < 0.5)
    boxes = boxes * factor - np.array([x, y, x, y], dtype=np.float64)
    if flip:
        boxes[:, [0, 2]] = size - 1 - boxes[:, [2, 0]]
    return crop_of_resize(np.ascontiguousarray(frames), (new_h, new_w), (y, x), size, flip), boxes


def pyslowfast_spatial(frames: np.ndarray, boxes: np.ndarray, split: str, cfg, test_scale: int,
                       test_flip: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The ``"pyslowfast"`` spatial pipeline of the module docstring (after the boxes' scaling to pixels and
    clamping) on uint8 frames; -> ``(frames, boxes)``, boxes not yet clamped to the output."""
    data = cfg.DATA
    if split == "train":
        return train_crop(frames, boxes, data.TRAIN_JITTER_SCALES, data.TRAIN_CROP_SIZE, data.RANDOM_FLIP)
    frames, boxes = cv2_short_side_scale(frames, test_scale, boxes)
    if split == "val" and cfg.AVA.VAL_CENTER_CROP:
        height, width = frames.shape[1:3]
        y, x = int(math.ceil((height - test_scale) / 2)), int(math.ceil((width - test_scale) / 2))
        frames, boxes = crop_frames(frames, x, y, test_scale, boxes)
    if test_flip:
        frames, boxes = flip_frames_inclusive(frames, boxes)
    return frames, boxes


def pyslowfast_view(frames_bgr: np.ndarray, boxes: np.ndarray, split: str, cfg, test_scale: int,
                    test_flip: bool, normalize: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """The whole ``"pyslowfast"`` view: uint8 BGR ``T x H x W x 3`` frames and ``N x 4`` boxes normalised to
    [0, 1] -> normalised ``C x T x H x W`` clip (RGB unless ``AVA.BGR``) and ``N x 4`` input-pixel boxes.
    Used by the dataset and by the AVA demo (tools/demo.py), so both see the same pixels. ``normalize``
    False: the clip stays uint8, channels in the same order (the model normalises it,
    ``DATA.NORMALIZE_ON_DEVICE``, with :func:`slowfast.models.build.clip_channel_stats`)."""
    height, width = frames_bgr.shape[1:3]
    pixels = clamp_boxes_inclusive(np.asarray(boxes, np.float64).reshape(-1, 4) * np.array([width, height, width, height]),
                                   height, width)
    frames, pixels = pyslowfast_spatial(frames_bgr, pixels, split, cfg, test_scale, test_flip)
    if normalize:
        clip = normalize_frames(frames, cfg.DATA.MEAN, cfg.DATA.STD, reverse=not cfg.AVA.BGR)
    else:
        clip = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)
        clip = (clip if cfg.AVA.BGR else clip.flip(0)).contiguous()
    pixels = clamp_boxes_inclusive(pixels, clip.shape[2], clip.shape[3])
    return clip, torch.from_numpy(pixels).float()


def normalize_frames(frames: np.ndarray, mean: Sequence[float], std: Sequence[float], reverse: bool) -> torch.Tensor:
    """uint8 ``T x H x W x C`` -> float32 ``C x T x H x W`` of ``(x / 255 - mean[c]) / std[c]`` over the
    channels in the frames' order, then the channel order reversed when ``reverse``.

    Computed channel by channel: one uint8 -> float copy into the output (reading the channels in the
    order asked for) and three in-place passes. Each element sees the same arithmetic as the out-of-place
    form, so the floats are the same bits, without its five full-size temporaries (a 32 x 256 x 455 clip:
    116 -> 20 ms; a 32 x 224^2 one with the channels reversed: 14.5 -> 6.4 ms)."""
    pixels = torch.from_numpy(np.ascontiguousarray(frames))
    c = pixels.shape[-1]
    mean_t = torch.tensor(mean, dtype=torch.float32)
    std_t = torch.tensor(std, dtype=torch.float32)
    clip = torch.empty((c,) + tuple(pixels.shape[:-1]), dtype=torch.float32)
    for k in range(c):
        ch = c - 1 - k if reverse else k
        clip[k].copy_(pixels[..., ch]).div_(255.0).sub_(mean_t[ch]).div_(std_t[ch])
    return clip


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
        self._rows_read = self._rows_off_stride = 0  # for the error of a split without key frames
        frame_dir, list_dir, ann_dir = resolve_dirs(cfg)
        lists = [os.path.join(list_dir, f) for f in (cfg.AVA.TRAIN_LISTS if self.is_train else cfg.AVA.TEST_LISTS)]
        self._frames = ava_frames.read_frame_lists(lists, frame_dir)
        self.video_names: List[str] = self._frames.video_names
        key_boxes = self._load_train_boxes(ann_dir) if self.is_train else self._load_test_boxes(ann_dir)
        self._keyframes = self._make_keyframes(key_boxes)
        if not self._keyframes:
            raise AvaFormatError(self._no_keyframes_message(lists))
        self.num_boxes = sum(len(k[3]) for k in self._keyframes)
        logger.info("AVA %s: %d key frames, %d boxes, %d videos; %s", split, len(self._keyframes), self.num_boxes,
                    len(self.video_names), dict(self.stats) or "no input problems")

    # ----------------------------------------------------------------- loading

    def _read_rows(self, ann_dir: str, names: Sequence[str], proposals: bool) -> List[BoxRow]:
        known = set(self.video_names)
        rows = []
        for name in names:
            path = os.path.join(ann_dir, name)
            degenerate = self.stats["degenerate_boxes"]
            file_rows = ava_boxes.read_box_csv(path, proposals=proposals, stats=self.stats)
            self._rows_read += len(file_rows) + self.stats["degenerate_boxes"] - degenerate
            _check_actions(file_rows, path, self.num_classes)
            rows += drop_unknown_videos(file_rows, known, path, self.stats)
        return rows

    def _load_train_boxes(self, ann_dir: str) -> KeyBoxes:
        gt = group_boxes(self._read_rows(ann_dir, self.cfg.AVA.TRAIN_GT_BOX_LISTS, proposals=False))
        proposals = self._read_rows(ann_dir, self.cfg.AVA.TRAIN_PREDICT_BOX_LISTS, proposals=True)
        proposals = keep_confident(proposals, self.cfg.AVA.DETECTION_SCORE_THRESH, self.stats,
                                   self.cfg.AVA.DETECTION_SCORE_STRICT)
        return add_matched_proposals(gt, proposals, self.cfg.AVA.TRAIN_PROPOSAL_IOU, self.stats,
                                     self.cfg.AVA.TRAIN_NEGATIVE_PROPOSALS)

    def _load_test_boxes(self, ann_dir: str) -> KeyBoxes:
        rows = self._read_rows(ann_dir, self.cfg.AVA.TEST_PREDICT_BOX_LISTS, proposals=True)
        if self.split == "val" and not self.cfg.AVA.FULL_TEST_ON_VAL:
            kept = [r for r in rows if r.sec % VAL_SECOND_STRIDE == 0]
            self._rows_off_stride += len(rows) - len(kept)
            rows = kept
        ava = self.cfg.AVA
        boxes = group_boxes(keep_confident(rows, ava.DETECTION_SCORE_THRESH, self.stats, ava.DETECTION_SCORE_STRICT))
        empty = sorted({(r.video, r.sec) for r in rows} - set(boxes))
        for video, sec in empty:
            logger.info("AVA %s: key frame %s,%04d has no proposal with score %s %g; skipped", self.split, video,
                        sec, ">" if ava.DETECTION_SCORE_STRICT else ">=", ava.DETECTION_SCORE_THRESH)
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
            if not self.cfg.AVA.KEYFRAME_START_SEC <= sec <= self.cfg.AVA.KEYFRAME_END_SEC:  # AVA: 902..1798
                self.stats["keyframes_outside_valid_seconds"] += 1
                continue
            idx = video_index[video]
            frame = ava_frames.sec_to_frame(sec, self.cfg.AVA.FPS, self.cfg.AVA.START_SEC)
            if not 0 <= frame < len(self._frames.frame_paths[idx]):
                logger.warning("AVA %s: key frame %s,%04d is frame %d but the video has %d frames; skipped",
                               self.split, video, sec, frame, len(self._frames.frame_paths[idx]))
                self.stats["keyframes_out_of_range"] += 1
                continue
            box_array = np.asarray(list(boxes), dtype=np.float32).reshape(-1, 4)
            out.append((idx, sec, frame, box_array, labels_to_multi_hot(list(boxes.values()), self.num_classes)))
        return out

    def annotation_files(self) -> List[str]:
        """The box CSVs this split reads (:func:`annotation_path`)."""
        ava = self.cfg.AVA
        names = list(ava.TRAIN_GT_BOX_LISTS) + list(ava.TRAIN_PREDICT_BOX_LISTS) if self.is_train else ava.TEST_PREDICT_BOX_LISTS
        return [annotation_path(self.cfg, name) for name in names]

    def _no_keyframes_message(self, frame_lists: Sequence[str]) -> str:
        """Why the split has no key frame: the files read and, in the order they were dropped, the counts of
        ``stats`` (and of val's skipped seconds) that account for it."""
        ava = self.cfg.AVA
        files = ", ".join(self.annotation_files()) or "(none: the config lists no box file)"
        head = f"AVA {self.split} has no key frames: annotation file(s) {files} with frame list(s) {', '.join(frame_lists)}"
        if not self._rows_read:
            return f"{head}: the annotation file(s) have no box rows"
        below = "at or below" if ava.DETECTION_SCORE_STRICT else "below"
        counts = [
            (self.stats["degenerate_boxes"], "boxes without area", "degenerate_boxes"),
            (self.stats["unknown_video_boxes"], "rows of videos not in the frame lists", "unknown_video_boxes"),
            (self._rows_off_stride, f"rows of seconds not divisible by {VAL_SECOND_STRIDE} (val without "
             "AVA.FULL_TEST_ON_VAL)", None),
            (self.stats["low_score_proposals"], f"proposals scored {below} AVA.DETECTION_SCORE_THRESH = "
             f"{ava.DETECTION_SCORE_THRESH:g}", "low_score_proposals"),
            (self.stats["unmatched_proposals"], "proposals matching no ground-truth box", "unmatched_proposals"),
            (self.stats["empty_keyframes"], "key frames left without a proposal", "empty_keyframes"),
            (self.stats["keyframes_outside_valid_seconds"], "key frames outside AVA.KEYFRAME_START_SEC.."
             f"KEYFRAME_END_SEC = {ava.KEYFRAME_START_SEC}..{ava.KEYFRAME_END_SEC}", "keyframes_outside_valid_seconds"),
            (self.stats["keyframes_out_of_range"], "key frames past the end of their video", "keyframes_out_of_range"),
        ]
        dropped = "; ".join(f"{n} {what}" + (f" (stats {key!r})" if key else "") for n, what, key in counts if n)
        return f"{head}: of their {self._rows_read} box rows none is left ({dropped or 'no dropped rows counted'})"

    # ----------------------------------------------------------------- items

    def __len__(self) -> int:
        return len(self._keyframes)

    def _spatial_transform(self, clip: torch.Tensor, boxes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``AVA.PREPROCESS "exact"``: train or test pipeline of the module docstring on a ``C x T x H x W``
        clip and ``N x 4`` pixel boxes."""
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

    def frame_indices(self, index: int) -> np.ndarray:
        """Frame-list indices of the clip of key frame ``index`` (module docstring)."""
        video_idx, _, frame, _, _ = self._keyframes[index]
        return clip_frame_indices(frame, self.cfg.DATA.NUM_FRAMES, self.cfg.DATA.SAMPLING_RATE,
                                  len(self._frames.frame_paths[video_idx]))

    def load_clip(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Key frame ``index`` before the ``"exact"`` spatial pipeline: ``C x T x H x W`` float clip in
        ``[0, 1]`` (RGB unless ``AVA.BGR``) and its ``N x 4`` boxes in pixels of the frame."""
        boxes = self._keyframes[index][3]
        clip = T.frames_to_clip(torch.from_numpy(self._read_clip_frames(index, self.cfg.AVA.BGR)))
        height, width = clip.shape[2:]
        return clip, torch.from_numpy(boxes) * torch.tensor([width, height, width, height], dtype=torch.float32)

    def _read_clip_frames(self, index: int, bgr: bool) -> np.ndarray:
        """``T x H x W x 3`` uint8 frames of the clip of key frame ``index``. Training raises ``OSError`` on a
        missing or unreadable file (the key frame is then replaced, :meth:`_load_or_replace`); val / test
        replace each such frame by the nearest readable frame of the same clip (logged, counted)."""
        paths = self._frames.frame_paths[self._keyframes[index][0]]
        clip_paths = [paths[i] for i in self.frame_indices(index)]
        if self.is_train:
            return read_frames(clip_paths, bgr)
        images, unreadable = read_frames_replacing_unreadable(clip_paths, bgr)
        for path, why in unreadable:
            logger.warning("AVA %s: %s; the nearest readable frame of the clip is used instead", self.split, why)
        self.stats["replaced_frames"] += len(unreadable)
        return images

    def _pyslowfast_item(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """``AVA.PREPROCESS "pyslowfast"``: normalised ``C x T x H x W`` clip and ``N x 4`` input-pixel boxes."""
        frames = self._read_clip_frames(index, bgr=True)  # as OpenCV reads them
        uint8 = self.is_train and self.cfg.DATA.NORMALIZE_ON_DEVICE  # training clips: the model normalises
        return pyslowfast_view(frames, self._keyframes[index][3], self.split, self.cfg, self.test_scale,
                               self.test_flip, normalize=not uint8)

    def _item(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Normalised ``C x T x H x W`` clip and ``N x 4`` input-pixel boxes of key frame ``index``."""
        if self.cfg.AVA.PREPROCESS == "pyslowfast":
            return self._pyslowfast_item(index)
        clip, boxes = self._spatial_transform(*self.load_clip(index))
        return T.color_normalization(clip, self.cfg.DATA.MEAN, self.cfg.DATA.STD), boxes

    def _load_or_replace(self, index: int) -> Tuple[int, int, Tuple[torch.Tensor, torch.Tensor]]:
        """``(index, replacements, _item(index))``. In training a key frame whose clip has a missing or
        unreadable frame file is replaced by another random key frame (logged with the path, counted in
        ``stats["replaced_keyframes"]`` and in the batch's "retries"), at most ``DATA.MAX_DECODE_RETRIES``
        times in a row. (Val / test clips replace single frames instead, see :meth:`_read_clip_frames`.)"""
        retries = 0
        while True:
            try:
                return index, retries, self._item(index)
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
        clip, boxes = loaded
        if self.cfg.DATA.REVERSE_INPUT_CHANNEL:
            clip = clip.flip(0).contiguous()
        inputs = pack_pathway_output(clip, self.cfg.SLOWFAST.ALPHA, num_pathways(self.cfg),
                                     self.cfg.DATA.SLOW_PATHWAY_SAMPLING)
        metadata = torch.tensor([[video_idx, sec]] * len(ori_boxes), dtype=torch.long).reshape(-1, 2)
        extra = {"boxes": boxes.float(), "ori_boxes": torch.from_numpy(ori_boxes), "metadata": metadata,
                 "retries": retries}
        return inputs, torch.from_numpy(labels), index, extra


# build_dataset looks datasets up by lower-case name (TRAIN.DATASET "ava").
DATASET_REGISTRY._do_register("ava", Ava)
