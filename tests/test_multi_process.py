"""Multi-process training as users launch it (gloo on CPU, issue 23): `torchrun --nproc_per_node 2
tools/run_net.py ...` and `tools/run_net.py ... NUM_PROCESSES 2` train the synthetic quick start's tiny model
with the results one process gives where the maths says they must agree.

Why 2 processes x 2 clips must end where 1 process x 4 clips does: the training sampler is
DistributedSampler's, so rank r's batch i holds positions 4i + r and 4i + 2 + r of the epoch's permutation
(the same permutation for any number of processes), and together the two ranks' batch i is exactly the
one process's batch i; items are seeded per item (RNG_SEED, epoch, video), so each clip is the same bit for
bit whichever process decodes it; the loss is a mean over the batch's clips and DDP averages the two
processes' gradients, which is the gradient of the mean over all 4 clips. BN.FREEZE True (BN uses its
running statistics, which never change) and no dropout remove the only per-process terms. What remains is
float summation order: parameters agree to 1e-5 (absolute) after an epoch of 4 steps.
"""
import json
import os
import subprocess
import sys

import pytest
import torch

from slowfast import checkpoint as cu
from slowfast.engine.launch import free_port
from test_kinetics_pipeline import TINY, data_dir, run_net, tiny_opts  # noqa: F401  (data_dir: a fixture)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTS = ["TEST.ENABLE", "False", "TRAIN.EVAL_PERIOD", "0", "BN.FREEZE", "True", "MODEL.DROPOUT_RATE", "0.0"]


@pytest.fixture(scope="module")
def one_process(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("one_process")
    run_net(tiny_opts(data_dir, out, *OPTS))
    return out


def clips_per_rank(out_dir) -> list[int]:
    lines = [line for line in open(os.path.join(out_dir, "log.txt")).read().splitlines()
             if 'json_stats: {"_type": "train_epoch"' in line]
    assert len(lines) == 1
    return json.loads(lines[0].split("json_stats: ", 1)[1])["clips_per_rank"]


def assert_same_training(one_dir, two_dir) -> None:
    """Every clip seen once over the ranks (16 = one process's count) and the same parameters."""
    assert clips_per_rank(one_dir) == [16] and clips_per_rank(two_dir) == [8, 8]
    one = cu.read_checkpoint(cu.checkpoint_path(str(one_dir), 1))["model_state"]
    two = cu.read_checkpoint(cu.checkpoint_path(str(two_dir), 1))["model_state"]
    assert one.keys() == two.keys()
    for k, v in one.items():
        torch.testing.assert_close(two[k], v, rtol=0, atol=1e-5, msg=k)
    steps = cu.read_checkpoint(cu.checkpoint_path(str(two_dir), 1))["optimizer_state"]["state"].values()
    assert any(float(s["momentum_buffer"].abs().max()) > 1e-3 for s in steps)  # it did train: not a trivial match


def test_num_processes_2_trains_the_quick_start_like_one_process_with_the_same_total_batch(data_dir, one_process,
                                                                                           tmp_path):
    run_net(tiny_opts(data_dir, tmp_path / "two", *OPTS, "NUM_PROCESSES", "2"))
    assert_same_training(one_process, tmp_path / "two")
    assert "4 iterations per epoch, 2 process(es)" in open(tmp_path / "two" / "log.txt").read()


def torchrun_2(data, out):
    """`torchrun --nproc_per_node 2 tools/run_net.py ...` over `data` into `out` (must exit 0)."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "tools/run_net.py", "--cfg", TINY, *tiny_opts(data, out, *OPTS)]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_PORT")}
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env={**env, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_torchrun_with_2_processes_trains_the_quick_start_like_one_process(data_dir, one_process, tmp_path):
    out = torchrun_2(data_dir, tmp_path / "torchrun")
    assert "4 iterations per epoch, 2 process(es)" in open(out / "log.txt").read()
    assert_same_training(one_process, out)


def test_torchrun_with_2_processes_trains_from_shards_and_sees_every_video_once(data_dir, tmp_path):
    """From shards (tools/make_shards.py) the two ranks read disjoint streams (the shard dataset's Rule):
    16 videos, 2 processes x 2 clips -> 8 clips each, the 16 one process sees. The order differs from the
    files' sampler, so only the count is the same here, not the parameters."""
    pytest.importorskip("webdataset", reason="sharded data needs webdataset (pip install -e .[shards])")
    from slowfast.data_prep.shards import make_shards

    shards = str(tmp_path / "shards")
    make_shards(data_dir, shards, shard_size=30_000)
    run_net(tiny_opts(shards, tmp_path / "one", *OPTS))
    out = torchrun_2(shards, tmp_path / "torchrun")
    assert clips_per_rank(tmp_path / "one") == [16] and clips_per_rank(out) == [8, 8]
    assert "4 iterations per epoch, 2 process(es)" in open(out / "log.txt").read()
