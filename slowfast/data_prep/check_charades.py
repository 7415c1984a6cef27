"""Pre-flight checks of a Charades frame-list dataset (TRAIN.DATASET / TEST.DATASET charades): each split's
frame list (header, rows, label range; :mod:`slowfast.formats.charades`) and, unless ``cheap``, that its
frame files exist (one problem per video with missing frames, naming the first and the count: the loader
replaces a missing frame by the nearest readable one, so they are warnings of lost frames, not fatal)."""
from __future__ import annotations

import os
from typing import List, Sequence

from slowfast.datasets.charades import frame_list_path
from slowfast.datasets.kinetics import DatasetFormatError
from slowfast.formats.charades import check_frame_label_range, group_videos, read_frame_list_rows
from slowfast.formats.kinetics import resolve_video_path
from slowfast.formats.problems import Problem, missing_file


def check_charades(cfg, splits: Sequence[str], cheap: bool = False) -> List[Problem]:
    out: List[Problem] = []
    for split in splits:
        path = frame_list_path(cfg.DATA.PATH_TO_DATA_DIR, split)
        missing = missing_file(path, f"Charades frame list of split {split}")
        if missing:
            out.append(missing)
            continue
        rows = read_frame_list_rows(path, DatasetFormatError, out)
        out += check_frame_label_range(rows, cfg.MODEL.NUM_CLASSES, path)
        if cheap:
            continue
        for video in group_videos(rows):
            gone = [p for p in video.paths if not os.path.isfile(resolve_video_path(path, p, cfg.DATA.PATH_PREFIX))]
            if gone:
                out.append(Problem(path, video.line, "missing_frames", f"video {video.name}: {len(gone)} of "
                                   f"{len(video.paths)} frame files not found (first: {gone[0]})"))
    return out
