"""AVA-style videos -> the JPEG frame folders and frame lists :mod:`slowfast.datasets.ava` reads.

For each video ``VIDEOS/<video_id>.<ext>``, the seconds ``[start_sec, end_sec)`` of the video become
``N = (end_sec - start_sec) * fps`` JPEG files ``OUT/frames/<video_id>/<video_id>_%06d.jpg`` (numbered
from 1; :func:`slowfast.formats.ava_frames.frame_file_name`), so file ``n`` shows time
``start_sec + (n - 1) / fps`` whatever the source frame rate: each output time takes the decoded frame
nearest to it (ties to the earlier one; the loaders' resampling rule, see
:func:`slowfast.datasets.decoder.nearest_frames`).  AVA itself is minutes 15 to 30 of each movie at
30 fps: ``start_sec 900``, ``end_sec 1801`` (the key frames run to second 1798 and a clip reaches about
one second past its key frame), which are the defaults.  Then ``AVA.START_SEC`` and ``AVA.FPS`` of the
config must be the values used here (the summary prints them).

Checks.  A video that ends (or starts) inside the window gives fewer than ``N`` frames: it is reported
in ``OUT/bad_videos.txt`` and left out of the frame lists (``allow_short`` keeps it, still reported: the
loader then repeats its last frame for clips past the end).  Frames are written to a temporary folder
renamed when complete, so an existing frame folder is a finished one: a rerun skips it (after checking
its frame count) and an interrupted run resumes.

Splits.  ``OUT/frame_lists/<split>.csv`` for every split named by ``split_file`` (lines
``video_id split``, comma or space separated; a video may be in several splits) or by the annotation
CSVs (``ava_train_v2.2.csv`` -> train: its videos are those of its rows).  Videos in no split are
reported and not extracted.
"""
from __future__ import annotations

import io
import json
import logging
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import cv2

from slowfast.data_prep.kinetics import SPLIT_ALIASES, split_of_file
from slowfast.data_prep.video_io import is_video_file, list_files, run_parallel, write_report
from slowfast.datasets.decoder import _decode_from
from slowfast.datasets.video_container import VideoDecodeError, get_video_info, open_video
from slowfast.formats import ava_boxes, ava_frames
from slowfast.utils.io import read_text, refuse_overwriting_inputs, write_json_atomic

logger = logging.getLogger(__name__)

DEFAULT_START_SEC, DEFAULT_END_SEC = 900, 1801


def expected_frames(start_sec: float, end_sec: float, fps: float) -> int:
    """Frames of the window ``[start_sec, end_sec)`` at ``fps``."""
    return int(round((end_sec - start_sec) * fps))


# --------------------------------------------------------------------------- frames of one video


def _write_window(container, folder: str, video_id: str, start_sec: float, num: int, fps: float,
                  quality: int) -> Tuple[int, Optional[str]]:
    """Write the ``num`` output frames of the window starting at ``start_sec`` into ``folder``;
    returns ``(frames written, problem or None)``."""
    stream = container.streams.video[0]
    frame_dur = 1.0 / get_video_info(container).fps
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    k, prev, first_sec = 0, None, None

    def emit(image) -> None:
        nonlocal k
        path = os.path.join(folder, os.path.basename(ava_frames.frame_file_name(video_id, k)))
        if not cv2.imwrite(path, image, params):
            raise OSError(f"cannot write {path}")
        k += 1

    for sec, frame in _decode_from(container, stream, start_sec):
        if first_sec is None:
            first_sec = sec
        if prev is not None:
            middle = (prev[0] + sec) / 2.0
            while k < num and start_sec + k / fps <= middle + 1e-9:
                emit(prev[1])
        if k >= num:
            break
        prev = (sec, frame.to_ndarray(format="bgr24"))
    if prev is not None:  # the last frame stays on screen for one frame duration
        while k < num and start_sec + k / fps <= prev[0] + frame_dur / 2.0 + 1e-9:
            emit(prev[1])
    if first_sec is None:
        return 0, f"no frame decodes after {start_sec} s"
    if first_sec > start_sec + frame_dur + 1e-6:
        return k, f"video starts at {first_sec:.3f} s, after the window start {start_sec} s"
    if k < num:
        end = prev[0] + frame_dur
        return k, (f"video ends at {end:.3f} s: the window [{start_sec}, {start_sec + num / fps:g}) s needs {num} "
                   f"frames at {fps:g} fps, got {k} (short or truncated source)")
    return k, None


