"""Grad-CAM (slowfast/visualization/gradcam.py, tools/visualize.py gradcam) on synthetic data with known answers."""
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from demo_fixtures import AVA_TINY, KINETICS_TINY, config_with_checkpoint, decode, write_video
from slowfast.apps.video_clips import VideoClips
from slowfast.apps.visualize import load_plain_model, main, run_gradcam, shown_frames
from slowfast.config import load_config
from slowfast.datasets.synthetic import class_velocity, render_moving_disc
from slowfast.visualization.gradcam import GradCam, LayerNameError, mass_inside, resolve_layers

TRAINED = os.path.join(os.path.dirname(__file__), "fixtures", "kinetics_tiny_trained.pyth")
SIZE, FRAMES = 32, 40  # the quick start's 32-pixel videos; one 16 x 2-frame clip at 30 fps
# res2 (8 x 8 maps at 32 px): the deepest stage where a 5-11 px disc is still resolved (res5 is 1 x 1).
LAYERS = '["s2/pathway0_res0", "s2/pathway1_res0"]'


def disc_videos(folder, count=12, seed=7):
    """``count`` videos of the quick start's kind (a textured disc moving over block noise); -> [(path, label)]."""
    out = []
    for i in range(count):
        label = i % 4
        frames = render_moving_disc(np.random.default_rng([seed, i]), SIZE, FRAMES, class_velocity(label, 4, SIZE))
        out.append((write_video(os.path.join(folder, f"disc_{i}.mp4"), frames, fps=30), label))
    return out


