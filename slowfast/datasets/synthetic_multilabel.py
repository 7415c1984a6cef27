"""A small synthetic multi-label dataset (DATA.MULTI_LABEL) in the Charades-style CSV layout::

    OUT/train.csv, OUT/val.csv, OUT/test.csv   lines "videos/<split>/<split>_00000.mp4 <id>,<id>"
    OUT/videos/<split>/*.mp4                   real encoded videos (`video_encode.write_video`)
    OUT/synthetic_multilabel.json              the generation parameters

Each video shows one or two textured discs over static block noise (the Kinetics set's look,
`datasets.synthetic`); each disc moves with its own motion class (`synthetic.class_velocity`: the
direction, and the speed beyond four classes), two discs never share a class, and the video's labels
are the set of motions present. Deterministic by seed, whatever the number of worker processes.
"""
import os
from typing import Dict, Optional

import numpy as np

from slowfast.datasets.synthetic import SPLITS, class_velocity, ensure_split_csvs, render_moving_discs, run_jobs
from slowfast.datasets.synthetic import split_csv_paths, write_lines, write_meta
from slowfast.datasets.video_encode import default_codec, write_video

META_NAME = "synthetic_multilabel.json"
MAX_DISCS = 2


def _make_video(job: tuple) -> None:
    path, entropy, labels, num_classes, size, num_frames, fps, codec = job
    rng = np.random.default_rng(entropy)
    frames = render_moving_discs(rng, size, num_frames, [class_velocity(c, num_classes, size) for c in labels])
    write_video(path, frames, fps, codec=codec, gop=int(round(fps)))


def video_labels(seed: int, split: str, count: int, num_classes: int) -> list[list[int]]:
    """The sorted label set of each video of a split: 1..MAX_DISCS distinct classes, drawn by seed."""
    rng = np.random.default_rng([seed, SPLITS.index(split), 7])
    sets = []
    for _ in range(count):
        k = int(rng.integers(1, min(MAX_DISCS, num_classes) + 1))
        sets.append(sorted(int(c) for c in rng.choice(num_classes, size=k, replace=False)))
    return sets


def make_multilabel_synthetic(out_dir: str, num_classes: int = 4, num_train: int = 192, num_val: int = 48,
                              num_test: int = 48, size: int = 64, num_frames: int = 75, fps: int = 30, seed: int = 0,
                              codec: Optional[str] = None, num_workers: Optional[int] = None) -> Dict[str, str]:
    """Write the dataset into ``out_dir``; returns ``{split: csv path}``."""
    codec = codec or default_codec()
    counts = {"train": num_train, "val": num_val, "test": num_test}
    jobs, csvs = [], split_csv_paths(out_dir)
    for split in SPLITS:
        os.makedirs(os.path.join(out_dir, "videos", split), exist_ok=True)
        lines = []
        for index, labels in enumerate(video_labels(seed, split, counts[split], num_classes)):
            relative = f"videos/{split}/{split}_{index:05d}.mp4"
            jobs.append((os.path.join(out_dir, relative), [seed, SPLITS.index(split), index, 1], labels, num_classes,
                         size, num_frames, fps, codec))
            lines.append(f"{relative} {','.join(map(str, labels))}\n")
        write_lines(csvs[split], lines)
    run_jobs(_make_video, jobs, num_workers or os.cpu_count() or 1)
    write_meta(out_dir, META_NAME, dict(num_classes=num_classes, num_train=num_train, num_val=num_val,
                                        num_test=num_test, size=size, num_frames=num_frames, fps=fps, seed=seed,
                                        codec=codec, multi_label=True, max_discs=MAX_DISCS))
    return csvs


def ensure_multilabel_synthetic(out_dir: str, **kwargs) -> Dict[str, str]:
    """:func:`make_multilabel_synthetic` unless ``out_dir/train.csv`` exists, atomically
    (`synthetic.ensure_split_csvs`)."""
    return ensure_split_csvs(make_multilabel_synthetic, out_dir, kwargs)
