"""Dataset registry and data loaders: `build_dataset(name, cfg, split)`, `build_loader(cfg, split)`.

A dataset item is `(inputs, labels, index, extra)`:
  inputs  list of per-pathway clips `C x T x H x W` (float, normalised)
  labels  int class (classification), `num_classes` multi-hot float (DATA.MULTI_LABEL) or `N x num_classes`
          multi-hot float (detection, one row per box)
  index   int, the item's index in the dataset (test loops aggregate views by it)
  extra   dict; detection items carry "boxes" (`N x 4` pixels of the clip), "ori_boxes" (`N x 4`
          normalised, as in the CSVs) and "metadata" (`N x 2` long: video index, timestamp)

Repeated augmentation (AUG.NUM_SAMPLE = k > 1, training): a Kinetics item holds k views of one decode
(`inputs` a list of k pathway lists, extra "num_samples" k); the collate function makes them k items with
the same label and index, so a training batch of TRAIN.BATCH_SIZE videos holds k x TRAIN.BATCH_SIZE clips.

Multigrid training (MULTIGRID.LONG_CYCLE / SHORT_CYCLE, `datasets.multigrid`): training batches change size
and clip shape with the schedule (all clips of one batch share one shape): the loader's batch sampler
(`loader.batch_sampler`, a `MultigridBatchSampler`) yields `(index, crop)` pairs and the training loop
sets each long-cycle phase on it and on the dataset (`engine.multigrid`); `len(loader)` is the current
phase's number of batches. Other splits and runs keep TRAIN.BATCH_SIZE / TEST.BATCH_SIZE.
"""
from __future__ import annotations

import torch
import torch.utils.data

from slowfast.config.errors import ConfigError
from slowfast.config.validation import world_size
from slowfast.datasets import ava, charades, kinetics  # noqa: F401  (importing a dataset module registers it)
from slowfast.datasets import multigrid as mgd
from slowfast.datasets import shards
from slowfast.datasets.registry import DATASET_REGISTRY  # also imported from here
from slowfast.datasets.resume_sampler import ResumableDistributedSampler
from slowfast.solver import multigrid as mgs
from slowfast.utils import distributed as du


def build_dataset(name: str, cfg, split: str, **kwargs) -> torch.utils.data.Dataset:
    """Build dataset `name` ("kinetics", "ava", ...; any case) for split "train", "val" or "test"."""
    if name not in DATASET_REGISTRY:
        raise KeyError(f"dataset {name!r} is not registered; known: {sorted(k for k, _ in DATASET_REGISTRY)}")
    return DATASET_REGISTRY.get(name)(cfg, split, **kwargs)


def default_collate(batch):
    """Stack per-pathway clips and labels of classification items; extra carries per-item "failed"
    flags (views that could not be decoded) and the number of replaced videos ("retries"). Items with
    k views (AUG.NUM_SAMPLE) count as k items; labels may be ints or multi-hot vectors (stacked)."""
    batch = [one for item in batch for one in _views(item)]
    inputs, labels, index, extra = zip(*batch)
    inputs = [torch.stack([x[p] for x in inputs]) for p in range(len(inputs[0]))]
    out_extra = {
        "failed": torch.tensor([bool(e.get("failed", False)) for e in extra]),
        "retries": int(sum(e.get("retries", 0) for e in extra)),
        "replaced_frames": int(sum(e.get("replaced_frames", 0) for e in extra)),  # frame-list datasets (Charades)
    }
    labels = torch.stack(labels) if torch.is_tensor(labels[0]) else torch.as_tensor(labels)
    return inputs, labels, torch.as_tensor(index), out_extra


def _views(item) -> list:
    """An item with k views (extra "num_samples", AUG.NUM_SAMPLE) as k single-view items (the replaced-video
    count kept on the first)."""
    inputs, label, index, extra = item
    k = extra.get("num_samples", 1)
    if k == 1:
        return [item]
    return [(inputs[i], label, index, {**extra, "retries": extra.get("retries", 0) if i == 0 else 0}) for i in range(k)]


def detection_collate(batch):
    """Stack clips; concatenate the boxes of all items with the item's batch position in front (`N x 5`)."""
    inputs, labels, index, extra = zip(*batch)
    inputs = [torch.stack([x[p] for x in inputs]) for p in range(len(inputs[0]))]
    boxes = [torch.cat([torch.full((len(e["boxes"]), 1), float(i)), torch.as_tensor(e["boxes"]).float()], 1)
             for i, e in enumerate(extra)]
    out_extra = {
        "boxes": torch.cat(boxes) if boxes else torch.zeros(0, 5),
        "ori_boxes": torch.cat([torch.as_tensor(e["ori_boxes"]).float() for e in extra]),
        "metadata": torch.cat([torch.as_tensor(e["metadata"]).long() for e in extra]),
        "retries": int(sum(e.get("retries", 0) for e in extra)),  # key frames replaced (unreadable frames)
        "replaced_frames": int(sum(e.get("replaced_frames", 0) for e in extra)),  # val / test: frame files
    }
    labels = torch.cat([torch.as_tensor(lb).float() for lb in labels])
    return inputs, labels, torch.as_tensor(index), out_extra


