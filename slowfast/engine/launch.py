"""Start 1..N processes per machine and run a job in each.

- torchrun: when RANK / WORLD_SIZE / LOCAL_RANK are in the environment, the current process joins
  that group (init_method env://) and runs the job; torchrun's layout (LOCAL_WORLD_SIZE processes per
  machine, WORLD_SIZE in all) replaces NUM_GPUS / NUM_PROCESSES and NUM_SHARDS (`torchrun_overrides`), so
  TRAIN.BATCH_SIZE stays the total batch over all processes as with a spawned run.
- otherwise NUM_GPUS processes (one per GPU, NCCL) or NUM_PROCESSES CPU processes (gloo) are spawned
  on this machine, machine SHARD_ID of NUM_SHARDS, joined through --init_method tcp://HOST:PORT
  (default: a free local port when NUM_SHARDS is 1).
- with a single process in all, the job runs in this process without torch.distributed.
"""
from __future__ import annotations

import datetime
import logging
import os
import socket
import threading
from typing import Callable

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from slowfast.config import ConfigError

logger = logging.getLogger(__name__)
WAIT_LOG_PERIOD_SEC = 30.0  # how often a process waiting for the others says so


class DeviceUnavailableError(RuntimeError):
    """NUM_GPUS asks for more GPUs than this machine has (a configuration error)."""


def check_devices(cfg) -> None:
    """Raises DeviceUnavailableError when NUM_GPUS asks for more GPUs than this machine has."""
    if cfg.NUM_GPUS > 0 and torch.cuda.is_available() and torch.cuda.device_count() < cfg.NUM_GPUS:
        raise DeviceUnavailableError(f"NUM_GPUS is {cfg.NUM_GPUS} but only {torch.cuda.device_count()} GPUs are visible")
    if cfg.NUM_GPUS > 0 and not torch.cuda.is_available():
        raise DeviceUnavailableError(f"NUM_GPUS is {cfg.NUM_GPUS} but CUDA is not available on this machine; set "
                                     "NUM_GPUS 0 to run on CPU")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend_for(cfg) -> str:
    return cfg.DIST_BACKEND if cfg.NUM_GPUS > 0 else "gloo"


def _run_worker(local_rank: int, procs_per_machine: int, cfg, init_method: str, job: Callable) -> None:
    world = procs_per_machine * cfg.NUM_SHARDS
    rank = cfg.SHARD_ID * procs_per_machine + local_rank
    if cfg.NUM_GPUS > 0:
        torch.cuda.set_device(local_rank)
    init_group(cfg, init_method, world, rank)
    try:
        job(cfg)
    finally:
        dist.destroy_process_group()


def check_init_method(cfg, init_method: str | None) -> None:
    """A ConfigError (one line, saying what to pass) when several machines are asked for without
    --init_method (torchrun's processes bring their own rendezvous)."""
    torchrun = "WORLD_SIZE" in os.environ and "RANK" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    if cfg.NUM_SHARDS > 1 and init_method is None and not torchrun:
        raise ConfigError(f"NUM_SHARDS is {cfg.NUM_SHARDS} (machines) but no --init_method was given: pass "
                          "--init_method tcp://HOST:PORT, HOST the address of the machine with SHARD_ID 0, and the "
                          "same value on every machine (each with its own SHARD_ID)")


def init_group(cfg, init_method: str, world: int, rank: int) -> None:
    """`dist.init_process_group` that waits at most DIST_INIT_TIMEOUT_SEC for all `world` processes, logs
    every WAIT_LOG_PERIOD_SEC what it waits for, and turns a time-out into one ConfigError line."""
    timeout = cfg.DIST_INIT_TIMEOUT_SEC
    done = threading.Event()

    def say_waiting():
        waited = 0.0
        while not done.wait(WAIT_LOG_PERIOD_SEC):
            waited += WAIT_LOG_PERIOD_SEC
            logger.info("process %d waits for the %d processes of NUM_SHARDS %d machine(s) to join at %s "
                        "(%.0f of DIST_INIT_TIMEOUT_SEC %d s)", rank, world, cfg.NUM_SHARDS, init_method, waited, timeout)

    threading.Thread(target=say_waiting, daemon=True).start()
    try:
        dist.init_process_group(backend=backend_for(cfg), init_method=init_method, world_size=world, rank=rank,
                                timeout=datetime.timedelta(seconds=timeout))
    except RuntimeError as e:
        if "timeout" not in str(e).lower() and "timed out" not in str(e).lower():
            raise
        raise ConfigError(f"waited DIST_INIT_TIMEOUT_SEC {timeout} s for the {world} processes of NUM_SHARDS "
                          f"{cfg.NUM_SHARDS} machine(s) to join at {init_method}; start tools/run_net.py on every "
                          "machine with the same --init_method, or raise DIST_INIT_TIMEOUT_SEC") from e
    finally:
        done.set()


def under_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def torchrun_overrides(cfg) -> list[str]:
    """KEY VALUE overrides that make the config's process layout torchrun's (nothing outside torchrun, or when
    they already agree): NUM_GPUS (NUM_PROCESSES with NUM_GPUS 0) = LOCAL_WORLD_SIZE, NUM_SHARDS = machines,
    SHARD_ID = this machine's GROUP_RANK."""
    if not under_torchrun():
        return []
    world = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    key = "NUM_GPUS" if cfg.NUM_GPUS > 0 else "NUM_PROCESSES"
    layout = {key: local, "NUM_SHARDS": max(1, world // max(1, local)), "SHARD_ID": int(os.environ.get("GROUP_RANK", 0))}
    if all(getattr(cfg, k) == v for k, v in layout.items()):
        return []
    return [str(x) for kv in layout.items() for x in kv]


def launch_job(cfg, job: Callable, init_method: str | None = None) -> None:
    """Run `job(cfg)` in every process of the configured world."""
    if under_torchrun():
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        if cfg.NUM_GPUS > 0:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend_for(cfg), init_method="env://")
        try:
            job(cfg)
        finally:
            dist.destroy_process_group()
        return
    per_machine = cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else cfg.NUM_PROCESSES
    check_devices(cfg)
    if per_machine * cfg.NUM_SHARDS == 1:
        job(cfg)
        return
    if init_method is None:
        check_init_method(cfg, init_method)
        init_method = f"tcp://127.0.0.1:{free_port()}"
    mp.spawn(_run_worker, nprocs=per_machine, args=(per_machine, cfg, init_method, job), join=True)
