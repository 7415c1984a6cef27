"""The Kinetics-format dataset streamed from webdataset tar shards (``tools/make_shards.py``; layout in
:mod:`slowfast.formats.shards`), without unpacking: videos are decoded from the bytes in memory.

Selected by DATA.FORMAT (``shards``; ``auto``, the default, when ``DATA.PATH_TO_DATA_DIR`` is a URL or
holds ``<split>.json``). ``DATA.PATH_TO_DATA_DIR`` is a local folder or any URL webdataset's ``gopen``
reads (``http(s)://``, ``gs://``, ``ais://``, ...); ``<split>.json`` and the shards are read from there.

The Rule (which process and loader worker reads which videos, in which order):

1. Streams: ``S = world_size x max(1, DATA_LOADER.NUM_WORKERS)``; worker ``w`` of rank ``r`` is stream
   ``j = r x workers + w``.
2. Epoch ``e`` of training permutes the shard list with (RNG_SEED, e); the epoch's sequence is the permuted
   shards' samples concatenated (val / test: the shards in their order). Stream ``j`` reads samples
   ``[N j / S, N (j+1) / S)`` of that sequence (``N`` the index's sample count): the streams' slices are
   disjoint, cover everything and differ in size by at most one. A slice may start or end inside a shard:
   the stream reads that shard and passes over the other members without decoding them.
3. Training: each stream puts its slice through a shuffle buffer of DATA.SHUFFLE_BUFFER samples (generator
   seeded with (RNG_SEED, e, j)) and yields ``Q`` samples, ``Q`` = the smallest slice rounded down to
   whole per-process batches. So every rank runs the same number of iterations, ``len(loader)`` is exactly
   what is yielded, every video is seen at most once per epoch, and fewer than ``S x batch`` are left out
   (other ones each epoch, as the shard order and buffers change).
4. Val / test: every sample of the slice, each view of it (the test's clips x crops, numbered as
   :class:`~slowfast.datasets.kinetics.Kinetics` numbers them); the last batch of a worker may be short.
   Over all ranks every video is read exactly once, so the test loop's gathering gives the files' results.
5. Every item's random draws are seeded with (RNG_SEED, epoch, the video's CSV row) (:mod:`.seeding`), so
   a clip is bit-identical to the one the file dataset makes of the same video, from any stream.
6. Resume: ``set_epoch(e, k)`` makes the loader yield the batches ``k, k+1, ...`` of epoch ``e``. The
   loader takes batch ``i`` from worker ``i % workers``, so in an epoch started at batch 0 worker ``w``
   reads stream ``w``; started at batch ``k``, worker ``w`` reads stream ``(w + k) % workers`` (of its
   rank) and passes over that stream's batches among the first ``k`` without decoding them. ``len(loader)``
   stays the whole epoch's count.
7. Broken data. A training sample that cannot be decoded is replaced by the nearest readable one of its
   stream: the previous samples (up to DATA.MAX_DECODE_RETRIES back), then the following ones; the
   replacement counts in the batch's ``retries``; none readable stops the run (``UnreadableDataError``).
   A shard that cannot be read (missing, truncated, not a tar) loses its remaining samples, with a warning
   naming it (a local shard the index lists but the folder lacks is refused before the run, by
   :func:`load_index`; at a URL it is found when read, and counted so); a training stream left with fewer than ``Q`` samples starts its slice over and pads with
   those (counted as replacements), so the iteration count never changes. In val / test a sample that
   cannot be decoded gives blank views marked failed; videos of a lost shard part get no view (the test
   reports ``num_videos_without_views``). Item ``p`` depends only on the stream's sequence, so resuming
   stays exact with broken data too.
"""
from __future__ import annotations

import json
import logging
import os
import tarfile
from collections import deque
from typing import Iterator, NamedTuple, Optional

import torch
import torch.utils.data

from slowfast.config.errors import ConfigError
from slowfast.datasets.kinetics import DatasetFormatError, Kinetics
from slowfast.datasets.seeding import item_rng, item_seed
from slowfast.datasets.validation import UnreadableDataError
from slowfast.datasets.video_container import VideoBytes, VideoDecodeError
from slowfast.formats import shards as fmt
from slowfast.utils import distributed as du
from slowfast.utils.io import file_sha256

