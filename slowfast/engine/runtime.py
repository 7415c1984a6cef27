"""The model the test loops, the demo and the feature extractor run (`runtime_model`): the PyTorch inference
model (TEST.OPTIMIZE_MODEL) at TEST.PRECISION, or, with TEST.RUNTIME onnxruntime / openvino, its ONNX
export run by that runtime. The call is the same either way: `(xs, boxes=None) -> scores`.

The exported runtimes export the optimised model on first sight of each input shape (frames, height,
width: the test views of AVA vary with the video's aspect ratio) into a temporary folder, with a dynamic
batch size and number of boxes, and keep one session per shape.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile

import torch
import torch.nn as nn

from slowfast.deploy.export import export_onnx
from slowfast.deploy.precision import with_precision
from slowfast.deploy.runtime import ExportedModel, require
from slowfast.engine.acceleration import inference_dtype
from slowfast.engine.common import device_for
from slowfast.models.optimize import inference_model, optimize_for_inference

logger = logging.getLogger(__name__)


class ExportedPerShape(nn.Module):
    """`model` exported to ONNX at each new input shape and run by `runtime` (see the module docstring)."""

    def __init__(self, model: nn.Module, runtime: str, threads: int | None = None):
        super().__init__()
        require(runtime, f"TEST.RUNTIME {runtime}")  # one line naming what to install, before any work
        require("onnx", f"TEST.RUNTIME {runtime}")
        self.prepared = optimize_for_inference(model)
        self.runtime, self.threads = runtime, threads
        self.sessions: dict = {}
        self.folder = tempfile.mkdtemp(prefix="slowfast_export_")

    @property
    def is_detection(self) -> bool:
        return self.prepared.is_detection

    def forward(self, xs, boxes: torch.Tensor | None = None) -> torch.Tensor:
        key = tuple(tuple(x.shape[1:]) for x in xs)
        if key not in self.sessions:
            path = os.path.join(self.folder, f"model_{len(self.sessions)}.onnx")
            example_boxes = None if boxes is None else torch.tensor([[0.0, 0.0, 0.0, 8.0, 8.0]])
            export_onnx(self.prepared, [x[:1].cpu() for x in xs], example_boxes, path)
            logger.info("TEST.RUNTIME %s: exported the model for inputs %s to %s", self.runtime, key, path)
            self.sessions[key] = ExportedModel(path, self.runtime, self.threads)
        return self.sessions[key](xs, boxes).to(xs[0].device)

    def __del__(self):
        shutil.rmtree(getattr(self, "folder", ""), ignore_errors=True)


def runtime_model(cfg, model: nn.Module) -> nn.Module:
    """The eval-only model of the test loops, demo and feature extractor for TEST.RUNTIME / TEST.PRECISION
    (a ConfigError, one line, for a precision the device lacks or a runtime that is not installed)."""
    if cfg.TEST.RUNTIME != "torch":
        return ExportedPerShape(model, cfg.TEST.RUNTIME)
    return with_precision(inference_model(cfg, model), inference_dtype(cfg, device_for(cfg)))
