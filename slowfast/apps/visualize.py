"""``tools/visualize.py``: what a trained model looks at (Grad-CAM) and which pathway each class lives in.

    python tools/visualize.py gradcam --cfg CFG --input VIDEO|CSV --out DIR [--class NAME] [--boxes CSV] [KEY VALUE ...]
    python tools/visualize.py ablate --cfg CFG [--out DIR] [--json FILE] [KEY VALUE ...]

``gradcam``, classification configs: the test-time view of one clip per video (the centre window, as
:class:`slowfast.apps.video_clips.VideoClips` cuts it for the demo), a Grad-CAM map per pathway at the
layers ``TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST`` (default: the last block of each pathway) for the
predicted class, ``--class NAME``, or with ``GRAD_CAM.USE_TRUE_LABEL`` the label of the ``--input`` CSV row
(Kinetics format ``path label``); writes ``DIR/<video>_gradcam.png`` (a strip: input frames, then one row
per pathway), ``DIR/<video>_gradcam.mp4`` (the clip with the maps side by side) and ``DIR/gradcam.json``.

``gradcam``, detection configs (AVA): ``--input`` is one video and ``--boxes`` an AVA-format CSV with its
person boxes (rows of the video whose id is the file's stem); each box of each key second gets a map per
pathway for each of its ``DEMO.TOP_K`` best classes (or ``--class NAME``), back-propagated through the RoI
head from that box's score: ``DIR/<video>_<second>_box<k>.png`` (box drawn), ``DIR/<video>_<second>.mp4``.

The model is the plain one (not ``TEST.OPTIMIZE_MODEL``'s, which cannot be differentiated), in float32,
or under bfloat16 / float16 autocast with ``TRAIN.MIXED_PRECISION`` on CUDA; ``NUM_GPUS 0`` runs on CPU.
``ablate``: see :mod:`slowfast.apps.pathway_ablation`.
"""
from __future__ import annotations

import argparse
import logging
import os
from typing import List, Optional, Tuple

import cv2
import numpy as np
import torch

from slowfast.apps.cli import config_parser, parse_with_overrides, run_with_config
from slowfast.apps.demo import DemoError, boxes_from_csv
from slowfast.apps.pathway_ablation import ablate_main
from slowfast.apps.video_clips import VideoClips, detection_frames, detection_inputs
from slowfast.datasets.class_names import class_names_for
from slowfast.engine.acceleration import amp_dtype
from slowfast.engine.common import device_for, load_weights_for_testing
from slowfast.engine.tasks import build_task
from slowfast.formats.kinetics import read_video_list_rows, resolve_video_path
from slowfast.models import build_model
from slowfast.utils.io import refuse_overwriting_inputs, write_json_atomic
from slowfast.utils.progress import Progress
from slowfast.visualization import gradcam_draw as draw
from slowfast.visualization.gradcam import GradCam, LayerNameError, mass_inside

logger = logging.getLogger(__name__)


class VisualizeError(DemoError):
    """Bad input to tools/visualize.py (one line naming the culprit)."""


def load_plain_model(cfg):
    """-> ``(model in eval mode, checkpoint path, device)``: the weights the test loop would use, not optimised."""
    device = device_for(cfg)
    model = build_model(cfg, device=device)
    path = load_weights_for_testing(cfg, model)
    return model.eval(), path, device


def build_gradcam(cfg, model, device) -> GradCam:
    try:
        return GradCam(model, cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST, amp_dtype(cfg, device),
                       cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.WEIGHTING)
    except LayerNameError as e:
        raise VisualizeError(str(e)) from None


def class_index(names: List[str], name: Optional[str]) -> Optional[int]:
    """Index of ``--class NAME`` in the class names (exact, then case-insensitive); None without one."""
    if name is None:
        return None
    if name in names:
        return names.index(name)
    lower = [n.lower() for n in names]
    if name.lower() in lower:
        return lower.index(name.lower())
    shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
    raise VisualizeError(f"--class {name!r} is not a class name of this model ({len(names)} classes: {shown}; "
                         "see DEMO.LABEL_FILE_PATH)")


def shown_frames(cfg, inputs: List[torch.Tensor]) -> np.ndarray:
    """The frames the model sees (the fastest pathway's input, un-normalised): ``T x H x W x 3`` uint8 RGB."""
    clip = max(inputs, key=lambda x: x.shape[1]).detach().float().cpu()
    if cfg.DATA.REVERSE_INPUT_CHANNEL:
        clip = clip.flip(0)
    mean = torch.tensor(cfg.DATA.MEAN).view(3, 1, 1, 1)
    std = torch.tensor(cfg.DATA.STD).view(3, 1, 1, 1)
    pixels = ((clip * std + mean) * 255).round().clamp(0, 255).byte()
    return pixels.permute(1, 2, 3, 0).numpy()


def pathway_titles(gc: GradCam) -> List[str]:
    """The layers in PySlowFast's slash spelling (``s5/pathway0_res0``)."""
    return [name.replace(".", "/") for name in gc.layers]


