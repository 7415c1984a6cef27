"""Sharded Kinetics data, the checks around the loader (issue 23): tools/check_dataset.py --decode over shards
(folder and file:// URL), the dataset's log line, MODEL.NUM_CLASSES 0 over a URL, a garbage shard in a real
training run (the replaced count summed over loader workers) and a missing local shard refused before the run.
Tiny synthetic videos (32 px), the data of tests/test_shards.py."""
import io
import json
import logging
import os
import shutil
import tarfile

import pytest

pytest.importorskip("webdataset", reason="the shards extra is not installed: pip install -e .[shards]")

from test_shards import TINY, cfg_for, data, rewrite_shard, run_net  # noqa: E402,F401 - data: the fixture

from slowfast.data_prep.check import main as check_main, resolve_num_classes  # noqa: E402
from slowfast.datasets.shards import ShardedKinetics, load_index  # noqa: E402
from slowfast.formats import shards as fmt  # noqa: E402


def check(capsys, root, *argv):
    code = check_main(["--cfg", TINY, *argv, "DATA.PATH_TO_DATA_DIR", root, "DATA.GENERATE_SYNTHETIC", "False",
                       "MODEL.NUM_CLASSES", "4"])
    return code, capsys.readouterr().out


@pytest.fixture
def broken(data, tmp_path):
    """A copy of the shards with one garbage video, one wrong label, a cut shard and a deleted shard."""
    _, shards_dir = data
    root = str(tmp_path / "broken")
    shutil.copytree(shards_dir, root)
    train = json.load(open(os.path.join(root, "train.json")))
    assert len(train["shards"]) >= 4

    def change(name, payload):
        if name == "000000000.mp4":
            return b"garbage" * 40
        if name == "000000001.json":
            return json.dumps({**json.loads(payload), "label": 3 - json.loads(payload)["label"]}).encode()
        return payload

    rewrite_shard(os.path.join(root, "train-000000.tar"), change)
    with open(os.path.join(root, "train-000001.tar"), "r+b") as f:
        f.truncate(os.path.getsize(f.name) // 2 + 100)  # a cut download
    os.remove(os.path.join(root, "train-000002.tar"))
    return root


def test_check_dataset_decode_names_each_bad_sample_corrupt_and_missing_shard(data, broken, capsys):
    _, shards_dir = data
    assert check(capsys, shards_dir, "--decode")[0] == 0  # every split of the clean shards
    code, out = check(capsys, broken, "--decode", "--split", "train")
    lines = out.strip().splitlines()
    assert code == 1 and lines[-1].startswith("4 problem(s) in splits train"), out
    assert f"{broken}/train-000000.tar:000000000: video " in out and "cannot open" in out  # garbage video bytes
    label = [ln for ln in lines if ln.startswith(f"{broken}/train-000000.tar:000000001: label ")]
    assert label and "the index says" in label[0]
    assert f"{broken}/train-000001.tar: cannot be read after " in out and "the loader loses the others" in out
    assert f"{broken}/train-000002.tar: listed in {broken}/train.json" in out and "does not exist" in out
    # without --decode only the index and the shards' presence are checked (no shard is read)
    code, out = check(capsys, broken, "--split", "train")
    assert code == 1 and out.strip().splitlines()[-1].startswith("1 problem(s)") and "train-000002.tar" in out


def test_check_dataset_decode_counts_a_shards_samples_and_their_members(data, tmp_path, capsys):
    _, shards_dir = data
    root = tmp_path / "members"
    shutil.copytree(shards_dir, root)
    shard = str(root / "val-000000.tar")
    with tarfile.open(shard) as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]
    at = [name for name, _ in members].index("000000002.mp4") + 1
    members[at:at] = [("000000002.webm", b"x" * 10)]  # a second video in sample 2
    extra = [("000000009.json", json.dumps({"index": 9, "label": 0}).encode())]  # a sample the index lacks
    with tarfile.open(shard, "w") as tar:
        for name, payload in members + extra:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    code, out = check(capsys, str(root), "--decode", "--split", "val")
    assert code == 1 and out.strip().splitlines()[-1].startswith("2 problem(s)"), out
    assert f"{shard}: holds 6 samples, its index says 5" in out
    assert f"{shard}:000000002: 2 video members (mp4, webm), a sample holds one" in out


def test_check_dataset_decode_reads_shards_at_a_url(broken, capsys, caplog):
    caplog.set_level(logging.INFO, logger="slowfast.progress.check_shards")
    code, out = check(capsys, f"file://{broken}", "--decode", "--split", "train", "--json")
    found = json.loads(out)
    kinds = sorted(p["kind"] for p in found["problems"])
    assert code == 1 and kinds == ["corrupt_shard", "missing_shard", "shard_sample", "undecodable"], kinds
    missing = [p for p in found["problems"] if p["kind"] == "missing_shard"][0]
    assert missing["file"] == f"file://{broken}/train-000002.tar" and "cannot be read after 0" in missing["message"]
    assert "checking train shards 16/16 videos (100%)" in caplog.text  # progress (with an ETA while it runs)


