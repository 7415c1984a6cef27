"""Shards checks of the dataset checker (:mod:`slowfast.data_prep.check`) for a split read from webdataset
tar shards (``tools/make_shards.py``; layout in :mod:`slowfast.formats.shards`), at a folder or a URL.

Always (also the run's pre-flight): the split's index loads (format version, the ``<split>.csv`` beside
it), its labels fit ``MODEL.NUM_CLASSES`` and its ``multi_label`` setting is ``DATA.MULTI_LABEL``; and
every shard it lists exists (local folders; ``missing_shard``). ``decode`` (``tools/check_dataset.py
--decode``) also reads every shard from its start to its end, from the folder or the URL:

* ``missing_shard`` / ``corrupt_shard`` (it cannot be read, or breaks after some samples: the loader
  loses the rest) / ``shard_count`` (fewer or more samples than the index says) / ``shard_size`` (a
  local shard that reads well but has another size than the index says);
* per sample, named ``<shard>:<key>``: ``shard_sample`` (not one video member and one JSON record, a key
  or JSON ``index`` that is not the CSV row the index puts there, a JSON label other than the index's);
  ``undecodable`` (PyAV cannot open the video bytes or decode a frame) and ``truncated_video`` (fewer
  frames decode than the container states), as :func:`~slowfast.data_prep.video_io.check_video` says
  of a file.

Progress with an ETA is logged every few seconds while shards are read.
"""
from __future__ import annotations

import io
import json
import logging
import os
from typing import List, Optional, Tuple

import av

from slowfast.datasets.shards import READ_ERRORS, samples_of, is_url, join, load_index
from slowfast.datasets.video_container import VideoDecodeError, get_video_info
from slowfast.formats import shards as fmt
from slowfast.formats.problems import Problem
from slowfast.utils.progress import Progress

logger = logging.getLogger(__name__)
_progress_logger = logging.getLogger("slowfast.progress.check_shards")
if _progress_logger.level == logging.NOTSET:  # tools/check_dataset.py logs warnings only: show the progress
    _progress_logger.setLevel(logging.INFO)
_ALL = 1 << 62  # read a shard to its end


def num_classes_from_url(location: str) -> Tuple[int, str]:
    """``(classes, source)`` of ``MODEL.NUM_CLASSES 0`` for shards at a URL: their ``classnames.json``
    (copied there by tools/make_shards.py), read as the index is; ValueError naming it otherwise."""
    from slowfast.datasets.shards import classnames_count

    source = join(location, "classnames.json")
    try:
        return classnames_count(location), source
    except fmt.ShardIndexError as err:
        raise ValueError(f"MODEL.NUM_CLASSES 0 reads the shards' classnames.json: {err}; copy the dataset's "
                         "classnames.json there (tools/make_shards.py copies it when --data has one) or set "
                         "MODEL.NUM_CLASSES") from None


def check_shard_split(cfg, split: str, decode: bool = False) -> List[Problem]:
    """Problems of ``split`` read from shards (module docstring)."""
    location = cfg.DATA.PATH_TO_DATA_DIR
    where = join(location, fmt.index_name(split))
    try:
        index = load_index(location, split, check_files=False)
    except fmt.ShardIndexError as err:
        text = str(err)
        return [Problem(where, None, "shard_index", text[len(where) + 2:] if text.startswith(where + ": ") else text)]
    out = _index_problems(cfg, where, index)
    rows = [r for r in range(len(index.videos)) if r not in {int(k["row"]) for k in index.skipped}]
    progress = Progress(f"checking {split} shards", index.count, "videos", _progress_logger, period=5.0)
    offset = 0
    for name, count, size in zip(index.names, index.counts, index.sizes):
        url = join(location, name)
        expected = rows[offset:offset + count]
        offset += count
        if not is_url(location) and not os.path.isfile(url):
            out.append(Problem(url, None, "missing_shard", f"listed in {where} ({count} videos) but does not exist"))
            progress.step(count)
        elif decode:
            out += _check_shard(url, expected, size, index, progress)
    return out


def _index_problems(cfg, where: str, index: fmt.ShardIndex) -> List[Problem]:
    """The index against the config: what the dataset refuses when it is built (DatasetFormatError)."""
    if bool(index.settings.get("multi_label")) != bool(cfg.DATA.MULTI_LABEL):
        return [Problem(where, None, "multi_label", f"packed with multi_label {index.settings.get('multi_label')} "
                                                    f"but DATA.MULTI_LABEL is {cfg.DATA.MULTI_LABEL}")]
    out, num_classes = [], cfg.MODEL.NUM_CLASSES
    for row, (path, label) in enumerate(index.videos):
        bad = [i for i in (label if isinstance(label, tuple) else (label,)) if not 0 <= i < num_classes]
        if bad:
            out.append(Problem(where, None, "label_range", f"row {row} ({path}): label {bad[0]} is outside "
                                                           f"0..{num_classes - 1} (MODEL.NUM_CLASSES {num_classes})"))
    return out


