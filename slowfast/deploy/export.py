"""Export of a prepared (optimize_for_inference) video model to a file other runtimes run: ONNX
(`export_onnx`, TorchScript-based exporter: torchvision's RoIAlign has an ONNX symbolic there) or a
torch.export program (`export_program`, `.pt2`).

The exported call takes the pathways as separate inputs `pathway0`, `pathway1` (`B x 3 x T_p x H x W`,
float32, normalised as for the model) and, for detection models, `boxes` (`N x 5`: index of the box's clip
in the batch, x1, y1, x2, y2 in input pixels); it returns `scores` (`B x num_classes`, or `N x
num_classes`), the eval-mode scores (softmax / sigmoid applied). The batch size and the number of boxes
(zero included) are dynamic; the frame count and frame size are those of the example inputs.
"""
from __future__ import annotations

import copy
import io
import warnings

import torch
import torch.nn as nn

from slowfast.models.conv import Conv3dAs2d
from slowfast.models.optimize import InferenceModel, optimize_for_inference
from slowfast.utils.io import atomic_write

ONNX_OPSET = 17


class TemporalMean(nn.Module):
    """Mean over time keeping the dimension: `AdaptiveAvgPool3d((1, None, None))` as exporters can read."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=2, keepdim=True)


class ExportAdapter(nn.Module):
    """The model with a flat signature: `(pathway0, ..., [boxes]) -> scores`."""

    def __init__(self, model: nn.Module, num_pathways: int, detection: bool):
        super().__init__()
        self.model, self.num_pathways, self.detection = model, num_pathways, detection

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        xs = list(tensors[: self.num_pathways])
        return self.model(xs, tensors[self.num_pathways]) if self.detection else self.model(xs)


def prepare_for_export(model: nn.Module) -> ExportAdapter:
    """A float32, CPU, contiguous-format copy of `optimize_for_inference(model)` with plain 3-D
    convolutions (the 2-D views of `slowfast.models.conv` are a torch CPU speed-up other runtimes do not
    need) and exporter-friendly temporal pooling, behind the flat signature."""
    net = model if isinstance(model, InferenceModel) else optimize_for_inference(model)
    inner = copy.deepcopy(net.model).float().cpu().eval()
    for m in inner.modules():
        if type(m) is Conv3dAs2d:
            m.__class__ = nn.Conv3d
        for name, child in list(m.named_children()):
            if isinstance(child, nn.AdaptiveAvgPool3d) and tuple(child.output_size) == (1, None, None):
                setattr(m, name, TemporalMean())
    for p in inner.parameters():
        p.data = p.data.contiguous()
    return ExportAdapter(inner, inner.num_pathways, bool(getattr(inner, "is_detection", False))).eval()


def input_names(adapter: ExportAdapter) -> list[str]:
    return [f"pathway{p}" for p in range(adapter.num_pathways)] + (["boxes"] if adapter.detection else [])


def example_tensors(xs, boxes=None) -> tuple:
    """The flat example inputs, float32 on CPU."""
    out = [x.detach().float().cpu().contiguous() for x in xs]
    if boxes is not None:
        out.append(boxes.detach().float().cpu().contiguous())
    return tuple(out)


def export_onnx(model: nn.Module, xs, boxes, path) -> str:
    """Write `model` (a VideoNet or its optimize_for_inference copy) as ONNX to `path` (or a buffer), traced at the
    shapes of the example inputs `xs` (pathway list) and `boxes` (None for classification)."""
    adapter = prepare_for_export(model)
    names = input_names(adapter)
    dynamic = {n: {0: "batch"} for n in names[: adapter.num_pathways]}
    if adapter.detection:
        dynamic["boxes"] = {0: "num_boxes"}
    dynamic["scores"] = {0: "num_boxes" if adapter.detection else "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about shapes read as Python numbers
        torch.onnx.export(adapter, example_tensors(xs, boxes), path, input_names=names, output_names=["scores"],
                          dynamic_axes=dynamic, opset_version=ONNX_OPSET, dynamo=False)
    return path


def export_program(model: nn.Module, xs, boxes, path) -> str:
    """Write `model` as a torch.export program (`torch.export.save`, a `.pt2` file) to `path`, with a
    dynamic batch size (and number of boxes). The example batch (and box count) must be at least 2."""
    adapter = prepare_for_export(model)
    args = example_tensors(xs, boxes)
    batch = torch.export.Dim("batch", min=1, max=4096)
    shapes = [{0: batch} for _ in range(adapter.num_pathways)]
    if adapter.detection:
        shapes.append({0: torch.export.Dim("num_boxes", min=0, max=65536)})
    with torch.no_grad():
        program = torch.export.export(adapter, args, dynamic_shapes=(tuple(shapes),))  # one entry: the *tensors
    torch.export.save(program, path)
    return path


FORMATS = {"onnx": export_onnx, "torch_export": export_program}


def export_model(model: nn.Module, xs, boxes, path: str, fmt: str) -> str:
    """Export in format `fmt` (onnx | torch_export) to `path`, written atomically (folders created)."""
    buffer = io.BytesIO()
    FORMATS[fmt](model, xs, boxes, buffer)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
    return path
