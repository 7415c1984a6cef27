"""Deployment: reduced-precision inference (`precision`), export of the optimised inference model to ONNX /
torch.export (`export`), and exported models run by onnxruntime / OpenVINO behind the PyTorch model's
`(xs, boxes=None) -> scores` call (`runtime`)."""
