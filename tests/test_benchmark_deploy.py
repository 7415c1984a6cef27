"""tools/benchmark.py: the CPU's instruction-set level, and inference rows per precision and runtime."""
import importlib.util
import json

import pytest

import slowfast.deploy.precision as precision
import slowfast.reports.benchmark_deploy as bd
from slowfast.apps.cli_tools import benchmark_main


@pytest.mark.parametrize("flags, level", [({"avx", "avx2"}, "avx2"), ({"avx2", "avx512f"}, "avx512"),
                                          ({"avx512f", "avx512_bf16"}, "avx512_bf16"),
                                          ({"avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}, "amx"), (set(), "baseline")])
def test_instruction_set_level_is_the_highest_the_flags_show(flags, level):
    assert bd.cpu_isa(flags)["level"] == level


def test_this_machines_flags_are_read_from_proc_cpuinfo():
    flags = bd.cpu_flags()
    assert not flags or "fpu" in flags or "fp" in flags or "avx2" in flags


def test_benchmark_model_prints_one_json_row_per_precision_and_runtime(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)  # exercise the bf16 row (emulated here)
    monkeypatch.setattr(bd, "cpu_has_bf16_units", lambda: True)
    assert benchmark_main(["--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml", "--what", "model", "--model-parts",
                           "runtimes", "--iters", "1", "--batch", "1", "--threads", "1", "--json", "--flops-cache",
                           str(tmp_path / "f.json"), "DATA.GENERATE_SYNTHETIC", "False", "DATA.NUM_FRAMES", "8"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("cpu: ")
    rows = [json.loads(line) for line in out if line.startswith('{"what"')]
    by = {(r["precision"], r["runtime"]): r for r in rows}
    assert all({"what", "precision", "runtime", "clips_s"} <= set(r) for r in rows)
    assert by[("fp32", "torch")]["clips_s"] > 0 and by[("fp32", "torch")]["max_abs_diff"] == 0
    assert by[("bf16", "torch")]["clips_s"] > 0 and 0 < by[("bf16", "torch")]["max_abs_diff"] < 2e-3
    assert by[("fp16", "torch")]["clips_s"] is None and "cpu has no fp16" in by[("fp16", "torch")]["skipped"]
    ort = by[("fp32", "onnxruntime")]
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        assert ort["clips_s"] > 0 and ort["max_abs_diff"] < 1e-4
    else:
        assert "pip install onnxruntime" in ort["skipped"]
    if not importlib.util.find_spec("openvino"):
        assert "pip install openvino" in by[("fp32", "openvino")]["skipped"]
    elif importlib.util.find_spec("onnx"):
        assert by[("fp32", "openvino")]["clips_s"] > 0 and by[("fp32", "openvino")]["max_abs_diff"] < 1e-4
    assert json.loads(out[-1])["cpu"]["level"] in ("amx", "avx512_bf16", "avx512", "avx2", "baseline")