def extract_frames(job: tuple) -> Tuple[str, int, Optional[str]]:
    """Worker: ``(video path, frame_dir, video_id, start_sec, end_sec, fps, quality, allow_short)`` ->
    ``(what was done, frames, problem or None)``; see the module docstring."""
    path, frame_dir, video_id, start_sec, end_sec, fps, quality, allow_short = job
    num = expected_frames(start_sec, end_sec, fps)
    final = os.path.join(frame_dir, video_id)
    if os.path.isdir(final):
        have = len([f for f in os.listdir(final) if f.endswith(".jpg")])
        if have != num and not allow_short:
            return "resumed", have, f"{final} has {have} frames, the window needs {num} (remove it to extract again)"
        return "resumed", have, None
    os.makedirs(frame_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{video_id}.tmp-", dir=frame_dir)
    try:
        try:
            with open_video(path) as container:
                count, problem = _write_window(container, tmp, video_id, start_sec, num, fps, quality)
        except VideoDecodeError as err:
            return "failed", 0, err.reason
        except Exception as err:  # PyAV errors surface with several types while decoding
            return "failed", 0, f"decoding failed ({err})"
        if problem and not (allow_short and count > 0):
            return "failed", count, problem
        os.chmod(tmp, 0o755)
        os.rename(tmp, final)
        return "extracted", count, problem
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- splits


def read_split_file(path: str) -> Dict[str, List[str]]:
    """``{split: [video ids]}`` from ``video_id split`` lines (comma or whitespace separated; ``#``
    comments and blank lines skipped)."""
    out: Dict[str, List[str]] = defaultdict(list)
    with io.StringIO(read_text(path)) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#")[0].strip()
            if not line:
                continue
            parts = [p for p in line.replace(",", " ").split() if p]
            if len(parts) != 2:
                raise ValueError(f"{path} line {number}: expected 'video_id split', got {line!r}")
            split = SPLIT_ALIASES.get(parts[1].lower(), parts[1])
            if parts[0] not in out[split]:
                out[split].append(parts[0])
    return dict(out)


def splits_from_annotations(paths: Sequence[str]) -> Dict[str, List[str]]:
    """``{split: [video ids in first-row order]}`` of AVA box CSVs, the split read from each file name."""
    out: Dict[str, List[str]] = defaultdict(list)
    for path in paths:
        split = split_of_file(path)
        if split is None:
            raise ValueError(f"{path}: cannot tell the split from the file name (no train/val/test in it)")
        seen = set(out[split])
        for row in ava_boxes.read_box_csv(path):
            if row.video not in seen:
                seen.add(row.video)
                out[split].append(row.video)
    return dict(out)


def find_videos(folder: str) -> Dict[str, str]:
    """``{video id (file stem): path}`` of the video files under ``folder``."""
    out: Dict[str, str] = {}
    for path in list_files(folder, is_video_file):
        vid = os.path.splitext(os.path.basename(path))[0]
        if vid in out:
            raise ValueError(f"two videos with id {vid!r}: {out[vid]} and {path}")
        out[vid] = path
    return out


# --------------------------------------------------------------------------- the whole dataset


def prepare_ava(videos: str, out: str, start_sec: float = DEFAULT_START_SEC, end_sec: float = DEFAULT_END_SEC,
                fps: float = 30, quality: int = 90, split_file: Optional[str] = None,
                annotations: Sequence[str] = (), workers: int = 1, allow_short: bool = False) -> dict:
    """Write the frames, frame lists and report of the module docstring; returns the summary."""
    if not os.path.isdir(videos):
        raise FileNotFoundError(f"--videos {videos}: no such folder")
    if end_sec <= start_sec or fps <= 0:
        raise ValueError(f"need end_sec > start_sec and fps > 0, got {start_sec}, {end_sec}, {fps}")
    if split_file:
        splits = read_split_file(split_file)
    elif annotations:
        splits = splits_from_annotations(annotations)
    else:
        raise ValueError("give --split-file or --annotations to say which videos go in which split")
    found = find_videos(videos)
    frame_dir = os.path.join(out, "frames")
    bad: List[Tuple[str, str]] = []
    wanted = sorted({v for vids in splits.values() for v in vids})
    for vid in sorted(set(found) - set(wanted)):
        bad.append((found[vid], "in no split (not named by the split file / annotations); not extracted"))
    for vid in wanted:
        if vid not in found:
            bad.append((os.path.join(videos, vid + ".*"), "missing: named by the splits but no such video file"))
    jobs = [(found[v], frame_dir, v, start_sec, end_sec, fps, quality, allow_short) for v in wanted if v in found]
    frames: Dict[str, int] = {}
    done: Dict[str, int] = defaultdict(int)
    for i, (what, count, problem) in run_parallel(extract_frames, jobs, workers, "extracting frames"):
        done[what] += 1
        vid = jobs[i][2]
        if problem:
            bad.append((jobs[i][0], problem))
        if what != "failed" and (problem is None or allow_short):
            frames[vid] = count
    lists = {}
    os.makedirs(os.path.join(out, "frame_lists"), exist_ok=True)
    for split, vids in splits.items():
        listed = [(v, frames[v]) for v in vids if v in frames]
        lists[split] = len(listed)
        ava_frames.write_frame_list(os.path.join(out, "frame_lists", f"{split}.csv"), listed)
    write_report(os.path.join(out, "bad_videos.txt"), "videos with problems: path<TAB>reason", bad)
    summary = {
        "videos": lists, "bad_videos": len(bad), "extracted": done["extracted"], "resumed": done["resumed"],
        "frames_per_video": expected_frames(start_sec, end_sec, fps), "out": os.path.abspath(out),
        "config": {"AVA.START_SEC": start_sec, "AVA.FPS": fps},
    }
    write_json_atomic(os.path.join(out, "prepare_ava.json"), summary)
    logger.info("AVA preparation: %s", summary)
    return summary


def main(argv=None) -> int:
    """``tools/prepare_ava.py``: see the module docstring; prints the summary as JSON last."""
    import argparse

    from slowfast.utils.logging import setup_logging

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", required=True, help="folder of <video_id>.<ext> files")
    p.add_argument("--out", required=True, help="dataset root: frames/, frame_lists/, bad_videos.txt are written here")
    p.add_argument("--start-sec", type=int, default=DEFAULT_START_SEC, help="window start (AVA: 900)")
    p.add_argument("--end-sec", type=int, default=DEFAULT_END_SEC, help="window end, exclusive (AVA: 1801)")
    p.add_argument("--fps", type=int, default=30, help="frame rate of the extracted frames (AVA: 30)")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality 1..100")
    p.add_argument("--split-file", help="'video_id split' lines")
    p.add_argument("--annotations", nargs="+", default=[], help="AVA box CSVs whose videos make the splits")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes")
    p.add_argument("--allow-short", action="store_true", help="keep (and list) videos shorter than the window")
    args = p.parse_args(argv)
    setup_logging()
    try:
        refuse_overwriting_inputs({"--out": [os.path.join(args.out, "bad_videos.txt"),
                                             os.path.join(args.out, "prepare_ava.json")]},
                                  {"--videos": args.videos, "--split-file": args.split_file,
                                   "--annotations": args.annotations})
        refuse_overwriting_inputs({}, {"--videos": args.videos, "--split-file": args.split_file,
                                       "--annotations": args.annotations},
                                  {"--out": [os.path.join(args.out, "frames"), os.path.join(args.out, "frame_lists")]})
        summary = prepare_ava(args.videos, args.out, args.start_sec, args.end_sec, args.fps, args.quality,
                              args.split_file, args.annotations, args.workers, args.allow_short)
    except (OSError, ValueError) as err:
        print(f"prepare_ava: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True))
    return 0
