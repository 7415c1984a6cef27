"""What the AVA dataset reads from the config (:class:`AvaSpec`, read once), and where its files are.

``AVA.FRAME_DIR``, ``AVA.FRAME_LIST_DIR`` and ``AVA.ANNOTATION_DIR`` are used as written when absolute;
a relative path is joined to ``DATA.PATH_TO_DATA_DIR``; an empty one defaults to
``DATA.PATH_TO_DATA_DIR/frames``, ``.../frame_lists`` and ``.../annotations`` (PySlowFast's layout, see
:mod:`slowfast.formats.ava_frames`).  List and box file names in ``AVA.*_LISTS`` are relative to the
frame-list and annotation folders.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

from slowfast.config.validation import num_pathways

# Validation during training scores only key seconds divisible by this (PySlowFast's val split).
VAL_SECOND_STRIDE = 4


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


@dataclass(frozen=True)
class AvaSpec:
    """The config values the AVA dataset of one split and its pixel pipelines use, read once
    (:meth:`from_config`); the list fields are those of the split."""

    split: str  # "train", "val" or "test"
    test_scale: int  # val / test short side (default DATA.TEST_CROP_SIZE)
    test_flip: bool  # val / test views mirrored
    # files (DATA.GENERATE_SYNTHETIC: the synthetic dataset is made in data_dir first)
    generate_synthetic: bool
    data_dir: str
    frame_dir: str
    frame_list_dir: str
    annotation_dir: str
    frame_lists: Tuple[str, ...]  # AVA.TRAIN_LISTS / TEST_LISTS
    gt_box_lists: Tuple[str, ...]  # AVA.TRAIN_GT_BOX_LISTS in training, else none
    proposal_lists: Tuple[str, ...]  # AVA.TRAIN_PREDICT_BOX_LISTS / TEST_PREDICT_BOX_LISTS
    # boxes and key frames (AVA.*)
    num_classes: int  # MODEL.NUM_CLASSES
    score_thresh: float
    score_strict: bool
    proposal_iou: float
    negative_proposals: bool
    full_test_on_val: bool
    keyframe_start_sec: int
    keyframe_end_sec: int
    fps: float
    start_sec: float
    # clips (DATA.*)
    num_frames: int
    sampling_rate: int
    max_decode_retries: int
    # pixels
    preprocess: str  # AVA.PREPROCESS: "pyslowfast" or "exact"
    train_jitter_scales: Tuple[int, ...]
    train_crop_size: int
    random_flip: bool
    val_center_crop: bool  # AVA.VAL_CENTER_CROP
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    bgr: bool  # AVA.BGR
    normalize_on_device: bool
    reverse_input_channel: bool
    # pathways
    alpha: int  # SLOWFAST.ALPHA
    num_pathways: int
    slow_pathway_sampling: str

    @property
    def is_train(self) -> bool:
        return self.split == "train"

    @classmethod
    def from_config(cls, cfg, split: str, test_scale: Optional[int] = None, test_flip: bool = False) -> AvaSpec:
        data, ava, train = cfg.DATA, cfg.AVA, split == "train"
        frame_dir, frame_list_dir, annotation_dir = resolve_dirs(cfg)
        return cls(
            split=split, test_scale=test_scale or data.TEST_CROP_SIZE, test_flip=test_flip,
            generate_synthetic=data.GENERATE_SYNTHETIC, data_dir=data.PATH_TO_DATA_DIR, frame_dir=frame_dir,
            frame_list_dir=frame_list_dir, annotation_dir=annotation_dir,
            frame_lists=tuple(ava.TRAIN_LISTS if train else ava.TEST_LISTS),
            gt_box_lists=tuple(ava.TRAIN_GT_BOX_LISTS if train else ()),
            proposal_lists=tuple(ava.TRAIN_PREDICT_BOX_LISTS if train else ava.TEST_PREDICT_BOX_LISTS),
            num_classes=cfg.MODEL.NUM_CLASSES, score_thresh=ava.DETECTION_SCORE_THRESH,
            score_strict=ava.DETECTION_SCORE_STRICT, proposal_iou=ava.TRAIN_PROPOSAL_IOU,
            negative_proposals=ava.TRAIN_NEGATIVE_PROPOSALS, full_test_on_val=ava.FULL_TEST_ON_VAL,
            keyframe_start_sec=ava.KEYFRAME_START_SEC, keyframe_end_sec=ava.KEYFRAME_END_SEC, fps=ava.FPS,
            start_sec=ava.START_SEC,
            num_frames=data.NUM_FRAMES, sampling_rate=data.SAMPLING_RATE, max_decode_retries=data.MAX_DECODE_RETRIES,
            preprocess=ava.PREPROCESS, train_jitter_scales=tuple(data.TRAIN_JITTER_SCALES),
            train_crop_size=data.TRAIN_CROP_SIZE, random_flip=data.RANDOM_FLIP, val_center_crop=ava.VAL_CENTER_CROP,
            mean=tuple(data.MEAN), std=tuple(data.STD), bgr=ava.BGR, normalize_on_device=data.NORMALIZE_ON_DEVICE,
            reverse_input_channel=data.REVERSE_INPUT_CHANNEL,
            alpha=cfg.SLOWFAST.ALPHA, num_pathways=num_pathways(cfg), slow_pathway_sampling=data.SLOW_PATHWAY_SAMPLING,
        )

    def annotation_file(self, name: str) -> str:
        """Box CSV ``name`` (as :func:`annotation_path` finds it)."""
        return os.path.join(self.annotation_dir, name)

    def annotation_files(self) -> List[str]:
        """The box CSVs the split reads."""
        return [self.annotation_file(name) for name in self.gt_box_lists + self.proposal_lists]