logger = logging.getLogger(__name__)
READ_ERRORS = (tarfile.TarError, OSError, EOFError, ValueError)  # a shard that cannot be read on


def is_url(location: str) -> bool:
    """True for ``scheme://...`` locations (read with webdataset's gopen)."""
    return "://" in location


def join(location: str, name: str) -> str:
    return location.rstrip("/") + "/" + name if is_url(location) else os.path.join(location, name)


def uses_shards(cfg, split: str) -> bool:
    """Whether ``split`` is read from shards (DATA.FORMAT; ``auto``: a URL, or ``<split>.json`` present)."""
    if cfg.DATA.FORMAT != "auto":
        return cfg.DATA.FORMAT == "shards"
    root = cfg.DATA.PATH_TO_DATA_DIR
    return bool(root) and (is_url(root) or os.path.isfile(os.path.join(root, fmt.index_name(split))))


def _gopen(url: str):
    """A readable binary stream of ``url`` (a local path is opened directly, whatever WDS_SECURE says)."""
    try:
        from webdataset import gopen
    except ImportError as err:
        raise ConfigError(f"reading shards needs webdataset: pip install -e .[shards] ({err})") from None
    return gopen(url) if is_url(url) else open(url, "rb")


def read_bytes(location: str, name: str, what: str) -> bytes:
    """The bytes of the file ``name`` at ``location`` (a folder or URL); ShardIndexError naming it."""
    url = join(location, name)
    if not is_url(location) and not os.path.isfile(url):
        raise fmt.ShardIndexError(f"{url}: no {what}")
    try:
        with _gopen(url) as f:
            return f.read()
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - gopen's schemes raise what their clients raise
        raise fmt.ShardIndexError(f"{url}: cannot read the {what} ({err})") from None


def load_index(location: str, split: str, check_files: bool = True) -> fmt.ShardIndex:
    """The validated index of ``split`` at ``location``; ShardIndexError (one line) when it is missing or
    unreadable, of another version, names local shards that do not exist (``check_files``), or was made
    from another CSV than the ``<split>.csv`` beside it. Shards at a URL are not looked for here: one
    that cannot be read is counted when the loader reaches it (Rule 7)."""
    url = join(location, fmt.index_name(split))
    data = read_bytes(location, fmt.index_name(split), f"shard index for the {split} split (DATA.FORMAT shards "
                      f"reads {fmt.index_name(split)} written by tools/make_shards.py)")
    index = fmt.parse_index(data, url)
    if index.split != split:
        raise fmt.ShardIndexError(f"{url}: is the index of the {index.split!r} split, not {split!r}")
    if not is_url(location):
        _check_local(location, url, index, check_files)
    return index


def classnames_count(location: str) -> int:
    """Classes in the ``classnames.json`` that tools/make_shards.py copied beside the shards (a folder or a
    URL, read as the index is); ShardIndexError naming it when it cannot be read or parsed."""
    url = join(location, "classnames.json")
    data = read_bytes(location, "classnames.json", "classnames.json")
    try:
        return len(dict(json.loads(data.decode("utf-8"))))
    except (UnicodeDecodeError, ValueError, TypeError) as err:
        raise fmt.ShardIndexError(f"{url}: not a JSON name -> id object ({err})") from None


def _check_local(location: str, url: str, index: fmt.ShardIndex, check_files: bool) -> None:
    for name, size in zip(index.names, index.sizes) if check_files else ():
        path = os.path.join(location, name)
        if not os.path.isfile(path):
            raise fmt.ShardIndexError(f"{url}: lists shard {path}, which does not exist")
        if os.path.getsize(path) != size:
            logger.warning("shard %s has %d bytes, its index %s says %d: it is read until it breaks",
                           path, os.path.getsize(path), url, size)
    csv = os.path.join(location, f"{index.split}.csv")
    if os.path.isfile(csv) and file_sha256(csv) != index.csv_sha256:
        raise fmt.ShardIndexError(f"{url}: was made from another {index.split}.csv than {csv} (sha256 differs): "
                                  "another version of the dataset; rewrite the shards with tools/make_shards.py")


def shard_index_problems(cfg, split: str) -> list:
    """The run's pre-flight check of a split read from shards: its index loads (module docstring)."""
    from slowfast.formats.problems import Problem

    try:
        load_index(cfg.DATA.PATH_TO_DATA_DIR, split)
    except fmt.ShardIndexError as err:
        where = join(cfg.DATA.PATH_TO_DATA_DIR, fmt.index_name(split))
        text = str(err)
        return [Problem(where, None, "shard_index", text[len(where) + 2:] if text.startswith(where + ": ") else text)]
    return []


