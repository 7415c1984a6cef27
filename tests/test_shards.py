"""Sharded Kinetics data (webdataset tar shards, issue 23): tools/make_shards.py, the streamed dataset's Rule
(disjoint streams, epoch order, resume, broken data), clips bit-identical to the files', and the test split's
results through run_net equal to the files' results. Tiny synthetic videos (32 px)."""
import io
import json
import os
import shutil
import tarfile

import numpy as np
import pytest
import torch

pytest.importorskip("webdataset", reason="the shards extra is not installed: pip install -e .[shards]")

from slowfast.config import load_config  # noqa: E402
from slowfast.data_prep.shards import main as make_shards_main  # noqa: E402
from slowfast.datasets.build import build_dataset, build_loader  # noqa: E402
from slowfast.datasets.shards import ShardedKinetics, shard_loader  # noqa: E402
from slowfast.datasets.synthetic import make_kinetics_synthetic  # noqa: E402
from slowfast.datasets.build import default_collate, shuffle_loader  # noqa: E402

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    data_dir, shards_dir = str(root / "data"), str(root / "shards")
    make_kinetics_synthetic(data_dir, num_classes=4, num_train=16, num_val=5, num_test=4, size=32, num_frames=24,
                            seed=0, num_workers=1)
    assert make_shards_main(["--data", data_dir, "--out", shards_dir, "--shard-size", "30KB"]) == 0
    return data_dir, shards_dir


def opts(root, out, *extra):
    return ["DATA.PATH_TO_DATA_DIR", root, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out),
            "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "2", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
            "TEST.NUM_ENSEMBLE_VIEWS", "2", "TEST.NUM_SPATIAL_CROPS", "3", "LOG_MODEL_INFO", "False", *extra]


def cfg_for(root, tmp_path, *extra):
    return load_config(TINY, opts(root, tmp_path, *extra))


def batches(loader):
    return [(b[2].tolist(), b[0][1].clone(), b[3]["retries"]) for b in loader]


# ------------------------------------------------------------------------------------------ writing
def test_make_shards_packs_every_video_byte_for_byte_with_an_index(data):
    data_dir, shards_dir = data
    index = json.load(open(os.path.join(shards_dir, "train.json")))
    assert index["count"] == 16 and index["skipped"] == [] and len(index["shards"]) >= 3
    assert [s["name"] for s in index["shards"]] == [f"train-{i:06d}.tar" for i in range(len(index["shards"]))]
    rows = open(os.path.join(data_dir, "train.csv")).read().split("\n")
    keys = []
    for shard in index["shards"]:
        path = os.path.join(shards_dir, shard["name"])
        assert os.path.getsize(path) == shard["bytes"]
        with tarfile.open(path) as tar:
            names = tar.getnames()
            assert len(names) == 2 * shard["count"]
            for name in names:
                key, ext = name.split(".", 1)
                meta = json.loads(tar.extractfile(f"{key}.json").read())
                assert meta["index"] == int(key) and rows[int(key)].startswith(meta["path"])
                if ext == "mp4":
                    with open(os.path.join(data_dir, meta["path"]), "rb") as f:
                        assert tar.extractfile(name).read() == f.read()
                    keys.append(int(key))
    assert keys == list(range(16))  # every row once, in CSV order


def test_an_unreadable_video_is_left_out_listed_and_counted(data, tmp_path, capsys):
    data_dir, _ = data
    bad_dir = tmp_path / "data"
    shutil.copytree(data_dir, bad_dir)
    (bad_dir / "broken.mp4").write_bytes(b"not a video" * 10)
    with open(bad_dir / "val.csv", "a") as f:
        f.write("broken.mp4 1\n")
    assert make_shards_main(["--data", str(bad_dir), "--out", str(tmp_path / "s"), "--splits", "val"]) == 0
    out = capsys.readouterr().out
    assert "1 unreadable video(s) left out" in out and "broken.mp4" in out
    index = json.load(open(tmp_path / "s" / "val.json"))
    assert index["count"] == 5 and [k["row"] for k in index["skipped"]] == [5]
    assert not os.path.exists(tmp_path / "s" / "train.json")  # --splits val only