def test_the_dataset_log_line_names_the_shard_index(data, tmp_path, caplog):
    _, shards_dir = data
    caplog.set_level(logging.INFO, logger="slowfast.datasets.kinetics")
    ShardedKinetics(cfg_for(shards_dir, tmp_path), "val")
    line = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ShardedKinetics val")][0]
    assert line.endswith(f"from the shard index {shards_dir}/val.json") and "val.csv" not in line


def test_num_classes_0_reads_classnames_json_over_a_url_or_says_what_is_missing(data, tmp_path, capsys):
    _, shards_dir = data
    root = tmp_path / "with_names"
    shutil.copytree(shards_dir, root)
    (root / "classnames.json").write_text(json.dumps({"up": 0, "down": 1, "left": 2, "right": 3, "still": 4}))
    cfg = resolve_num_classes(cfg_for(f"file://{root}", tmp_path, "MODEL.NUM_CLASSES", "0"))
    assert cfg.MODEL.NUM_CLASSES == 5
    with pytest.raises(ValueError, match=r"MODEL.NUM_CLASSES 0 reads the shards' classnames.json: "
                                         rf"file://{shards_dir}/classnames.json: cannot read"):
        resolve_num_classes(cfg_for(f"file://{shards_dir}", tmp_path, "MODEL.NUM_CLASSES", "0"))
    code, err = run_net(capsys, "DATA.PATH_TO_DATA_DIR", f"file://{shards_dir}", "MODEL.NUM_CLASSES", "0",
                        "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(tmp_path / "o"), "TRAIN.ENABLE", "False")
    assert code == 2 and "MODEL.NUM_CLASSES" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_missing_local_shard_is_a_one_line_preflight_error(broken, tmp_path, capsys):
    code, err = run_net(capsys, "DATA.PATH_TO_DATA_DIR", broken, "DATA.GENERATE_SYNTHETIC", "False",
                        "OUTPUT_DIR", str(tmp_path / "o"), "TEST.ENABLE", "False")
    assert code == 2 and f"lists shard {broken}/train-000002.tar, which does not exist" in err
    assert "Traceback" not in err and len([ln for ln in err.splitlines() if "train-000002" in ln]) == 1


def test_a_shard_missing_at_a_url_is_found_when_read_and_counted(data, tmp_path, caplog):
    _, shards_dir = data
    root = tmp_path / "url"
    shutil.copytree(shards_dir, root)
    os.remove(root / "train-000003.tar")  # a URL's shards are not listed before the run: found when read
    dataset = ShardedKinetics(cfg_for(f"file://{root}", tmp_path), "train")
    items = list(dataset)
    assert len(items) == dataset.quota == 16 and sum(extra["retries"] for *_, extra in items) == 4
    assert f"file://{root}/train-000003.tar cannot be read after 0 of its samples" in caplog.text


def padding_per_stream(index, seed, epoch, streams, batch, lost):
    """Rule 7: a stream that reads fewer than its quota repeats its own samples, each one counted."""
    order = fmt.shard_order(len(index.counts), seed, epoch)
    quota = fmt.train_quota(index.count, streams, batch)
    pieces = [fmt.slice_pieces(index.counts, order, *fmt.stream_bounds(index.count, streams, j)) for j in range(streams)]
    return [max(0, quota - sum(b - a for s, a, b in p if s not in lost)) for p in pieces], pieces


def test_garbage_shards_train_to_the_end_with_both_workers_replacements_summed(data, tmp_path, capsys):
    _, shards_dir = data
    root = str(tmp_path / "garbage")
    shutil.copytree(shards_dir, root)
    index = load_index(root, "train")
    _, pieces = padding_per_stream(index, 0, 0, 2, 2, set())
    lost = {pieces[0][0][0], pieces[1][0][0]}  # a shard read by each loader worker (stream) in epoch 0
    for shard in lost:
        with open(os.path.join(root, index.names[shard]), "wb") as f:
            f.write(b"not a tar file" * 300)  # same path, garbage bytes: the index still lists it
    padded, _ = padding_per_stream(index, 0, 0, 2, 4, lost)
    assert all(n > 0 for n in padded)
    out = tmp_path / "run"
    code, err = run_net(capsys, "DATA.PATH_TO_DATA_DIR", root, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR",
                        str(out), "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "2",
                        "SOLVER.MAX_EPOCH", "1", "TEST.ENABLE", "False", "TRAIN.EVAL_PERIOD", "10", "RNG_SEED", "0",
                        "LOG_MODEL_INFO", "False", "DATA.SHUFFLE_BUFFER", "4")
    assert code == 0, err
    log = open(out / "log.txt").read()
    assert all(f"{index.names[s]} cannot be read after 0 of its samples" in log for s in lost)
    assert f"epoch 1: {sum(padded)} unreadable videos were replaced by others" in log
    epoch = [json.loads(line.split("json_stats: ", 1)[1]) for line in log.splitlines()
             if '"_type": "train_epoch"' in line]
    assert epoch[-1]["replaced_videos"] == sum(padded) and epoch[-1]["epoch"] == "1/1"
    assert os.path.isfile(out / "checkpoints" / "checkpoint_epoch_00001.pyth")  # trained to the end