class Sample(NamedTuple):
    row: int  # the video's row in the split CSV
    name: str  # "<shard>:<key>", for messages
    video: bytes


class _PastSlice(Exception):
    """Raised by the member filter at the first member after the wanted samples: stops reading the shard."""


def samples_of(url: str, first: int, stop: int) -> Iterator[dict]:
    """Samples ``first .. stop-1`` (positions) of the tar shard at ``url``, as ``{"__key__", ext: bytes}``;
    the members of earlier samples are passed over without being kept, and reading stops after the last."""
    from webdataset.tariterators import tar_file_iterator

    state = {"key": None, "pos": -1}

    def wanted(fname: str) -> bool:
        key = fname.split(".", 1)[0]
        if key != state["key"]:
            state["key"], state["pos"] = key, state["pos"] + 1
        if state["pos"] >= stop:
            raise _PastSlice
        return state["pos"] >= first

    current = None
    with _gopen(url) as stream:
        try:
            for member in tar_file_iterator(stream, select_files=wanted):
                key, _, ext = member["fname"].partition(".")
                if current is not None and current["__key__"] != key:
                    yield current
                    current = None
                current = current or {"__key__": key}
                current[ext.lower()] = member["data"]
        except _PastSlice:
            pass
    if current is not None:
        yield current


def _as_sample(raw: dict, shard: str, num_videos: int) -> Optional[Sample]:
    name = f"{shard}:{raw['__key__']}"
    videos = [k for k in raw if k not in ("__key__", "json")]
    try:
        row = int(json.loads(raw["json"])["index"])
    except (KeyError, ValueError, TypeError):
        row = None
    if row is None or not 0 <= row < num_videos or len(videos) != 1:
        logger.warning("shard sample %s is malformed (no JSON record with the CSV row, or not one video): skipped",
                       name)
        return None
    return Sample(row, name, raw[videos[0]])