@pytest.mark.parametrize("args, culprit", [
    (["--shard-size", "12XB"], "size '12XB' is not understood"),
    (["--splits", "train,bogus"], "unknown split 'bogus'"),
    (["--out", "{data}"], "--out folder"),
    (["--out", "{data}/videos/train"], "--out folder"),
])
def test_make_shards_bad_input_is_one_line_exit_2(data, tmp_path, capsys, args, culprit):
    data_dir, _ = data
    argv = ["--data", data_dir, "--out", str(tmp_path / "out")]
    argv += [a.replace("{data}", data_dir) for a in args]
    assert make_shards_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert culprit in err and len(err.splitlines()) == 1 and "Traceback" not in err


# ------------------------------------------------------------------------------------------ reading
def test_shard_clips_are_bit_identical_to_the_files_clips(data, tmp_path):
    data_dir, shards_dir = data
    for split, epoch in (("train", 3), ("test", 0)):
        shards = ShardedKinetics(cfg_for(shards_dir, tmp_path), split)
        shards.set_epoch(epoch)
        files = build_dataset("kinetics", cfg_for(data_dir, tmp_path), split)
        files.set_epoch(epoch)  # the same per-item seeds (datasets.seeding) as the shards' items
        views = {}
        for inputs, label, index, _ in shards:
            view = views.get(index, 0)
            views[index] = view + 1
            ref = files[index * files.views_per_video + view]
            assert label == ref[1] and all(torch.equal(a, b) for a, b in zip(inputs, ref[0])), (split, index, view)
        assert views == {i: files.views_per_video for i in range(files.num_videos)}


def rank_loaders(shards_dir, tmp_path, split, batch, world=2, workers=2, **kw):
    cfg = cfg_for(shards_dir, tmp_path, "DATA_LOADER.NUM_WORKERS", str(workers), "DATA.SHUFFLE_BUFFER", "4")
    return [shard_loader(cfg, split, default_collate,
                         ShardedKinetics(cfg, split, rank=r, world_size=world, batch_size=batch, **kw))
            for r in range(world)]


def test_two_ranks_by_two_workers_val_reads_every_video_exactly_once(data, tmp_path):
    _, shards_dir = data
    seen = []
    for loader in rank_loaders(shards_dir, tmp_path, "val", batch=2):
        got = batches(loader)
        assert len(got) == len(loader)  # every worker batches its own stream: 5 videos -> 2+1 | 1 | 1 | 1 batches
        seen.append([i for b in got for i in b[0]])
    assert sorted(seen[0] + seen[1]) == list(range(5)) and not set(seen[0]) & set(seen[1])


def test_two_ranks_by_two_workers_train_every_video_at_most_once_same_iterations(data, tmp_path):
    _, shards_dir = data
    per_rank = [batches(loader) for loader in rank_loaders(shards_dir, tmp_path, "train", batch=3)]
    assert [len(b) for b in per_rank] == [2, 2]  # 16 videos / 4 streams = 4 each -> one batch of 3 per worker
    seen = [i for got in per_rank for b in got for i in b[0]]
    assert len(seen) == len(set(seen)) == 12  # at most once; 4 left out < S x batch = 12


def test_epochs_are_deterministic_and_differ(data, tmp_path):
    _, shards_dir = data
    cfg = cfg_for(shards_dir, tmp_path, "DATA.SHUFFLE_BUFFER", "4")

    def order(epoch):
        ds = ShardedKinetics(cfg, "train")
        ds.set_epoch(epoch)
        return [b[0] for b in batches(shard_loader(cfg, "train", default_collate, ds))]

    assert order(1) == order(1) and order(1) != order(2)
    assert sorted(i for b in order(1) for i in b) == list(range(16))


