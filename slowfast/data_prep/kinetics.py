"""Kinetics-style datasets -> the files :mod:`slowfast.datasets.kinetics` reads.

Input, either:

* a folder tree ``SRC/SPLIT/CLASS/video.*`` (Kinetics' own layout; ``SPLIT`` is ``train``, ``val`` or
  ``test``; ``validate`` / ``validation`` count as ``val``; other folders are ignored; links to folders
  outside ``SRC`` are followed, links back into ``SRC`` are not, so a link loop lists nothing twice), or
* the official annotation CSVs (``label,youtube_id,time_start,time_end,split``, header line first;
  the test CSVs lack ``label``) with a folder of downloaded clips named
  ``<youtube_id>_<time_start:06d>_<time_end:06d>.mp4`` (the ActivityNet crawler's naming), found
  anywhere under the folder (flat, or in one folder per class), with any video extension.

Output in ``OUT``:

* ``{train,val,test}.csv``: ``path label`` lines (space-separated; paths relative to ``OUT``, which is
  how the loader reads them, or absolute with ``absolute_paths``); a split without videos gets no file,
  except that without test videos ``test.csv`` lists the val videos (the run's test step then tests
  val, as PySlowFast does on Kinetics, whose test labels are not public; the summary says so);
* ``classnames.json``: ``{class name: id}``, ids in sorted order of the official names (the official
  class lists are alphabetical; folder names are read with ``_`` as a space, which is how the crawler
  turns the names into folders).  Pass an existing ``classnames.json`` to keep its ids;
* ``bad_videos.txt``: ``path<TAB>reason`` for every listed video that is missing, empty, cannot be
  decoded (or re-encoded), has no label, is a file listed already (a second link to it), or whose path has
  whitespace (the CSV reader splits on it; the ``short_side`` copies' names never have any); these are
  left out of the CSVs and counted in the summary;
* with ``short_side``: ``videos/SPLIT/CLASS/<name>.mp4`` (whitespace in names replaced by ``_``), re-encoded copies with that short side
  (H.264, same frame rate, every frame kept; see :func:`slowfast.data_prep.video_io.resize_video`),
  made in parallel; finished copies are skipped, so an interrupted run resumes where it stopped;
* ``prepare_kinetics.json``: the summary.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from slowfast.data_prep.video_io import (is_video_file, list_files, probe_video, resize_video, run_parallel,
                                         write_report)
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.utils.io import read_text, refuse_overwriting_inputs, write_json_atomic, write_text_atomic

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "validate": "val", "validation": "val",
                 "test": "test", "testing": "test"}


@dataclass
class Clip:
    """One listed video: split, class name (``None`` when unlabelled), source path, output stem, and
    where it was listed (for reports)."""

    split: str
    label: Optional[str]
    src: str
    stem: str
    where: str


def official_name(folder: str) -> str:
    """Class name of a class folder (the crawler writes ``"air drumming"`` as ``air_drumming``)."""
    return folder.replace("_", " ")


def clip_file_name(youtube_id: str, start: int, end: int, ext: str = ".mp4") -> str:
    """``<youtube_id>_<start:06d>_<end:06d><ext>``, the name the official download scripts give a clip."""
    return f"{youtube_id}_{start:06d}_{end:06d}{ext}"


# --------------------------------------------------------------------------- reading the input


def scan_tree(src: str, repeats: Optional[List[Tuple[str, str]]] = None) -> List[Clip]:
    """Every video file (and dangling link) of ``src/SPLIT/CLASS/``, sorted by split, class, name.

    Links to folders outside ``src`` are followed (a link farm), links back into ``src`` are not (what
    they point to is listed under its own class; a link loop would list every video again under other
    classes), and one real file is listed once: its later paths go to ``repeats`` as ``(path, reason)``.
    """
    clips: List[Clip] = []
    real_src, seen = os.path.realpath(src), {}
    for split_dir in sorted(os.listdir(src)):
        split = SPLIT_ALIASES.get(split_dir.lower())
        if split is None or not os.path.isdir(os.path.join(src, split_dir)):
            continue
        for class_dir in sorted(os.listdir(os.path.join(src, split_dir))):
            folder = os.path.join(src, split_dir, class_dir)
            if not os.path.isdir(folder):
                continue
            for path in list_files(folder, is_video_file, skip_links_into=real_src, seen=seen, repeats=repeats):
                stem = os.path.splitext(os.path.relpath(path, folder))[0]
                clips.append(Clip(split, official_name(class_dir), path, stem, path))
    if not clips:
        raise FileNotFoundError(f"{src}: no videos in SPLIT/CLASS/ folders (SPLIT one of {', '.join(SPLITS)})")
    return clips


def split_of_file(path: str) -> Optional[str]:
    name = os.path.basename(path).lower()
    for word, split in SPLIT_ALIASES.items():
        if word in name:
            return split
    return None


def read_annotations(csv_path: str, clip_dir: str, index: Optional[Dict[str, str]] = None) -> Tuple[List[Clip], List[Tuple[str, str]]]:
    """Clips of an official annotation CSV and the ``(where, reason)`` of rows that do not parse.

    ``index`` maps clip stems to files (see :func:`index_clips`); a clip not in it is expected at
    ``clip_dir/<name>.mp4`` (and reported missing later).  The split is the ``split`` column, else the
    file name (``kinetics_400_val.csv`` -> val).
    """
    index = index if index is not None else index_clips(clip_dir)
    clips, bad = [], []
    with io.StringIO(read_text(csv_path), newline="") as f:
        reader = csv.DictReader(f)
        missing = {"youtube_id", "time_start", "time_end"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{csv_path} line 1: header {reader.fieldnames} lacks {sorted(missing)} "
                             "(expected label,youtube_id,time_start,time_end,split)")
        for row in reader:
            where = f"{csv_path} line {reader.line_num}"
            try:
                start, end = int(float(row["time_start"])), int(float(row["time_end"]))
            except (TypeError, ValueError):
                bad.append((where, f"time_start/time_end not numbers: {row.get('time_start')!r}, {row.get('time_end')!r}"))
                continue
            split = SPLIT_ALIASES.get((row.get("split") or "").strip().lower()) or split_of_file(csv_path)
            if split is None:
                bad.append((where, f"unknown split {row.get('split')!r}"))
                continue
            stem = clip_file_name(row["youtube_id"].strip(), start, end, ext="")
            label = (row.get("label") or "").strip() or None
            clips.append(Clip(split, label, index.get(stem, os.path.join(clip_dir, stem + ".mp4")), stem, where))
    return clips, bad


def index_clips(clip_dir: str) -> Dict[str, str]:
    """``{file stem: path}`` of every video under ``clip_dir`` (first in sorted order on repeats)."""
    out: Dict[str, str] = {}
    for path in list_files(clip_dir, is_video_file):
        out.setdefault(os.path.splitext(os.path.basename(path))[0], path)
    return out


def class_ids(clips: Sequence[Clip], classnames: Optional[str] = None) -> Dict[str, int]:
    """``{name: id}``: from the ``classnames`` JSON when given, else the sorted names of ``clips``."""
    if classnames:
        with open(classnames, encoding="utf-8") as f:
            return {str(k): int(v) for k, v in json.load(f).items()}
    return {name: i for i, name in enumerate(sorted({c.label for c in clips if c.label is not None}))}


# --------------------------------------------------------------------------- checking and re-encoding


def _process(job: tuple) -> Tuple[Optional[str], str]:
    """Worker: ``(src, dst, short_side, gop, crf, full_decode)`` -> ``(reason or None, what was done)``."""
    src, dst, short_side, gop, crf, full_decode = job
    if dst is None:
        return probe_video(src, full_decode), "probed"
    if os.path.isfile(dst):
        return None, "resumed"
    reason = probe_video(src, full_decode=False)
    if reason:
        return reason, "probed"
    try:
        resize_video(src, dst, short_side, gop=gop, crf=crf)
    except VideoDecodeError as err:
        return err.reason, "failed"
    return None, "resized"


def prepare_kinetics(out: str, src: Optional[str] = None, annotations: Sequence[str] = (), clip_dir: Optional[str] = None,
                     short_side: Optional[int] = None, workers: int = 1, absolute_paths: bool = False,
                     gop: Optional[int] = None, crf: int = 18, classnames: Optional[str] = None,
                     full_decode: bool = False) -> dict:
    """Write the files of the module docstring into ``out``; returns the summary.

    Args:
        src: the ``SPLIT/CLASS/`` tree (or, with ``annotations``, the folder of downloaded clips when
            ``clip_dir`` is not given).
        annotations: official annotation CSVs.
        short_side: re-encode to this short side (``None``: list the videos where they are).
        workers: parallel processes.
        gop, crf: key-frame interval (frames) and quality of the re-encoded copies.
        classnames: an existing ``classnames.json`` whose ids to keep.
        full_decode: decode every frame when checking (default: open and decode the first frame).
    """
    os.makedirs(out, exist_ok=True)
    bad: List[Tuple[str, str]] = []
    if annotations:
        clip_dir = clip_dir or src
        if not clip_dir:
            raise ValueError("prepare_kinetics: annotations need the folder of downloaded clips (src or clip_dir)")
        index, clips = index_clips(clip_dir), []
        for path in annotations:
            more, unparsed = read_annotations(path, clip_dir, index)
            clips += more
            bad += unparsed
    elif src:
        clips = scan_tree(src, bad)
    else:
        raise ValueError("prepare_kinetics: give a SPLIT/CLASS/ tree (src) or annotation CSVs")
    ids = class_ids(clips, classnames)

    jobs, listed, taken = [], [], {}
    for clip in clips:
        dst = copy_path(out, clip) if short_side and clip.label is not None else None
        if clip.label is None:
            bad.append((clip.src, f"no label ({clip.where}; the official test lists have none)"))
        elif clip.label not in ids:
            bad.append((clip.src, f"class {clip.label!r} is not in {classnames}"))
        elif dst is not None and taken.setdefault(dst, clip.src) != clip.src:
            bad.append((clip.src, f"its re-encoded copy {dst} would be that of {taken[dst]}; rename one of them"))
        else:
            jobs.append((clip.src, dst, short_side, gop, crf, full_decode))
            listed.append(clip)
    done: Dict[str, int] = {"probed": 0, "resized": 0, "resumed": 0, "failed": 0}
    rows: Dict[str, List[Tuple[str, int]]] = {s: [] for s in SPLITS}
    results = dict(run_parallel(_process, jobs, workers, "resizing" if short_side else "checking videos"))
    for i, clip in enumerate(listed):
        reason, what = results[i]
        done[what] += 1
        path = jobs[i][1] or clip.src
        if reason is None and _has_space(_csv_path(path, out, absolute_paths)):
            reason = _whitespace_reason(out, absolute_paths, short_side)
        if reason:
            bad.append((clip.src, reason))
        else:
            rows[clip.split].append((_csv_path(path, out, absolute_paths), ids[clip.label]))

    test_from = "test" if rows["test"] else "val" if rows["val"] else None
    for split, lines in {**rows, "test": rows[test_from] if test_from else []}.items():
        if lines:
            write_text_atomic(os.path.join(out, f"{split}.csv"), "".join(f"{p} {label}\n" for p, label in lines))
    if test_from == "val":
        logger.info("no test videos: %s lists the val videos, so the run's test step tests the val split "
                    "(Kinetics' own test labels are not public; PySlowFast tests on val too)", os.path.join(out, "test.csv"))
    write_json_atomic(os.path.join(out, "classnames.json"), ids)
    write_report(os.path.join(out, "bad_videos.txt"),
                 "videos left out of the CSVs: path<TAB>reason", bad)
    summary = {"videos": {s: len(v) for s, v in rows.items()}, "bad_videos": len(bad), "classes": len(ids),
               "resized": done["resized"], "resumed": done["resumed"], "out": os.path.abspath(out),
               "test_csv_from": test_from}
    write_json_atomic(os.path.join(out, "prepare_kinetics.json"), summary)
    return summary


def summary_text(summary: dict, bad_shown: int = 10) -> str:
    """The readable end of ``tools/prepare_kinetics.py``: videos per split, classes, the bad videos (the first
    ``bad_shown`` with their reasons) and where bad_videos.txt and the JSON summary are."""
    out = summary["out"]
    per_split = ", ".join(f"{s} {n}" for s, n in summary["videos"].items())
    lines = [f"prepared {out}: {per_split} videos, {summary['classes']} classes"
             + (f" ({summary['resized']} re-encoded, {summary['resumed']} already done)"
                if summary["resized"] or summary["resumed"] else "")]
    if summary.get("test_csv_from") == "val":
        lines.append("  test.csv lists the val videos (no test split in the source)")
    report = os.path.join(out, "bad_videos.txt")
    if summary["bad_videos"]:
        lines.append(f"  {summary['bad_videos']} video(s) left out of the CSVs, listed with reasons in {report}:")
        with open(report, encoding="utf-8") as f:
            rows = [ln.rstrip("\n").split("\t", 1) for ln in f if ln.strip() and not ln.startswith("#")]
        lines += [f"    {path}: {why[0] if why else ''}" for path, *why in rows[:bad_shown]]
        if len(rows) > bad_shown:
            lines.append(f"    ... and {len(rows) - bad_shown} more")
    else:
        lines.append(f"  no bad videos ({report} is empty)")
    lines.append(f"  summary as JSON: {os.path.join(out, 'prepare_kinetics.json')} (--json prints it)")
    return "\n".join(lines)


def safe_name(name: str) -> str:
    """``name`` with every whitespace character replaced by ``_`` (the CSV reader splits on whitespace)."""
    return "".join("_" if ch.isspace() else ch for ch in name)


def copy_path(out: str, clip: Clip) -> str:
    """Where ``--short-side`` writes the copy of ``clip``: ``OUT/videos/SPLIT/CLASS/<stem>.mp4``, class and
    stem with whitespace replaced by ``_`` (:func:`safe_name`), so a copy's CSV path has none."""
    return os.path.join(out, "videos", clip.split, safe_name(clip.label), safe_name(clip.stem) + ".mp4")


