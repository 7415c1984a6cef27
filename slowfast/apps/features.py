"""Feature extraction for users' videos: per video ``DIR/<name>.npy`` of ``num_clips x D`` features.

``D`` is the input of the model's classifier (:func:`slowfast.models.extract_features`: pooled,
concatenated pathway features; 2304 for SlowFast R50 / R101). Clips are those of the demo
(:func:`slowfast.apps.video_clips.plan_clips`): one every ``DEMO.STRIDE_SEC`` seconds, or
``num_clips`` uniformly spaced test windows; each is the single-crop test view (``DEMO.CROP``).

Outputs in ``DIR``:

* ``<name>.npy``: float32 ``num_clips x D``, row ``i`` = clip ``i`` (``name`` = the file name without
  extension; two inputs with the same name are an error);
* ``index.csv``: ``video,clip,start_sec,end_sec`` for every row of every written ``.npy`` (the
  window the clip covers, seconds from the start of the video).

* ``fingerprint.json``: what the features were computed with (:mod:`slowfast.apps.feature_fingerprint`:
  the checkpoint's sha256, the config keys that change features, ``num_clips``, each video's clip plan).

Resumable: a video whose ``.npy`` already holds the planned number of rows is skipped, but only when the
folder's fingerprint matches this run; when it differs the run is refused (a DemoError naming the folder
and what differs) unless ``overwrite``, which recomputes every video. Files are written atomically, so an interrupted run leaves no half file. Clips are decoded by
``DATA_LOADER.NUM_WORKERS`` loader workers and run ``clip_batch_size`` at a time. A video that cannot
be decoded is reported by name and left out; the others are still written.
"""
from __future__ import annotations

import csv
import io
import logging
import os
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.utils.data

from slowfast.apps.demo import DemoError, clip_batch_size
from slowfast.apps.eval_model import load_eval_model
from slowfast.apps.feature_fingerprint import (FINGERPRINT_NAME, differences, feature_settings, plan_spans,
                                               read_fingerprint, write_fingerprint)
from slowfast.apps.video_clips import ClipPlan, VideoClips, batch
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.engine.tasks import build_task
from slowfast.models.features import extract_features, feature_dim
from slowfast.utils.io import atomic_write, read_text, refuse_overwriting_inputs, write_text_atomic
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)
INDEX_NAME = "index.csv"
LIST_EXTENSIONS = (".csv", ".txt", ".lst")


def list_videos(path: str, separator: str = " ", prefix: str = "") -> List[str]:
    """Videos named by ``path``: the file itself, or, for a ``.csv`` / ``.txt`` / ``.lst`` list, the first
    field of each non-blank line (a Kinetics split file works: its labels are ignored). Relative paths are
    joined to ``prefix`` when given, else to the list's folder."""
    if not os.path.isfile(path):
        raise DemoError(f"input not found: {path}")
    if os.path.splitext(path)[1].lower() not in LIST_EXTENSIONS:
        return [path]
    base = os.path.dirname(os.path.abspath(path))
    videos = []
    with io.StringIO(read_text(path)) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            video = (line.split() if separator == " " else line.split(separator))[0]
            if not os.path.isabs(video):
                video = os.path.join(prefix or base, video)
            videos.append(video)
    if not videos:
        raise DemoError(f"{path}: the video list is empty")
    return videos


def video_names(videos: List[str]) -> List[str]:
    """Output names (file name without extension); raises DemoError when two videos share one."""
    seen: Dict[str, str] = {}
    names = []
    for video in videos:
        name = os.path.splitext(os.path.basename(video))[0]
        if name in seen and seen[name] != video:
            raise DemoError(f"two inputs would both write {name}.npy: {seen[name]} and {video}; rename one")
        seen[name] = video
        names.append(name)
    return names


class _ClipItems(torch.utils.data.Dataset):
    """Item ``k`` = ``(video index, clip index, inputs or None, error message or None)``."""

    def __init__(self, cfg, videos: List[str], items: List[Tuple[int, int]], num_clips: int):
        self.cfg, self.videos, self.items, self.num_clips = cfg, videos, items, num_clips
        self._open: Optional[Tuple[int, VideoClips]] = None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k: int):
        video_idx, clip_idx = self.items[k]
        try:
            if self._open is None or self._open[0] != video_idx:
                if self._open is not None:
                    self._open[1].close()
                self._open = (video_idx, VideoClips(self.videos[video_idx], self.cfg, num_clips=self.num_clips))
            return video_idx, clip_idx, self._open[1].inputs(clip_idx), None
        except VideoDecodeError as e:
            return video_idx, clip_idx, None, str(e)


def _plans(cfg, videos: List[str], num_clips: int) -> Tuple[Dict[int, ClipPlan], Dict[int, str]]:
    plans, failed = {}, {}
    for i, video in enumerate(videos):
        try:
            with VideoClips(video, cfg, num_clips=num_clips) as clips:
                plans[i] = clips.plan
        except VideoDecodeError as e:
            failed[i] = str(e)
            logger.warning("skipping %s", e)
    return plans, failed


def _done(path: str, rows: int, dim: int) -> bool:
    try:
        return np.load(path, mmap_mode="r").shape == (rows, dim)
    except (OSError, ValueError):
        return False