def test_set_epoch_resumes_at_batch_k_without_decoding_the_rest(data, tmp_path, monkeypatch):
    _, shards_dir = data
    cfg = cfg_for(shards_dir, tmp_path, "DATA_LOADER.NUM_WORKERS", "2", "DATA.SHUFFLE_BUFFER", "4")
    full = build_loader(cfg, "train")
    shuffle_loader(full, 2, cfg.RNG_SEED)  # what the training loop calls each epoch (datasets.build)
    whole = batches(full)
    assert len(whole) == len(full) == 8
    resumed = build_loader(cfg, "train")
    shuffle_loader(resumed, 2, cfg.RNG_SEED, 3)  # resumed at iteration 3 of epoch 2
    decoded = []
    original = ShardedKinetics._decode
    monkeypatch.setattr(ShardedKinetics, "_decode", lambda self, *a: decoded.append(a[1]) or original(self, *a))
    rest = batches(resumed)  # workers fork after the patch: their counts stay in them; count in-process below
    assert [b[0] for b in rest] == [b[0] for b in whole[3:]]
    assert all(torch.equal(a[1], b[1]) for a, b in zip(rest, whole[3:]))
    inline = ShardedKinetics(cfg_for(shards_dir, tmp_path, "DATA.SHUFFLE_BUFFER", "4"), "train")
    inline.set_epoch(2, 5)
    decoded.clear()
    assert len(list(inline)) == 16 - 5 * 2 and len(decoded) == 6  # the first 5 batches were not decoded