def _has_space(text: str) -> bool:
    return any(ch.isspace() for ch in text)


def _whitespace_reason(out: str, absolute: bool, short_side: Optional[int]) -> str:
    """Why a CSV path has whitespace, and a remedy that removes it."""
    why = "path contains whitespace (the CSV reader splits on it); "
    if absolute and _has_space(os.path.abspath(out)):
        return why + "the --out folder has it: choose another --out, or drop --absolute-paths"
    if short_side:  # copies are named by copy_path: only a relative path out of OUT can have whitespace
        return why + "choose another --out"
    return why + "rename it, or re-encode with --short-side (the copies' names have no whitespace)"


def _csv_path(path: str, out: str, absolute: bool) -> str:
    return os.path.abspath(path) if absolute else os.path.relpath(os.path.abspath(path), os.path.abspath(out))


# --------------------------------------------------------------------------- command line


def refuse_kinetics_overwrites(args) -> None:
    """OutputIsInputError when a file prepare_kinetics writes is an input (an --annotations CSV named
    OUT/train.csv, say) or, with --short-side, when OUT/videos/ (the re-encoded copies) holds the source
    clips. --out equal to --src is allowed: the CSVs land beside the class folders and overwrite nothing
    read; --classnames OUT/classnames.json is allowed too: it is read first and rewritten keeping its ids."""
    written = [os.path.join(args.out, name) for name in ("train.csv", "val.csv", "test.csv", "bad_videos.txt",
                                                          "prepare_kinetics.json")]
    inputs = {"--annotations": args.annotations}
    refuse_overwriting_inputs({"--out": written}, inputs)
    if args.short_side:
        refuse_overwriting_inputs({}, {"--src": args.src, "--clips": args.clips},
                                  {"--out": os.path.join(args.out, "videos")})


