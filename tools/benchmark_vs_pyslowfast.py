#!/usr/bin/env python3
"""This project and PySlowFast side by side on this machine: same inputs, same process settings, ratios.

    python tools/benchmark_vs_pyslowfast.py --pyslowfast ~/src/SlowFast [--pytorchvideo ~/src/pytorchvideo]
        [--extra-path DIR ...] [--what model r101 clip ava] [--iters 5] [--json]

--pyslowfast: a checkout of facebookresearch/SlowFast (the folder holding its `slowfast/` and `configs/`);
its HEAD also needs pytorchvideo's main (--pytorchvideo: the folder holding `pytorchvideo/`) and psutil
(installed, or in a folder given with --extra-path).
`detectron2.layers.ROIAlign` is served by a stand-in over torchvision.ops.roi_align written to a
temporary folder. Each side runs in its own processes (both packages are called `slowfast`):
- model: SlowFast 8x8 R50 (its configs/Kinetics/SLOWFAST_8x8_R50.yaml, ours configs/Kinetics/K400/
  SLOWFAST_8x8_R50.yaml), batch 2 of 224^2 clips, all cores: inference (ours: optimize_for_inference) and
  a training step (ours: build_model as returned);
- r101: SlowFast 8x8 R101+NL inference, batch 2, 224^2, all cores (its configs/Kinetics/c2/
  SLOWFAST_NLN_16x8_R101_50_50.yaml at 32 frames with our non-local pooling, ours configs/Kinetics/K400/
  SLOWFAST_8x8_R101_NL.yaml: the same network, non-local blocks after res4 blocks 7, 14, 21);
- clip: a Kinetics training clip from the same generated 10 s 340x256 H.264 video, one process, 1 thread;
- ava: AVA clip loading of 32 JPEG frames (640x360) for a training and a test view, 1 thread (its
  configs/AVA/c2/SLOWFAST_32x2_R101_50_50.yaml, ours configs/AVA/SLOWFAST_8x8.yaml with its jitter range
  [256, 320]: both 32 frames at stride 2, crop 224, test short side 256).
Rates are medians of --iters runs (clips: at least 15). Nothing is asserted.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import _path  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMER = os.path.join(ROOT, "tools", "_pyslowfast_timer.py")
ROI_ALIGN_STANDIN = '''import torch.nn as nn
from torchvision.ops import roi_align


class ROIAlign(nn.Module):
    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=True):
        super().__init__()
        self.args = (output_size, spatial_scale, sampling_ratio, aligned)

    def forward(self, x, rois):
        return roi_align(x, rois, *self.args)
'''
OURS = {"model": "configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml", "r101": "configs/Kinetics/K400/SLOWFAST_8x8_R101_NL.yaml", "clip": "configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml",
        "ava": "configs/AVA/SLOWFAST_8x8.yaml"}
THEIRS = {"model": "configs/Kinetics/SLOWFAST_8x8_R50.yaml", "r101": "configs/Kinetics/c2/SLOWFAST_NLN_16x8_R101_50_50.yaml", "clip": "configs/Kinetics/SLOWFAST_8x8_R50.yaml",
          "ava": "configs/AVA/c2/SLOWFAST_32x2_R101_50_50.yaml"}


def _last_json(proc: subprocess.CompletedProcess, what: str) -> dict:
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# PySlowFast's R101 NLN config at 8x8, with the non-local blocks' pooling of ours (2x2x2 max pooling).
R101_OPTS = ["DATA.NUM_FRAMES", "32", "NONLOCAL.POOL", str([[[2, 2, 2], [2, 2, 2]]] * 4)]


def run_reference(args, what: str, iters: int, media: list, env: dict, cfg_key: str | None = None,
                  opts: list | None = None) -> dict:
    cfg = os.path.join(args.pyslowfast, THEIRS[cfg_key or ("model" if what in ("infer", "train") else what)])
    cmd = [sys.executable, TIMER, what, cfg, str(iters), *media] + (["--opts", *opts] if opts else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return _last_json(proc, f"PySlowFast {what}")


def run_ours(what: str, iters: int, extra: list) -> dict:
    cmd = [sys.executable, os.path.join(ROOT, "tools", "benchmark.py"), "--cfg", OURS[what], "--what",
           "model" if what in ("model", "r101") else "clip", "--iters", str(iters), "--json", *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    return _last_json(proc, f"ours {what}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pyslowfast", required=True, help="PySlowFast checkout (holds slowfast/ and configs/)")
    parser.add_argument("--pytorchvideo", default=None, help="pytorchvideo checkout (holds pytorchvideo/)")
    parser.add_argument("--extra-path", nargs="*", default=[],
                        help="more folders for the PySlowFast processes' PYTHONPATH (e.g. where psutil is installed)")
    parser.add_argument("--what", nargs="+", choices=["model", "r101", "clip", "ava"],
                        default=["model", "r101", "clip", "ava"])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--media-dir", default=os.path.join(ROOT, "output", "benchmark_media"))
    parser.add_argument("--json", action="store_true", help="end with one JSON line of all numbers")
    args = parser.parse_args(argv)
    if not os.path.isdir(os.path.join(args.pyslowfast, "slowfast")):
        parser.error(f"--pyslowfast {args.pyslowfast}: no slowfast/ package in it")

    from slowfast.reports.benchmark_media import make_benchmark_frames, make_benchmark_video

    video = make_benchmark_video(os.path.join(args.media_dir, "kinetics_340x256_10s.mp4"))
    frames_dir = os.path.join(args.media_dir, "ava_frames")
    frames = make_benchmark_frames(frames_dir)
    clip_iters = max(15, args.iters)
    rows, res = [], {"video": video, "frames": frames_dir}

    def add(row):  # reported as soon as measured: a whole run takes minutes
        rows.append(row)
        print(f"measured: {row[0]}: PySlowFast {row[1]:.3g}, ours {row[2]:.3g} clips/s ({row[2] / row[1]:.2f}x)",
              file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as stub:
        os.makedirs(os.path.join(stub, "detectron2", "layers"))
        open(os.path.join(stub, "detectron2", "__init__.py"), "w").close()
        with open(os.path.join(stub, "detectron2", "layers", "__init__.py"), "w") as f:
            f.write(ROI_ALIGN_STANDIN)
        paths = [args.pyslowfast] + ([args.pytorchvideo] if args.pytorchvideo else []) + [stub] + args.extra_path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
        if "model" in args.what:
            ours = run_ours("model", args.iters, ["--batch", "2", "DATA.TEST_CROP_SIZE", "224",
                                                  "DATA.TRAIN_CROP_SIZE", "224"])["model"]
            for key, label, mine in (("infer", "SlowFast 8x8 R50 inference, 224^2, batch 2",
                                      ours["inference"]["optimized"]["clips_per_s"]),
                                     ("train", "SlowFast 8x8 R50 training step, 224^2, batch 2",
                                      ours["train_step"]["default"]["clips_per_s"])):
                theirs = run_reference(args, key, args.iters, [], env)["clips_per_s"]
                add((label, theirs, mine))
        if "r101" in args.what:
            ours = run_ours("r101", args.iters, ["--model-parts", "inference", "--batch", "2",
                                                 "DATA.TEST_CROP_SIZE", "224"])["model"]
            theirs = run_reference(args, "infer", args.iters, [], env, "r101", R101_OPTS)["clips_per_s"]
            add(("SlowFast 8x8 R101+NL inference, 224^2, batch 2", theirs,
                         ours["inference"]["optimized"]["clips_per_s"]))
        if "clip" in args.what:
            theirs = run_reference(args, "clip", clip_iters, [video], env)["clips_per_s"]
            mine = run_ours("clip", clip_iters, ["--video", video])["clip"]["kinetics"]["clips_per_s"]
            add(("Kinetics training clip, 340x256 H.264, 1 thread", theirs, mine))
        if "ava" in args.what:
            theirs = run_reference(args, "ava", clip_iters, frames, env)
            mine = run_ours("ava", clip_iters, ["--frames", frames_dir, "DATA.TRAIN_JITTER_SCALES", "[256, 320]"])
            mine = mine["clip"]["ava"]
            for split in ("train", "test"):
                add((f"AVA clip loading, 32 JPEG frames 640x360, {split} view, 1 thread",
                             theirs[f"{split}_clips_per_s"], mine[split]["clips_per_s"]))
    print("| what | PySlowFast clips/s | ours clips/s | ratio |\n| --- | --- | --- | --- |")
    for label, theirs, mine in rows:
        print(f"| {label} | {theirs:.3g} | {mine:.3g} | {mine / theirs:.2f}x |")
    res["rows"] = [{"what": label, "pyslowfast": theirs, "ours": mine, "ratio": mine / theirs}
                   for label, theirs, mine in rows]
    if args.json:
        print(json.dumps(res))


if __name__ == "__main__":
    main()
