"""Command lines of ``tools/demo.py`` and ``tools/extract_features.py``.

Both take ``--cfg`` plus ``KEY VALUE`` overrides like ``tools/run_net.py``. A mistake in the input
(unreadable video, missing checkpoint, bad class-name or boxes file, bad config) ends the run with one
line on stderr, ``error: ...`` naming the file, and exit status 2; a traceback means a bug.
"""
from __future__ import annotations

import logging
import sys
import warnings

from slowfast.config import ConfigError, load_config
from slowfast.datasets.class_names import LabelFileError
from slowfast.datasets.decoder import VideoDecodeError
from slowfast.apps.cli import config_parser, parse_with_overrides
from slowfast.formats.problems import AvaFormatError
from slowfast.utils.logging import setup_logging

# Errors a user's input can cause: printed as one line.
USER_ERRORS = (ConfigError, VideoDecodeError, LabelFileError, AvaFormatError, FileNotFoundError)


def resolved_num_classes(cfg):
    """`cfg` with MODEL.NUM_CLASSES 0 taken from the dataset as tools/run_net.py does; a ConfigError (one
    line) naming the file it needs when that is impossible."""
    from slowfast.data_prep.check import resolve_num_classes

    try:
        return resolve_num_classes(cfg)
    except ValueError as e:
        raise ConfigError(str(e)) from e


def _run(args, job) -> int:
    from slowfast.apps.demo import DemoError
    from slowfast.models.person_detector import DetectorError

    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        cfg = resolved_num_classes(load_config(args.cfg_file, args.opts))
        if not logging.getLogger().handlers:  # keep a caller's logging set-up (tests, notebooks)
            setup_logging()
        return job(cfg)
    except USER_ERRORS + (DemoError, DetectorError) as e:
        message = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


def demo_main(argv=None) -> int:
    from slowfast.apps.demo import run_demo

    parser = config_parser("Run a trained model on a video and write it back labelled (slowfast/apps/demo.py).")
    parser.add_argument("--input", required=True, help="input video (any format PyAV reads)")
    parser.add_argument("--output", required=True, help="labelled output video (.mp4, H.264)")
    parser.add_argument("--json", default=None, help="write per-clip / per-box predictions here")
    parser.add_argument("--boxes", default=None, help="detection: AVA-format person boxes CSV for this video")
    parser.add_argument("--csv", default=None, help="detection: write AVA-format detections here")
    args = parse_with_overrides(parser, argv)

    def job(cfg) -> int:
        summary = run_demo(cfg, args.input, args.output, args.json, args.csv, args.boxes)
        print(f"labelled video: {summary['output']}")
        return 0

    return _run(args, job)


def extract_features_main(argv=None) -> int:
    from slowfast.apps.features import extract_video_features

    parser = config_parser("Write per-clip features of videos (slowfast/apps/features.py).")
    parser.add_argument("--input", required=True, help="a video, or a .csv/.txt list of videos (first field)")
    parser.add_argument("--output", required=True, help="output folder for <name>.npy and index.csv")
    parser.add_argument("--num-clips", type=int, default=0,
                        help="N uniformly spaced clips per video (default: one every DEMO.STRIDE_SEC seconds)")
    args = parse_with_overrides(parser, argv)
    if args.num_clips < 0:
        parser.error("--num-clips must be >= 0")

    def job(cfg) -> int:
        result = extract_video_features(cfg, args.input, args.output, args.num_clips)
        print(f"features: {len(result['written'])} written, {len(result['skipped'])} skipped, "
              f"{len(result['failed'])} failed, D = {result['dim']}; index: {result['index']}")
        return 1 if result["failed"] else 0

    return _run(args, job)
