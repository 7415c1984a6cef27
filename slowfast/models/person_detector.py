"""Person boxes for the AVA demo from a torchvision COCO detector (no detectron2 needed).

``DEMO.DETECTOR torchvision`` builds ``DEMO.DETECTOR_MODEL`` (a builder of
``torchvision.models.detection``, e.g. ``fasterrcnn_resnet50_fpn``; ``fasterrcnn_mobilenet_v3_large_320_fpn``
is a small one) with ``DEMO.DETECTOR_WEIGHTS``:

* a local file: a state dict (or a dict with ``model`` / ``model_state``) for that builder;
* ``NONE``: untrained weights (tests of the wiring; boxes are meaningless);
* anything else: a torchvision weight name (``DEFAULT``, ``COCO_V1``, or the full enum name), which
  torchvision downloads into its cache where a network exists.

A box is kept when its class is COCO "person" (label 1) and its score exceeds ``DEMO.DETECTOR_THRESH``.
"""
from __future__ import annotations

import os
from typing import Tuple

import numpy as np
import torch

COCO_PERSON = 1


class DetectorError(RuntimeError):
    """The person detector cannot be built or its weights cannot be loaded (one line)."""


def build_person_detector(model_name: str, weights: str, score_thresh: float, device="cpu") -> torch.nn.Module:
    """A torchvision detector in eval mode on ``device`` (see module docstring for ``weights``)."""
    from torchvision.models import detection

    if model_name not in detection.__dict__ or not callable(detection.__dict__[model_name]):
        raise DetectorError(f"DEMO.DETECTOR_MODEL {model_name!r} is not a torchvision.models.detection builder")
    builder = detection.__dict__[model_name]
    kwargs = dict(box_score_thresh=score_thresh)
    local = os.path.isfile(weights)
    try:
        if local or weights.upper() == "NONE":
            model = builder(weights=None, weights_backbone=None, **kwargs)
        else:
            model = builder(weights=weights, **kwargs)
    except Exception as e:  # download failures, unknown weight names: torchvision raises several types
        raise DetectorError(f"cannot get detector weights {weights!r} for {model_name} ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}); pass a local file in DEMO.DETECTOR_WEIGHTS") from None
    if local:
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as e:
            raise DetectorError(f"cannot read detector weights {weights}: {e}") from None
        if isinstance(state, dict):
            state = state.get("model", state.get("model_state", state))
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise DetectorError(f"detector weights {weights} do not fit {model_name}: {str(e).splitlines()[0]}") from None
    return model.eval().to(device)


@torch.no_grad()
def detect_persons(detector: torch.nn.Module, frame: np.ndarray, score_thresh: float) -> Tuple[np.ndarray, np.ndarray]:
    """Person boxes of one ``H x W x 3`` uint8 RGB frame -> ``(N x 4 normalised x1, y1, x2, y2, (N,) scores)``,
    highest score first."""
    height, width = frame.shape[:2]
    device = next(detector.parameters()).device
    image = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).float().div(255.0).to(device)
    out = detector([image])[0]
    keep = (out["labels"] == COCO_PERSON) & (out["scores"] > score_thresh)
    boxes = out["boxes"][keep].cpu().double().numpy() / np.array([width, height, width, height], dtype=np.float64)
    scores = out["scores"][keep].cpu().double().numpy()
    order = np.argsort(-scores, kind="stable")
    return np.clip(boxes[order], 0.0, 1.0), scores[order]
