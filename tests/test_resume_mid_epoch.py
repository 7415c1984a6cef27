"""Per-item seeds and the exact resume in the middle of an epoch (issue 23): a training item is the same bit
for bit whatever the worker count or the process reading it, and a run stopped after a mid-epoch checkpoint
(TRAIN.CHECKPOINT_ITER_PERIOD) and resumed ends the epoch with the parameters of an uninterrupted run."""
import json
import os
import re

import pytest
import torch

from slowfast import checkpoint as cu
from slowfast.config import load_config
from slowfast.datasets.build import build_loader, shuffle_loader
from slowfast.utils import distributed as du
from test_kinetics_pipeline import TINY, data_dir, run_net, tiny_opts  # noqa: F401  (data_dir: a fixture)


def epoch_items(cfg, epoch: int) -> dict:
    """{video index: its clip tensors} of one process's share of training epoch `epoch`."""
    loader = build_loader(cfg, "train")
    shuffle_loader(loader, epoch, cfg.RNG_SEED)
    out = {}
    for inputs, _, index, _ in loader:
        for b, i in enumerate(index.tolist()):
            out[i] = [x[b] for x in inputs]
    return out


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(all(torch.equal(x, y) for x, y in zip(a[k], b[k])) for k in a)


def test_a_training_item_is_bit_identical_with_0_or_2_workers_and_from_either_of_2_ranks(data_dir, tmp_path,
                                                                                         monkeypatch):
    """Scale jitter and random crops on (the tiny config's 32-36 px jitter), so every item has random draws;
    the processes' own random streams are set apart on purpose."""
    def cfg(*extra):
        return load_config(TINY, tiny_opts(data_dir, tmp_path, *extra))

    torch.manual_seed(1)
    one = epoch_items(cfg(), 1)
    torch.manual_seed(2)
    two_workers = epoch_items(cfg("DATA_LOADER.NUM_WORKERS", "2"), 1)
    assert len(one) == 16 and same(one, two_workers)
    ranks = []
    for rank in (0, 1):
        monkeypatch.setattr(du, "get_world_size", lambda: 2)
        monkeypatch.setattr(du, "get_rank", lambda r=rank: r)
        torch.manual_seed(10 + rank)
        ranks.append(epoch_items(cfg("NUM_PROCESSES", "2"), 1))
    monkeypatch.undo()
    assert len(ranks[0]) == len(ranks[1]) == 8 and not ranks[0].keys() & ranks[1].keys()
    assert same(one, {**ranks[0], **ranks[1]})
    other_epoch = epoch_items(cfg(), 2)
    assert not all(torch.equal(one[k][0], other_epoch[k][0]) for k in one)  # the epoch is part of the seed


def stats_lines(out_dir, kind: str) -> list[dict]:
    lines = open(os.path.join(out_dir, "log.txt")).read().splitlines()
    return [json.loads(line.split("json_stats: ", 1)[1]) for line in lines if f'json_stats: {{"_type": "{kind}"' in line]


def stop_after_iteration_checkpoint(monkeypatch, name: str):
    """Raise KeyboardInterrupt (a kill) right after the checkpoint file `name` has been written."""
    original = cu.save_checkpoint

    def save_then_die(path, *args, **kwargs):
        out = original(path, *args, **kwargs)
        if os.path.basename(path) == name:
            raise KeyboardInterrupt("killed after " + name)
        return out

    monkeypatch.setattr(cu, "save_checkpoint", save_then_die)


OPTS = ["DATA.NUM_FRAMES", "4", "SOLVER.MAX_EPOCH", "2", "TEST.ENABLE", "False", "TRAIN.EVAL_PERIOD", "0", "LOG_PERIOD", "1",
        "TRAIN.CHECKPOINT_ITER_PERIOD", "2", "TRAIN.CHECKPOINT_KEEP", "0"]


@pytest.fixture(scope="module")
def shards_dir(data_dir, tmp_path_factory):
    pytest.importorskip("webdataset", reason="sharded data needs webdataset (pip install -e .[shards])")
    from slowfast.data_prep.shards import make_shards

    out = str(tmp_path_factory.mktemp("shards") / "shards")
    make_shards(data_dir, out, shard_size=30_000)
    return out