def main(argv=None) -> int:
    """``tools/prepare_kinetics.py``: see the module docstring; prints a readable summary last (``--json``: the
    summary as one JSON line)."""
    import argparse

    from slowfast.utils.logging import setup_logging

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", help="SPLIT/CLASS/ tree, or with --annotations the folder of downloaded clips")
    p.add_argument("--out", required=True, help="output folder for the CSVs, classnames.json and bad_videos.txt")
    p.add_argument("--annotations", nargs="+", default=[], help="official label,youtube_id,time_start,time_end,split CSVs")
    p.add_argument("--clips", help="folder of the downloaded clips (default: --src)")
    p.add_argument("--short-side", type=int, default=None, help="re-encode copies with this short side (e.g. 256)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes")
    p.add_argument("--absolute-paths", action="store_true", help="absolute paths in the CSVs (default: relative to --out)")
    p.add_argument("--gop", type=int, default=None, help="key-frame interval of the copies in frames (default: 1 s)")
    p.add_argument("--crf", type=int, default=18, help="libx264 quality of the copies (lower = better)")
    p.add_argument("--classnames", help="existing classnames.json whose ids to keep (e.g. preparing val after train)")
    p.add_argument("--full-decode", action="store_true", help="decode every frame when checking (slow)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line instead of text")
    args = p.parse_args(argv)
    if not args.src and not args.annotations:
        p.error("give --src (a SPLIT/CLASS/ tree) or --annotations with --src/--clips")
    setup_logging()
    try:
        refuse_kinetics_overwrites(args)
        summary = prepare_kinetics(args.out, src=args.src, annotations=args.annotations, clip_dir=args.clips,
                                   short_side=args.short_side, workers=args.workers,
                                   absolute_paths=args.absolute_paths, gop=args.gop, crf=args.crf,
                                   classnames=args.classnames, full_decode=args.full_decode)
    except (OSError, ValueError) as err:
        print(f"prepare_kinetics: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True) if args.json else summary_text(summary))
    return 0