def build_loader(cfg, split: str, dataset: torch.utils.data.Dataset | None = None, **dataset_kwargs):
    """DataLoader for `split` with the per-process batch (total batch / processes) and a distributed
    sampler when several processes run. Training shuffles and drops the last partial batch (a ConfigError
    when that leaves no batch at all)."""
    train = split == "train"
    name = cfg.TRAIN.DATASET if split in ("train", "val") else cfg.TEST.DATASET
    if isinstance(dataset, shards.ShardedKinetics) or (
            dataset is None and name.lower() == "kinetics" and shards.uses_shards(cfg, split)):
        return shards.shard_loader(cfg, split, default_collate, dataset)  # webdataset shards: datasets.shards
    dataset = dataset if dataset is not None else build_dataset(name, cfg, split, **dataset_kwargs)
    total = cfg.TRAIN.BATCH_SIZE if split in ("train", "val") else cfg.TEST.BATCH_SIZE
    per_process = total // world_size(cfg)
    world, rank = du.get_world_size(), du.get_rank()
    multigrid = train and mgs.enabled(cfg)
    if multigrid:  # the largest batch of the schedule must fit, or some epochs would run 0 iterations
        total = mgd.largest_batch(cfg, mgs.schedule(cfg))
        per_process = total // world_size(cfg)
    if train and len(dataset) // world < per_process:
        # DistributedSampler and drop_last would give no batch: training would run 0 iterations and then
        # report the scores of an untrained model.
        what = "the largest multigrid batch (TRAIN.BATCH_SIZE x MULTIGRID factors)" if multigrid else "TRAIN.BATCH_SIZE"
        raise ConfigError(f"the {name} training split has {len(dataset)} items, fewer than one batch: {what} "
                          f"{total} over {world} process(es) is {per_process} per process and the last partial batch is "
                          f"dropped, so training would run 0 iterations; lower TRAIN.BATCH_SIZE or add training data")
    if train:
        # Epoch-seeded shuffling (set_epoch) also on one process, so a resumed run sees the same order;
        # DistributedSampler's permutation, and a resumed epoch can start after its first batches.
        sampler = ResumableDistributedSampler(
            dataset, num_replicas=world, rank=rank, shuffle=True, seed=cfg.RNG_SEED, drop_last=True)
    else:
        sampler = du.ShardedEvalSampler(dataset, num_replicas=world, rank=rank)
    collate = detection_collate if cfg.DETECTION.ENABLE else default_collate
    workers = cfg.DATA_LOADER.NUM_WORKERS
    if multigrid:  # batches of the first phase; engine.multigrid sets each phase
        batching = {"batch_sampler": mgd.MultigridBatchSampler(
            sampler, mgd.batch_pattern(cfg, mgs.schedule(cfg)[0], world_size(cfg)))}
    else:
        batching = {"batch_size": per_process, "sampler": sampler, "drop_last": train}
    return torch.utils.data.DataLoader(
        dataset,
        **batching,
        num_workers=workers,
        pin_memory=cfg.DATA_LOADER.PIN_MEMORY and cfg.NUM_GPUS > 0 and torch.cuda.is_available(),
        collate_fn=collate,
        persistent_workers=False,
        generator=torch.Generator().manual_seed(cfg.RNG_SEED),
        # NVDEC decoding (DATA.DECODING_DEVICE cuda) in workers: CUDA cannot run in forked processes.
        multiprocessing_context="spawn" if workers and cfg.DATA.DECODING_DEVICE == "cuda" else None,
    )


def shuffle_loader(loader, epoch: int, seed: int, start_iter: int = 0) -> None:
    """Position a training loader on epoch `epoch` from iteration `start_iter` on: the sampler's shuffle
    depends only on (seed, epoch), its first `start_iter` batches are skipped (never read), the workers'
    seeds depend only on (seed, epoch), and a dataset with `set_epoch` (per-item seeds: Kinetics, Charades;
    streaming datasets skip by themselves) gets `set_epoch(epoch, start_iter)`. So a resumed run sees
    exactly the data an uninterrupted run would, also from the middle of an epoch."""
    sampler = getattr(loader.batch_sampler, "sampler", loader.sampler)  # multigrid: inside the batch sampler
    if start_iter and not isinstance(sampler, ResumableDistributedSampler) and not hasattr(loader.dataset, "set_epoch"):
        raise ValueError(f"this loader cannot start an epoch at iteration {start_iter} (sampler {type(sampler).__name__})")
    if isinstance(sampler, ResumableDistributedSampler):
        if start_iter and loader.batch_size is None:  # a batch sampler of varying batches (multigrid)
            raise ValueError("a multigrid loader cannot start an epoch in its middle")
        sampler.set_epoch(epoch, start_iter * (loader.batch_size or 0))
    elif hasattr(sampler, "set_epoch"):
        sampler.set_epoch(epoch)
    if hasattr(loader.dataset, "set_epoch"):
        loader.dataset.set_epoch(epoch, start_iter)
    if loader.generator is not None:
        loader.generator.manual_seed(seed * 100003 + epoch)