@pytest.mark.parametrize("workers,epochs,source", [("0", 2, "files"), ("2", 1, "files"), ("2", 1, "shards")])
def test_a_run_killed_after_a_mid_epoch_checkpoint_resumes_to_the_parameters_of_the_uninterrupted_run(
        data_dir, tmp_path, monkeypatch, request, workers, epochs, source):
    """4 iterations per epoch, a checkpoint every 2; the run dies right after the one of epoch 1, iteration 2,
    and the rerun continues at iteration 3 (the first 2 batches are not read again), then (2 epochs) trains
    epoch 2 with its own mid-epoch checkpoint. With 1 epoch, precise BN statistics are recomputed after it
    over the epoch's first batches (the ones the resumed run skipped) and saved in the epoch checkpoint.
    From shards (2 workers: 2 streams of 8 videos, 2 batches each) the shard dataset skips the first 2
    batches of the epoch's streams itself, without decoding them."""
    if source == "shards":
        data_dir = request.getfixturevalue("shards_dir")
    opts = [*OPTS, "DATA_LOADER.NUM_WORKERS", workers, "SOLVER.MAX_EPOCH", str(epochs)]
    if epochs == 1:
        opts += ["BN.USE_PRECISE_STATS", "True", "BN.NUM_BATCHES_PRECISE", "4"]
    run_net(tiny_opts(data_dir, tmp_path / "full", *opts))
    stop_after_iteration_checkpoint(monkeypatch, "checkpoint_epoch_00000_iter_000002.pyth")
    with pytest.raises(KeyboardInterrupt):
        run_net(tiny_opts(data_dir, tmp_path / "resumed", *opts))
    monkeypatch.undo()
    mid = cu.last_checkpoint(str(tmp_path / "resumed"))
    assert os.path.basename(mid) == "checkpoint_epoch_00000_iter_000002.pyth"
    state = cu.read_checkpoint(mid)["train_state"]
    assert (state["epoch"], state["next_iter"], state["iters_per_epoch"]) == (0, 2, 4)
    assert state["layout"]["world_size"] == 1 and state["layout"]["batch_per_process"] == 4
    first_part = len(stats_lines(tmp_path / "resumed", "train_iter"))
    run_net(tiny_opts(data_dir, tmp_path / "resumed", *opts))
    log = open(tmp_path / "resumed" / "log.txt").read()
    assert "resuming in the middle of an epoch: epoch 1, iteration 3 of 4" in log
    assert [s["iter"] for s in stats_lines(tmp_path / "resumed", "train_iter")[first_part:]] == \
        ["3/4", "4/4", "1/4", "2/4", "3/4", "4/4"][:2 + 4 * (epochs - 1)]
    for epoch in range(1, epochs + 1):
        full = cu.read_checkpoint(cu.checkpoint_path(str(tmp_path / "full"), epoch))
        resumed = cu.read_checkpoint(cu.checkpoint_path(str(tmp_path / "resumed"), epoch))
        for k, v in full["model_state"].items():
            torch.testing.assert_close(resumed["model_state"][k], v, rtol=0, atol=1e-6, msg=k)
        momentum = [s["momentum_buffer"] for s in full["optimizer_state"]["state"].values()]
        for a, b in zip(momentum, [s["momentum_buffer"] for s in resumed["optimizer_state"]["state"].values()]):
            torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
    # The resumed epoch's statistics cover the whole epoch (the checkpoint carried the first half's sums).
    full_epochs = stats_lines(tmp_path / "full", "train_epoch")
    resumed_epochs = stats_lines(tmp_path / "resumed", "train_epoch")
    assert [s["clips_per_rank"] for s in resumed_epochs] == [[16]] * epochs
    for a, b in zip(full_epochs, resumed_epochs):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5) and b["top1_err"] == pytest.approx(a["top1_err"])


def test_resuming_mid_epoch_with_another_batch_layout_is_one_line_naming_the_values(data_dir, tmp_path, monkeypatch,
                                                                                   capsys):
    opts = [*OPTS, "SOLVER.MAX_EPOCH", "1"]
    stop_after_iteration_checkpoint(monkeypatch, "checkpoint_epoch_00000_iter_000002.pyth")
    with pytest.raises(KeyboardInterrupt):
        run_net(tiny_opts(data_dir, tmp_path / "run", *opts))
    monkeypatch.undo()
    capsys.readouterr()
    from slowfast.apps.run_net import main

    assert main(["--cfg", TINY, *tiny_opts(data_dir, tmp_path / "run", *opts, "TRAIN.BATCH_SIZE", "2")]) == 2
    first = capsys.readouterr().err.strip().splitlines()[0]
    assert re.match(r"^error: cannot resume in the middle of an epoch \(epoch 1, iteration 3 of 4\) with another data "
                    r"layout: batch_per_process 4 -> 2, iterations per epoch 4 -> 8; .*TRAIN\.BATCH_SIZE.*move the "
                    r"mid-epoch checkpoint .* aside", first), first
    assert not os.path.exists(cu.checkpoint_path(str(tmp_path / "run"), 1))  # nothing trained


def test_mid_epoch_checkpoints_sort_between_epoch_checkpoints_and_are_kept_like_them(tmp_path):
    out = str(tmp_path)
    names = [cu.checkpoint_path(out, 2), cu.iteration_checkpoint_path(out, 1, 30), cu.checkpoint_path(out, 1),
             cu.iteration_checkpoint_path(out, 1, 100), cu.iteration_checkpoint_path(out, 0, 5)]
    os.makedirs(cu.checkpoint_dir(out))
    for n in names:
        open(n, "wb").close()
    assert [os.path.basename(p) for p in cu.list_checkpoints(out)] == [
        "checkpoint_epoch_00000_iter_000005.pyth", "checkpoint_epoch_00001.pyth",
        "checkpoint_epoch_00001_iter_000030.pyth", "checkpoint_epoch_00001_iter_000100.pyth",
        "checkpoint_epoch_00002.pyth"]
    assert sorted(os.listdir(cu.checkpoint_dir(out))) == [os.path.basename(p) for p in cu.list_checkpoints(out)]
    removed = cu.prune_checkpoints(out, 2, names)
    assert [os.path.basename(p) for p in cu.list_checkpoints(out)] == [
        "checkpoint_epoch_00001_iter_000100.pyth", "checkpoint_epoch_00002.pyth"] and len(removed) == 3


def test_the_iteration_period_is_checked_at_load_time():
    from slowfast.config.errors import ConfigError

    with pytest.raises(ConfigError, match="TRAIN.CHECKPOINT_ITER_PERIOD 3 must be a multiple of TRAIN.GRAD_ACCUM_STEPS 2"):
        load_config(TINY, ["TRAIN.CHECKPOINT_ITER_PERIOD", "3", "TRAIN.GRAD_ACCUM_STEPS", "2"])
    with pytest.raises(ConfigError, match="TRAIN.CHECKPOINT_ITER_PERIOD must be an integer >= 0"):
        load_config(TINY, ["TRAIN.CHECKPOINT_ITER_PERIOD", "-1"])
    with pytest.raises(ConfigError, match="not supported with MULTIGRID"):
        load_config(TINY, ["TRAIN.CHECKPOINT_ITER_PERIOD", "2", "MULTIGRID.SHORT_CYCLE", "True"])
