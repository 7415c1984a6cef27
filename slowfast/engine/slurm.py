"""SLURM submission through submitit (a well-kept launcher library) instead of a home-made sbatch script.

One SLURM task per node; each task runs the usual launcher for its machine (NUM_GPUS processes, one
per GPU) as machine SHARD_ID = node index of NUM_SHARDS = number of nodes, all joined through
tcp://<first node>:<port>. submitit's "local" and "debug" clusters run the same job on this machine,
which is how the tests exercise it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from slowfast.config import load_config


@dataclass
class SlurmJob:
    """The callable submitit pickles and runs on every node."""

    cfg_file: str
    opts: list
    port: int = 29500

    def __call__(self) -> str:
        import submitit

        from slowfast.datasets.prepare import prepare_data
        from slowfast.engine.launch import launch_job
        from slowfast.engine.test import test
        from slowfast.engine.train import train

        env = submitit.JobEnvironment()
        nodes = max(1, env.num_nodes)
        master = env.hostnames[0] if env.hostnames else "127.0.0.1"
        opts = list(self.opts) + ["NUM_SHARDS", str(nodes), "SHARD_ID", str(env.node)]
        cfg = load_config(self.cfg_file, opts)
        init_method = f"tcp://{master}:{self.port}" if nodes > 1 else None
        if env.node == 0:
            prepare_data(cfg)
        if cfg.TRAIN.ENABLE:
            launch_job(cfg, train, init_method)
        if cfg.TEST.ENABLE:
            launch_job(cfg, test, init_method)
        return os.path.join(cfg.OUTPUT_DIR, "results.json")


def submit(cfg_file: str, opts: list, job_dir: str, nodes: int = 1, gpus_per_node: int = 8, partition: str = "",
           timeout_min: int = 4320, cpus_per_task: int = 10, mem_gb: int = 0, cluster: str | None = None,
           port: int = 29500, name: str = "slowfast"):
    """Submit `tools/run_net.py --cfg cfg_file opts...` to SLURM (or run it with cluster "local"/"debug").

    The config is loaded once here so that errors show before anything is queued. Returns the job.
    """
    import submitit

    load_config(cfg_file, list(opts) + ["NUM_SHARDS", str(nodes)])  # fail fast on a bad config
    executor = submitit.AutoExecutor(folder=job_dir, cluster=cluster)
    params = dict(name=name, timeout_min=timeout_min, nodes=nodes, tasks_per_node=1, cpus_per_task=cpus_per_task)
    if executor.cluster == "slurm":
        params.update(gpus_per_node=gpus_per_node, slurm_partition=partition or None)
        if mem_gb:
            params["mem_gb"] = mem_gb
    executor.update_parameters(**{k: v for k, v in params.items() if v is not None})
    return executor.submit(SlurmJob(cfg_file, list(opts), port))
