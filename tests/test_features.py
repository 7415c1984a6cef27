"""Features before the classifier: the Python API, the D of SlowFast R50, and tools/extract_features.py."""
import csv
import os

import numpy as np
import pytest
import torch

from demo_fixtures import KINETICS_TINY, config_with_checkpoint, textured_frames, write_video
from slowfast.apps.cli_tools import extract_features_main
from slowfast.apps.eval_model import load_eval_model
from slowfast.apps.video_clips import VideoClips, batch
from slowfast.config import load_config
from slowfast.models import build_model, extract_features, feature_dim


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("features")
    videos = [write_video(tmp / "a.mp4", textured_frames(80)), write_video(tmp / "b.mp4", textured_frames(40, seed=3))]
    return tmp, videos, config_with_checkpoint(tmp, KINETICS_TINY)


def test_features_are_the_heads_input_pooled_and_concatenated_over_pathways(setup):
    _, videos, cfg = setup
    model, _, _ = load_eval_model(cfg)  # optimize_for_inference's wrapper (TEST.OPTIMIZE_MODEL)
    with VideoClips(videos[0], cfg) as clips:
        inputs = batch([clips.inputs(0), clips.inputs(1)])
    feats = extract_features(model, inputs)
    res5 = model.forward_features(inputs)  # [slow B x 512 x T x h x w, fast B x 128 x ...]
    pooled = torch.cat([x.mean(dim=(2, 3, 4)) for x in res5], dim=1)
    assert feats.shape == (2, 512 + 128) == (2, feature_dim(model))
    assert torch.allclose(feats, pooled, atol=1e-6)
    head = model.model.head  # the optimised network inside the wrapper
    assert torch.allclose(head.projection(feats).softmax(1), model(inputs), atol=1e-6)  # what is classified


def test_slowfast_r50_features_have_2304_dimensions():
    cfg = load_config("configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml", ["NUM_GPUS", "0"])
    model = build_model(cfg, device="meta").eval()
    assert feature_dim(model) == 2048 + 256 == 2304
    inputs = [torch.empty(1, 3, 8, 224, 224, device="meta"), torch.empty(1, 3, 32, 224, 224, device="meta")]
    assert extract_features(model, inputs).shape == (1, 2304)


def test_extract_features_writes_one_npy_per_video_an_index_and_resumes(setup, capsys):
    tmp, videos, cfg = setup
    listing = tmp / "list.csv"
    listing.write_text("a.mp4 0\nb.mp4 1\nmissing.mp4 2\n")  # a Kinetics split file works as a list
    out = tmp / "feats"
    args = ["--cfg", KINETICS_TINY, "--input", str(listing), "--output", str(out), "OUTPUT_DIR", str(tmp),
            "TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH, "DATA_LOADER.NUM_WORKERS", "1",
            "DATA.GENERATE_SYNTHETIC", "False"]
    assert extract_features_main(args) == 1  # missing.mp4 is reported, the others are written
    assert "1 failed" in capsys.readouterr().out
    a, b = np.load(out / "a.npy"), np.load(out / "b.npy")
    assert a.shape == (4, 640) and b.shape == (2, 640) and a.dtype == np.float32  # 3.2 s: 4 clips; 1.6 s: 2
    rows = list(csv.DictReader(open(out / "index.csv")))
    assert [(r["video"], r["clip"]) for r in rows] == [("a", "0"), ("a", "1"), ("a", "2"), ("a", "3"), ("b", "0"), ("b", "1")]
    assert float(rows[1]["start_sec"]) == pytest.approx(1.0) and float(rows[3]["end_sec"]) == pytest.approx(3.2)
    model, _, _ = load_eval_model(cfg)
    with VideoClips(videos[0], cfg) as clips:
        expected = extract_features(model, batch([clips.inputs(2)]))[0].numpy()
    np.testing.assert_allclose(a[2], expected, rtol=1e-5, atol=1e-6)
    stamp = os.stat(out / "a.npy").st_mtime_ns
    assert extract_features_main(args) == 1
    assert "0 written, 2 skipped" in capsys.readouterr().out and os.stat(out / "a.npy").st_mtime_ns == stamp


def test_num_clips_gives_uniform_test_windows(setup):
    tmp, videos, cfg = setup
    out = tmp / "uniform"
    code = extract_features_main(["--cfg", KINETICS_TINY, "--input", videos[1], "--output", str(out), "--num-clips", "3",
                                  "OUTPUT_DIR", str(tmp), "TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH,
                                  "DATA_LOADER.NUM_WORKERS", "0", "DATA.GENERATE_SYNTHETIC", "False"])
    assert code == 0 and np.load(out / "b.npy").shape == (3, 640)
    rows = list(csv.DictReader(open(out / "index.csv")))
    assert float(rows[0]["start_sec"]) == 0.0 and float(rows[-1]["end_sec"]) == pytest.approx(1.6)