def _write_index(output_dir: str, names: List[str], plans: Dict[int, ClipPlan], written: List[int]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["video", "clip", "start_sec", "end_sec"])
    for i in sorted(written):
        for c in range(len(plans[i])):
            start, end = plans[i].clip_span(c)
            out.writerow([names[i], c, f"{start:.6f}", f"{end:.6f}"])
    path = os.path.join(output_dir, INDEX_NAME)
    write_text_atomic(path, buf.getvalue())
    return path


def _check_fingerprint(output_dir: str, settings: dict, spans: Dict[str, list], overwrite: bool) -> None:
    """Refuse (DemoError) a folder whose features were computed with other settings, unless ``overwrite``;
    then write this run's fingerprint (kept plans of other videos unless ``overwrite``) before any .npy."""
    old = read_fingerprint(output_dir)
    existing = sorted(f for f in os.listdir(output_dir) if f.endswith(".npy")) if os.path.isdir(output_dir) else []
    diffs = differences(old, settings, spans, existing)
    if diffs and not overwrite:
        raise DemoError(f"{output_dir} holds features computed with other settings: {'; '.join(diffs)}; "
                        "pass --overwrite to recompute them all, or choose another --output")
    kept = {} if overwrite or not old else dict(old.get("videos", {}))
    os.makedirs(output_dir, exist_ok=True)
    write_fingerprint(output_dir, settings, {**kept, **spans})


@torch.no_grad()
def extract_video_features(cfg, input_path: str, output_dir: str, num_clips: int = 0, overwrite: bool = False) -> dict:
    """Write the features of every video of ``input_path`` (a video or a list) to ``output_dir``;
    ``overwrite`` recomputes every video even when the folder's fingerprint differs.

    Returns ``{"written": [...], "skipped": [...], "failed": {name: reason}, "dim": D, "index": path}``.
    """
    videos = list_videos(input_path, cfg.DATA.PATH_LABEL_SEPARATOR, cfg.DATA.PATH_PREFIX)
    names = video_names(videos)
    written = [os.path.join(output_dir, n) for n in (INDEX_NAME, FINGERPRINT_NAME)] + [os.path.join(output_dir, n + ".npy") for n in names]
    refuse_overwriting_inputs({"--output": written}, {"--input": [input_path] + videos})
    if build_task(cfg).is_detection:
        raise DemoError("extract_features needs a classification config (per-clip features); DETECTION.ENABLE is True")
    if cfg.TEST.RUNTIME != "torch":  # an exported model returns scores only, not the head's input
        raise DemoError(f"extract_features needs TEST.RUNTIME torch (got {cfg.TEST.RUNTIME}: exported models return scores only)")
    plans, failed = _plans(cfg, videos, num_clips)
    model, checkpoint_path, device = load_eval_model(cfg)
    dim = feature_dim(model)
    _check_fingerprint(output_dir, feature_settings(cfg, checkpoint_path, num_clips),
                       {names[i]: plan_spans(plans[i]) for i in plans}, overwrite)
    npy = {i: os.path.join(output_dir, names[i] + ".npy") for i in plans}
    skipped = [] if overwrite else [i for i in plans if _done(npy[i], len(plans[i]), dim)]
    todo = [i for i in plans if i not in skipped]
    if skipped:
        logger.info("features: %d of %d videos already written in %s; skipped", len(skipped), len(videos), output_dir)
    items = [(i, c) for i in todo for c in range(len(plans[i]))]
    loader = torch.utils.data.DataLoader(_ClipItems(cfg, videos, items, num_clips), batch_size=None,
                                         num_workers=cfg.DATA_LOADER.NUM_WORKERS if items else 0)
    progress = Progress("features:", len(items), "clips", logger)
    rows: Dict[int, List[Optional[torch.Tensor]]] = {i: [None] * len(plans[i]) for i in todo}
    pending: List[Tuple[int, int, list]] = []
    written: List[int] = []

    def flush() -> None:
        if not pending:
            return
        feats = extract_features(model, [x.to(device) for x in batch([p[2] for p in pending])]).cpu()
        for (video_idx, clip_idx, _), f in zip(pending, feats):
            rows[video_idx][clip_idx] = f
        pending.clear()

    def finish(video_idx: int) -> None:
        flush()
        if video_idx in failed:
            return
        array = torch.stack(rows.pop(video_idx)).numpy().astype(np.float32)
        atomic_write(npy[video_idx], lambda f: np.save(f, array))
        written.append(video_idx)

    current = None
    for video_idx, clip_idx, inputs, error in loader:
        if current is not None and video_idx != current:
            finish(current)
        current = video_idx
        progress.step()
        if error is not None:
            if video_idx not in failed:
                failed[video_idx] = error
                logger.warning("skipping %s", error)
            continue
        if video_idx in failed:
            continue
        pending.append((video_idx, clip_idx, inputs))
        if len(pending) >= clip_batch_size(cfg):
            flush()
    if current is not None:
        finish(current)
    index = _write_index(output_dir, names, plans, written + skipped)
    logger.info("features: %d videos written, %d skipped (already there), %d failed; D = %d; index %s",
                len(written), len(skipped), len(failed), dim, index)
    return dict(written=[names[i] for i in written], skipped=[names[i] for i in skipped],
                failed={names[i]: reason for i, reason in failed.items()}, dim=dim, index=index)
