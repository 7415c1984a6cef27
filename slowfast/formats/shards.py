"""Sharded Kinetics-format datasets (webdataset's tar layout): names, the per-split index, and the pure
arithmetic of which samples each reading stream gets (no torch, no webdataset here).

Layout of ``SHARDS_DIR`` (written by ``tools/make_shards.py``, read by :mod:`slowfast.datasets.shards`)::

    SHARDS_DIR/<split>-000000.tar, <split>-000001.tar, ...   plain (uncompressed) tar files
    SHARDS_DIR/<split>.json                                   the split's index (written last)

One sample per video, in CSV order; its members share the key ``KEY`` = the video's 0-based row in the
split CSV, zero-padded to 9 digits (``000000012``):

* ``KEY.<ext>``: the encoded video, byte for byte the file the CSV names (``<ext>`` its real extension:
  ``mp4``, ``webm``, ``avi``, ...);
* ``KEY.json``: ``{"index": row, "label": id or [ids], "path": the CSV's path as written, "duration":
  seconds, "fps": frames per second, "num_frames": frames}``.

The index (``<split>.json``) holds: ``format`` (``"slowfast-shards"``), ``version`` (:data:`INDEX_VERSION`),
``split``, ``shards`` (``[{"name", "count", "bytes"}]`` in order), ``count`` (their sum), ``csv_sha256``
(of the source CSV's bytes), ``csv_rows``, ``settings`` (``separator``, ``multi_label``, ``num_classes``
or null), ``videos`` (``[path, label]`` of every CSV row, so a reader knows every video without opening a
shard) and ``skipped`` (``[{"row", "path", "reason"}]``: videos that could not be read when packing).
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from slowfast.utils.seeds import derive_seed

FORMAT_NAME = "slowfast-shards"
INDEX_VERSION = 1
KEY_DIGITS = 9  # sample keys: the CSV row, zero-padded


class ShardIndexError(ValueError):
    """A shard index is missing, malformed, of another format version, or disagrees with its shards or with
    the dataset it claims to come from; the message names the file."""


def shard_name(split: str, number: int) -> str:
    """``train-000003.tar``: the name of shard ``number`` of ``split``."""
    return f"{split}-{number:06d}.tar"


def index_name(split: str) -> str:
    return f"{split}.json"


def sample_key(row: int) -> str:
    """The key of the video in CSV row ``row`` (0-based)."""
    return f"{row:0{KEY_DIGITS}d}"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """``"1GB"`` -> 10**9 bytes; also ``500MB``, ``64KB``, ``2GiB``, plain bytes (``"4096"``). ValueError
    naming the text for anything else or a size below one byte."""
    match = _SIZE.match(str(text))
    unit = (match.group(2) or "").upper() if match else None
    if not match or unit not in _UNITS:
        raise ValueError(f"size {text!r} is not understood; write e.g. 1GB, 500MB, 64KB or a number of bytes")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < 1:
        raise ValueError(f"size {text!r} must be at least 1 byte")
    return size


@dataclass(frozen=True)
class ShardIndex:
    """A split's index, validated (see the module docstring)."""

    split: str
    names: Tuple[str, ...]
    counts: Tuple[int, ...]
    sizes: Tuple[int, ...]
    csv_sha256: str
    settings: dict
    videos: Tuple[tuple, ...]
    skipped: Tuple[dict, ...]

    @property
    def count(self) -> int:
        return sum(self.counts)


def make_index(split: str, shards: Sequence[dict], csv_sha256: str, settings: dict, videos: Sequence[tuple],
               skipped: Sequence[dict]) -> dict:
    """The JSON object of a split's index."""
    return {"format": FORMAT_NAME, "version": INDEX_VERSION, "split": split, "shards": list(shards),
            "count": sum(s["count"] for s in shards), "csv_sha256": csv_sha256, "csv_rows": len(videos),
            "settings": settings, "videos": [list(v) for v in videos], "skipped": list(skipped)}


