"""Run an exported model (see `slowfast.deploy.export`) behind the PyTorch model's call:
`ExportedModel(path, runtime)(xs, boxes=None) -> scores` (a float32 torch tensor on CPU), with
`runtime` one of onnxruntime (ONNX files), openvino (ONNX files) or torch_export (`.pt2` files).

onnxruntime and openvino are optional (`pip install -e .[deploy]`, or `pip install onnxruntime` /
`pip install openvino`); asking for one that is not installed is a ConfigError naming what to install.
"""
from __future__ import annotations

import importlib

import numpy as np
import torch
import torch.nn as nn

from slowfast.config.errors import ConfigError

RUNTIMES = ("onnxruntime", "openvino", "torch_export")
_PIP = {"onnxruntime": "onnxruntime", "openvino": "openvino", "onnx": "onnx"}


def require(module: str, what: str):
    """Import `module`, or a ConfigError saying what to install for `what`."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(f"{what} needs the Python package {_PIP.get(module, module)!r}, which is not installed: "
                          f"pip install {_PIP.get(module, module)} (or pip install -e .[deploy])") from e


def runtime_available(runtime: str) -> bool:
    """Whether `runtime` can be used here (its package imports)."""
    if runtime == "torch_export":
        return True
    try:
        importlib.import_module(runtime)
        return True
    except ImportError:
        return False


class ExportedModel(nn.Module):
    """An exported model run by `runtime`; call it as the PyTorch model: `(xs, boxes=None) -> scores`.
    Inputs may live on any device (they are copied to CPU memory); the scores are float32 on CPU."""

    def __init__(self, path: str, runtime: str = "onnxruntime", threads: int | None = None,
                 precision_hint: str = "fp32"):
        super().__init__()
        if runtime not in RUNTIMES:
            raise ConfigError(f"runtime {runtime!r} is not one of {list(RUNTIMES)}")
        self.path, self.runtime, self.precision_hint = path, runtime, precision_hint
        self._run = getattr(self, f"_load_{runtime}")(path, threads)

    def _load_onnxruntime(self, path: str, threads: int | None):
        ort = require("onnxruntime", "TEST.RUNTIME onnxruntime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in session.get_inputs()]
        return lambda feeds: session.run(None, dict(zip(self.input_names, feeds)))[0]

    def _load_openvino(self, path: str, threads: int | None):
        ov = require("openvino", "TEST.RUNTIME openvino")
        core = ov.Core()
        # OpenVINO's own precision choice: f32 unless asked (its bf16 keeps its own float32 islands).
        config = {"INFERENCE_PRECISION_HINT": "bf16" if self.precision_hint == "bf16" else "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        compiled = core.compile_model(core.read_model(path), "CPU", config)
        # An input may carry several tensor names (OpenVINO merges `boxes` with the exporter's cast of it).
        ours = [sorted(n for n in i.get_names() if n == "boxes" or n.startswith("pathway")) for i in compiled.inputs]
        self.input_names = [names[0] if names else i.get_any_name() for names, i in zip(ours, compiled.inputs)]
        ports = list(compiled.inputs)
        # OpenVINO's CPU plugin refuses a RoI batch of zero boxes: answered without running (no scores).
        self.empty_scores = int(compiled.outputs[0].get_partial_shape()[1].get_length())
        return lambda feeds: compiled(dict(zip(ports, feeds)))[compiled.outputs[0]]

    def _load_torch_export(self, path: str, threads: int | None):
        module = torch.export.load(path).module()
        self.input_names = None
        return lambda feeds: module(*[torch.from_numpy(f) for f in feeds]).numpy()

    @property
    def is_detection(self) -> bool:
        return self.input_names is not None and "boxes" in self.input_names

    def forward(self, xs, boxes: torch.Tensor | None = None) -> torch.Tensor:
        if boxes is not None and len(boxes) == 0 and getattr(self, "empty_scores", None):
            return torch.zeros(0, self.empty_scores)
        feeds = [np.ascontiguousarray(x.detach().float().cpu().numpy()) for x in xs]
        if boxes is not None:
            feeds.append(np.ascontiguousarray(boxes.detach().float().cpu().numpy()))
        with torch.no_grad():
            return torch.as_tensor(np.asarray(self._run(feeds)), dtype=torch.float32)
