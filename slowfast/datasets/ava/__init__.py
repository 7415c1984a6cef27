"""AVA spatio-temporal action detection dataset (:mod:`slowfast.datasets.ava.dataset`)."""
from slowfast.datasets.ava.dataset import (VAL_SECOND_STRIDE, Ava, KeyBoxes, add_matched_proposals, annotation_path,
                                           clamp_boxes_inclusive, clip_frame_indices, crop_frames, cv2_short_side_scale,
                                           drop_unknown_videos, flip_frames_inclusive, group_boxes, jitter_scale,
                                           keep_confident, labels_to_multi_hot, normalize_frames, pyslowfast_spatial,
                                           pyslowfast_view, read_frames, read_frames_replacing_unreadable, resolve_dirs,
                                           short_side_size, train_crop)

__all__ = [
    "VAL_SECOND_STRIDE", "Ava", "KeyBoxes", "add_matched_proposals", "annotation_path", "clamp_boxes_inclusive",
    "clip_frame_indices", "crop_frames", "cv2_short_side_scale", "drop_unknown_videos", "flip_frames_inclusive",
    "group_boxes", "jitter_scale", "keep_confident", "labels_to_multi_hot", "normalize_frames", "pyslowfast_spatial",
    "pyslowfast_view", "read_frames", "read_frames_replacing_unreadable", "resolve_dirs", "short_side_size", "train_crop",
]
