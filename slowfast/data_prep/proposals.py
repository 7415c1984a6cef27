"""Person proposals for AVA-style frames that come without any (``tools/make_proposals.py``).

For every video folder ``FRAMES/<video_id>/`` and every key second ``sec`` of
``keyframe_start..keyframe_end`` whose frame exists, a torchvision detector looks at the key frame
(file ``<video_id>_%06d.jpg`` number ``(sec - start_sec) * fps + 1``, the loaders' rule) and its person
boxes become rows ``video_id,sec,x1,y1,x2,y2,,score`` of the proposals CSV (normalised coordinates, empty
action id: the layout :func:`slowfast.formats.ava_boxes.read_box_csv` reads).  All boxes scoring at least
``min_score`` are written; the dataset keeps those above ``AVA.DETECTION_SCORE_THRESH`` (0.8 in the
report), so the threshold can be tuned without detecting again.

Weights: a local file (a state dict, or a dict with ``"model"``), or a torchvision weight name such as
``FasterRCNN_ResNet50_FPN_V2_Weights.DEFAULT`` (downloaded by torchvision), or ``None``: random weights,
for tests only - the boxes are then meaningless.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from slowfast.formats import ava_csv, ava_frames
from slowfast.models.person_detector import DetectorError, build_torchvision_detector
from slowfast.utils.io import OutputIsInputError, refuse_overwriting_inputs
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)

COCO_PERSON = 1  # label of "person" in torchvision's COCO detectors


def build_detector(model: str = "fasterrcnn_resnet50_fpn_v2", weights: Optional[str] = None, min_size: int = 800,
                   max_size: int = 1333, min_score: float = 0.05, max_per_frame: int = 100,
                   rpn_proposals: int = 1000, num_classes: Optional[int] = None) -> torch.nn.Module:
    """A torchvision two-stage detection model in eval mode (see the module docstring for ``weights``);
    ``rpn_proposals``: regions the second stage scores per image (torchvision's default 1000);
    ``num_classes``: for weights of a detector trained on other classes than COCO's 91 (e.g. 2:
    background and person, label 1). Problems are one ``DetectorError`` line naming ``--model`` or
    ``--weights``."""
    kwargs = dict(min_size=min_size, max_size=max_size, box_score_thresh=min_score,
                  box_detections_per_img=max_per_frame, rpn_pre_nms_top_n_test=rpn_proposals,
                  rpn_post_nms_top_n_test=rpn_proposals)
    if num_classes:
        kwargs["num_classes"] = num_classes
    return build_torchvision_detector(model, weights, "--model", "--weights", **kwargs)


def keyframe_paths(frames_dir: str, video_id: str, keyframes: Sequence[int], fps: int, start_sec: int) -> List[Tuple[int, str]]:
    """``(sec, JPEG path)`` of the key frames of ``video_id`` whose file exists."""
    out = []
    for sec in keyframes:
        path = os.path.join(frames_dir, ava_frames.frame_file_name(video_id, ava_frames.sec_to_frame(sec, fps, start_sec)))
        if os.path.isfile(path):
            out.append((sec, path))
    return out


@torch.no_grad()
def detect_people(detector: Callable, images: Sequence[np.ndarray], device: torch.device, min_score: float,
                  person_label: int = COCO_PERSON) -> List[List[Tuple[Tuple[float, float, float, float], float]]]:
    """Per ``H x W x 3`` RGB uint8 image, its ``(normalised box, score)`` person detections."""
    tensors = [torch.from_numpy(im).permute(2, 0, 1).float().div(255).to(device) for im in images]
    outputs = detector(tensors)
    result = []
    for image, det in zip(images, outputs):
        h, w = image.shape[:2]
        scale = torch.tensor([w, h, w, h], dtype=torch.float32)
        keep = (det["labels"].cpu() == person_label) & (det["scores"].cpu() >= min_score)
        boxes = (det["boxes"].cpu()[keep] / scale).clamp(0, 1)
        result.append([(tuple(b.tolist()), float(s)) for b, s in zip(boxes, det["scores"].cpu()[keep])
                       if b[2] > b[0] and b[3] > b[1]])
    return result


def make_proposals(frames_dir: str, out_csv: str, detector: Callable, keyframe_start: int = 902,
                   keyframe_end: int = 1798, fps: int = 30, start_sec: int = 900, min_score: float = 0.05,
                   device: Optional[str] = None, batch_size: int = 4, videos: Optional[Sequence[str]] = None) -> dict:
    """Write the proposals CSV of the module docstring (atomically); returns a summary."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if isinstance(detector, torch.nn.Module):
        detector = detector.to(device).eval()
    videos = sorted(videos or [d for d in os.listdir(frames_dir) if os.path.isdir(os.path.join(frames_dir, d))])
    jobs = [(vid, sec, path) for vid in videos
            for sec, path in keyframe_paths(frames_dir, vid, range(keyframe_start, keyframe_end + 1), fps, start_sec)]
    if not jobs:
        raise FileNotFoundError(f"{frames_dir}: no key-frame JPEGs for seconds {keyframe_start}..{keyframe_end} "
                                f"(start second {start_sec}, {fps} fps)")
    rows, progress = [], Progress("detecting people", len(jobs), "key frames", logger, period=10.0)
    for i in range(0, len(jobs), batch_size):
        batch = jobs[i:i + batch_size]
        images = []
        for _, _, path in batch:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise OSError(f"cannot decode {path}")
            images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        for (vid, sec, _), dets in zip(batch, detect_people(detector, images, device, min_score)):
            rows += [(vid, sec, box, -1, score) for box, score in dets]
        progress.step(len(batch))
    ava_csv.write_box_csv(out_csv, rows, proposals=True)  # atomically
    summary = {"videos": len(videos), "keyframes": len(jobs), "boxes": len(rows), "out": os.path.abspath(out_csv)}
    logger.info("proposals: %s", summary)
    return summary