# --------------------------------------------------------------------------- classification


def video_list(cfg, input_path: str) -> List[Tuple[str, Optional[int]]]:
    """``[(video path, label or None)]``: the rows of a Kinetics-format CSV / TXT, or the one video."""
    if os.path.splitext(input_path)[1].lower() not in (".csv", ".txt"):
        return [(input_path, None)]
    rows = read_video_list_rows(input_path, cfg.DATA.PATH_LABEL_SEPARATOR, VisualizeError)
    if not rows:
        raise VisualizeError(f"{input_path}: no videos listed")
    return [(resolve_video_path(input_path, r.path, cfg.DATA.PATH_PREFIX), r.label) for r in rows]


def classify_one(cfg, gc: GradCam, device, path: str, label: Optional[int], forced: Optional[int],
                 names: List[str], out_dir: str) -> dict:
    """Grad-CAM of one video's centre clip: writes its PNG strip and overlay video, returns its JSON entry."""
    with VideoClips(path, cfg, num_clips=1) as clips:
        inputs = clips.inputs(0)
    batch = [x.unsqueeze(0).to(device) for x in inputs]
    with torch.no_grad():
        scores = gc.model(batch).float().cpu()[0]
    predicted = int(scores.argmax())
    use_label = cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.USE_TRUE_LABEL and label is not None
    target = forced if forced is not None else (label if use_label else predicted)
    maps, _ = gc.maps(batch, [target])
    frames = shown_frames(cfg, inputs)
    cmap = cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP
    cams = [m[0].cpu().numpy() for m in maps]
    titles = pathway_titles(gc)
    stem = os.path.splitext(os.path.basename(path))[0]
    png = draw.write_png(os.path.join(out_dir, f"{stem}_gradcam.png"), draw.strip(
        [(f"input ({names[target]})", frames)] + [(t, draw.overlay(frames, c, cmap)) for t, c in zip(titles, cams)]))
    video = draw.side_by_side([("input", frames)] + [(t, draw.overlay(frames, c, cmap)) for t, c in zip(titles, cams)])
    fps = cfg.DATA.TARGET_FPS / cfg.DATA.SAMPLING_RATE
    mp4 = draw.write_mp4(os.path.join(out_dir, f"{stem}_gradcam.mp4"), video, fps)
    return dict(video=os.path.abspath(path), label=None if label is None else names[label], predicted=names[predicted],
                target=names[target], score=round(float(scores[target]), 6), layers=titles, png=png, mp4=mp4)


# --------------------------------------------------------------------------- detection


def detect_one_second(cfg, gc: GradCam, device, clips: VideoClips, sec: int, boxes: np.ndarray,
                      forced: Optional[int], names: List[str], out_dir: str, stem: str) -> List[dict]:
    """Grad-CAM of every box of one key second (for each box's top classes or ``forced``)."""
    frames = detection_frames(clips.container, clips.info, sec, cfg, clips.turns)
    inputs, px = detection_inputs(cfg, frames, boxes)
    batch = [x.unsqueeze(0).to(device) for x in inputs]
    with torch.no_grad():
        scores = gc.model(batch, px.to(device)).float().cpu()
    rows = [(b, c) for b in range(len(boxes)) for c in
            ([forced] if forced is not None else torch.argsort(scores[b], descending=True)[:cfg.DEMO.TOP_K].tolist())]
    maps, _ = gc.maps(batch, [c for _, c in rows], px[[b for b, _ in rows]].to(device))
    height, width = inputs[0].shape[-2:]
    shown = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_AREA) for f in frames.numpy()])
    cmap, titles = cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP, pathway_titles(gc)
    entries, per_box = [], {}
    for r, (b, c) in enumerate(rows):
        box = px[b, 1:].tolist()
        inside = torch.zeros(height, width, dtype=torch.bool)
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        inside[max(0, y1):y2, max(0, x1):x2] = True
        cams = [m[r].cpu().numpy() for m in maps]
        per_box.setdefault(b, []).extend(
            (f"{names[c][:18]} {t.split('/')[-1]}", draw.draw_box(draw.overlay(shown, cam, cmap), box))
            for t, cam in zip(titles, cams))
        entries.append(dict(second=sec, box=[round(float(v), 6) for v in boxes[b]], box_index=b, target=names[c],
                            score=round(float(scores[b, c]), 6),
                            mass_in_box=[round(mass_inside(m[r].cpu(), inside.expand_as(m[r].cpu())), 4) for m in maps]))
    for b, panels in per_box.items():
        png = os.path.join(out_dir, f"{stem}_{sec}_box{b}.png")
        draw.write_png(png, draw.strip([("input", draw.draw_box(shown, px[b, 1:].tolist()))] + panels))
        for e in entries:
            if e["box_index"] == b:
                e["png"] = png
    first = [r for r, (b, _) in enumerate(rows) if r == 0 or rows[r - 1][0] != b]  # each box's first class
    videos = [("input", shown)]
    for k, t in enumerate(titles):
        cam = np.max(np.stack([maps[k][r].cpu().numpy() for r in first]), axis=0)
        videos.append((t, draw.overlay(shown, cam, cmap)))
    for _, v in videos:
        for b in range(len(boxes)):
            v[:] = draw.draw_box(v, px[b, 1:].tolist())
    mp4 = draw.write_mp4(os.path.join(out_dir, f"{stem}_{sec}.mp4"), draw.side_by_side(videos),
                         cfg.DATA.TARGET_FPS / cfg.DATA.SAMPLING_RATE)
    for e in entries:
        e["mp4"] = mp4
    return entries


