"""What a feature folder was computed with: ``DIR/fingerprint.json``, kept beside the ``.npy`` files.

A rerun into the same folder skips a video only when the fingerprint matches: the same checkpoint, the
same config keys that change features (:data:`FEATURE_KEYS`: the model's architecture, the clip and view
settings), the same ``--num-clips``, and the same clip plan for that video. When anything differs, the
run is refused with one line naming the folder and what differs, unless ``--overwrite`` is given (then
every video is recomputed and the fingerprint rewritten).

The checkpoint is identified by the sha256 of its bytes, not by path + size + mtime: a copied or moved
checkpoint is the same model (no false refusal), and one retrained in place at the same path is not (no
false skip, even when size and mtime collide). Hashing reads the file once per run, about a second per GB,
small beside decoding and running the model.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

from slowfast.utils.io import file_sha256, read_json_or_empty, write_text_atomic

FINGERPRINT_NAME = "fingerprint.json"
# Config sections (whole) and keys that change the features a checkpoint gives.
FEATURE_SECTIONS = ("MODEL", "RESNET", "SLOWFAST", "NONLOCAL", "X3D")
FEATURE_KEYS = (
    "DATA.NUM_FRAMES", "DATA.SAMPLING_RATE", "DATA.TARGET_FPS", "DATA.TEST_CROP_SIZE", "DATA.MEAN", "DATA.STD",
    "DATA.INPUT_CHANNEL_NUM", "DATA.REVERSE_INPUT_CHANNEL", "DATA.SLOW_PATHWAY_SAMPLING",
    "TEST.NUM_ENSEMBLE_VIEWS", "TEST.NUM_SPATIAL_CROPS", "TEST.CHECKPOINT_TYPE",
    "DEMO.STRIDE_SEC", "DEMO.CROP",
)


def _plain(value):
    """Config values as JSON-comparable data (CfgNode -> dict, tuples -> lists)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def feature_settings(cfg, checkpoint_path: Optional[str], num_clips: int) -> dict:
    """Everything but the per-video plans: ``{"checkpoint_sha256", "num_clips", "config": {KEY: value}}``."""
    config = {}
    for section in FEATURE_SECTIONS:
        if section in cfg:
            for key, value in cfg[section].items():
                config[f"{section}.{key}"] = _plain(value)
    for dotted in FEATURE_KEYS:
        section, key = dotted.split(".")
        if section in cfg and key in cfg[section]:
            config[dotted] = _plain(cfg[section][key])
    sha = file_sha256(checkpoint_path) if checkpoint_path and os.path.isfile(checkpoint_path) else None
    return {"checkpoint_sha256": sha, "num_clips": int(num_clips), "config": config}


def plan_spans(plan) -> List[List[float]]:
    """A clip plan as ``[[start_sec, end_sec], ...]`` rounded to microseconds (as index.csv writes them)."""
    return [[round(float(s), 6) for s in plan.clip_span(c)] for c in range(len(plan))]


def read_fingerprint(output_dir: str) -> Optional[dict]:
    path = os.path.join(output_dir, FINGERPRINT_NAME)
    if not os.path.isfile(path):
        return None
    return read_json_or_empty(path)


def write_fingerprint(output_dir: str, settings: dict, videos: Dict[str, list]) -> str:
    path = os.path.join(output_dir, FINGERPRINT_NAME)
    write_text_atomic(path, json.dumps({**settings, "videos": videos}, indent=1, sort_keys=True) + "\n")
    return path


def differences(old: Optional[dict], settings: dict, videos: Dict[str, list], existing: List[str]) -> List[str]:
    """What differs between the folder's fingerprint ``old`` and this run, as short phrases; ``[]`` when
    the folder's features may be reused. ``existing``: names whose ``.npy`` is already in the folder."""
    if old is None:
        return [f"{FINGERPRINT_NAME} is missing but {len(existing)} .npy files are there"] if existing else []
    if not old:
        return [f"{FINGERPRINT_NAME} is unreadable"]
    out = []
    if old.get("checkpoint_sha256") != settings["checkpoint_sha256"]:
        out.append("the checkpoint (sha256 {} -> {})".format(str(old.get("checkpoint_sha256"))[:12],
                                                            str(settings["checkpoint_sha256"])[:12]))
    if old.get("num_clips") != settings["num_clips"]:
        out.append(f"--num-clips ({old.get('num_clips')} -> {settings['num_clips']})")
    old_cfg, new_cfg = old.get("config", {}), settings["config"]
    for key in sorted(set(old_cfg) | set(new_cfg)):
        if old_cfg.get(key) != new_cfg.get(key):
            out.append(f"{key} ({old_cfg.get(key)!r} -> {new_cfg.get(key)!r})")
    old_videos = old.get("videos", {})
    changed = [n for n in sorted(videos) if n in old_videos and old_videos[n] != videos[n]]
    if changed:
        out.append("the clip plan of " + ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
    return out