def main(argv=None) -> int:
    """``tools/make_proposals.py``."""
    import argparse
    import json

    from slowfast.utils.logging import setup_logging

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", required=True, help="frames folder (FRAMES/<video_id>/<video_id>_%%06d.jpg)")
    p.add_argument("--out", required=True, help="proposals CSV to write")
    p.add_argument("--model", default="fasterrcnn_resnet50_fpn_v2", help="torchvision detection model name")
    p.add_argument("--weights", default=None, help="local weights file or torchvision weight name "
                   "(e.g. FasterRCNN_ResNet50_FPN_V2_Weights.DEFAULT); none = random (tests only)")
    p.add_argument("--start-sec", type=int, default=900, help="second shown by frame file 1 (AVA.START_SEC)")
    p.add_argument("--fps", type=int, default=30, help="frame rate of the frames (AVA.FPS)")
    p.add_argument("--keyframe-start", type=int, default=902, help="first key second (AVA.KEYFRAME_START_SEC)")
    p.add_argument("--keyframe-end", type=int, default=1798, help="last key second, inclusive (AVA.KEYFRAME_END_SEC)")
    p.add_argument("--min-score", type=float, default=0.05, help="write person boxes scoring at least this")
    p.add_argument("--min-size", type=int, default=800, help="detector input short side")
    p.add_argument("--max-per-frame", type=int, default=100, help="at most this many detections per frame")
    p.add_argument("--rpn-proposals", type=int, default=1000, help="regions scored per frame by the second stage")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    args = p.parse_args(argv)
    setup_logging()
    if not args.weights:
        logger.warning("make_proposals: no --weights: random detector weights, the boxes are meaningless")
    try:
        refuse_overwriting_inputs({"--out": args.out}, {"--weights": args.weights, "--frames": args.frames})
        if os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(args.out)))) == os.path.realpath(args.frames):
            raise OutputIsInputError(f"--out {args.out} lies in a video's frame folder of --frames {args.frames}; "
                                     "choose another path")
        detector = build_detector(args.model, args.weights, args.min_size, max(args.min_size, 1333 * args.min_size // 800),
                                  args.min_score, args.max_per_frame, args.rpn_proposals)
        summary = make_proposals(args.frames, args.out, detector, args.keyframe_start, args.keyframe_end, args.fps,
                                 args.start_sec, args.min_score, args.device, args.batch_size)
    except (OSError, ValueError, KeyError, DetectorError) as err:  # OutputIsInputError is a ValueError
        print(f"make_proposals: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True))
    return 0
