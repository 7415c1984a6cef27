"""AVA spatio-temporal action detection dataset: one item per key frame, with all its person boxes.

By default every step from the files on disk to the model's input follows PySlowFast's AVA loader
(``slowfast/datasets/{ava_helper,ava_dataset,cv2_transform,utils}.py`` of facebookresearch/SlowFast), so
its model-zoo detectors give their published per-box scores here; the places where ours differs on
request are config keys, listed in GETTING_STARTED.md ("Differences from PySlowFast").

    spec        the config values used (AvaSpec, read once) and the data folders
    boxes       box CSV rows -> key frames and their labelled boxes
    frames      the frames of a key frame's clip, read from the JPEG files
    transforms  the pixel pipelines, AVA.PREPROCESS "pyslowfast" and "exact"
    dataset     the Ava dataset (registered as "ava")
"""
from slowfast.datasets.ava.boxes import (KeyBoxes, add_matched_proposals, check_actions, drop_unknown_videos,
                                         group_boxes, keep_confident, labels_to_multi_hot)
from slowfast.datasets.ava.dataset import Ava
from slowfast.datasets.ava.frames import clip_frame_indices, read_frames, read_frames_replacing_unreadable
from slowfast.datasets.ava.spec import AvaSpec, VAL_SECOND_STRIDE, annotation_path, resolve_dirs
from slowfast.datasets.ava.transforms import (clamp_boxes_inclusive, crop_frames, cv2_short_side_scale, exact_view,
                                              flip_frames_inclusive, jitter_scale, normalize_frames,
                                              pyslowfast_spatial, pyslowfast_view, short_side_size, train_crop)

__all__ = [
    "VAL_SECOND_STRIDE", "Ava", "AvaSpec", "KeyBoxes", "add_matched_proposals", "annotation_path", "check_actions",
    "clamp_boxes_inclusive", "clip_frame_indices", "crop_frames", "cv2_short_side_scale", "drop_unknown_videos",
    "exact_view", "flip_frames_inclusive", "group_boxes", "jitter_scale", "keep_confident", "labels_to_multi_hot",
    "normalize_frames", "pyslowfast_spatial", "pyslowfast_view", "read_frames", "read_frames_replacing_unreadable",
    "resolve_dirs", "short_side_size", "train_crop",
]