def parse_index(data: bytes, where: str) -> ShardIndex:
    """Validate an index's bytes read from ``where``; ShardIndexError naming ``where`` on any problem."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise ShardIndexError(f"{where}: not a JSON shard index ({err})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_NAME:
        raise ShardIndexError(f"{where}: not a shard index (no \"format\": \"{FORMAT_NAME}\"); write one with "
                              "tools/make_shards.py")
    if obj.get("version") != INDEX_VERSION:
        raise ShardIndexError(f"{where}: shard index format version {obj.get('version')!r}, this code reads version "
                              f"{INDEX_VERSION}; rewrite the shards with this version's tools/make_shards.py")
    try:
        shards = obj["shards"]
        names = tuple(str(s["name"]) for s in shards)
        counts = tuple(int(s["count"]) for s in shards)
        sizes = tuple(int(s["bytes"]) for s in shards)
        videos = tuple((str(p), tuple(lb) if isinstance(lb, list) else int(lb)) for p, lb in obj["videos"])
        index = ShardIndex(str(obj["split"]), names, counts, sizes, str(obj["csv_sha256"]), dict(obj["settings"]),
                           videos, tuple(obj.get("skipped", [])))
        total = int(obj["count"])
    except (KeyError, TypeError, ValueError) as err:
        raise ShardIndexError(f"{where}: malformed shard index ({type(err).__name__}: {err})") from None
    if total != index.count or any(c < 0 for c in counts):
        raise ShardIndexError(f"{where}: \"count\" {total} disagrees with the shards' counts (sum {index.count})")
    if index.count + len(index.skipped) != len(videos):
        raise ShardIndexError(f"{where}: {index.count} samples + {len(index.skipped)} skipped videos disagree with the "
                              f"{len(videos)} CSV rows it lists")
    if not names:
        raise ShardIndexError(f"{where}: lists no shards (no readable video in the split)")
    return index


def shard_order(num_shards: int, seed: int, epoch: int) -> List[int]:
    """The shard permutation of epoch ``epoch`` (depends on (seed, epoch) only)."""
    order = list(range(num_shards))
    random.Random(derive_seed("shards", seed, epoch)).shuffle(order)
    return order


def stream_rng(seed: int, epoch: int, stream: int) -> random.Random:
    """The shuffle buffer's generator of stream ``stream`` in epoch ``epoch``."""
    return random.Random(derive_seed("buffer", seed, epoch, stream))


def stream_bounds(total: int, streams: int, stream: int) -> Tuple[int, int]:
    """[start, stop) of stream ``stream``'s contiguous slice of an epoch's ``total`` samples split over
    ``streams`` streams (sizes differ by at most one)."""
    return total * stream // streams, total * (stream + 1) // streams


def slice_pieces(counts: Sequence[int], order: Sequence[int], start: int, stop: int) -> List[Tuple[int, int, int]]:
    """The parts of shards that samples [start, stop) of the sequence ``order`` (shards concatenated) cover:
    ``[(shard, first, stop)]``, positions inside the shard."""
    pieces, offset = [], 0
    for shard in order:
        lo, hi = max(start, offset), min(stop, offset + counts[shard])
        if lo < hi:
            pieces.append((shard, lo - offset, hi - offset))
        offset += counts[shard]
    return pieces


def train_quota(total: int, streams: int, batch: int) -> int:
    """Samples every stream yields in a training epoch: whole batches of the smallest stream."""
    smallest = min(stream_bounds(total, streams, j)[1] - stream_bounds(total, streams, j)[0] for j in range(streams))
    return smallest // batch * batch


def skipped_batches(start_iter: int, worker: int, workers: int) -> int:
    """How many of a process's first ``start_iter`` batches loader worker ``worker`` made (the loader takes
    batches from its workers in turn)."""
    return len(range(worker, start_iter, workers))


def shuffled(samples, size: int, rng: random.Random):
    """A shuffle buffer of ``size`` samples (0 or 1: the order as read): each sample read replaces a random
    one of the buffer, which is yielded; the rest come out in a random order at the end."""
    if size <= 1:
        yield from samples
        return
    buffer = []
    for sample in samples:
        if len(buffer) < size:
            buffer.append(sample)
            continue
        k = rng.randrange(size)
        buffer[k], sample = sample, buffer[k]
        yield sample
    rng.shuffle(buffer)
    yield from buffer