# ------------------------------------------------------------------------------------------ broken data
def rewrite_shard(path, change):
    """Rewrite the tar at ``path`` with ``change(name, data) -> data``."""
    with tarfile.open(path) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(path, "w") as tar:
        for name, payload in members:
            payload = change(name, payload)
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def test_a_corrupt_shard_and_a_corrupt_video_are_skipped_and_counted(data, tmp_path, caplog):
    _, shards_dir = data
    broken = str(tmp_path / "shards")
    shutil.copytree(shards_dir, broken)
    first = os.path.join(broken, "train-000000.tar")
    rewrite_shard(first, lambda name, d: b"garbage" * 50 if name.endswith(".mp4") and name.startswith("000000000")
                  else d)
    with open(os.path.join(broken, "train-000001.tar"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) // 2)  # a cut download
    cfg = cfg_for(broken, tmp_path)
    loader = build_loader(cfg, "train")
    got = batches(loader)
    assert len(got) == len(loader) == 8  # the stream still yields its batches (padded from its own samples)
    assert sum(b[2] for b in got) >= 1 + 1  # the garbage video's replacement + at least one padded item
    assert "train-000001.tar cannot be read" in caplog.text and "000000000" in caplog.text
    # test split: a garbage video gives failed views, a garbage shard gives none, never a hang
    rewrite_shard(os.path.join(broken, "test-000000.tar"),
                  lambda name, d: b"garbage" if name == "000000001.mp4" else d)
    items = list(ShardedKinetics(cfg, "test"))
    failed = {i for _, _, i, e in items if e["failed"]}
    assert len(items) == 4 * 6 and failed == {1}
    with open(os.path.join(broken, "val-000000.tar"), "wb") as f:
        f.write(b"not a tar file" * 100)
    assert list(ShardedKinetics(cfg, "val")) == [] and "val-000000.tar cannot be read" in caplog.text


# ------------------------------------------------------------------------------------------ run_net
def run_net(capsys, *argv):
    from slowfast.apps.run_net import main

    code = main(["--cfg", TINY, *argv])
    return code, capsys.readouterr().err


def test_run_net_bad_shard_sources_are_named_exit_2(data, tmp_path, capsys):
    data_dir, shards_dir = data
    common = ["TRAIN.ENABLE", "False", "OUTPUT_DIR", str(tmp_path / "o"), "DATA.GENERATE_SYNTHETIC", "False"]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = run_net(capsys, *common, "DATA.PATH_TO_DATA_DIR", str(empty), "DATA.FORMAT", "shards")
    assert code == 2 and f"{empty}/test.json: no shard index for the test split" in err and "Traceback" not in err
    other = tmp_path / "other"
    shutil.copytree(shards_dir, other)
    index = json.load(open(other / "test.json"))
    json.dump({**index, "version": 99}, open(other / "test.json", "w"))
    code, err = run_net(capsys, *common, "DATA.PATH_TO_DATA_DIR", str(other))
    assert code == 2 and "shard index format version 99" in err
    json.dump(index, open(other / "test.json", "w"))
    (other / "test.csv").write_text("some/other.mp4 0\n")  # the dataset the index names changed since
    code, err = run_net(capsys, *common, "DATA.PATH_TO_DATA_DIR", str(other))
    assert code == 2 and "another version of the dataset" in err
    code, err = run_net(capsys, *common, "DATA.PATH_TO_DATA_DIR", shards_dir, "MULTIGRID.SHORT_CYCLE", "True",
                        "TRAIN.ENABLE", "True", "DATA.FORMAT", "shards")
    assert code == 2 and "MULTIGRID needs random access" in err and len(err.strip().splitlines()) <= 2


def test_the_test_split_over_shards_gives_the_files_results(data, tmp_path, capsys):
    from demo_fixtures import config_with_checkpoint

    data_dir, shards_dir = data
    cfg = config_with_checkpoint(tmp_path, TINY, "DATA.PATH_TO_DATA_DIR", data_dir, "DATA.NUM_FRAMES", "8",
                                 "LOG_MODEL_INFO", "False")
    results = {}
    # ("gloo", shards_dir, 2) passes too (2 processes, gathered by the test loop) but takes ~35 s more on 2 cores;
    # test_two_test_ranks_gathered_give_the_one_process_scores checks the same split and gathering in-process.
    for name, root, processes in (("files", data_dir, 1), ("shards", shards_dir, 1)):
        out = tmp_path / name
        code, err = run_net(capsys, "DATA.PATH_TO_DATA_DIR", root, "DATA.GENERATE_SYNTHETIC", "False",
                            "NUM_PROCESSES", str(processes),
                            "OUTPUT_DIR", str(out), "DATA.NUM_FRAMES", "8", "LOG_MODEL_INFO", "False",
                            "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", cfg.TEST.CHECKPOINT_FILE_PATH,
                            "TEST.BATCH_SIZE", "6", "DATA_LOADER.NUM_WORKERS", "0", "TEST.NUM_SPATIAL_CROPS", "1")
        assert code == 0, err
        scores = np.load(out / "test_scores.npz")
        results[name] = (json.load(open(out / "results.json")), scores["scores"], scores["labels"], scores["num_views"])
    (rf, sf, lf, vf), (rs, ss, ls, vs) = results["files"], results["shards"]
    assert np.array_equal(sf, ss) and np.array_equal(lf, ls) and np.array_equal(vf, vs) and vs.tolist() == [2] * 4
    assert rf["top1_acc"] == rs["top1_acc"] and rf["num_videos"] == rs["num_videos"] == 4
    if "gloo" in results:  # 2 processes, each streaming its own slice: per-process batches sum in another order
        r2, s2, l2, v2 = results["gloo"]
        assert np.array_equal(l2, lf) and np.array_equal(v2, vf) and r2["top1_acc"] == rf["top1_acc"]
        np.testing.assert_allclose(s2, sf, rtol=1e-5, atol=1e-6)


def test_a_file_url_reads_the_same_items_as_the_folder(data, tmp_path):
    _, shards_dir = data
    cfg = cfg_for(f"file://{shards_dir}", tmp_path)
    from_url, from_dir = ShardedKinetics(cfg, "val"), ShardedKinetics(cfg_for(shards_dir, tmp_path), "val")
    for a, b in zip(from_url, from_dir, strict=True):
        assert a[2] == b[2] and all(torch.equal(x, y) for x, y in zip(a[0], b[0]))
    missing = cfg_for(f"file://{tmp_path}/nowhere", tmp_path)
    with pytest.raises(ValueError, match=r"nowhere/val.json: cannot read the shard index"):
        ShardedKinetics(missing, "val")


def test_two_test_ranks_gathered_give_the_one_process_scores(data, tmp_path):
    """The test loop's gathering (per-rank aggregators merged) over shards read by 2 ranks x 2 workers."""
    from slowfast.evaluation.classification import VideoAggregator

    _, shards_dir = data

    def scores(loader, agg):
        for inputs, labels, index, extra in loader:
            agg.add(index.numpy(), inputs[1].float().mean((2, 3, 4)).repeat(1, 2)[:, :4].numpy(), labels.numpy(),
                    extra["failed"].numpy())
        return agg

    parts = [scores(loader, VideoAggregator(4, 4, "sum")) for loader in rank_loaders(shards_dir, tmp_path, "test", 5)]
    parts[0].merge(parts[1])
    one = scores(build_loader(cfg_for(shards_dir, tmp_path), "test"), VideoAggregator(4, 4, "sum"))
    assert parts[0].views.tolist() == one.views.tolist() == [6] * 4
    np.testing.assert_allclose(parts[0].scores, one.scores, rtol=1e-6)


def test_multi_label_shards_carry_the_label_sets(data, tmp_path, capsys):
    data_dir, _ = data
    multi = tmp_path / "multi"
    multi.mkdir()
    rows = [line.split()[0] for line in open(os.path.join(data_dir, "val.csv")).read().splitlines()]
    labels = ["0,2", "1", "3,1,0", "2", "0"]
    (multi / "val.csv").write_text("".join(f"{os.path.join(data_dir, p)} {lb}\n" for p, lb in zip(rows, labels)))
    assert make_shards_main(["--data", str(multi), "--out", str(tmp_path / "s"), "--multi-label"]) == 0
    cfg = cfg_for(str(tmp_path / "s"), tmp_path, "DATA.MULTI_LABEL", "True", "MODEL.LOSS_FUNC", "bce",
                  "MODEL.HEAD_ACT", "sigmoid")
    got = {index: label.nonzero().flatten().tolist() for _, label, index, _ in ShardedKinetics(cfg, "val")}
    assert got == {i: sorted(int(x) for x in lb.split(",")) for i, lb in enumerate(labels)}
    with pytest.raises(ValueError, match=r"val.json: packed with multi_label True but DATA.MULTI_LABEL is False"):
        ShardedKinetics(cfg_for(str(tmp_path / "s"), tmp_path), "val")


def test_shards_decoded_by_torchcodec_give_the_files_pyav_clips(data, tmp_path):
    """Shard bytes go through DATA.DECODING_BACKEND like files do: TorchCodec on shards == PyAV on files."""
    from slowfast.datasets import torchcodec_decoder

    try:
        torchcodec_decoder.load_torchcodec()
    except torchcodec_decoder.TorchCodecUnavailable as err:
        pytest.skip(f"TorchCodec cannot decode here: {err}")
    data_dir, shards_dir = data
    shards = ShardedKinetics(cfg_for(shards_dir, tmp_path, "DATA.DECODING_BACKEND", "torchcodec"), "train")
    shards.set_epoch(1)
    files = build_dataset("kinetics", cfg_for(data_dir, tmp_path), "train")
    files.set_epoch(1)
    count = 0
    for inputs, label, index, _ in shards:
        ref = files[index]
        assert label == ref[1] and all(torch.equal(a, b) for a, b in zip(inputs, ref[0])), index
        count += 1
    assert count == files.num_videos
