"""`tools/export.py`: the optimised inference model of a config and its test checkpoint, exported for other
runtimes (ONNX for onnxruntime / OpenVINO / TensorRT, or a torch.export `.pt2` program); see
`slowfast.deploy.export` for the exported call (pathways (+ boxes) -> scores; dynamic batch and box count;
frames and frame size of the config's test view, DATA.TEST_CROP_SIZE squared).

The weights are those a test would use (TEST.CHECKPOINT_FILE_PATH, else the latest checkpoint of
OUTPUT_DIR), checked against the config as the test checks them: a checkpoint that does not fit is one
line naming it. After writing, the export is run once beside the PyTorch model (onnxruntime for ONNX, when
installed) and the largest score difference printed.
"""
from __future__ import annotations

import logging

import torch

from slowfast.apps.cli import config_parser, parse_with_overrides, run_with_config
from slowfast.deploy.export import export_model
from slowfast.deploy.runtime import ExportedModel, require, runtime_available
from slowfast.engine.common import load_weights_for_testing
from slowfast.models import build_model, optimize_for_inference
from slowfast.models.inputs import dummy_inputs
from slowfast.utils.io import refuse_overwriting_inputs

logger = logging.getLogger(__name__)
CHECK_RUNTIME = {"onnx": "onnxruntime", "torch_export": "torch_export"}


def example_inputs(cfg, batch: int = 2, seed: int = 0) -> tuple:
    """Random pathway inputs of the test view's shape and, for detection, 3 boxes over the batch."""
    g = torch.Generator().manual_seed(seed)
    size = cfg.DATA.TEST_CROP_SIZE
    dummy = dummy_inputs(cfg, size, batch=batch)
    xs = [torch.randn(x.shape, generator=g) for x in dummy[0]]
    if len(dummy) == 1:
        return xs, None
    corners = torch.rand(3, 2, generator=g) * size / 2
    boxes = torch.cat([(torch.arange(3) % batch).float()[:, None], corners, corners + size / 3], dim=1)
    return xs, boxes


def export_config(cfg, fmt: str, out: str) -> dict:
    """Build, load the test weights, optimise and export; -> {"out", "checkpoint", "max_abs_diff" (or None)}."""
    if fmt == "onnx":
        require("onnx", "--format onnx")
    model = build_model(cfg, device="cpu")
    checkpoint = load_weights_for_testing(cfg, model)
    net = optimize_for_inference(model)
    xs, boxes = example_inputs(cfg)
    export_model(net, xs, boxes, out, fmt)
    diff = None
    if runtime_available(CHECK_RUNTIME[fmt]):
        xs, boxes = example_inputs(cfg, batch=1, seed=1)
        with torch.no_grad():
            ref = net(xs) if boxes is None else net(xs, boxes)
        got = ExportedModel(out, CHECK_RUNTIME[fmt])(xs, boxes)
        diff = float((got - ref).abs().max())
    return {"out": out, "checkpoint": checkpoint, "max_abs_diff": diff}


def export_main(argv=None) -> int:
    parser = config_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--format", choices=("onnx", "torch_export"), default="onnx", help="export format")
    parser.add_argument("--out", required=True, help="output file (.onnx, or .pt2 for torch_export)")
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        refuse_overwriting_inputs({"--out": args.out}, {"--cfg": args.cfg_file,
                                                        "TEST.CHECKPOINT_FILE_PATH": cfg.TEST.CHECKPOINT_FILE_PATH or None})
        result = export_config(cfg, args.format, args.out)
        check = ("not checked (runtime not installed)" if result["max_abs_diff"] is None
                 else f"max |score difference| vs PyTorch {result['max_abs_diff']:.2e}")
        print(f"exported {result['checkpoint']} as {args.format} to {result['out']}: {check}")
        return 0

    return run_with_config(args, job)
