"""A small synthetic dataset in the real AVA on-disk layout (see :mod:`slowfast.datasets.ava_io`)::

    OUT/frames/<video_id>/<video_id>_000001.jpg ...       30 fps JPEGs starting at second 900
    OUT/frame_lists/{train,val}.csv
    OUT/annotations/ava_{train,val}_v2.2.csv             ground truth (one row per box and action)
    OUT/annotations/ava_{train,val}_predicted_boxes.csv  noisy proposals with detector scores
    OUT/annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt   the evaluated classes
    OUT/annotations/ava_action_list_v2.2.pbtxt           all 80 class ids
    OUT/annotations/ava_val_excluded_timestamps_v2.2.csv one excluded key frame
    OUT/synthetic_ava.json                               generation parameters (written last)

Each video shows ``people`` rectangles ("persons") on a static block-noise background, each in its own
horizontal slot, for the whole video.  A person does 1 or 2 of three visually distinct actions
(:data:`ACTIONS`): *sway* (moves left and right, period 16 frames), *flash* (its colour cycles, period
12 frames) and *striped* (dark horizontal stripes).  Only the 3 action ids used are evaluated (listed in
the ActivityNet label map), like the real 60 of 80.  Key frames are seconds 902 .. 902 + num_keyframes - 1;
frames cover seconds 900 .. last key + 1, so the real timestamp -> frame rule applies unchanged.

Proposals: every person's key-frame box, jittered (mostly IoU > 0.9 with the truth, some looser),
with a high score (a few with a low one), plus one low-score false positive per key frame.

Deterministic by seed: each video draws from ``numpy.random.default_rng([seed, split, index])``.
"""
import json
import os
from typing import Dict, List, Tuple

import cv2
import numpy as np

from slowfast.datasets import ava_io
from slowfast.datasets.synthetic import build_atomically

# Action id (1-based, as in the CSVs) -> name. Column k-1 of the label vectors.
ACTION_SWAY, ACTION_FLASH, ACTION_STRIPED = 3, 7, 12
ACTIONS = {
    ACTION_SWAY: "sway (moves left and right)",
    ACTION_FLASH: "flash (colour cycles)",
    ACTION_STRIPED: "striped (dark horizontal stripes)",
}
NUM_LABEL_IDS = 80
SPLITS = ("train", "val")
FIRST_KEY_SEC = 902
META_NAME = "synthetic_ava.json"
SWAY_PERIOD, SWAY_AMPLITUDE, FLASH_PERIOD = 16, 4, 12


def video_id(split: str, index: int) -> str:
    return f"{split}_{index:03d}"


# --------------------------------------------------------------------------- rendering


