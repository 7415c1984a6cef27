"""A small synthetic dataset in the real AVA on-disk layout (see :mod:`slowfast.formats.ava_frames`)::

    OUT/frames/<video_id>/<video_id>_000001.jpg ...       30 fps JPEGs starting at second 900
    OUT/frame_lists/{train,val}.csv
    OUT/annotations/ava_{train,val}_v2.2.csv             ground truth (one row per box and action)
    OUT/annotations/ava_{train,val}_predicted_boxes.csv  noisy proposals with detector scores
    OUT/annotations/ava_action_list_v2.2_for_activitynet_2019.pbtxt   the evaluated classes
    OUT/annotations/ava_action_list_v2.2.pbtxt           all 80 class ids
    OUT/annotations/ava_val_excluded_timestamps_v2.2.csv one excluded key frame
    OUT/synthetic_ava.json                               generation parameters (written last)

Each video shows ``people`` rectangle "persons" on a static block-noise background, each in its own
horizontal slot.  Like AVA, labels belong to one person at one key second: around each key frame (the
30 frames ``[key - 16, key + 14)``, which hold that key frame's whole 16 x 2 clip) every person takes a
new pose, position and set of actions.  Of the 80 ids of the label map, the 10 of :data:`ACTIONS` are
used and evaluated (listed in the ActivityNet label map), like AVA's 60 of 80:

* one pose per person, by body shape (AVA's pose classes): *stand* (tall), *sit* (short), *lie* (flat);
* actions seen only over time, since a single frame of them looks like any other person's:
  *walk* (drifts sideways at constant speed), *jump* (bobs up and down, period 16 frames),
  *wave* (the arm bar swings up and down, period 12 frames), and two that change every 2 frames, so
  that only the Fast pathway (stride 2) sees them while the Slow pathway (stride 8) samples one phase:
  *talk* (the head, the body's top third, flickers light / dark) and *shake* (jitters 3 px left and right);
* actions seen in one frame: *carry* (holds a white square), *striped* (dark horizontal stripes).

Frequencies are skewed as in AVA (pose: 55 / 30 / 15 %, the other actions 5-25 % each, see
:data:`FREQUENCY`), so the rare classes have few positives and uniformly random scores reach a low mAP.

Proposals: every person's key-frame box, jittered (mostly IoU > 0.9 with the truth, some looser),
with a high score (a few with a low one), plus one low-score false positive per key frame.

Deterministic by seed: each video draws from ``numpy.random.default_rng([seed, split, index])``.
"""
import os
from typing import Dict, List, Tuple

import cv2
import numpy as np

from slowfast.datasets.synthetic import build_atomically, split_csv_paths, write_lines, write_meta
from slowfast.formats import ava_csv, ava_frames, ava_labels

# Action id (1-based, as in the CSVs; AVA's ids where AVA has the action) -> name.
STAND, SIT, LIE, WALK, JUMP, WAVE, TALK, SHAKE, CARRY, STRIPED = 12, 11, 8, 14, 7, 45, 79, 30, 17, 60
ACTIONS = {
    STAND: "stand (tall body)",
    SIT: "sit (short body)",
    LIE: "lie (flat body)",
    WALK: "walk (drifts sideways)",
    JUMP: "jump (bobs up and down)",
    WAVE: "wave (arm swings up and down)",
    TALK: "talk (head flickers every 2 frames)",
    SHAKE: "shake (jitters every 2 frames)",
    CARRY: "carry (holds a white square)",
    STRIPED: "striped (dark horizontal stripes)",
}
POSES = (STAND, SIT, LIE)
POSE_PROBS = (0.55, 0.30, 0.15)
# Probability that a person does each non-pose action at a key second (independently).
FREQUENCY = {WALK: 0.25, JUMP: 0.12, WAVE: 0.15, TALK: 0.15, SHAKE: 0.10, CARRY: 0.12, STRIPED: 0.06}
NUM_LABEL_IDS = 80
SPLITS = ("train", "val")
FIRST_KEY_SEC = 902
META_NAME = "synthetic_ava.json"
# Frames of key frame k's segment: [k - SEGMENT_BEFORE, k - SEGMENT_BEFORE + FPS).
SEGMENT_BEFORE = 16
WALK_SPEED, JUMP_PERIOD, JUMP_HEIGHT, WAVE_PERIOD, WAVE_AMPLITUDE, SHAKE_PX = 0.2, 16, 3, 12, 6, 3
MARGIN = 6  # horizontal room kept free in a slot for walking (3 px) and shaking (3 px)


