"""Exported models (ONNX in onnxruntime, torch.export) give the PyTorch model's scores; TEST.RUNTIME runs them
in the test loop; missing runtimes are one-line errors."""
import builtins

import numpy as np
import pytest
import torch

from slowfast.config import ConfigError, load_config
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.deploy.export import export_model
from slowfast.deploy.runtime import ExportedModel, require
from slowfast.models import build_model, optimize_for_inference
from slowfast.models.inputs import dummy_inputs

KINETICS_TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
AVA_SMALL = ["DATA.TEST_CROP_SIZE", "32", "DATA.NUM_FRAMES", "4"]
SLOW_ONLY = ["MODEL.ARCH", "slow", "MODEL.MODEL_NAME", "ResNet", "DATA.INPUT_CHANNEL_NUM", "[3]",
             "RESNET.NUM_BLOCK_TEMP_KERNEL", "[[1], [1], [1], [1]]", "RESNET.SPATIAL_STRIDES", "[[1], [2], [2], [2]]",
             "RESNET.SPATIAL_DILATIONS", "[[1], [1], [1], [1]]", "NONLOCAL.LOCATION", "[[[]], [[]], [[]], [[]]]",
             "NONLOCAL.GROUP", "[[1], [1], [1], [1]]", "NONLOCAL.POOL", "[[[1, 2, 2]], [[1, 2, 2]], [[1, 2, 2]], [[1, 2, 2]]]",
             "DATA.NUM_FRAMES", "4"]
needs_ort = pytest.mark.skipif(not all(__import__("importlib").util.find_spec(m) for m in ("onnx", "onnxruntime")),
                               reason="onnx / onnxruntime not installed (pip install -e .[deploy])")


def tiny_model(base, *opts, seed=0):
    cfg = load_config(base, ["DATA.GENERATE_SYNTHETIC", "False", *opts])
    torch.manual_seed(seed)
    model = build_model(cfg, device="cpu").eval()
    with torch.no_grad():  # non-trivial BN statistics, so that folding them is exercised
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return cfg, model


def random_inputs(cfg, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, *x.shape[1:], generator=g) for x in dummy_inputs(cfg, cfg.DATA.TEST_CROP_SIZE)[0]]


def random_boxes(n, batch, size, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size / 2
    wh = torch.rand(n, 2, generator=g) * size / 2 + 4
    return torch.cat([(torch.arange(n) % batch).float()[:, None], xy, xy + wh], dim=1)


@needs_ort
@pytest.mark.parametrize("arch", ["slowfast", "slow"])
def test_onnx_classifier_gives_the_pytorch_scores_at_batch_sizes_1_and_2(tmp_path, arch):
    cfg, model = tiny_model(KINETICS_TINY, *(SLOW_ONLY if arch == "slow" else []))
    net = optimize_for_inference(model)
    path = export_model(net, random_inputs(cfg, 2), None, str(tmp_path / "m.onnx"), "onnx")
    run = ExportedModel(path, "onnxruntime")
    for batch in (1, 2, 3):
        xs = random_inputs(cfg, batch, seed=batch)
        with torch.no_grad():
            ref = net(xs)
        got = run(xs)
        assert got.shape == (batch, cfg.MODEL.NUM_CLASSES)
        assert torch.allclose(got, ref, atol=1e-4, rtol=0), float((got - ref).abs().max())
        assert float(ref.std()) > 1e-3  # the scores differ between clips and classes: the comparison bites


@needs_ort
def test_onnx_detector_takes_any_number_of_boxes_including_none_and_gives_the_pytorch_scores(tmp_path):
    cfg, model = tiny_model(AVA_TINY, *AVA_SMALL)
    net = optimize_for_inference(model)
    size = cfg.DATA.TEST_CROP_SIZE
    path = export_model(net, random_inputs(cfg, 1), random_boxes(1, 1, size), str(tmp_path / "det.onnx"), "onnx")
    run = ExportedModel(path, "onnxruntime")
    assert run.is_detection
    for batch in (1, 2):
        xs = random_inputs(cfg, batch, seed=batch)
        for n in (0, 1, 3):
            boxes = random_boxes(n, batch, size, seed=n)
            with torch.no_grad():
                ref = net(xs, boxes)
            got = run(xs, boxes)
            assert got.shape == (n, cfg.MODEL.NUM_CLASSES)
            assert torch.allclose(got, ref, atol=1e-4, rtol=0)
    # Moving one box changes its scores in both: the boxes really are an input of the exported graph.
    xs, boxes = random_inputs(cfg, 1), random_boxes(2, 1, size)
    moved = boxes.clone()
    moved[0, 1:] = torch.tensor([16.0, 16.0, 30.0, 30.0])
    a, b = run(xs, boxes), run(xs, moved)
    assert (a[0] - b[0]).abs().max() > 1e-4 and torch.allclose(a[1], b[1], atol=1e-6)


def test_torch_export_program_gives_the_pytorch_scores_for_a_dynamic_batch_and_box_count(tmp_path):
    cfg, model = tiny_model(AVA_TINY, *AVA_SMALL)
    net = optimize_for_inference(model)
    size = cfg.DATA.TEST_CROP_SIZE
    path = export_model(net, random_inputs(cfg, 2), random_boxes(2, 2, size), str(tmp_path / "det.pt2"),
                        "torch_export")
    run = ExportedModel(path, "torch_export")
    for batch, n in ((1, 0), (1, 3), (3, 5)):
        xs, boxes = random_inputs(cfg, batch, seed=n), random_boxes(n, batch, size, seed=n)
        with torch.no_grad():
            ref = net(xs, boxes)
        assert torch.allclose(run(xs, boxes), ref, atol=1e-4, rtol=0)


def test_a_runtime_that_is_not_installed_is_one_line_naming_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_openvino(name, *args, **kwargs):
        if name.split(".")[0] == "openvino":
            raise ImportError("No module named 'openvino'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openvino)
    monkeypatch.delitem(__import__("sys").modules, "openvino", raising=False)
    with pytest.raises(ConfigError, match=r"TEST.RUNTIME openvino needs .*'openvino'.*pip install openvino"):
        require("openvino", "TEST.RUNTIME openvino")


@needs_ort
def test_run_net_test_with_onnxruntime_writes_the_torch_runtimes_scores(tmp_path):
    from slowfast.apps.run_net import main
    from slowfast.checkpoint import save_checkpoint

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=4, num_val=4, num_test=4, size=32, num_frames=40, seed=0,
                            num_workers=1)
    cfg, model = tiny_model(KINETICS_TINY, "DATA.NUM_FRAMES", "8")
    ckpt = str(tmp_path / "w.pyth")
    save_checkpoint(ckpt, model, cfg=cfg)
    scores = {}
    for runtime in ("torch", "onnxruntime"):
        out = tmp_path / runtime
        opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
                "DATA.NUM_FRAMES", "8", "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", ckpt,
                "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0", "TEST.NUM_ENSEMBLE_VIEWS", "1",
                "LOG_MODEL_INFO", "False", "TEST.RUNTIME", runtime]
        assert main(["--cfg", KINETICS_TINY, *opts]) == 0
        scores[runtime] = np.load(out / "test_scores.npz")["scores"]
    assert scores["torch"].shape == (4, 4)
    np.testing.assert_allclose(scores["onnxruntime"], scores["torch"], atol=1e-4, rtol=0)


