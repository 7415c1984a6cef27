"""torch.distributed helpers: rank/world queries that also work without a process group, gathering
of Python objects, and a sampler that shards an evaluation set without padding or duplicates."""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.distributed as dist


def is_dist() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_world_size() -> int:
    return dist.get_world_size() if is_dist() else 1


def get_rank() -> int:
    return dist.get_rank() if is_dist() else 0


def is_master() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_dist() and get_world_size() > 1:
        dist.barrier()


def all_gather_objects(obj: Any) -> list[Any]:
    """Every process's `obj`, in rank order (just [obj] without a process group)."""
    if not is_dist() or get_world_size() == 1:
        return [obj]
    out: list[Any] = [None] * get_world_size()
    dist.all_gather_object(out, obj)
    return out


def all_reduce_mean(values: list[float], device: torch.device | str = "cpu") -> list[float]:
    """Average a list of floats over all processes."""
    if not is_dist() or get_world_size() == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return (t / get_world_size()).tolist()


class ShardedEvalSampler(torch.utils.data.Sampler):
    """Rank r gets indices r, r + W, r + 2W, ...: every item exactly once over all ranks, no padding
    (unlike DistributedSampler, which repeats items to even out the shards)."""

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None):
        self.n = len(dataset)
        self.num_replicas = num_replicas if num_replicas is not None else get_world_size()
        self.rank = rank if rank is not None else get_rank()

    def __iter__(self):
        return iter(range(self.rank, self.n, self.num_replicas))

    def __len__(self) -> int:
        return max(0, math.ceil((self.n - self.rank) / self.num_replicas))


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The bare model inside DistributedDataParallel / DataParallel wrappers."""
    return model.module if hasattr(model, "module") and isinstance(model.module, torch.nn.Module) else model