def _check_shard(url: str, expected: List[int], size: int, index: fmt.ShardIndex, progress: Progress) -> List[Problem]:
    """Read the shard at ``url`` to its end: its samples should be the CSV rows ``expected``, in order."""
    out: List[Problem] = []
    seen = 0
    try:
        for raw in samples_of(url, 0, _ALL):
            if seen < len(expected):
                out += _check_sample(url, raw, expected[seen], index)
                progress.step()
            seen += 1
    except READ_ERRORS as err:
        kind = "missing_shard" if seen == 0 and isinstance(err, FileNotFoundError) else "corrupt_shard"
        out.append(Problem(url, None, kind, f"cannot be read after {seen} of its {len(expected)} videos "
                                            f"({type(err).__name__}: {err}): the loader loses the others"))
        progress.step(max(0, len(expected) - seen))
        return out
    if seen != len(expected):
        out.append(Problem(url, None, "shard_count", f"holds {seen} samples, its index says {len(expected)}"))
        progress.step(max(0, len(expected) - seen))
    elif not out and not is_url(url) and os.path.getsize(url) != size:  # reads well, but not the packed file
        out.append(Problem(url, None, "shard_size", f"{os.path.getsize(url)} bytes, its index says {size} (changed "
                                                    "since it was packed)"))
    return out


def _check_sample(url: str, raw: dict, row: int, index: fmt.ShardIndex) -> List[Problem]:
    name = f"{url}:{raw['__key__']}"
    videos = [k for k in raw if k not in ("__key__", "json")]
    meta = _meta(raw.get("json"))
    wrong = _mismatch(raw["__key__"], videos, meta, row, index)
    if wrong:
        return [Problem(name, None, "shard_sample", wrong)]
    found = _decode_problem(raw[videos[0]])
    return [Problem(name, None, found[0], f"video {index.videos[row][0]} (row {row}): {found[1]}")] if found else []


def _meta(data: Optional[bytes]) -> Optional[dict]:
    try:
        meta = json.loads(data.decode("utf-8"))
        return meta if isinstance(meta, dict) else None
    except (AttributeError, UnicodeDecodeError, ValueError):
        return None


def _mismatch(key: str, videos: list, meta: Optional[dict], row: int, index: fmt.ShardIndex) -> Optional[str]:
    """What is wrong with a sample's members against the index's row ``row``, or None."""
    if len(videos) != 1:
        return f"{len(videos)} video members ({', '.join(videos) or 'none'}), a sample holds one (and its JSON)"
    if meta is None:
        return "no JSON record (KEY.json with the CSV row and label)"
    if key != fmt.sample_key(row) or meta.get("index") != row:
        return (f"key {key}, JSON index {meta.get('index')!r}: the index puts CSV row {row} here "
                "(shards of another packing? rewrite them with tools/make_shards.py)")
    label = meta.get("label")
    label = tuple(label) if isinstance(label, list) else label
    if label != index.videos[row][1]:
        return f"label {meta.get('label')!r}, the index says {index.videos[row][1]!r} for row {row}"
    return None


def _decode_problem(data: bytes) -> Optional[Tuple[str, str]]:
    """``(kind, reason)`` when the loader cannot read the encoded video ``data``, else None: the header
    (PyAV opens it, a video stream, its frame count) and every frame."""
    try:
        with av.open(io.BytesIO(data)) as container:
            expected = get_video_info(container).num_frames
        decoded, error = 0, None
        with av.open(io.BytesIO(data)) as container:
            try:
                for _ in container.decode(container.streams.video[0]):
                    decoded += 1
            except (av.FFmpegError, ValueError) as err:
                error = str(err)
    except VideoDecodeError as err:
        return "undecodable", err.reason
    except (av.FFmpegError, OSError, ValueError, IndexError) as err:
        return "undecodable", f"cannot open the video bytes ({err})"
    if decoded == 0:
        return "undecodable", f"decoding failed ({error})" if error else "no frame decodes"
    if error or decoded < expected - max(2, expected // 20):
        return "truncated_video", (f"truncated: {decoded} of {expected} frames decode"
                                   + (f" (then: {error})" if error else ""))
    return None