def video_id(split: str, index: int) -> str:
    return f"{split}_{index:03d}"


# --------------------------------------------------------------------------- people


def _pose_size(rng: np.random.Generator, pose: int, height: int, slot: int) -> Tuple[int, int]:
    """``(w, h)`` of a body in ``pose`` (fractions of the frame height; width bounded by the slot)."""
    wmax = slot - 2 * MARGIN
    if pose == STAND:
        return int(rng.integers(6, min(10, wmax) + 1)), int(rng.integers(height * 45 // 100, height * 65 // 100))
    if pose == SIT:
        return int(rng.integers(7, min(11, wmax) + 1)), int(rng.integers(height * 25 // 100, height * 35 // 100))
    return int(rng.integers(min(12, wmax - 2), wmax + 1)), int(rng.integers(7, 10))


def _draw_person(rng: np.random.Generator, slot_index: int, slot: int, width: int, height: int) -> dict:
    """One person at one key second: pose, place, look and actions."""
    pose = POSES[int(rng.choice(len(POSES), p=POSE_PROBS))]
    w, h = _pose_size(rng, pose, height, slot)
    actions = [pose] + [a for a, p in FREQUENCY.items() if rng.random() < p]
    x = slot_index * slot + MARGIN + int(rng.integers(0, max(1, slot - w - 2 * MARGIN + 1)))
    y = int(rng.integers(JUMP_HEIGHT, max(JUMP_HEIGHT + 1, height - h)))
    return dict(x=x, y=y, w=w, h=h, actions=actions, colour=rng.integers(40, 216, size=3),
                head=int(rng.choice([60, 220])), arm=int(rng.integers(0, max(1, h - 4))),
                direction=int(rng.choice([-1, 1])), phase=int(rng.integers(0, 2)), jump_phase=float(rng.uniform(0, 2 * np.pi)),
                wave_phase=float(rng.uniform(0, 2 * np.pi)))


def person_box(person: dict, t: int) -> Tuple[int, int, int, int]:
    """Pixel box ``(x1, y1, x2, y2)`` (half-open) of ``person`` at frame offset ``t`` from its key frame."""
    acts = person["actions"]
    dx = int(round(WALK_SPEED * t)) * person["direction"] if WALK in acts else 0
    if SHAKE in acts:
        dx += SHAKE_PX if (t // 2 + person["phase"]) % 2 else -SHAKE_PX
    dy = -int(round(JUMP_HEIGHT * abs(np.sin(np.pi * t / JUMP_PERIOD + person["jump_phase"])))) if JUMP in acts else 0
    x, y = person["x"] + dx, person["y"] + dy
    return x, y, x + person["w"], y + person["h"]


def _draw(frame: np.ndarray, person: dict, t: int) -> None:
    """Paint ``person`` at frame offset ``t`` (from its key frame) into ``frame`` (``H x W x 3`` uint8 RGB)."""
    x1, y1, x2, y2 = person_box(person, t)
    h, w = y2 - y1, x2 - x1
    acts = person["actions"]
    patch = np.broadcast_to(person["colour"], (h, w, 3)).astype(np.int64).copy()
    if STRIPED in acts:
        patch[1::4] //= 4
        patch[2::4] //= 4
    head = max(2, h // 3)  # the "head": the top third of the body
    level = person["head"]
    if TALK in acts:
        level = 220 if (t // 2 + person["phase"]) % 2 else 60
    patch[:head] = level
    arm = person["arm"]
    if WAVE in acts:
        arm = int(round((h - 4) / 2 + min(WAVE_AMPLITUDE, (h - 4) / 2) * np.sin(2 * np.pi * t / WAVE_PERIOD + person["wave_phase"])))
    patch[max(0, arm):max(0, arm) + 4, w - 3:] = 255 - person["colour"]
    if CARRY in acts and h >= 6 and w >= 5:
        patch[h - 5:h - 1, w // 2 - 2:w // 2 + 2] = 255
    frame[y1:y2, x1:x2] = patch


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
    slot = width // people
    keys = [ava_frames.sec_to_frame(sec) for sec in range(FIRST_KEY_SEC, FIRST_KEY_SEC + num_keyframes)]
    persons = [[_draw_person(rng, p, slot, width, height) for p in range(people)] for _ in keys]
    background = _background(rng, width, height)
    num_frames = (FIRST_KEY_SEC + num_keyframes - ava_frames.CLIP_START_SEC) * ava_frames.FPS
    os.makedirs(os.path.join(out_dir, "frames", vid))
    for t in range(num_frames):
        # The segment of frame t: that of the key frame k with k - SEGMENT_BEFORE <= t < k - SEGMENT_BEFORE + FPS
        # (frames before the first / after the last segment show the nearest one, paused).
        seg = int(np.clip((t - keys[0] + SEGMENT_BEFORE) // ava_frames.FPS, 0, len(keys) - 1))
        frame = background.copy()
        offset = int(np.clip(t - keys[seg], -SEGMENT_BEFORE, ava_frames.FPS - SEGMENT_BEFORE - 1))  # people pause outside
        for person in persons[seg]:
            _draw(frame, person, offset)
        path = os.path.join(out_dir, "frames", ava_frames.frame_file_name(vid, t))
        cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    gt, proposals = [], []
    scale = np.array([width, height, width, height], dtype=np.float64)
    for k, sec in enumerate(range(FIRST_KEY_SEC, FIRST_KEY_SEC + num_keyframes)):
        boxes = [np.array(person_box(p, 0)) / scale for p in persons[k]]
        for person_id, (person, box) in enumerate(zip(persons[k], boxes)):
            gt += [(vid, sec, tuple(box), action, person_id) for action in sorted(person["actions"])]
        proposals += [(vid, sec, tuple(box), -1, score) for box, score in _proposals(rng, boxes)]
    return (vid, num_frames), gt, proposals


def _write_label_maps(ann_dir: str) -> None:
    ava_labels.write_label_map(os.path.join(ann_dir, "ava_action_list_v2.2_for_activitynet_2019.pbtxt"), ACTIONS)
    every = {k: ACTIONS.get(k, f"unused synthetic action {k}") for k in range(1, NUM_LABEL_IDS + 1)}
    ava_labels.write_label_map(os.path.join(ann_dir, "ava_action_list_v2.2.pbtxt"), every)


def make_ava_synthetic(out_dir: str, num_train_videos: int = 6, num_val_videos: int = 2, people: int = 3,
                       num_keyframes: int = 5, width: int = 80, height: int = 60, seed: int = 0) -> Dict[str, str]:
    """Write the dataset of the module docstring into ``out_dir`` (created; files overwritten).

    Returns:
        ``{"train": train frame list, "val": val frame list}``.
    """
    if width // people < 2 * MARGIN + 12:
        raise ValueError(f"make_ava_synthetic: {people} persons need a width of at least {people * (2 * MARGIN + 12)} px, got {width}")
    ann_dir = os.path.join(out_dir, "annotations")
    for sub in ("frames", "frame_lists", "annotations"):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
    counts = {"train": num_train_videos, "val": num_val_videos}
    lists = split_csv_paths(out_dir, SPLITS, "frame_lists")
    for split in SPLITS:
        videos, gt, proposals = [], [], []
        for index in range(counts[split]):
            video, video_gt, video_proposals = make_video(out_dir, split, index, seed, width, height, people, num_keyframes)
            videos.append(video)
            gt += video_gt
            proposals += video_proposals
        ava_frames.write_frame_list(lists[split], videos)
        ava_csv.write_box_csv(os.path.join(ann_dir, f"ava_{split}_v2.2.csv"), gt)
        ava_csv.write_box_csv(os.path.join(ann_dir, f"ava_{split}_predicted_boxes.csv"), proposals, proposals=True)
    _write_label_maps(ann_dir)
    write_lines(os.path.join(ann_dir, "ava_val_excluded_timestamps_v2.2.csv"),
                [f"{video_id('val', num_val_videos - 1)},{FIRST_KEY_SEC + num_keyframes - 1:04d}\n"])
    write_meta(out_dir, META_NAME, dict(num_train_videos=num_train_videos, num_val_videos=num_val_videos,
                                        people=people, num_keyframes=num_keyframes, width=width, height=height,
                                        seed=seed, version=2))
    return lists


def ensure_ava_synthetic(out_dir: str, **kwargs) -> Dict[str, str]:
    """Make the dataset of :func:`make_ava_synthetic` unless ``out_dir/synthetic_ava.json`` exists;
    built in a temporary directory and renamed into place (see
    :func:`slowfast.datasets.synthetic.build_atomically`).

    Returns:
        ``{"train": train frame list, "val": val frame list}``.
    """
    out_dir = build_atomically(out_dir, META_NAME, lambda tmp: make_ava_synthetic(tmp, **kwargs), "ensure_ava_synthetic")
    return split_csv_paths(out_dir, SPLITS, "frame_lists")
