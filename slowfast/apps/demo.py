"""The demo: run a trained model on one video and write it back with what the model sees.

Classification configs (Kinetics): clips of ``DATA.NUM_FRAMES x DATA.SAMPLING_RATE`` grid frames every
``DEMO.STRIDE_SEC`` seconds (:func:`slowfast.apps.video_clips.plan_clips`), each scored on the
test-time view; every frame of the output shows the top ``DEMO.TOP_K`` classes of the clip whose centre
is nearest (the JSON ``start`` / ``end`` of the entries tile the video without gaps; ``clip_start`` /
``clip_end`` is the window the model saw).

Detection configs (AVA): person boxes per key second from ``--boxes`` (AVA CSV rows of the video whose
id is the input file's stem, seconds from the start of the file, filtered by
``AVA.DETECTION_SCORE_THRESH`` as at test time) or from a torchvision detector (``DEMO.DETECTOR``, one
key second every ``DEMO.STRIDE_SEC``); each box gets the model's action scores on the AVA test view of
the clip centred on its key second; the output shows boxes with the actions above
``DEMO.ACTION_THRESH``, held from their key second until the next one; ``--csv`` writes the scores as an
AVA detections CSV that ``tools/eval_ava.py`` reads.

Errors a user can cause (unreadable video, no checkpoint, bad class-name file, empty or foreign boxes
CSV, detection config without boxes) raise exceptions with a one-line message naming the culprit;
``tools/demo.py`` prints it.
"""
from __future__ import annotations

import bisect
from collections import Counter
import logging
import math
import os
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import torch

from slowfast.config.validation import world_size
from slowfast.datasets import ava
from slowfast.datasets.class_names import class_names_for
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.formats import ava_boxes
from slowfast.apps.video_clips import (VideoClips, batch, detection_frames, detection_inputs, frames_at)
from slowfast.apps.eval_model import load_eval_model
from slowfast.engine.tasks import build_task
from slowfast.evaluation.ava.predictions import write_predictions_csv
from slowfast.utils.io import refuse_overwriting_inputs, write_json_atomic
from slowfast.utils.progress import Progress
from slowfast.visualization import demo_video as dv

logger = logging.getLogger(__name__)


class DemoError(RuntimeError):
    """Bad demo input or arguments (one line naming the culprit)."""