@needs_ort
def test_ava_demo_with_onnxruntime_writes_the_torch_runtimes_detections(tmp_path):
    from demo_fixtures import config_with_checkpoint, write_video
    from slowfast.apps.demo import run_demo
    from slowfast.formats.ava_boxes import read_boxes_csv

    video = write_video(tmp_path / "vid.mp4", np.random.default_rng(0).integers(0, 255, (60, 61, 97, 3), np.uint8))
    (tmp_path / "boxes.csv").write_text("vid,1,0.1,0.2,0.5,0.9,,0.95\nvid,2,0.5,0.1,0.9,0.6,,0.99\n"
                                        "vid,2,0.2,0.3,0.6,0.7,,0.99\n")
    scores = {}
    for runtime in ("torch", "onnxruntime"):
        cfg = config_with_checkpoint(tmp_path / runtime, AVA_TINY, "TEST.RUNTIME", runtime, "DATA.NUM_FRAMES", "4",
                                     "DEMO.ACTION_THRESH", "0.0")
        det = str(tmp_path / f"{runtime}.csv")
        run_demo(cfg, video, str(tmp_path / f"{runtime}.mp4"), None, det, str(tmp_path / "boxes.csv"))
        scores[runtime] = np.asarray(read_boxes_csv(det, allowed_columns=(8,)).score)
    assert len(scores["torch"]) == 3 * 80
    np.testing.assert_allclose(scores["onnxruntime"], scores["torch"], atol=1e-4, rtol=0)


@pytest.mark.skipif(not all(__import__("importlib").util.find_spec(m) for m in ("onnx", "openvino")),
                    reason="onnx / openvino not installed (pip install -e .[deploy,openvino])")
def test_openvino_runs_the_onnx_detector_with_the_pytorch_scores(tmp_path):
    cfg, model = tiny_model(AVA_TINY, *AVA_SMALL)
    net = optimize_for_inference(model)
    path = export_model(net, random_inputs(cfg, 1), random_boxes(1, 1, 32), str(tmp_path / "det.onnx"), "onnx")
    run = ExportedModel(path, "openvino")
    assert run.is_detection
    for batch, n in ((1, 0), (2, 3)):
        xs, boxes = random_inputs(cfg, batch, seed=n), random_boxes(n, batch, 32, seed=n)
        with torch.no_grad():
            ref = net(xs, boxes)
        got = run(xs, boxes)
        assert got.shape == ref.shape and torch.allclose(got, ref, atol=1e-4, rtol=0)


def test_feature_extraction_with_an_exported_runtime_is_one_line_asking_for_torch(tmp_path):
    from demo_fixtures import config_with_checkpoint, textured_frames, write_video
    from slowfast.apps.demo import DemoError
    from slowfast.apps.features import extract_video_features

    video = write_video(tmp_path / "v.mp4", textured_frames(30))
    cfg = config_with_checkpoint(tmp_path, KINETICS_TINY, "TEST.RUNTIME", "onnxruntime")
    with pytest.raises(DemoError, match="extract_features needs TEST.RUNTIME torch"):
        extract_video_features(cfg, video, str(tmp_path / "feats"), 1, False)
    assert not (tmp_path / "feats").exists()