def disc_mask(frames: np.ndarray, dilate: int = 3) -> torch.Tensor:
    """Where the moving disc is in each frame: pixels far from the clip's temporal median (the static
    background; the disc covers each pixel in fewer than half of the frames), dilated by ``dilate`` pixels."""
    f = torch.from_numpy(frames).float()
    moving = ((f - f.median(dim=0).values).abs().sum(-1) > 40).float()
    return F.max_pool2d(moving[:, None], dilate, 1, dilate // 2)[:, 0] > 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradcam")
    opts = ["OUTPUT_DIR", str(tmp), "DATA.GENERATE_SYNTHETIC", "False", "TEST.CHECKPOINT_FILE_PATH", TRAINED,
            "TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST", LAYERS]
    return tmp, load_config(KINETICS_TINY, opts), disc_videos(str(tmp))


def test_gradcam_mass_and_peak_fall_on_the_moving_disc(trained):
    """The synthetic classes are the disc's direction of motion: a trained model's evidence is the disc. Over 12
    new videos, each pathway's map puts more than 1.4 times the disc's area share of its mass on the (slightly
    dilated) disc, and its peak lies on the disc in more than twice as many frames as chance would put it there.
    (Measured 2026-12-06: mass 1.89 / 1.73 times the share, peak 2.8 / 3.1 times, Slow / Fast.)"""
    _, cfg, videos = trained
    model, _, _ = load_plain_model(cfg)
    gc = GradCam(model, cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST)
    mass, peak, correct = [], [], 0
    for path, label in videos:
        with VideoClips(path, cfg, num_clips=1) as clips:
            inputs = clips.inputs(0)
        maps, scores = gc.maps([x[None] for x in inputs], [label])
        correct += int(scores[0].argmax()) == label
        mask = disc_mask(shown_frames(cfg, inputs))
        share = float(mask.float().mean())
        assert 0.02 < share < 0.3, "the disc mask should find one small disc per frame"
        mass.append([mass_inside(m[0], mask) / share for m in maps])
        peak.append([float(mask.flatten(1).gather(1, m[0].flatten(1).argmax(1)[:, None]).float().mean()) / share
                     for m in maps])
    assert correct >= 10, f"the fixture model should classify these videos ({correct}/12)"
    assert min(np.mean(mass, axis=0)) > 1.4, np.mean(mass, axis=0)
    assert min(np.mean(peak, axis=0)) > 2.0, np.mean(peak, axis=0)


def test_cli_writes_a_strip_an_overlay_video_and_json_for_a_labelled_csv(trained, capsys):
    """--input CSV (Kinetics format): with USE_TRUE_LABEL the map explains the row's label; --class overrides it."""
    tmp, cfg, videos = trained
    csv = os.path.join(str(tmp), "two.csv")
    with open(csv, "w") as f:
        f.write(f"{os.path.basename(videos[0][0])} 3\n{os.path.basename(videos[1][0])} 3\n")
    out = os.path.join(str(tmp), "cli")
    opts = ["OUTPUT_DIR", str(tmp), "DATA.GENERATE_SYNTHETIC", "False", "TEST.CHECKPOINT_FILE_PATH", TRAINED,
            "TENSORBOARD.MODEL_VIS.GRAD_CAM.USE_TRUE_LABEL", "True", "TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP", "jet"]
    assert main(["gradcam", "--cfg", KINETICS_TINY, "--input", csv, "--out", out, *opts]) == 0
    summary = json.load(open(os.path.join(out, "gradcam.json")))
    assert [v["target"] for v in summary["videos"]] == ["moving up"] * 2  # label 3 of synthetic_motion_4
    assert summary["layers"] == ["s5/pathway0_res0", "s5/pathway1_res0"]  # default: last block per pathway
    for entry in summary["videos"]:
        with open(entry["png"], "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        frames = decode(entry["mp4"])[0]
        assert len(frames) == 16 and frames.shape[2] > 3 * frames.shape[1] // 2  # input + 2 pathways side by side
    assert "Grad-CAM of 2 videos" in capsys.readouterr().out
    forced = run_gradcam(cfg, videos[0][0], os.path.join(str(tmp), "forced"), class_name="Moving Right")
    assert forced["videos"][0]["target"] == "moving right"


def _one_line_error(capsys, *args):
    assert main(list(args)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_bad_layer_class_or_boxes_are_one_line_errors(trained, tmp_path, capsys):
    tmp, cfg, videos = trained
    video = videos[0][0]
    opts = ["OUTPUT_DIR", str(tmp), "DATA.GENERATE_SYNTHETIC", "False", "TEST.CHECKPOINT_FILE_PATH", TRAINED]
    err = _one_line_error(capsys, "gradcam", "--cfg", KINETICS_TINY, "--input", video, "--out", str(tmp_path / "a"),
                          *opts, "TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST", '["s5/pathway0_res2"]')
    assert "unknown layer 's5/pathway0_res2'" in err and "s5/pathway0_res0" in err and "s2/pathway1_res0" in err
    err = _one_line_error(capsys, "gradcam", "--cfg", KINETICS_TINY, "--input", video, "--out", str(tmp_path / "b"),
                          "--class", "dancing", *opts)
    assert "--class 'dancing' is not a class name" in err and "moving right" in err
    err = _one_line_error(capsys, "gradcam", "--cfg", KINETICS_TINY, "--input", video, "--out", str(tmp_path / "c"),
                          *opts, "TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP", "rainbowish")
    assert "COLORMAP" in err and "rainbowish" in err
    boxes = tmp_path / "boxes.csv"
    boxes.write_text("other_video,1,0.1,0.1,0.5,0.5,,0.9\n")
    ava_opts = ["OUTPUT_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False"]
    err = _one_line_error(capsys, "gradcam", "--cfg", AVA_TINY, "--input", video, "--out", str(tmp_path / "d"),
                          "--boxes", str(boxes), *ava_opts, "TEST.CHECKPOINT_FILE_PATH", TRAINED)
    assert "no rows for video 'disc_0'" in err and "other_video" in err
    err = _one_line_error(capsys, "gradcam", "--cfg", KINETICS_TINY, "--input", video, "--out", str(tmp_path / "e"),
                          *opts, "TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST", '["head"]')
    assert "layer 'head' returns a 2-D tensor" in err and "s5/pathway0_res0" in err
    err = _one_line_error(capsys, "gradcam", "--cfg", KINETICS_TINY, "--input", video, "--out", str(tmp), *opts)
    assert "--out folder" in err and "holds the --input" in err  # outputs never land on the inputs
    with pytest.raises(LayerNameError, match="pathway layers are"):
        resolve_layers(load_plain_model(cfg)[0], ["s9"])


# --------------------------------------------------------------------------- AVA: per box, through the RoI head

@pytest.fixture(scope="module")
def ava(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gradcam_ava")
    cfg = config_with_checkpoint(tmp, AVA_TINY, "DEMO.TOP_K", "2",
                                 "TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST", '["s5/pathway0_res0", "s5/pathway1_res0"]')
    frames = render_moving_disc(np.random.default_rng(3), 64, 60, (1.0, 0.5))
    return tmp, cfg, write_video(os.path.join(str(tmp), "vid.mp4"), frames, fps=30)


def _two_box_maps(cfg, weighting, boxes):
    model, _, _ = load_plain_model(cfg)
    gc = GradCam(model, cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST, weighting=weighting)
    torch.manual_seed(0)
    inputs = [torch.randn(1, 3, 2, 64, 64), torch.randn(1, 3, 8, 64, 64)]
    rows = torch.cat([boxes[:1].repeat(10, 1), boxes[1:].repeat(10, 1)])  # classes 0-9 for each box
    maps, scores = gc.maps(inputs, list(range(10)) * 2, rows)
    with torch.no_grad():
        assert torch.allclose(scores[::10], model(inputs, boxes).float(), atol=1e-5)
    return maps


BOXES = torch.tensor([[0, 2, 2, 30, 62], [0, 34, 2, 62, 62]], dtype=torch.float32)


def test_each_box_gets_its_own_map_through_the_roi_head(ava):
    """The box is passed to the model and its score's gradient comes through RoIAlign on that box only: moving
    one box changes its own map and leaves the other box's map as it was."""
    _, cfg, _ = ava
    maps = _two_box_maps(cfg, "auto", BOXES)
    assert maps[0].shape == (20, 8, 64, 64)  # the Slow map upsampled to the 8 frames of the Fast pathway
    moved = BOXES.clone()
    moved[1, 1:] = torch.tensor([20.0, 30.0, 50.0, 60.0])
    again = _two_box_maps(cfg, "auto", moved)
    alive = [c for c in range(10) if all(float(m[c].sum()) > 0 and float(m[10 + c].sum()) > 0 for m in maps + again)]
    assert alive, "untrained weights: some class should have non-zero maps for both boxes"
    for c in alive:
        for before, after in zip(maps, again):
            assert torch.allclose(before[c], after[c], atol=1e-6)  # the first box did not move: same map
            assert not torch.allclose(before[10 + c], after[10 + c], atol=1e-2)  # the moved box's map moved
            assert not torch.allclose(before[c], before[10 + c], atol=1e-2)  # two boxes, two maps
            left = torch.zeros(8, 64, 64, dtype=torch.bool)
            left[..., :32] = True
            assert mass_inside(before[c], left) > mass_inside(before[10 + c], left)  # the left box's map leans left


def test_channel_mean_gradcam_cannot_tell_boxes_apart_under_the_max_pooled_roi_head(ava):
    """Why boxes get per-position weights: with Grad-CAM's channel means, both boxes get one and the same map."""
    _, cfg, _ = ava
    maps = _two_box_maps(cfg, "channel_mean", BOXES)
    for m in maps:
        assert torch.allclose(m[:10], m[10:], atol=1e-4)


def test_ava_cli_writes_a_picture_per_box_with_a_map_per_class(ava, capsys):
    tmp, cfg, video = ava
    boxes = os.path.join(str(tmp), "boxes.csv")
    with open(boxes, "w") as f:
        f.write("vid,1,0.05,0.05,0.5,0.6,,0.95\nvid,1,0.5,0.4,0.95,0.95,,0.9\nvid,9,0,0,1,1,,0.9\n")
    out = os.path.join(str(tmp), "out")
    summary = run_gradcam(cfg, video, out, boxes_path=boxes)
    rows = summary["boxes"]
    assert [(r["second"], r["box_index"]) for r in rows] == [(1, 0), (1, 0), (1, 1), (1, 1)]  # key second 9 > 2 s
    assert len({r["target"] for r in rows[:2]}) == 2 and all(len(r["mass_in_box"]) == 2 for r in rows)
    assert sorted(os.listdir(out)) == ["gradcam.json", "vid_1.mp4", "vid_1_box0.png", "vid_1_box1.png"]


def test_bf16_autocast_maps_agree_with_float32_and_scores_with_the_optimised_model(trained):
    """bfloat16 autocast (TRAIN.MIXED_PRECISION on CUDA; here on CPU) gives nearly the float32 maps, and the plain
    model's scores are those of the inference model the test loop runs (TEST.OPTIMIZE_MODEL)."""
    from slowfast.models.optimize import inference_model

    _, cfg, videos = trained
    model, _, _ = load_plain_model(cfg)
    with VideoClips(videos[0][0], cfg, num_clips=1) as clips:
        batch = [x[None] for x in clips.inputs(0)]
    layers = cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST
    fp32, scores = GradCam(model, layers).maps(batch, [videos[0][1]])
    bf16, _ = GradCam(model, layers, autocast_dtype=torch.bfloat16).maps(batch, [videos[0][1]])
    for a, b in zip(fp32, bf16):
        assert b.dtype == torch.float32 and torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1] > 0.9
    with torch.no_grad():
        assert torch.allclose(inference_model(cfg, model)(batch).float(), scores, atol=1e-4)
    assert all(p.requires_grad for p in model.parameters())  # gradients were turned off only while computing