def detection_gradcam(cfg, gc: GradCam, device, path: str, boxes_path: str, keys: dict, forced: Optional[int],
                      names: List[str], out_dir: str) -> List[dict]:
    stem = os.path.splitext(os.path.basename(path))[0]
    entries: List[dict] = []
    with VideoClips(path, cfg) as clips:
        seconds = [s for s in keys if s <= clips.info.duration]
        if not seconds:
            raise VisualizeError(f"{boxes_path}: every key second of video {stem!r} lies after the end of {path}")
        progress = Progress("gradcam", len(seconds), "key frames", logger)
        for sec in seconds:
            entries += detect_one_second(cfg, gc, device, clips, sec, keys[sec][0], forced, names, out_dir, stem)
            progress.step()
    return entries


# --------------------------------------------------------------------------- entry points


def run_gradcam(cfg, input_path: str, out_dir: str, class_name: Optional[str] = None,
                boxes_path: Optional[str] = None) -> dict:
    """Write the Grad-CAM pictures of ``input_path`` into ``out_dir``; returns the JSON summary (``gradcam.json``)."""
    refuse_overwriting_inputs({}, {"--input": input_path, "--boxes": boxes_path}, {"--out": out_dir})
    detection = build_task(cfg).is_detection
    if detection and not boxes_path:
        raise VisualizeError("a detection config needs the person boxes of the video: pass --boxes BOXES.csv")
    if not detection and boxes_path:
        raise VisualizeError("--boxes needs a detection config (DETECTION.ENABLE True)")
    for flag, p in (("--input", input_path), ("--boxes", boxes_path)):
        if p and not os.path.isfile(p):
            raise VisualizeError(f"{flag} file not found: {p}")
    names, label_source = class_names_for(cfg, detection)
    forced = class_index(names, class_name)
    if detection:  # the video's rows of the boxes CSV (says which videos it lists when none is this one)
        stem = os.path.splitext(os.path.basename(input_path))[0]
        keys = boxes_from_csv(boxes_path, stem, cfg.AVA.DETECTION_SCORE_THRESH)
    model, checkpoint, device = load_plain_model(cfg)
    gc = build_gradcam(cfg, model, device)
    os.makedirs(out_dir, exist_ok=True)
    summary = dict(checkpoint=checkpoint, label_file=label_source, layers=pathway_titles(gc),
                   colormap=cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP)
    try:
        _explain(cfg, gc, device, summary, detection, input_path, boxes_path, keys if detection else {}, forced, names,
                 out_dir)
    except LayerNameError as e:  # a layer whose output is not one pathway's feature map
        raise VisualizeError(str(e)) from None
    write_json_atomic(os.path.join(out_dir, "gradcam.json"), summary)
    return summary


def _explain(cfg, gc, device, summary, detection, input_path, boxes_path, keys, forced, names, out_dir) -> None:
    if detection:
        summary["boxes"] = detection_gradcam(cfg, gc, device, input_path, boxes_path, keys, forced, names,
                                             out_dir)
    else:
        videos = video_list(cfg, input_path)
        progress = Progress("gradcam", len(videos), "videos", logger)
        summary["videos"] = []
        for path, label in videos:
            summary["videos"].append(classify_one(cfg, gc, device, path, label, forced, names, out_dir))
            progress.step()


def gradcam_main(argv=None) -> int:
    parser = config_parser("Grad-CAM maps per pathway of a trained model (slowfast/apps/visualize.py).")
    parser.add_argument("--input", required=True, help="a video, or a Kinetics-format CSV 'path label' (classification)")
    parser.add_argument("--out", required=True, help="output folder (PNG strips, overlay videos, gradcam.json)")
    parser.add_argument("--class", dest="class_name", default=None, help="explain this class (a class name)")
    parser.add_argument("--boxes", default=None, help="detection: AVA-format person boxes CSV of the video")
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        summary = run_gradcam(cfg, args.input, args.out, args.class_name, args.boxes)
        print(f"Grad-CAM of {len(summary.get('videos', summary.get('boxes', [])))} "
              f"{'boxes' if 'boxes' in summary else 'videos'}: {os.path.abspath(args.out)}")
        return 0

    return run_with_config(args, job)


def main(argv=None) -> int:
    """``tools/visualize.py gradcam|ablate ...``"""
    commands = {"gradcam": gradcam_main, "ablate": ablate_main}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(commands))
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    return commands[args.command](args.rest)
