"""The AVA dataset, :class:`Ava`: one item per key frame, with all its person boxes."""
from __future__ import annotations

import logging
import os
from collections import Counter
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.utils.data

from slowfast.datasets import transforms as T
from slowfast.formats import ava_boxes, ava_frames, problems
from slowfast.datasets.ava.boxes import (KeyBoxes, add_matched_proposals, check_actions, drop_unknown_videos,
                                         group_boxes, keep_confident, labels_to_multi_hot)
from slowfast.datasets.ava.frames import clip_frame_indices, read_frames, read_frames_replacing_unreadable
from slowfast.datasets.ava.spec import AvaSpec, VAL_SECOND_STRIDE
from slowfast.datasets.ava.transforms import exact_view, pyslowfast_view
from slowfast.datasets.registry import DATASET_REGISTRY
from slowfast.datasets.sampling import pack_pathway_output
from slowfast.datasets.validation import UnreadableDataError
from slowfast.formats.ava_boxes import BoxRow

logger = logging.getLogger(__name__)


@DATASET_REGISTRY.register()
class Ava(torch.utils.data.Dataset):
    """AVA key-frame dataset of split ``train``, ``val`` or ``test``; registered as ``"ava"``.

    Item ``(inputs, labels, index, extra)`` (:mod:`slowfast.datasets.build`): the pathways of the key
    frame's clip (:mod:`~slowfast.datasets.ava.frames`, :mod:`~slowfast.datasets.ava.transforms`),
    ``N x num_classes`` multi-hot labels, and in ``extra`` the ``N x 4`` input-pixel "boxes", the CSV's
    normalised "ori_boxes", "metadata" ``(video index, second)`` per box and "retries".

    Key frames and boxes (:mod:`~slowfast.datasets.ava.boxes`):
    * ``train``: key frames of ``AVA.TRAIN_GT_BOX_LISTS``, their ground-truth boxes plus the matched
      proposals of ``AVA.TRAIN_PREDICT_BOX_LISTS``.
    * ``test``: key frames of ``AVA.TEST_PREDICT_BOX_LISTS`` with their kept proposals; labels are all
      zero (scoring is done on the written CSV).  ``val`` (validation during training) is the same but,
      as in PySlowFast, only key seconds divisible by 4 unless ``AVA.FULL_TEST_ON_VAL``.
      A key frame left without proposals is logged by name and counted in ``stats["empty_keyframes"]``.
    Key seconds outside AVA's annotated 902..1798 are skipped (PySlowFast's ``AVA_VALID_FRAMES``), counted
    in ``stats["keyframes_outside_valid_seconds"]``.  Excluded timestamps are not removed here: the
    evaluator ignores them.  A split left without any key frame (an empty box CSV, every row of videos the
    frame lists lack, every proposal below the threshold, ...) raises ``AvaFormatError`` naming the split,
    the files and the counts of what was dropped.

    Missing or unreadable frame files (JPEGs) do not abort a run; each is logged with its path.
    * ``train``: the key frame is replaced by another random one, like an unreadable Kinetics video
      (``replaced_keyframes``; the count travels with the batch as "retries" into the epoch stats);
      ``DATA.MAX_DECODE_RETRIES`` replacements in a row, or more than ``AVA.MAX_REPLACED_KEYFRAMES`` in
      one epoch (checked by the training loop), stop the run.
    * ``val`` / ``test``: a key frame cannot be replaced by another (its boxes are scored), so each
      unreadable frame of its clip is replaced by the nearest readable frame of the same clip
      (``replaced_frames``); a clip without any readable frame stops the run.

    Attributes:
        spec: the config values used (:class:`~slowfast.datasets.ava.spec.AvaSpec`).
        video_names: video index -> video id (for writing detection CSVs).
        num_boxes: boxes over all key frames.
        stats: a ``Counter`` of the problems that do not stop the run: ``clipped_boxes``,
            ``degenerate_boxes``, ``unknown_video_boxes``, ``empty_keyframes``, ``keyframes_out_of_range``,
            ``keyframes_outside_valid_seconds``, ``low_score_proposals``, ``unmatched_proposals``,
            ``replaced_keyframes``, ``replaced_frames``.
    """

    def __init__(self, cfg, split: str, test_scale: Optional[int] = None, test_flip: bool = False):
        if split not in ("train", "val", "test"):
            raise ValueError(f"Ava: split must be train, val or test, got {split!r}")
        self.spec = spec = AvaSpec.from_config(cfg, split, test_scale, test_flip)  # the only read of cfg
        if spec.generate_synthetic:
            from slowfast.datasets.synthetic_ava import ensure_ava_synthetic

            ensure_ava_synthetic(spec.data_dir)
        self.stats: Counter = Counter()
        self._rows_read = self._rows_off_stride = 0  # for the error of a split without key frames
        lists = [os.path.join(spec.frame_list_dir, f) for f in spec.frame_lists]
        self._frames = ava_frames.read_frame_lists(lists, spec.frame_dir)
        self.video_names: List[str] = self._frames.video_names
        key_boxes = self._load_train_boxes() if spec.is_train else self._load_test_boxes()
        self._keyframes = self._make_keyframes(key_boxes)
        if not self._keyframes:
            raise problems.AvaFormatError(self._no_keyframes_message(lists))
        self.num_boxes = sum(len(k[3]) for k in self._keyframes)
        logger.info("AVA %s: %d key frames, %d boxes, %d videos; %s", split, len(self._keyframes), self.num_boxes,
                    len(self.video_names), dict(self.stats) or "no input problems")

    # ----------------------------------------------------------------- loading

    def _read_rows(self, names: Sequence[str], proposals: bool) -> List[BoxRow]:
        known = set(self.video_names)
        rows = []
        for name in names:
            path = self.spec.annotation_file(name)
            degenerate = self.stats["degenerate_boxes"]
            file_rows = ava_boxes.read_box_csv(path, proposals=proposals, stats=self.stats)
            self._rows_read += len(file_rows) + self.stats["degenerate_boxes"] - degenerate
            check_actions(file_rows, path, self.spec.num_classes)
            rows += drop_unknown_videos(file_rows, known, path, self.stats)
        return rows

    def _load_train_boxes(self) -> KeyBoxes:
        spec = self.spec
        gt = group_boxes(self._read_rows(spec.gt_box_lists, proposals=False))
        proposals = self._read_rows(spec.proposal_lists, proposals=True)
        proposals = keep_confident(proposals, spec.score_thresh, self.stats, spec.score_strict)
        return add_matched_proposals(gt, proposals, spec.proposal_iou, self.stats, spec.negative_proposals)

    def _load_test_boxes(self) -> KeyBoxes:
        spec = self.spec
        rows = self._read_rows(spec.proposal_lists, proposals=True)
        if spec.split == "val" and not spec.full_test_on_val:
            kept = [r for r in rows if r.sec % VAL_SECOND_STRIDE == 0]
            self._rows_off_stride += len(rows) - len(kept)
            rows = kept
        boxes = group_boxes(keep_confident(rows, spec.score_thresh, self.stats, spec.score_strict))
        empty = sorted({(r.video, r.sec) for r in rows} - set(boxes))
        for video, sec in empty:
            logger.info("AVA %s: key frame %s,%04d has no proposal with score %s %g; skipped", spec.split, video,
                        sec, ">" if spec.score_strict else ">=", spec.score_thresh)
            self.stats["empty_keyframes"] += 1
        return boxes

    def _make_keyframes(self, key_boxes: KeyBoxes) -> list:
        """-> list of ``(video_idx, sec, frame_index, boxes N x 4 float32, labels N x C float32)``
        ordered by video index then second."""
        spec, video_index = self.spec, self._frames.video_index()
        out = []
        for (video, sec), boxes in sorted(key_boxes.items(), key=lambda kv: (video_index[kv[0][0]], kv[0][1])):
            if not boxes:
                continue
            if not spec.keyframe_start_sec <= sec <= spec.keyframe_end_sec:  # AVA: 902..1798
                self.stats["keyframes_outside_valid_seconds"] += 1
                continue
            idx = video_index[video]
            frame = ava_frames.sec_to_frame(sec, spec.fps, spec.start_sec)
            if not 0 <= frame < len(self._frames.frame_paths[idx]):
                logger.warning("AVA %s: key frame %s,%04d is frame %d but the video has %d frames; skipped",
                               spec.split, video, sec, frame, len(self._frames.frame_paths[idx]))
                self.stats["keyframes_out_of_range"] += 1
                continue
            box_array = np.asarray(list(boxes), dtype=np.float32).reshape(-1, 4)
            out.append((idx, sec, frame, box_array, labels_to_multi_hot(list(boxes.values()), spec.num_classes)))
        return out

    def _no_keyframes_message(self, frame_lists: Sequence[str]) -> str:
        """Why the split has no key frame: the files read and, in the order they were dropped, the counts of
        ``stats`` (and of val's skipped seconds) that account for it."""
        spec = self.spec
        files = ", ".join(spec.annotation_files()) or "(none: the config lists no box file)"
        head = f"AVA {spec.split} has no key frames: annotation file(s) {files} with frame list(s) {', '.join(frame_lists)}"
        if not self._rows_read:
            return f"{head}: the annotation file(s) have no box rows"
        below = "at or below" if spec.score_strict else "below"
        counts = [
            (self.stats["degenerate_boxes"], "boxes without area", "degenerate_boxes"),
            (self.stats["unknown_video_boxes"], "rows of videos not in the frame lists", "unknown_video_boxes"),
            (self._rows_off_stride, f"rows of seconds not divisible by {VAL_SECOND_STRIDE} (val without "
             "AVA.FULL_TEST_ON_VAL)", None),
            (self.stats["low_score_proposals"], f"proposals scored {below} AVA.DETECTION_SCORE_THRESH = "
             f"{spec.score_thresh:g}", "low_score_proposals"),
            (self.stats["unmatched_proposals"], "proposals matching no ground-truth box", "unmatched_proposals"),
            (self.stats["empty_keyframes"], "key frames left without a proposal", "empty_keyframes"),
            (self.stats["keyframes_outside_valid_seconds"], "key frames outside AVA.KEYFRAME_START_SEC.."
             f"KEYFRAME_END_SEC = {spec.keyframe_start_sec}..{spec.keyframe_end_sec}", "keyframes_outside_valid_seconds"),
            (self.stats["keyframes_out_of_range"], "key frames past the end of their video", "keyframes_out_of_range"),
        ]
        dropped = "; ".join(f"{n} {what}" + (f" (stats {key!r})" if key else "") for n, what, key in counts if n)
        return f"{head}: of their {self._rows_read} box rows none is left ({dropped or 'no dropped rows counted'})"

    # ----------------------------------------------------------------- items

    def __len__(self) -> int:
        return len(self._keyframes)

    def frame_indices(self, index: int) -> np.ndarray:
        """Frame-list indices of the clip of key frame ``index`` (:func:`clip_frame_indices`)."""
        video_idx, _, frame, _, _ = self._keyframes[index]
        return clip_frame_indices(frame, self.spec.num_frames, self.spec.sampling_rate,
                                  len(self._frames.frame_paths[video_idx]))

    def load_clip(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Key frame ``index`` before the ``"exact"`` spatial pipeline: ``C x T x H x W`` float clip in
        ``[0, 1]`` (RGB unless ``AVA.BGR``) and its ``N x 4`` boxes in pixels of the frame."""
        boxes = self._keyframes[index][3]
        clip = T.frames_to_clip(torch.from_numpy(self._read_clip_frames(index, self.spec.bgr)))
        height, width = clip.shape[2:]
        return clip, torch.from_numpy(boxes) * torch.tensor([width, height, width, height], dtype=torch.float32)

    def _read_clip_frames(self, index: int, bgr: bool) -> np.ndarray:
        """``T x H x W x 3`` uint8 frames of the clip of key frame ``index``. Training raises ``OSError`` on a
        missing or unreadable file (the key frame is then replaced, :meth:`_load_or_replace`); val / test
        replace each such frame by the nearest readable frame of the same clip (logged, counted)."""
        paths = self._frames.frame_paths[self._keyframes[index][0]]
        clip_paths = [paths[i] for i in self.frame_indices(index)]
        if self.spec.is_train:
            return read_frames(clip_paths, bgr)
        images, unreadable = read_frames_replacing_unreadable(clip_paths, bgr)
        for path, why in unreadable:
            logger.warning("AVA %s: %s; the nearest readable frame of the clip is used instead", self.spec.split, why)
        self.stats["replaced_frames"] += len(unreadable)
        return images

    def _pyslowfast_item(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """``AVA.PREPROCESS "pyslowfast"``: normalised ``C x T x H x W`` clip and ``N x 4`` input-pixel boxes."""
        frames = self._read_clip_frames(index, bgr=True)  # as OpenCV reads them
        uint8 = self.spec.is_train and self.spec.normalize_on_device  # training clips: the model normalises
        return pyslowfast_view(frames, self._keyframes[index][3], self.spec, normalize=not uint8)

    def _item(self, index: int) -> Tuple[torch.Tensor, torch.Tensor]:
        """Normalised ``C x T x H x W`` clip and ``N x 4`` input-pixel boxes of key frame ``index``."""
        if self.spec.preprocess == "pyslowfast":
            return self._pyslowfast_item(index)
        return exact_view(*self.load_clip(index), self.spec)

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
                if not self.spec.is_train:
                    raise
                video_idx, sec = self._keyframes[index][:2]
                logger.warning("AVA train: key frame %s,%04d replaced by another: %s", self.video_names[video_idx], sec, e)
                self.stats["replaced_keyframes"] += 1
                retries += 1
                if retries > self.spec.max_decode_retries:
                    raise UnreadableDataError(f"{retries} AVA key frames in a row have unreadable frame files (last: "
                                              f"{e}); check the dataset (DATA.MAX_DECODE_RETRIES)") from e
                index = int(torch.randint(len(self._keyframes), (1,)).item())

    def __getitem__(self, index: int):
        replaced_before = self.stats["replaced_frames"]  # counted here: a worker's `stats` never reach the loop
        index, retries, loaded = self._load_or_replace(index)
        video_idx, sec, _, ori_boxes, labels = self._keyframes[index]
        clip, boxes = loaded
        spec = self.spec
        if spec.reverse_input_channel:
            clip = clip.flip(0).contiguous()
        inputs = pack_pathway_output(clip, spec.alpha, spec.num_pathways, spec.slow_pathway_sampling)
        metadata = torch.tensor([[video_idx, sec]] * len(ori_boxes), dtype=torch.long).reshape(-1, 2)
        extra = {"boxes": boxes.float(), "ori_boxes": torch.from_numpy(ori_boxes), "metadata": metadata,
                 "retries": retries, "replaced_frames": self.stats["replaced_frames"] - replaced_before}
        return inputs, torch.from_numpy(labels), index, extra