def clip_batch_size(cfg) -> int:
    """Clips per forward pass: the per-process test batch, at most 8 (one video at a time)."""
    return max(1, min(8, cfg.TEST.BATCH_SIZE // world_size(cfg)))


# --------------------------------------------------------------------------- classification


def top_k(scores: torch.Tensor, names: List[str], k: int) -> List[Tuple[str, float]]:
    values, index = scores.float().topk(min(k, scores.numel()))
    return [(names[i], round(float(v), 6)) for v, i in zip(values.tolist(), index.tolist())]


@torch.no_grad()
def classify_video(cfg, model, device, path: str, names: List[str]) -> List[dict]:
    """JSON entries ``{start, end, clip_start, clip_end, top_k: [[name, score], ...]}``, one per clip."""
    with VideoClips(path, cfg) as clips:
        plan = clips.plan
        progress = Progress("demo: scoring", len(plan), "clips", logger)
        scores: List[torch.Tensor] = []
        size = clip_batch_size(cfg)
        for first in range(0, len(plan), size):
            group = [clips.inputs(i) for i in range(first, min(first + size, len(plan)))]
            out = model([x.to(device) for x in batch(group)])
            scores.extend(out.float().cpu())
            progress.step(len(group))
    entries = []
    for i, (shown, score) in enumerate(zip(plan.shown_spans(), scores)):
        clip_start, clip_end = plan.clip_span(i)
        entries.append(dict(start=round(shown[0], 6), end=round(shown[1], 6), clip_start=round(clip_start, 6),
                            clip_end=round(clip_end, 6), top_k=[list(p) for p in top_k(score, names, cfg.DEMO.TOP_K)]))
    return entries


def classification_painter(entries: List[dict]) -> Callable[[np.ndarray, float], None]:
    """Draw, on a frame at ``seconds``, the top-k of the entry whose ``[start, end)`` holds it."""
    starts = [e["start"] for e in entries]

    def paint(frame: np.ndarray, seconds: float) -> None:
        i = max(0, bisect.bisect_right(starts, seconds) - 1)
        dv.draw_classification(frame, [tuple(p) for p in entries[i]["top_k"]])

    return paint


# --------------------------------------------------------------------------- detection

KeyBoxes = Dict[int, Tuple[np.ndarray, np.ndarray]]  # second -> (N x 4 normalised boxes, (N,) scores)


def boxes_from_csv(path: str, video_id: str, score_thresh: float) -> KeyBoxes:
    """Person boxes of ``video_id`` from an AVA-format CSV (``video,second,x1,y1,x2,y2,[action],score``),
    rows of one box merged, boxes with score ``<= score_thresh`` dropped (the test loop's rule)."""
    rows = ava_boxes.read_box_csv(path, proposals=True)
    if not rows:
        raise DemoError(f"{path}: no boxes in the boxes CSV (empty file)")
    mine = [r for r in rows if r.video == video_id]
    if not mine:
        others = sorted({r.video for r in rows})
        raise DemoError(f"{path}: no rows for video {video_id!r} (the input file's name without extension); "
                        f"it lists {', '.join(others[:5])}{', ...' if len(others) > 5 else ''}")
    kept = ava.keep_confident(mine, score_thresh, Counter())
    if not kept:
        raise DemoError(f"{path}: no box of video {video_id!r} has a score above {score_thresh} (AVA.DETECTION_SCORE_THRESH)")
    out: KeyBoxes = {}
    best: Dict[Tuple[int, tuple], float] = {}
    for r in kept:
        best[(r.sec, r.box)] = max(best.get((r.sec, r.box), -math.inf), r.score)
    for (sec, box), score in best.items():
        boxes, scores = out.get(sec, (np.zeros((0, 4)), np.zeros(0)))
        out[sec] = (np.vstack([boxes, np.asarray(box, dtype=np.float64)[None]]), np.append(scores, score))
    return dict(sorted(out.items()))


def detector_boxes(cfg, clips: VideoClips, device) -> KeyBoxes:
    """Person boxes from the torchvision detector on the frame of every key second ``0, s, 2s, ...``
    (``s = DEMO.STRIDE_SEC``) before the video's end."""
    from slowfast.models.person_detector import build_person_detector, detect_persons

    detector = build_person_detector(cfg.DEMO.DETECTOR_MODEL, cfg.DEMO.DETECTOR_WEIGHTS, cfg.DEMO.DETECTOR_THRESH, device)
    step = int(cfg.DEMO.STRIDE_SEC)
    seconds = list(range(0, int(math.ceil(clips.info.duration - 1e-9)), step)) or [0]
    progress = Progress("demo: detecting persons", len(seconds), "key frames", logger)
    out: KeyBoxes = {}
    fps = cfg.DATA.TARGET_FPS
    for sec in seconds:
        frame = frames_at(clips.container, clips.info, torch.tensor([int(round(sec * fps))]), fps, clips.turns)[0]
        out[sec] = detect_persons(detector, frame.numpy(), cfg.DEMO.DETECTOR_THRESH)
        progress.step()
    return out


@torch.no_grad()
def detect_video(cfg, model, device, path: str, names: List[str], boxes_path: Optional[str]):
    """-> ``(JSON key-frame entries, metadata N x 2, boxes N x 4, scores N x C)`` over all boxes."""
    video_id = os.path.splitext(os.path.basename(path))[0]
    with VideoClips(path, cfg) as clips:
        if boxes_path:
            keys = boxes_from_csv(boxes_path, video_id, cfg.AVA.DETECTION_SCORE_THRESH)
        else:
            keys = detector_boxes(cfg, clips, device)
        late = [s for s in keys if s > clips.info.duration]
        for s in late:
            logger.warning("%s: key second %d is after the end of %s (%.2f s); skipped", boxes_path, s, path,
                           clips.info.duration)
            del keys[s]
        if boxes_path and not keys:
            raise DemoError(f"{boxes_path}: every key second of video {video_id!r} lies after the end of {path} "
                            f"({clips.info.duration:.2f} s)")
        progress = Progress("demo: scoring", len(keys), "key frames", logger)
        entries, meta, all_boxes, all_scores = [], [], [], []
        for sec, (boxes, det_scores) in keys.items():
            persons = []
            if len(boxes):
                frames = detection_frames(clips.container, clips.info, sec, cfg, clips.turns)
                inputs, px = detection_inputs(cfg, frames, boxes)
                scores = model([x.unsqueeze(0).to(device) for x in inputs], px.to(device)).float().cpu()
                for box, det, s in zip(boxes, det_scores, scores):
                    above = [(names[k], round(float(s[k]), 6)) for k in torch.argsort(s, descending=True).tolist()
                             if s[k] > cfg.DEMO.ACTION_THRESH]
                    persons.append(dict(box=[round(float(v), 6) for v in box], box_score=round(float(det), 6),
                                        actions=[list(a) for a in above]))
                meta.append(np.array([[0, sec]] * len(boxes)))
                all_boxes.append(boxes)
                all_scores.append(scores.numpy())
            entries.append(dict(second=sec, persons=persons))
            progress.step()
    num_classes = cfg.MODEL.NUM_CLASSES
    stack = lambda parts, shape: np.concatenate(parts) if parts else np.zeros(shape)  # noqa: E731
    return entries, video_id, stack(meta, (0, 2)), stack(all_boxes, (0, 4)), stack(all_scores, (0, num_classes))


def detection_painter(entries: List[dict], top_k: int) -> Callable[[np.ndarray, float], None]:
    """Draw the persons of the latest key second at or before the frame's time (held until the next),
    each with its ``top_k`` best actions above the threshold."""
    seconds = [e["second"] for e in entries]

    def paint(frame: np.ndarray, t: float) -> None:
        i = bisect.bisect_right(seconds, t + 1e-6) - 1
        if i < 0:
            return
        for j, person in enumerate(entries[i]["persons"]):
            dv.draw_person(frame, person["box"], [tuple(a) for a in person["actions"][:top_k]], j)

    return paint


# --------------------------------------------------------------------------- output video


def render(input_path: str, output_path: str, paint: Callable[[np.ndarray, float], None], num_frames: int,
           display_size: int = 0) -> int:
    """Copy every frame of ``input_path`` to ``output_path`` (H.264, same timestamps) after ``paint``
    has drawn on it; frames whose short side is below ``display_size`` (DEMO.DISPLAY_SIZE) are scaled up
    to it first, so labels are drawn at that size. Returns the number of frames written."""
    time_base, rate = dv.stream_timing(input_path)
    progress = Progress("demo: writing", num_frames, "frames", logger)
    writer = None
    try:
        for seconds, pts, frame in dv.read_frames(input_path):
            frame = dv.to_display(frame, display_size)
            if writer is None:
                writer = dv.VideoWriter(output_path, frame.shape[1], frame.shape[0], rate, time_base)
            paint(frame, seconds)
            writer.write(frame, pts)
            progress.total = max(progress.total, writer.frames)
            progress.step()
    except BaseException:
        if writer is not None:
            writer.close(ok=False)
        raise
    if writer is None:
        raise VideoDecodeError(input_path, "no frames decoded")
    writer.close()
    if progress.done < progress.total:  # the container's frame count was an estimate
        progress.total = progress.done
        progress.step(0)
    return writer.frames


# --------------------------------------------------------------------------- entry point


def run_demo(cfg, input_path: str, output_path: str, json_path: Optional[str] = None, csv_path: Optional[str] = None,
             boxes_path: Optional[str] = None) -> dict:
    """Run the demo (module docstring) and return the JSON summary that ``json_path`` receives."""
    refuse_overwriting_inputs({"--output": output_path, "--json": json_path, "--csv": csv_path},
                              {"--input": input_path, "--boxes": boxes_path})
    detection = build_task(cfg).is_detection
    if not detection and (boxes_path or csv_path):
        raise DemoError("--boxes and --csv need a detection config (DETECTION.ENABLE True)")
    if detection and not boxes_path and not cfg.DEMO.DETECTOR:
        raise DemoError("a detection config needs person boxes: pass --boxes BOXES.csv or set DEMO.DETECTOR torchvision")
    if boxes_path and not os.path.isfile(boxes_path):
        raise DemoError(f"boxes CSV not found: {boxes_path}")
    with VideoClips(input_path, cfg) as clips:  # fails early, naming the file, on an unreadable video
        info, turns = clips.info, clips.turns
    names, label_source = class_names_for(cfg, detection)
    model, checkpoint, device = load_eval_model(cfg)
    summary = dict(video=os.path.abspath(input_path), output=os.path.abspath(output_path), checkpoint=checkpoint,
                   label_file=label_source, fps=info.fps, duration=info.duration,
                   width=info.height if turns % 2 else info.width, height=info.width if turns % 2 else info.height,
                   rotation_turns=turns)
    if detection:
        entries, video_id, meta, boxes, scores = detect_video(cfg, model, device, input_path, names, boxes_path)
        summary.update(video_id=video_id, num_boxes=int(len(boxes)), key_frames=entries)
        if csv_path:
            try:
                write_predictions_csv(csv_path, [video_id], meta, boxes, scores)
            except ValueError as e:  # e.g. a video id (file name) that a CSV cannot hold
                raise DemoError(f"cannot write {csv_path}: {e}") from None
            summary["csv"] = os.path.abspath(csv_path)
        paint = detection_painter(entries, cfg.DEMO.TOP_K)
    else:
        entries = classify_video(cfg, model, device, input_path, names)
        summary["clips"] = entries
        paint = classification_painter(entries)
    summary["num_frames"] = render(input_path, output_path, paint, info.num_frames, cfg.DEMO.DISPLAY_SIZE)
    summary["output_height"], summary["output_width"] = dv.display_shape(summary["height"], summary["width"],
                                                                         cfg.DEMO.DISPLAY_SIZE)
    if json_path:
        write_json_atomic(json_path, summary)
    return summary  # tools/demo.py prints where the labelled video is
