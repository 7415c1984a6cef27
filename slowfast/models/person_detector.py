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


def build_torchvision_detector(model_name: str, weights: str | None, model_option: str = "DEMO.DETECTOR_MODEL",
                               weights_option: str = "DEMO.DETECTOR_WEIGHTS", **kwargs) -> torch.nn.Module:
    """A torchvision detection model ``model_name`` in eval mode on the CPU with ``weights`` (see the module
    docstring; ``None`` or ``""`` mean ``NONE``); ``kwargs`` go to the builder. Every failure is one
    ``DetectorError`` line naming the option it came from (``model_option`` / ``weights_option``: the
    config key or command-line flag of the calling tool)."""
    from torchvision.models import detection

    if model_name not in detection.__dict__ or not callable(detection.__dict__[model_name]):
        raise DetectorError(f"{model_option} {model_name!r} is not a torchvision.models.detection builder")
    builder = detection.__dict__[model_name]
    weights = weights or "NONE"
    local = os.path.isfile(weights)
    if not local and (os.sep in weights or os.path.splitext(weights)[1].lower() in _WEIGHT_FILE_EXTENSIONS):
        raise DetectorError(f"{weights_option} {weights}: no such file")
    try:
        if local or weights.upper() == "NONE":
            model = builder(weights=None, weights_backbone=None, **kwargs)
        else:
            model = builder(weights=weights, **kwargs)
    except Exception as e:  # download failures, unknown weight names: torchvision raises several types
        raise DetectorError(f"cannot get detector weights {weights!r} for {model_name} ({type(e).__name__}: "
                            f"{_first_line(e)}); pass a local file in {weights_option}") from None
    if local:
        _load_detector_state(model, weights, model_name, weights_option)
    return model.eval()


_WEIGHT_FILE_EXTENSIONS = (".pth", ".pt", ".pyth", ".pkl", ".bin", ".ckpt")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _load_detector_state(model: torch.nn.Module, path: str, model_name: str, weights_option: str) -> None:
    """Load a local state dict (or a dict holding one under ``model`` / ``model_state``) into ``model``."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # not a torch file, a pickle with code, a truncated file: several types
        why = ("it is not a PyTorch file of plain tensors (corrupt, truncated, or holding other objects, which "
               "are refused: see SECURITY.md)" if "weights only load failed" in str(e).lower() else _first_line(e))
        raise DetectorError(f"cannot read detector weights {weights_option} {path}: {why}") from None
    if isinstance(state, dict):
        state = state.get("model", state.get("model_state", state))
    if not isinstance(state, dict):
        raise DetectorError(f"detector weights {weights_option} {path} hold no state dict")
    try:
        model.load_state_dict(state)
    except RuntimeError:
        missing = len(set(model.state_dict()) - set(state))
        raise DetectorError(f"detector weights {weights_option} {path} do not fit {model_name} ({missing} of its "
                            f"{len(model.state_dict())} tensors missing, or shapes differ): is it a detector "
                            f"checkpoint of that model?") from None


def build_person_detector(model_name: str, weights: str, score_thresh: float, device="cpu") -> torch.nn.Module:
    """The demo's detector: ``DEMO.DETECTOR_MODEL`` with ``DEMO.DETECTOR_WEIGHTS``, keeping boxes that
    score above ``score_thresh``, on ``device``."""
    return build_torchvision_detector(model_name, weights, box_score_thresh=score_thresh).to(device)


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
