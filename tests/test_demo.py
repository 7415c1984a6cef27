"""The demo on users' videos: labelled output video, JSON, AVA boxes and detections CSV, errors."""
import json
import os
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
import torch

from demo_fixtures import (AVA_TINY, FPS, HEIGHT, KINETICS_TINY, WIDTH, config_with_checkpoint, decode,
                           textured_frames, write_video)
from slowfast.apps.cli_tools import demo_main
from slowfast.visualization import demo_video as dv
from slowfast.apps.demo import DemoError, run_demo
from slowfast.apps.video_clips import VideoClips, plan_clips
from slowfast.config import load_config
from slowfast.datasets.build import build_dataset
from slowfast.datasets.class_names import builtin_path
from slowfast.datasets.video_container import get_video_info
from slowfast.evaluation.ava import evaluate
from slowfast.formats.ava_boxes import read_boxes_csv

NUM_FRAMES = 80  # 3.2 s at 25 fps


@pytest.fixture(scope="module")
def kin(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo_kin")
    video = write_video(tmp / "clip.mp4", textured_frames(NUM_FRAMES))
    return tmp, video, config_with_checkpoint(tmp, KINETICS_TINY, "DEMO.DISPLAY_SIZE", "0")  # output = input size


@pytest.fixture(scope="module")
def ava_cfg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo_ava")
    return tmp, config_with_checkpoint(tmp, AVA_TINY, "DEMO.ACTION_THRESH", "0.0", "DEMO.TOP_K", "1",
                                       "DEMO.DISPLAY_SIZE", "0")


# --------------------------------------------------------------------------- clips


def test_clips_start_every_stride_and_the_last_one_ends_with_the_video(kin):
    _, video, _ = kin
    info = get_video_info(video)  # 3.2 s -> 96 frames of the 30 fps grid
    plan = plan_clips(info, num_frames=16, sampling_rate=2, target_fps=30, stride_sec=1.0)
    assert plan.starts == (0, 30, 60, 64)  # 32-frame windows; the last moved back to end at frame 96
    assert plan.clip_span(3) == (64 / 30, 3.2)
    short = plan_clips(info, num_frames=32, sampling_rate=4, target_fps=30)  # 128 > 96 grid frames
    assert short.starts == (0,)


def test_a_clip_is_the_kinetics_test_view_of_the_same_window(kin, tmp_path):
    """Same decoder, sampling, transforms and pathway packing as testing: the demo's clip i of
    --num-clips 3 equals the Kinetics test dataset's view i (1 spatial crop)."""
    _, video, cfg = kin
    (tmp_path / "test.csv").write_text(f"{video} 0\n")
    cfg = load_config(KINETICS_TINY, ["DATA.PATH_TO_DATA_DIR", str(tmp_path), "TEST.NUM_ENSEMBLE_VIEWS", "3",
                                      "TEST.NUM_SPATIAL_CROPS", "1", "DATA.GENERATE_SYNTHETIC", "False"])
    dataset = build_dataset("kinetics", cfg, "test")
    with VideoClips(video, cfg, num_clips=3) as clips:
        for i in range(3):
            ours, theirs = clips.inputs(i), dataset[i][0]
            assert [x.shape for x in ours] == [x.shape for x in theirs]
            assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


# --------------------------------------------------------------------------- classification demo


def test_classification_demo_writes_the_input_with_labels_and_a_gapless_json(kin):
    tmp, video, cfg = kin
    out, js = str(tmp / "out.mp4"), str(tmp / "out.json")
    summary = run_demo(cfg, video, out, js)
    frames_in, pts_in, rate_in, _ = decode(video)
    frames_out, pts_out, rate_out, _ = decode(out)
    assert frames_out.shape == frames_in.shape == (NUM_FRAMES, HEIGHT, WIDTH, 3)
    assert rate_out == rate_in == FPS and pts_out == pts_in
    with av.open(out) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    # Labels: the top-left panel differs from the input; the far corner is the input up to coding noise.
    diff = np.abs(frames_out.astype(int) - frames_in.astype(int))
    assert diff[:, :8, :30].mean() > 40
    assert diff[:, -15:, -30:].mean() < 4
    entries = json.load(open(js))["clips"]
    assert entries[0]["start"] == 0.0 and entries[-1]["end"] == pytest.approx(NUM_FRAMES / FPS)
    assert all(a["end"] == b["start"] for a, b in zip(entries, entries[1:]))
    assert all(len(e["top_k"]) == cfg.DEMO.TOP_K and e["clip_start"] <= e["start"] for e in entries)
    scores = [s for _, s in entries[0]["top_k"]]
    assert scores == sorted(scores, reverse=True) and summary["num_frames"] == NUM_FRAMES


def test_variable_frame_rate_keeps_every_timestamp(kin):
    tmp, _, cfg = kin
    pts = np.cumsum([0] + [40, 40, 20, 60, 33, 47] * 6)[:36]  # ms, irregular
    video = write_video(tmp / "vfr.mp4", textured_frames(36), pts=pts)
    out = str(tmp / "vfr_out.mp4")
    run_demo(cfg, video, out)
    _, pts_in, _, tb_in = decode(video)
    _, pts_out, _, tb_out = decode(out)
    assert [p * tb_out for p in pts_out] == [p * tb_in for p in pts_in]


def test_rotated_phone_video_is_labelled_upright_at_its_display_size(kin):
    tmp, _, cfg = kin
    frames = textured_frames(30, height=40, width=64)
    frames[:, :, :8] = 0  # dark band on the stored frame's left = the bottom when turned 90 deg counter-clockwise
    video = write_video(tmp / "rot.mp4", frames, rotation=90)
    out = str(tmp / "rot_out.mp4")
    summary = run_demo(cfg, video, out)
    decoded, _, _, _ = decode(out)
    assert decoded.shape[1:3] == (64, 40) and (summary["width"], summary["height"]) == (40, 64)
    assert decoded[:, -8:, 20:].mean() < 20 and decoded[:, 30:40, 20:].mean() > 60


def test_demo_cli_prints_where_the_labelled_video_is(kin, capsys):
    tmp, video, cfg = kin
    out = str(tmp / "cli.mp4")
    code = demo_main(["--cfg", KINETICS_TINY, "--input", video, "--output", out, "OUTPUT_DIR", str(tmp),
                      "TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH, "DEMO.CROP", "full"])
    assert code == 0 and os.path.isfile(out)
    printed = capsys.readouterr().out
    assert f"labelled video: {os.path.abspath(out)}" in printed and printed.count("labelled video:") == 1


def test_a_32_px_video_is_labelled_at_480_px_with_the_whole_label_inside_the_frame(kin):
    """DEMO.DISPLAY_SIZE (default 480): a 32x32 input (make demo's) comes out 480x480, the input's pixels
    scaled up as sharp squares, and the label panel (top-k names and scores) ends inside the frame. At the
    input's size (DISPLAY_SIZE 0) the same text is wider than the frame and is cut."""
    tmp, _, cfg = kin
    frames = textured_frames(30, height=32, width=32)
    video = write_video(tmp / "small.mp4", frames)
    cfg = cfg.clone()
    cfg.defrost()
    cfg.DEMO.DISPLAY_SIZE = 480
    out = str(tmp / "small_out.mp4")
    summary = run_demo(cfg, video, out)
    decoded, pts_out, _, _ = decode(out)
    assert decoded.shape == (30, 480, 480, 3) and (summary["output_width"], summary["output_height"]) == (480, 480)
    assert pts_out == decode(video)[1]
    lines = dv.format_scores([tuple(p) for p in summary["clips"][0]["top_k"]])
    widths = [cv2.getTextSize(line, dv.FONT, *dv.text_scale(480, 480))[0][0] for line in lines]
    assert max(widths) + 4 < 480 / 2  # the panel takes less than half the width
    assert max(cv2.getTextSize(line, dv.FONT, *dv.text_scale(32, 32))[0][0] for line in lines) > 32  # cut at 32 px
    # The panel is the black block top-left; the right half of its rows shows the (scaled-up) input.
    input_right = cv2.resize(decode(video)[0][0], (480, 480), interpolation=cv2.INTER_NEAREST)[5:20, 300:]
    assert decoded[0, 5:20, :max(widths)].mean() < decoded[0, 5:20, 300:].mean()
    assert np.abs(decoded[0, 5:20, 300:].astype(int) - input_right.astype(int)).mean() < 6


# --------------------------------------------------------------------------- AVA demo

BOXES = "vid,1,0.1,0.2,0.5,0.9,,0.95\nvid,2,0.5,0.1,0.9,0.6,,0.99\nvid,2,0.5,0.1,0.9,0.6,12,0.99\nother,1,0,0,1,1,,0.9\n"


def test_ava_demo_draws_the_csv_boxes_and_writes_detections_the_evaluator_reads(ava_cfg):
    tmp, cfg = ava_cfg
    flat = np.full((NUM_FRAMES, HEIGHT, WIDTH, 3), 128, np.uint8)
    video = write_video(tmp / "vid.mp4", flat)
    (tmp / "boxes.csv").write_text(BOXES)
    out, det = str(tmp / "ava.mp4"), str(tmp / "det.csv")
    summary = run_demo(cfg, video, out, str(tmp / "ava.json"), det, str(tmp / "boxes.csv"))
    assert [e["second"] for e in summary["key_frames"]] == [1, 2] and summary["num_boxes"] == 2
    frames, _, _, _ = decode(out)
    assert frames.shape == flat.shape
    grey = lambda a: np.abs(a.astype(int) - 128).max(axis=-1) < 12  # noqa: E731
    left, mid, bottom = int(0.1 * WIDTH), int(0.55 * HEIGHT), int(0.9 * HEIGHT) - 1  # below the label panel
    # Frames before second 1 are untouched; from second 1 the first box's left edge is drawn ...
    assert grey(frames[:FPS - 1]).all()
    first = frames[FPS + 5]
    assert not grey(first[mid:bottom, left]).any() and grey(first[mid:bottom, left - 3]).all()
    # ... and held until second 2, when the second box replaces it.
    assert grey(frames[2 * FPS + 5][mid:bottom, left]).all()
    assert not grey(frames[2 * FPS + 5][int(0.4 * HEIGHT):int(0.6 * HEIGHT) - 1, int(0.5 * WIDTH)]).any()
    # The CSV: one row per box and class, the CSV's video id and seconds; the evaluator scores it.
    rows = read_boxes_csv(det, allowed_columns=(8,))
    assert len(rows.score) == 2 * cfg.MODEL.NUM_CLASSES and sorted(rows.key_names) == ["vid,0001", "vid,0002"]
    (tmp / "gt.csv").write_text("vid,0001,0.1,0.2,0.5,0.9,12,0\nvid,0002,0.5,0.1,0.9,0.6,14,1\n")
    labelmap = builtin_path("ava_v2.2_activitynet_2019")
    result = evaluate(labelmap, str(tmp / "gt.csv"), det, version="2020")
    # One ground-truth box per class and two detections, one of them on that box: 0.5 <= AP <= 1.
    assert 0.5 <= result.per_class["stand"] <= 1.0 and 0.5 <= result.per_class["walk"] <= 1.0


def test_ava_demo_with_an_untrained_torchvision_detector(ava_cfg, tmp_path):
    """Wiring of DEMO.DETECTOR torchvision without a download: an untrained small detector whose
    classifier is biased towards COCO's person class, loaded from a local weights file."""
    from slowfast.models.person_detector import COCO_PERSON, build_person_detector

    tmp, cfg = ava_cfg
    detector = build_person_detector("fasterrcnn_mobilenet_v3_large_320_fpn", "NONE", 0.5)
    with torch.no_grad():
        detector.roi_heads.box_predictor.cls_score.bias[COCO_PERSON] = 20.0
    weights = str(tmp_path / "detector.pth")
    torch.save(detector.state_dict(), weights)
    video = write_video(tmp_path / "walk.mp4", textured_frames(20))  # 0.8 s: key second 0
    opts = ["DEMO.DETECTOR", "torchvision", "DEMO.DETECTOR_MODEL", "fasterrcnn_mobilenet_v3_large_320_fpn",
            "DEMO.DETECTOR_WEIGHTS", weights, "DEMO.DETECTOR_THRESH", "0.5",
            "TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH, "OUTPUT_DIR", str(tmp_path),
            "DEMO.DISPLAY_SIZE", "0"]
    cfg = load_config(AVA_TINY, opts + ["DEMO.ACTION_THRESH", "0.0", "DATA.GENERATE_SYNTHETIC", "False"])
    summary = run_demo(cfg, video, str(tmp_path / "walk_out.mp4"), csv_path=str(tmp_path / "walk.csv"))
    assert [e["second"] for e in summary["key_frames"]] == [0]
    persons = [p for e in summary["key_frames"] for p in e["persons"]]
    assert persons and all(p["box_score"] > 0.5 and len(p["actions"]) == 80 for p in persons)
    assert decode(tmp_path / "walk_out.mp4")[0].shape == (20, HEIGHT, WIDTH, 3)


# --------------------------------------------------------------------------- errors


def _cli_error(capsys, *args):
    code = demo_main(list(args))
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and "\n" not in err, err
    return err


def test_bad_inputs_are_one_line_errors_naming_the_file(kin, ava_cfg, tmp_path, capsys):
    _, video, cfg = kin
    ckpt = ["TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH, "OUTPUT_DIR", str(tmp_path)]
    out = str(tmp_path / "o.mp4")
    missing = str(tmp_path / "nope.mp4")
    assert missing in _cli_error(capsys, "--cfg", KINETICS_TINY, "--input", missing, "--output", out, *ckpt)
    audio = str(tmp_path / "audio.m4a")
    with av.open(audio, "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            c.mux(s.encode(frame))
        c.mux(s.encode(None))
    err = _cli_error(capsys, "--cfg", KINETICS_TINY, "--input", audio, "--output", out, *ckpt)
    assert audio in err and "no video stream" in err
    labels = tmp_path / "labels.txt"
    labels.write_text("left\nright\nup\n")
    err = _cli_error(capsys, "--cfg", KINETICS_TINY, "--input", video, "--output", out, *ckpt,
                     "DEMO.LABEL_FILE_PATH", str(labels))
    assert str(labels) in err and "3 class names but the model has 4" in err
    err = _cli_error(capsys, "--cfg", KINETICS_TINY, "--input", video, "--output", out, "OUTPUT_DIR", str(tmp_path))
    assert "no checkpoint" in err and "TEST.CHECKPOINT_FILE_PATH" in err
    assert not os.path.exists(out)

    tmp, acfg = ava_cfg
    aopts = ["TEST.CHECKPOINT_FILE_PATH", acfg.TEST.CHECKPOINT_FILE_PATH, "OUTPUT_DIR", str(tmp_path)]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    err = _cli_error(capsys, "--cfg", AVA_TINY, "--input", video, "--output", out, "--boxes", str(empty), *aopts)
    assert str(empty) in err and "empty" in err
    other = tmp_path / "other.csv"
    other.write_text("someone_else,1,0,0,1,1,,0.9\n")
    err = _cli_error(capsys, "--cfg", AVA_TINY, "--input", video, "--output", out, "--boxes", str(other), *aopts)
    assert str(other) in err and "'clip'" in err
    err = _cli_error(capsys, "--cfg", AVA_TINY, "--input", video, "--output", out, *aopts)
    assert "--boxes" in err and "DEMO.DETECTOR torchvision" in err
    with pytest.raises(DemoError, match="need a detection config"):
        run_demo(cfg, video, out, boxes_path=str(other))


def test_tools_demo_is_a_thin_wrapper_that_fails_in_one_line(tmp_path):
    missing = str(tmp_path / "none.mp4")
    run = subprocess.run([sys.executable, "tools/demo.py", "--cfg", KINETICS_TINY, "--input", missing, "--output",
                          str(tmp_path / "out.mp4"), "NUM_GPUS", "0"], capture_output=True, text=True, timeout=180)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and missing in run.stderr, run.stderr


def ava_test_view(cfg, frames_rgb, boxes):
    """The AVA test dataset's view of these frames (``Ava._item`` on a dataset without files)."""
    from slowfast.datasets.ava import Ava, AvaSpec
    from slowfast.datasets.sampling import pack_pathway_output

    dataset = Ava.__new__(Ava)  # only the transform of a test-split dataset, without dataset files
    dataset.spec = AvaSpec.from_config(cfg, "test")  # short side DATA.TEST_CROP_SIZE, no flip
    dataset._keyframes = [(0, 0, 0, boxes.astype(np.float32), None)]
    bgr_frames = frames_rgb.numpy()[..., ::-1].copy()
    dataset._read_clip_frames = lambda index, bgr: bgr_frames if bgr else frames_rgb.numpy()
    clip, px = dataset._item(0)
    return pack_pathway_output(clip, cfg.SLOWFAST.ALPHA, 2, cfg.DATA.SLOW_PATHWAY_SAMPLING), px


@pytest.mark.parametrize("preprocess", ["pyslowfast", "exact"])
def test_the_ava_demo_view_is_the_ava_test_datasets_view(ava_cfg, preprocess):
    """Boxes and pixels go through the AVA test pipeline of AVA.PREPROCESS (default: PySlowFast's cv2 path)."""
    from slowfast.apps.video_clips import detection_inputs

    _, cfg = ava_cfg
    cfg = cfg.clone()
    cfg.defrost()
    cfg.AVA.PREPROCESS = preprocess
    cfg.freeze()
    frames = torch.from_numpy(textured_frames(cfg.DATA.NUM_FRAMES))
    boxes = np.array([[0.1, 0.2, 0.5, 0.9], [0.6, 0.0, 1.0, 0.4]])
    inputs, px = detection_inputs(cfg, frames, boxes)
    theirs, their_px = ava_test_view(cfg, frames, boxes)
    assert all(torch.equal(a, b) for a, b in zip(inputs, theirs))
    assert torch.equal(px[:, 1:], their_px) and (px[:, 0] == 0).all()


def test_progress_lines_give_done_total_and_the_time_left():
    from slowfast.utils.progress import Progress

    now = [0.0]
    progress = Progress("demo: writing", 100, "frames", clock=lambda: now[0], period=0)
    now[0] = 10.0
    progress.step(25)  # 25 frames in 10 s -> 75 left at 2.5 frames/s = 30 s
    assert progress.line() == "demo: writing 25/100 frames (25%), 2.5 frames/s, ETA 30s"
    now[0] = 40.0
    progress.step(75)
    assert progress.line().endswith("100/100 frames (100%), 2.5 frames/s, done")


@pytest.mark.parametrize("base,opts,message", [
    (KINETICS_TINY, ["DEMO.STRIDE_SEC", "0"], "DEMO.STRIDE_SEC must be > 0"),
    (AVA_TINY, ["DEMO.STRIDE_SEC", "0.5"], "whole number of seconds"),
    (KINETICS_TINY, ["DEMO.DETECTOR", "yolo"], "DEMO.DETECTOR is 'yolo'"),
    (KINETICS_TINY, ["DEMO.ACTION_THRESH", "1.5"], "DEMO.ACTION_THRESH must be in [0, 1]"),
    (KINETICS_TINY, ["DEMO.DISPLAY_SIZE", "-1"], "DEMO.DISPLAY_SIZE must be >= 0"),
    (KINETICS_TINY, ["TRAIN.CHECKPOINT_KEEP", "-2"], "TRAIN.CHECKPOINT_KEEP must be >= 0"),
])
def test_demo_keys_are_validated_when_the_config_loads(base, opts, message):
    from slowfast.config import ConfigError

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(base, opts)