class ShardedKinetics(Kinetics, torch.utils.data.IterableDataset):
    """Kinetics from shards: the items of :class:`Kinetics` (its clip, label and view logic), streamed by
    the Rule of the module docstring. ``rank`` / ``world_size`` default to the running processes'."""

    def __init__(self, cfg, split: str, rank: int | None = None, world_size: int | None = None,
                 batch_size: int | None = None):
        self.location = cfg.DATA.PATH_TO_DATA_DIR
        self.index = load_index(self.location, split)
        super().__init__(cfg, split)
        self.seed = cfg.RNG_SEED
        self.rank = du.get_rank() if rank is None else rank
        self.world = du.get_world_size() if world_size is None else world_size
        self.workers = max(1, cfg.DATA_LOADER.NUM_WORKERS)
        self.buffer = cfg.DATA.SHUFFLE_BUFFER
        total = cfg.TRAIN.BATCH_SIZE if split in ("train", "val") else cfg.TEST.BATCH_SIZE
        self.batch = batch_size or max(1, total // max(1, self.world))
        self.train = split == "train"
        self.epoch, self.start_iter = 0, 0
        logger.info("%s: %d samples in %d shards at %s, %d stream(s) (%d process(es) x %d worker(s))%s", split,
                    self.index.count, len(self.index.names), self.location, self.streams, self.world, self.workers,
                    f", {self.quota} samples per stream per epoch" if self.train else "")

    def list_source(self, csv: str) -> str:
        return f"the shard index {join(self.location, fmt.index_name(self.index.split))}"

    def read_videos(self, csv: str, cfg) -> list:
        """[(path as written, label), ...] of every CSV row, from the index (no shard is opened)."""
        if bool(self.index.settings.get("multi_label")) != bool(cfg.DATA.MULTI_LABEL):
            raise fmt.ShardIndexError(f"{join(self.location, fmt.index_name(self.index.split))}: packed with "
                                      f"multi_label {self.index.settings.get('multi_label')} but DATA.MULTI_LABEL is "
                                      f"{cfg.DATA.MULTI_LABEL}")
        for row, (path, label) in enumerate(self.index.videos):
            bad = [i for i in (label if isinstance(label, tuple) else (label,)) if not 0 <= i < cfg.MODEL.NUM_CLASSES]
            if bad:
                raise DatasetFormatError(f"{join(self.location, fmt.index_name(self.index.split))}: row {row} "
                                         f"({path}): label {bad[0]} is outside 0..{cfg.MODEL.NUM_CLASSES - 1} "
                                         f"(MODEL.NUM_CLASSES {cfg.MODEL.NUM_CLASSES})")
        return list(self.index.videos)

    # ------------------------------------------------------------------ the Rule's numbers

    @property
    def streams(self) -> int:
        return self.world * self.workers

    def slice_size(self, stream: int) -> int:
        start, stop = fmt.stream_bounds(self.index.count, self.streams, stream)
        return stop - start

    @property
    def quota(self) -> int:
        """Samples each training stream yields per epoch (Rule 3)."""
        return fmt.train_quota(self.index.count, self.streams, self.batch)

    def _my_streams(self) -> range:
        return range(self.rank * self.workers, (self.rank + 1) * self.workers)

    def __len__(self) -> int:
        """Items this process yields in an epoch."""
        if self.train:
            return self.workers * self.quota
        return sum(self.slice_size(j) for j in self._my_streams()) * self.views_per_video

    def num_batches(self) -> int:
        """Batches this process's loader yields in an epoch (each worker batches its own stream)."""
        if self.train:
            return self.workers * self.quota // self.batch
        views = self.views_per_video
        return sum(-(-self.slice_size(j) * views // self.batch) for j in self._my_streams())

    def set_epoch(self, epoch: int, start_iter: int = 0) -> None:
        """Iterate epoch ``epoch`` from its batch ``start_iter`` on (Rule 6)."""
        self.epoch, self.start_iter = int(epoch), int(start_iter)

    def __getitem__(self, index):
        raise TypeError("ShardedKinetics is streamed (an IterableDataset): iterate it or its loader")

    # ------------------------------------------------------------------ reading

    def _stream_samples(self, stream: int) -> Iterator[Sample]:
        """The samples of ``stream``'s slice in the epoch's order (Rule 2), then shuffled (Rule 3)."""
        counts = self.index.counts
        order = fmt.shard_order(len(counts), self.seed, self.epoch) if self.train else range(len(counts))
        start, stop = fmt.stream_bounds(self.index.count, self.streams, stream)

        def read():
            for shard, first, last in fmt.slice_pieces(counts, order, start, stop):
                yield from self._read_piece(self.index.names[shard], first, last)

        if not self.train:
            return read()
        return fmt.shuffled(read(), self.buffer, fmt.stream_rng(self.seed, self.epoch, stream))

    def _read_piece(self, shard: str, first: int, stop: int) -> Iterator[Sample]:
        got = 0
        try:
            for raw in samples_of(join(self.location, shard), first, stop):
                got += 1
                sample = _as_sample(raw, shard, len(self.videos))
                if sample is not None:
                    yield sample
        except READ_ERRORS as err:
            logger.warning("shard %s cannot be read after %d of its samples %d..%d (%s: %s): the other %d are lost",
                           join(self.location, shard), got, first, stop - 1, type(err).__name__, err,
                           stop - first - got)
            return
        if got < stop - first:
            logger.warning("shard %s ended after %d of its samples %d..%d: the other %d are lost",
                           join(self.location, shard), got, first, stop - 1, stop - first - got)

    def _decode(self, data: bytes, name: str, clip_idx: int) -> torch.Tensor:
        """One clip (T x H x W x 3 uint8) of the encoded video ``data`` (``name``: shard and key, for
        messages), decoded from memory by DATA.DECODING_BACKEND (``datasets.decoding.clip_sampler``)."""
        return self.sample_clip(VideoBytes(data, name), clip_idx, self.num_clips, self.num_frames, self.sampling_rate,
                                self.target_fps)

    # ------------------------------------------------------------------ items

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        if workers != self.workers:
            raise RuntimeError(f"ShardedKinetics was built for {self.workers} loader worker(s) "
                               f"(DATA_LOADER.NUM_WORKERS) but runs in {workers}")
        if not self.train:
            return self._eval_items(self.rank * self.workers + worker)
        # The loader takes batch i from worker i % workers. Batch k (the first after a resume) is made by
        # stream k % workers, so the workers take the streams in turn from that one (Rule 6).
        local = (worker + self.start_iter) % self.workers
        skip = fmt.skipped_batches(self.start_iter, local, self.workers) * self.batch
        return self._train_items(self.rank * self.workers + local, skip)

    def _eval_items(self, stream: int):
        for sample in self._stream_samples(stream):
            for view in range(self.views_per_video):
                clip_idx = -1 if self.random_view else view // self.num_crops
                with item_rng(item_seed(self.seed, self.epoch, sample.row)):
                    try:
                        frames = self._decode(sample.video, sample.name, clip_idx)
                    except VideoDecodeError as e:
                        logger.warning("skipping unreadable video (%s): %s", self.split, e)
                        frames = None
                    yield self.item(frames, sample.row, view)

    def _passes(self, stream: int):
        """The stream's samples, then again from its start while more are asked for (Rule 7's padding);
        yields (sample, is_padding)."""
        expected, padding = self.slice_size(stream), False
        while True:
            got = 0
            for sample in self._stream_samples(stream):
                got += 1
                yield sample, padding
            if got == 0:
                raise UnreadableDataError(f"training stream {stream} of the {self.split} shards at {self.location} "
                                          "has no readable sample (see the warnings above)")
            if not padding and got < expected:
                logger.warning("training stream %d read %d of its %d samples: it repeats its own to fill its %d",
                               stream, got, expected, self.quota)
            padding = True

    def _train_items(self, stream: int, skip: int):
        source = self._passes(stream)
        ahead: deque = deque()
        behind: deque = deque(maxlen=max(1, self.max_retries))
        for position in range(self.quota):
            sample, padding = ahead.popleft() if ahead else next(source)
            if position >= skip:
                yield self._train_item(sample, padding, behind, ahead, source)
            behind.append((sample, padding))

    def _train_item(self, sample: Sample, padding: bool, behind: deque, ahead: deque, source):
        """A training item of ``sample``, or when it cannot be decoded of the nearest readable neighbour."""
        retries = int(padding)
        with item_rng(item_seed(self.seed, self.epoch, sample.row)):
            candidates = [sample] + [s for s, _ in reversed(behind)]
            while True:
                for candidate in candidates:
                    try:
                        frames = self._decode(candidate.video, candidate.name, -1)
                        return self.item(frames, candidate.row, 0, None, retries)
                    except VideoDecodeError as e:
                        logger.warning("skipping unreadable video (%s): %s", self.split, e)
                        retries += 1
                        if retries > self.max_retries:
                            raise UnreadableDataError(
                                f"{retries} unreadable videos in a row (last: {e.path}: {e.reason}); check the "
                                f"shards (DATA.MAX_DECODE_RETRIES = {self.max_retries})") from e
                ahead.append(next(source))
                candidates = [ahead[-1][0]]


class ShardLoader(torch.utils.data.DataLoader):
    """A DataLoader over :class:`ShardedKinetics` whose ``len`` is the batches it yields (each worker
    batches its own stream)."""

    def __len__(self) -> int:
        return self.dataset.num_batches()


def shard_loader(cfg, split: str, collate, dataset: ShardedKinetics | None = None) -> ShardLoader:
    """The loader of ``split`` from shards (called by ``datasets.build.build_loader``)."""
    if cfg.MULTIGRID.LONG_CYCLE or cfg.MULTIGRID.SHORT_CYCLE:
        raise ConfigError("MULTIGRID training needs random access to the videos: use the files (DATA.FORMAT files), "
                          "not shards")
    dataset = dataset if dataset is not None else ShardedKinetics(cfg, split)
    if dataset.train and dataset.quota == 0:
        raise ConfigError(f"the training shards hold {dataset.index.count} videos over {dataset.streams} streams "
                          f"(processes x DATA_LOADER.NUM_WORKERS), fewer than one batch of {dataset.batch} per "
                          "stream: training would run 0 iterations; lower TRAIN.BATCH_SIZE or "
                          "DATA_LOADER.NUM_WORKERS")
    return ShardLoader(dataset, batch_size=dataset.batch, drop_last=dataset.train,
                       num_workers=cfg.DATA_LOADER.NUM_WORKERS, collate_fn=collate, persistent_workers=False,
                       pin_memory=cfg.DATA_LOADER.PIN_MEMORY and cfg.NUM_GPUS > 0 and torch.cuda.is_available())
