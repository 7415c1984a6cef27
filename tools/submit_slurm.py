#!/usr/bin/env python3
"""Submit a training/testing run to SLURM with submitit (one task per node, NUM_GPUS processes each).

    python tools/submit_slurm.py --cfg configs/Kinetics/K600/SLOWFAST_16x8_R101_NL.yaml --nodes 16 \
        --gpus-per-node 8 --partition learnfair --job-dir jobs/k600_sf16x8 [KEY VALUE ...]

`--cluster local` (or `debug`) runs the same job on this machine, e.g. to check a config end to end.
"""
import argparse
import sys
import warnings

import _path  # noqa: F401

warnings.filterwarnings("ignore", category=FutureWarning)

from slowfast.config import ConfigError  # noqa: E402
from slowfast.engine.slurm import submit  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cfg", required=True, help="config YAML file")
    p.add_argument("--job-dir", required=True, help="submitit folder for logs and pickles")
    p.add_argument("--nodes", type=int, default=1)
    p.add_argument("--gpus-per-node", type=int, default=8)
    p.add_argument("--partition", default="")
    p.add_argument("--timeout-min", type=int, default=4320)
    p.add_argument("--cpus-per-task", type=int, default=10)
    p.add_argument("--mem-gb", type=int, default=0)
    p.add_argument("--port", type=int, default=29500, help="rendezvous port on the first node")
    p.add_argument("--cluster", default=None, choices=[None, "slurm", "local", "debug"], help="default: auto")
    p.add_argument("--wait", action="store_true", help="wait for the job and print its result")
    p.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = p.parse_args(argv)
    try:
        job = submit(args.cfg, args.opts, args.job_dir, args.nodes, args.gpus_per_node, args.partition,
                     args.timeout_min, args.cpus_per_task, args.mem_gb, args.cluster, args.port)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    print(f"submitted job {job.job_id}; logs in {args.job_dir}")
    if args.wait:
        print(job.result())
    return 0


if __name__ == "__main__":
    sys.exit(main())
