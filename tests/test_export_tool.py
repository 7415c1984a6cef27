"""tools/export.py: the config's test checkpoint exported and checked against PyTorch; a checkpoint that does
not fit the config, or an output that is an input, is one line."""
import importlib.util
import os

import pytest

from slowfast.apps.export import export_main
from slowfast.checkpoint import save_checkpoint
from test_deploy import AVA_SMALL, AVA_TINY, KINETICS_TINY, tiny_model

needs_ort = pytest.mark.skipif(not all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime")),
                               reason="onnx / onnxruntime not installed (pip install -e .[deploy])")


def checkpoint(tmp_path, base, *opts):
    cfg, model = tiny_model(base, *opts)
    path = str(tmp_path / f"{os.path.basename(base)}.pyth")
    save_checkpoint(path, model, cfg=cfg)
    return path


@needs_ort
def test_export_writes_an_onnx_detector_whose_scores_match_pytorch(tmp_path, capsys):
    ckpt = checkpoint(tmp_path, AVA_TINY, *AVA_SMALL)
    out = tmp_path / "det.onnx"
    assert export_main(["--cfg", AVA_TINY, "--out", str(out), "TEST.CHECKPOINT_FILE_PATH", ckpt, *AVA_SMALL,
                        "DATA.GENERATE_SYNTHETIC", "False"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.is_file() and f"exported {ckpt} as onnx" in line
    assert float(line.rsplit(" ", 1)[1]) < 1e-4


def test_exporting_a_checkpoint_of_another_model_is_one_line(tmp_path, capsys):
    ckpt = checkpoint(tmp_path, AVA_TINY, *AVA_SMALL)  # AVA detector weights, classification config
    out = tmp_path / "m.pt2"
    assert export_main(["--cfg", KINETICS_TINY, "--format", "torch_export", "--out", str(out),
                        "TEST.CHECKPOINT_FILE_PATH", ckpt, "DATA.GENERATE_SYNTHETIC", "False"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ckpt in err and not out.exists()


def test_export_refuses_to_overwrite_its_checkpoint(tmp_path, capsys):
    ckpt = checkpoint(tmp_path, KINETICS_TINY)
    size = os.path.getsize(ckpt)
    assert export_main(["--cfg", KINETICS_TINY, "--out", ckpt, "TEST.CHECKPOINT_FILE_PATH", ckpt,
                        "DATA.GENERATE_SYNTHETIC", "False"]) == 2
    assert "--out" in capsys.readouterr().err and os.path.getsize(ckpt) == size
