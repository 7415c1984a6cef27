"""Pack a prepared Kinetics-format dataset into webdataset tar shards (``tools/make_shards.py``).

    python tools/make_shards.py --data DATA_DIR --out SHARDS_DIR [--shard-size 1GB] [--splits train,val,test]

Reads ``DATA_DIR/<split>.csv`` (as written by ``tools/prepare_kinetics.py``) for every split present (or
those ``--splits`` names, which must exist) and writes, per split, ``SHARDS_DIR/<split>-000000.tar ...``
(one sample per video in CSV order: the video's own bytes and a JSON record; a new shard starts when the
next video would take the current one past ``--shard-size``, tar's end-of-archive padding of at most 10 KB
aside; a video larger than that gets a shard of its own) and the index ``SHARDS_DIR/<split>.json``
(layout: :mod:`slowfast.formats.shards`). ``classnames.json`` is copied when ``DATA_DIR`` has one.

Every shard is written under a temporary name and renamed when whole; the index is written last, so a
reader never sees a half-made split (an interrupted run leaves the previous split intact, and temporary
``.tmp_*`` files). A video that is missing or cannot be opened is left out, named in the log and the
summary, and listed with its reason in the index's ``skipped``. ``--out`` may not be ``DATA_DIR`` or a
folder holding the CSVs or videos.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from slowfast.datasets.video_container import VideoDecodeError, get_video_info
from slowfast.formats.kinetics import read_multi_label_rows, read_video_list_rows, resolve_video_path
from slowfast.formats.shards import index_name, make_index, parse_size, sample_key, shard_name
from slowfast.utils.io import TEMP_PREFIX, file_sha256, refuse_overwriting_inputs, write_json_atomic
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


class _ShardFiles:
    """Consecutive shards of one split, each in a temporary file until :meth:`finish` renames them all."""

    def __init__(self, out: str, split: str, max_bytes: int):
        self.out, self.split, self.max_bytes = out, split, max_bytes
        self.done: List[dict] = []
        self.temps: List[str] = []
        self.writer = self.file = None
        self.count = self.bytes = 0

    def add(self, sample: dict, size: int) -> None:
        from webdataset import TarWriter

        if self.writer is not None and self.count and self.bytes + size > self.max_bytes:
            self._close()
        if self.writer is None:
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tar", dir=self.out)
            self.file = os.fdopen(fd, "wb")
            self.temps.append(tmp)
            self.writer = TarWriter(self.file, encoder=False, mtime=0.0)  # mtime fixed: the same shards each time
        self.writer.write(sample)
        self.count += 1
        self.bytes += size

    def _close(self) -> None:
        self.writer.close()
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        size = os.path.getsize(self.temps[-1])
        self.done.append({"name": shard_name(self.split, len(self.done)), "count": self.count, "bytes": size})
        self.writer = self.file = None
        self.count = self.bytes = 0

    def finish(self) -> List[dict]:
        if self.writer is not None:
            self._close()
        for tmp, shard in zip(self.temps, self.done):
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(self.out, shard["name"]))
        return self.done

    def abandon(self) -> None:
        if self.file is not None:
            self.file.close()
        for tmp in self.temps:
            if os.path.exists(tmp):
                os.remove(tmp)


def _rows(csv: str, separator: str, multi_label: bool) -> list:
    if multi_label:
        return [(r.path, list(r.labels)) for r in read_multi_label_rows(csv, separator, ValueError)]
    return [(r.path, r.label) for r in read_video_list_rows(csv, separator, ValueError)]


def _sample(csv: str, row: int, path: str, label) -> dict:
    """The shard sample of CSV row ``row``; VideoDecodeError (or OSError) when its video cannot be read."""
    video = resolve_video_path(csv, path, "")
    info = get_video_info(video)
    with open(video, "rb") as f:
        data = f.read()
    ext = os.path.splitext(video)[1].lstrip(".").lower() or "mp4"
    meta = {"index": row, "label": label, "path": path, "duration": info.duration, "fps": info.fps,
            "num_frames": info.num_frames}
    return {"__key__": sample_key(row), ext: data, "json": json.dumps(meta, sort_keys=True).encode()}


def pack_split(data_dir: str, out: str, split: str, max_bytes: int, separator: str = " ",
               multi_label: bool = False, num_classes: Optional[int] = None) -> dict:
    """Write the shards and index of ``split``; returns its summary (shards, videos, bytes, skipped)."""
    csv = os.path.join(data_dir, f"{split}.csv")
    rows = _rows(csv, separator, multi_label)
    files = _ShardFiles(out, split, max_bytes)
    skipped: List[dict] = []
    progress = Progress(f"packing {split}", len(rows), "videos", logger, period=5.0)
    try:
        for row, (path, label) in enumerate(rows):
            try:
                sample = _sample(csv, row, path, label)
            except (VideoDecodeError, OSError) as err:
                reason = err.reason if isinstance(err, VideoDecodeError) else str(err)
                logger.warning("%s row %d: skipping unreadable video %s (%s)", csv, row, path, reason)
                skipped.append({"row": row, "path": path, "reason": reason})
            else:
                files.add(sample, sum(512 + -(-len(v) // 512) * 512 for k, v in sample.items() if k != "__key__"))
            progress.step()
        shards = files.finish()
    except BaseException:
        files.abandon()
        raise
    settings = {"separator": separator, "multi_label": multi_label, "num_classes": num_classes}
    write_json_atomic(os.path.join(out, index_name(split)),
                      make_index(split, shards, file_sha256(csv), settings, rows, skipped))
    _remove_stale(out, split, len(shards))
    return {"shards": len(shards), "videos": sum(s["count"] for s in shards),
            "bytes": sum(s["bytes"] for s in shards), "skipped": skipped}


def _remove_stale(out: str, split: str, kept: int) -> None:
    """Shards of an earlier, longer packing of ``split`` (numbers past the new index's)."""
    number = kept
    while os.path.exists(os.path.join(out, shard_name(split, number))):
        os.remove(os.path.join(out, shard_name(split, number)))
        number += 1


def _num_classes(data_dir: str) -> Optional[int]:
    path = os.path.join(data_dir, "classnames.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return len(json.load(f))


def make_shards(data_dir: str, out: str, shard_size: int = 10**9, splits: Optional[Sequence[str]] = None,
                separator: str = " ", multi_label: bool = False) -> dict:
    """Pack the splits (default: every ``<split>.csv`` of ``data_dir``); returns the summary."""
    present = [s for s in SPLITS if os.path.isfile(os.path.join(data_dir, f"{s}.csv"))]
    if splits:
        missing = [s for s in splits if s not in present]
        if missing:
            raise FileNotFoundError(f"--splits {','.join(splits)}: {os.path.join(data_dir, missing[0] + '.csv')} "
                                    "does not exist")
    splits = list(splits or present)
    if not splits:
        raise FileNotFoundError(f"--data {data_dir}: no train.csv, val.csv or test.csv (prepare the dataset with "
                                "tools/prepare_kinetics.py first)")
    os.makedirs(out, exist_ok=True)
    num_classes = _num_classes(data_dir)
    start = time.monotonic()
    summary: Dict[str, dict] = {}
    for split in splits:
        summary[split] = pack_split(data_dir, out, split, shard_size, separator, multi_label, num_classes)
    if num_classes is not None:
        with open(os.path.join(data_dir, "classnames.json"), encoding="utf-8") as f:
            write_json_atomic(os.path.join(out, "classnames.json"), json.load(f))
    return {"out": os.path.abspath(out), "splits": summary, "seconds": round(time.monotonic() - start, 1)}


def summary_text(summary: dict, shown: int = 10) -> str:
    lines = [f"wrote {summary['out']} in {summary['seconds']} s:"]
    for split, s in summary["splits"].items():
        lines.append(f"  {split}: {s['videos']} videos in {s['shards']} shard(s), {s['bytes'] / 1e6:.1f} MB"
                     + (f"; {len(s['skipped'])} unreadable video(s) left out:" if s["skipped"] else ""))
        lines += [f"    row {k['row']} {k['path']}: {k['reason']}" for k in s["skipped"][:shown]]
        if len(s["skipped"]) > shown:
            lines.append(f"    ... and {len(s['skipped']) - shown} more (the index's \"skipped\" lists them)")
    return "\n".join(lines)


def _inputs(data_dir: str, separator: str, multi_label: bool) -> list:
    """Every file make_shards reads: the split CSVs and the videos they list."""
    found = []
    for split in SPLITS:
        csv = os.path.join(data_dir, f"{split}.csv")
        if os.path.isfile(csv):
            found.append(csv)
            try:
                found += [resolve_video_path(csv, p, "") for p, _ in _rows(csv, separator, multi_label)]
            except ValueError:
                pass  # reported when the split is packed
    return found


def main(argv=None) -> int:
    """``tools/make_shards.py``; exit status 2 with one line for a bad argument or input."""
    import argparse

    from slowfast.utils.logging import setup_logging

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="prepared dataset folder ({train,val,test}.csv)")
    p.add_argument("--out", required=True, help="folder for the shards and their indexes")
    p.add_argument("--shard-size", default="1GB", help="largest shard (1GB, 500MB, 64KB or bytes; default 1GB)")
    p.add_argument("--splits", default="", help="comma-separated splits (default: every split CSV present)")
    p.add_argument("--separator", default=" ", help="path / label separator of the CSVs (DATA.PATH_LABEL_SEPARATOR)")
    p.add_argument("--multi-label", action="store_true", help="rows 'path id,id,...' (DATA.MULTI_LABEL)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = p.parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    try:
        import webdataset  # noqa: F401
    except ImportError as err:
        print(f"make_shards: needs webdataset: pip install -e .[shards] ({err})", file=sys.stderr)
        return 2
    try:
        size = parse_size(args.shard_size)
        bad = [s for s in splits if s not in SPLITS]
        if bad:
            raise ValueError(f"--splits: unknown split {bad[0]!r}; use train, val, test")
        if not os.path.isdir(args.data):
            raise FileNotFoundError(f"--data {args.data} is not a folder")
        refuse_overwriting_inputs({}, {"--data": _inputs(args.data, args.separator, args.multi_label)},
                                  {"--out": args.out})
        setup_logging()
        summary = make_shards(args.data, args.out, size, splits, args.separator, args.multi_label)
    except (OSError, ValueError) as err:
        print(f"make_shards: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True) if args.json else summary_text(summary))
    return 0