def _draw_people(rng: np.random.Generator, width: int, height: int, people: int) -> List[dict]:
    """Random persons, one per horizontal slot of the frame, with 1-2 actions each."""
    slot = width // people
    out = []
    for p in range(people):
        w = int(rng.integers(max(4, slot // 3), max(5, slot - 2 * SWAY_AMPLITUDE - 1)))
        h = int(rng.integers(height // 3, 2 * height // 3))
        x = p * slot + SWAY_AMPLITUDE + int(rng.integers(0, max(1, slot - w - 2 * SWAY_AMPLITUDE)))
        y = int(rng.integers(0, height - h))
        actions = sorted(rng.choice(list(ACTIONS), size=int(rng.integers(1, 3)), replace=False).tolist())
        out.append(dict(x=x, y=y, w=w, h=h, actions=actions, colour=rng.integers(40, 216, size=3),
                        phase=float(rng.uniform(0, 2 * np.pi))))
    return out


def person_box(person: dict, t: int) -> Tuple[int, int, int, int]:
    """Pixel box ``(x1, y1, x2, y2)`` (half-open) of ``person`` at frame ``t``."""
    dx = 0
    if ACTION_SWAY in person["actions"]:
        dx = int(round(SWAY_AMPLITUDE * np.sin(2 * np.pi * t / SWAY_PERIOD + person["phase"])))
    return person["x"] + dx, person["y"], person["x"] + dx + person["w"], person["y"] + person["h"]


def _person_colour(person: dict, t: int) -> np.ndarray:
    if ACTION_FLASH not in person["actions"]:
        return person["colour"]
    angle = 2 * np.pi * t / FLASH_PERIOD + person["phase"] + np.arange(3) * 2 * np.pi / 3
    return (128 + 110 * np.sin(angle)).astype(np.int64)


def render_frame(background: np.ndarray, people: List[dict], t: int) -> np.ndarray:
    """Frame ``t`` (``H x W x 3`` uint8 RGB) with every person drawn at its frame-``t`` box."""
    frame = background.copy()
    for person in people:
        x1, y1, x2, y2 = person_box(person, t)
        patch = np.broadcast_to(_person_colour(person, t), (y2 - y1, x2 - x1, 3)).copy()
        if ACTION_STRIPED in person["actions"]:
            patch[1::4] //= 4
            patch[2::4] //= 4
        frame[y1:y2, x1:x2] = patch
    return frame


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    block = 4
    cells = rng.integers(90, 160, size=(-(-height // block), -(-width // block), 3))
    return np.kron(cells, np.ones((block, block, 1), dtype=np.int64))[:height, :width].astype(np.uint8)


# --------------------------------------------------------------------------- annotations


def _jitter(rng: np.random.Generator, box: np.ndarray, scale: float) -> np.ndarray:
    size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
    return np.clip(box + rng.normal(0, scale, 4) * size, 0, 1)


def _proposals(rng: np.random.Generator, boxes: List[np.ndarray]) -> List[Tuple[np.ndarray, float]]:
    """Noisy person proposals ``(box, score)`` for the normalised truth ``boxes`` of one key frame."""
    out = []
    for box in boxes:
        loose = rng.random() < 0.25
        score = rng.uniform(0.3, 0.7) if rng.random() < 0.1 else rng.uniform(0.85, 1.0)
        out.append((_jitter(rng, box, 0.06 if loose else 0.008), float(score)))
    x1, y1 = rng.uniform(0, 0.7, 2)
    out.append((np.array([x1, y1, x1 + rng.uniform(0.1, 0.3), y1 + rng.uniform(0.1, 0.3)]), float(rng.uniform(0.05, 0.6))))
    return out


def make_video(out_dir: str, split: str, index: int, seed: int, width: int, height: int, people: int,
               num_keyframes: int, quality: int = 90):
    """Write one video's frames; return its ``(video_id, num_frames)``, GT rows and proposal rows."""
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    vid = video_id(split, index)
    persons = _draw_people(rng, width, height, people)
    background = _background(rng, width, height)
    num_frames = (FIRST_KEY_SEC + num_keyframes - ava_io.CLIP_START_SEC) * ava_io.FPS
    os.makedirs(os.path.join(out_dir, "frames", vid))
    for t in range(num_frames):
        path = os.path.join(out_dir, "frames", ava_io.frame_file_name(vid, t))
        cv2.imwrite(path, cv2.cvtColor(render_frame(background, persons, t), cv2.COLOR_RGB2BGR),
                    [cv2.IMWRITE_JPEG_QUALITY, quality])
    gt, proposals = [], []
    scale = np.array([width, height, width, height], dtype=np.float64)
    for sec in range(FIRST_KEY_SEC, FIRST_KEY_SEC + num_keyframes):
        boxes = [np.array(person_box(p, ava_io.sec_to_frame(sec))) / scale for p in persons]
        for person_id, (person, box) in enumerate(zip(persons, boxes)):
            gt += [(vid, sec, tuple(box), action, person_id) for action in person["actions"]]
        proposals += [(vid, sec, tuple(box), -1, score) for box, score in _proposals(rng, boxes)]
    return (vid, num_frames), gt, proposals


def _write_label_maps(ann_dir: str) -> None:
    ava_io.write_label_map(os.path.join(ann_dir, "ava_action_list_v2.2_for_activitynet_2019.pbtxt"), ACTIONS)
    every = {k: ACTIONS.get(k, f"unused synthetic action {k}") for k in range(1, NUM_LABEL_IDS + 1)}
    ava_io.write_label_map(os.path.join(ann_dir, "ava_action_list_v2.2.pbtxt"), every)


def make_ava_synthetic(out_dir: str, num_train_videos: int = 6, num_val_videos: int = 2, people: int = 3,
                       num_keyframes: int = 5, width: int = 80, height: int = 60, seed: int = 0) -> Dict[str, str]:
    """Write the dataset of the module docstring into ``out_dir`` (created; files overwritten).

    Returns:
        ``{"train": train frame list, "val": val frame list}``.
    """
    ann_dir = os.path.join(out_dir, "annotations")
    for sub in ("frames", "frame_lists", "annotations"):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    counts = {"train": num_train_videos, "val": num_val_videos}
    lists = {}
    for split in SPLITS:
        videos, gt, proposals = [], [], []
        for index in range(counts[split]):
            video, video_gt, video_proposals = make_video(out_dir, split, index, seed, width, height, people, num_keyframes)
            videos.append(video)
            gt += video_gt
            proposals += video_proposals
        lists[split] = os.path.join(out_dir, "frame_lists", f"{split}.csv")
        ava_io.write_frame_list(lists[split], videos)
        ava_io.write_box_csv(os.path.join(ann_dir, f"ava_{split}_v2.2.csv"), gt)
        ava_io.write_box_csv(os.path.join(ann_dir, f"ava_{split}_predicted_boxes.csv"), proposals, proposals=True)
    _write_label_maps(ann_dir)
    with open(os.path.join(ann_dir, "ava_val_excluded_timestamps_v2.2.csv"), "w") as f:
        f.write(f"{video_id('val', num_val_videos - 1)},{FIRST_KEY_SEC + num_keyframes - 1:04d}\n")
    meta = dict(num_train_videos=num_train_videos, num_val_videos=num_val_videos, people=people,
                num_keyframes=num_keyframes, width=width, height=height, seed=seed)
    with open(os.path.join(out_dir, META_NAME), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    return lists


def ensure_ava_synthetic(out_dir: str, **kwargs) -> Dict[str, str]:
    """Make the dataset of :func:`make_ava_synthetic` unless ``out_dir/synthetic_ava.json`` exists;
    built in a temporary directory and renamed into place (see
    :func:`slowfast.datasets.synthetic.build_atomically`).

    Returns:
        ``{"train": train frame list, "val": val frame list}``.
    """
    out_dir = build_atomically(out_dir, META_NAME, lambda tmp: make_ava_synthetic(tmp, **kwargs), "ensure_ava_synthetic")
    return {split: os.path.join(out_dir, "frame_lists", f"{split}.csv") for split in SPLITS}
