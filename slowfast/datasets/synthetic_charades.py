"""The synthetic multi-label set (:mod:`slowfast.datasets.synthetic_multilabel`) in PySlowFast's Charades
frame-list layout::

    OUT/train.csv, OUT/val.csv, OUT/test.csv   frame lists (header "original_vido_id video_id frame_id path labels")
    OUT/frames/<video>/<video>-000001.jpg      the frames, JPEG

The videos are the same as ``make_multilabel_synthetic``'s with the same arguments (same label sets, same
rendered frames before encoding), named ``<split>_00000`` ...; the discs are visible in every frame, so each
frame row lists all the video's labels.
"""
from __future__ import annotations

import os
from typing import Dict

import cv2
import numpy as np

from slowfast.datasets.synthetic import SPLITS, class_velocity, ensure_split_csvs
from slowfast.datasets.synthetic import render_moving_discs, split_csv_paths, write_lines, write_meta
from slowfast.datasets.synthetic_multilabel import video_labels
from slowfast.formats.charades import HEADER

META_NAME = "synthetic_charades.json"


def make_charades_synthetic(out_dir: str, num_classes: int = 4, num_train: int = 192, num_val: int = 48,
                            num_test: int = 48, size: int = 64, num_frames: int = 75, seed: int = 0) -> Dict[str, str]:
    """Write the frames and frame lists into ``out_dir``; returns ``{split: frame list path}``."""
    counts = {"train": num_train, "val": num_val, "test": num_test}
    lists = split_csv_paths(out_dir)
    for split in SPLITS:
        lines = [" ".join(HEADER) + "\n"]
        for index, labels in enumerate(video_labels(seed, split, counts[split], num_classes)):
            name = f"{split}_{index:05d}"
            rng = np.random.default_rng([seed, SPLITS.index(split), index, 1])  # the encoded set's frames
            video = render_moving_discs(rng, size, num_frames, [class_velocity(c, num_classes, size) for c in labels])
            os.makedirs(os.path.join(out_dir, "frames", name), exist_ok=True)
            for t, frame in enumerate(video):
                relative = f"frames/{name}/{name}-{t + 1:06d}.jpg"
                cv2.imwrite(os.path.join(out_dir, relative), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 95])
                lines.append(f"{name} {index} {t} {relative} \"{','.join(map(str, labels))}\"\n")
        write_lines(lists[split], lines)
    write_meta(out_dir, META_NAME, dict(num_classes=num_classes, num_train=num_train, num_val=num_val,
                                        num_test=num_test, size=size, num_frames=num_frames, seed=seed,
                                        layout="charades_frame_lists"))
    return lists


def ensure_charades_synthetic(out_dir: str, **kwargs) -> Dict[str, str]:
    """:func:`make_charades_synthetic` unless ``out_dir/train.csv`` exists, atomically
    (`synthetic.ensure_split_csvs`)."""
    return ensure_split_csvs(make_charades_synthetic, out_dir, kwargs)
