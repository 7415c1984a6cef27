"""Kinetics classification end to end (report, section 3): data, training, resuming, distributed
training and multi-view testing, on tiny synthetic videos."""
import json
import os
import pickle
import re
from fractions import Fraction

import numpy as np
import pytest
import torch

from slowfast import checkpoint as cu
from slowfast.config import load_config
from slowfast.datasets.build import build_dataset, build_loader
from slowfast.datasets.kinetics import DatasetFormatError, read_video_list
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.datasets.validation import UnreadableDataError
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.datasets.video_encode import codec_available, write_video
from slowfast.evaluation.classification import VideoAggregator
from slowfast.utils.distributed import ShardedEvalSampler

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("kinetics") / "data")
    make_kinetics_synthetic(d, num_classes=4, num_train=16, num_val=4, num_test=4, size=32, num_frames=40, seed=0,
                            num_workers=1)
    return d


def tiny_opts(data_dir, out_dir, *extra):
    return [
        "DATA.PATH_TO_DATA_DIR", data_dir, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(out_dir),
        "DATA.NUM_FRAMES", "8", "DATA.TRAIN_JITTER_SCALES", "[32, 36]", "DATA.TRAIN_CROP_SIZE", "32",
        "DATA.TEST_CROP_SIZE", "32", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0",
        "TEST.NUM_ENSEMBLE_VIEWS", "2", "TEST.NUM_SPATIAL_CROPS", "3", "SOLVER.MAX_EPOCH", "1",
        "SOLVER.WARMUP_EPOCHS", "0.5", "LOG_PERIOD", "2", "LOG_MODEL_INFO", "False", "TRAIN.EVAL_PERIOD", "1",
        *extra,
    ]


def run_net(opts):
    from slowfast.apps.run_net import main

    assert main(["--cfg", TINY, *opts]) == 0


# ------------------------------------------------------------------------------------------- data
def test_csv_errors_name_file_and_line(tmp_path):
    p = tmp_path / "train.csv"
    p.write_text("a.mp4 0\nb.mp4 zero\n")
    with pytest.raises(DatasetFormatError, match=r"train\.csv line 2: label 'zero' is not an integer"):
        read_video_list(str(p))
    p.write_text("a.mp4\n")
    with pytest.raises(DatasetFormatError, match=r"train\.csv line 1: expected 'path label'"):
        read_video_list(str(p))


def test_paths_are_joined_to_the_prefix(tmp_path):
    p = tmp_path / "val.csv"
    p.write_text("x/a.mp4 3\n")
    assert read_video_list(str(p), prefix="/videos") == [("/videos/x/a.mp4", 3)]
    assert read_video_list(str(p)) == [(str(tmp_path / "x/a.mp4"), 3)]


def test_train_items_pack_slow_and_fast_pathways(data_dir, tmp_path):
    cfg = load_config(TINY, tiny_opts(data_dir, tmp_path, "DATA.SLOW_PATHWAY_SAMPLING", "linspace"))
    ds = build_dataset("kinetics", cfg, "train")
    inputs, label, idx, extra = ds[0]
    slow, fast = inputs
    assert fast.shape == (3, 8, 32, 32) and slow.shape == (3, 2, 32, 32)
    torch.testing.assert_close(slow, fast[:, [0, 7]])  # PySlowFast's Slow frames: linspace(0, T-1, T/alpha)
    assert 0 <= label < 4 and not extra["failed"]


@pytest.mark.parametrize("reverse", [False, True])
def test_training_clips_travel_as_uint8_and_the_model_makes_the_same_floats_on_its_device(data_dir, tmp_path,
                                                                                          reverse):
    """DATA.NORMALIZE_ON_DEVICE: the loader ships uint8 clips (4x less data); the model normalises them on
    its device to exactly the floats the loader makes with the option off (same random views), channel
    reversal (DATA.REVERSE_INPUT_CHANNEL) and per-channel statistics included, so the scores match too."""
    from slowfast.datasets.build import default_collate
    from slowfast.models import build_model, optimize_for_inference

    stats = ["DATA.MEAN", "[0.40, 0.45, 0.50]", "DATA.STD", "[0.20, 0.225, 0.25]",
             "DATA.REVERSE_INPUT_CHANNEL", str(reverse)]
    batches = {}
    for on_device in (True, False):
        cfg = load_config(TINY, tiny_opts(data_dir, tmp_path, *stats, "DATA.NORMALIZE_ON_DEVICE", str(on_device)))
        ds = build_dataset("kinetics", cfg, "train")
        torch.manual_seed(3)
        batches[on_device] = default_collate([ds[i] for i in range(3)])[0]
    shipped, want = batches[True], batches[False]
    assert all(x.dtype == torch.uint8 for x in shipped) and all(x.dtype == torch.float32 for x in want)
    torch.manual_seed(0)
    model = build_model(cfg, device="cpu").eval()
    assert all(torch.equal(g, w) for g, w in zip(model.normalize_inputs(shipped), want))
    assert "pixel_mean" not in model.state_dict()  # checkpoints keep PySlowFast's keys
    with torch.no_grad():
        torch.testing.assert_close(model(shipped), model(want), rtol=0, atol=0)
        fast = optimize_for_inference(model)
        torch.testing.assert_close(fast(shipped), fast(want), rtol=0, atol=0)


def test_the_uint8_training_options_leave_test_and_fixed_val_views_exactly_as_they_were(data_dir, tmp_path):
    """Test views (3 crops x 2 clips) and DATA.VAL_VIEW fixed views are the reference protocol's float
    views, bit for bit, whatever DATA.UINT8_TRAIN_PIPELINE / DATA.NORMALIZE_ON_DEVICE say."""
    views = {}
    for fast in (True, False):
        cfg = load_config(TINY, tiny_opts(data_dir, tmp_path, "DATA.VAL_VIEW", "fixed",
                                          "DATA.UINT8_TRAIN_PIPELINE", str(fast), "DATA.NORMALIZE_ON_DEVICE", str(fast)))
        test, val = build_dataset("kinetics", cfg, "test"), build_dataset("kinetics", cfg, "val")
        views[fast] = [test[i][0] for i in range(6)] + [val[i][0] for i in range(2)]
    for a, b in zip(views[True], views[False]):
        assert all(x.dtype == torch.float32 and torch.equal(x, y) for x, y in zip(a, b))


def test_test_split_has_every_view_of_every_video(data_dir, tmp_path):
    cfg = load_config(TINY, tiny_opts(data_dir, tmp_path))
    ds = build_dataset("kinetics", cfg, "test")
    assert len(ds) == 4 * 6 and ds.views_per_video == 6
    seen = [ds[i][2] for i in range(len(ds))]
    assert seen == [v for v in range(4) for _ in range(6)]


def test_corrupt_video_is_replaced_in_training_and_flagged_in_testing(data_dir, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00not a video at all" * 10)
    good = read_video_list(os.path.join(data_dir, "train.csv"))[0]
    for split in ("train", "test"):
        (tmp_path / f"{split}.csv").write_text(f"{bad} 1\n{good[0]} {good[1]}\n")
    opts = tiny_opts(str(tmp_path), tmp_path / "out")
    cfg = load_config(TINY, opts)
    ds = build_dataset("kinetics", cfg, "train")
    torch.manual_seed(0)
    _, label, idx, extra = ds[0]
    assert idx == 1 and label == good[1] and extra["retries"] >= 1
    test_ds = build_dataset("kinetics", cfg, "test")
    _, _, vid, extra = test_ds[0]
    assert vid == 0 and extra["failed"]
    loader = build_loader(cfg, "test", dataset=test_ds)
    failed = torch.cat([b[3]["failed"] for b in loader])
    assert failed.sum() == 6 and len(failed) == 12


def test_a_training_video_still_unreadable_after_max_decode_retries_is_a_one_line_input_error(tmp_path, capsys):
    """The data error type of AVA's replaced key frames (exit status 2, one line), not a bare RuntimeError,
    also when raised in a DataLoader worker."""
    bad, worse = tmp_path / "bad.mp4", tmp_path / "worse.mp4"
    for path in (bad, worse):
        path.write_bytes(b"\x00not a video at all" * 10)
    for split in ("train", "val", "test"):
        (tmp_path / f"{split}.csv").write_text(f"{bad} 1\n{worse} 2\n")
    opts = tiny_opts(str(tmp_path), tmp_path / "out", "DATA.MAX_DECODE_RETRIES", "2")
    ds = build_dataset("kinetics", load_config(TINY, opts), "train")
    message = r"^3 unreadable videos in a row \(last: .*(bad|worse)\.mp4: .*\); check the dataset \(DATA\.MAX_DECODE_RETRIES = 2\)$"
    with pytest.raises(UnreadableDataError, match=message) as caught:
        ds[0]
    assert isinstance(caught.value.__cause__, VideoDecodeError) and caught.value.__cause__.path in (str(bad), str(worse))
    assert caught.value.__cause__.path in str(caught.value)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is UnreadableDataError and str(copy) == str(caught.value)
    from slowfast.apps.run_net import main

    assert main(["--cfg", TINY, *opts, "DATA_LOADER.NUM_WORKERS", "1", "TRAIN.BATCH_SIZE", "1", "TEST.ENABLE", "False"]) == 2
    first, *rest = capsys.readouterr().err.strip().splitlines()
    assert re.match("^error: " + message[1:], first) and "Traceback" not in first and len(rest) == 1


# ------------------------------------------------------------------------------------------- eval
def test_sharded_evaluation_sees_each_item_exactly_once():
    items = list(range(10))
    shards = [list(ShardedEvalSampler(items, num_replicas=3, rank=r)) for r in range(3)]
    assert sorted(sum(shards, [])) == items
    assert [len(ShardedEvalSampler(items, 3, r)) for r in range(3)] == [4, 3, 3]


def test_view_aggregation_counts_each_video_once_across_processes():
    """DATA.ENSEMBLE_METHOD "sum" adds the decoded views' scores as PySlowFast's TestMeter does; "mean"
    divides by the number of decoded views; "max" takes the element-wise max."""
    def views(method):
        a, b = VideoAggregator(2, 3, method), VideoAggregator(2, 3, method)
        a.add([0, 0, 1], [[1, 0, 0], [0.5, 0.5, 0], [0, 0, 1]], [0, 0, 2])
        b.add([1, 0], [[0, 1, 0], [0, 0, 1]], [2, 0], failed=[False, True])
        a.merge(b)
        return a

    np.testing.assert_allclose(views("sum").video_scores(), [[1.5, 0.5, 0], [0, 1, 1]])
    np.testing.assert_allclose(views("mean").video_scores(), [[0.75, 0.25, 0], [0, 0.5, 0.5]])
    np.testing.assert_allclose(views("max").video_scores(), [[1, 0.5, 0], [0, 1, 1]])
    a = views("sum")
    r = a.results(expected_views=3)
    assert r["num_videos"] == 2 and r["num_failed_views"] == 1 and r["videos_with_missing_views"] == 1
    assert r["top1_acc"] == 50.0 and r["top5_acc"] == 100.0 and r["avg_err"] == 25.0


# ------------------------------------------------------------------------------------------- loops
def test_train_then_test_end_to_end_writes_results(data_dir, tmp_path):
    out = tmp_path / "run"
    run_net(tiny_opts(data_dir, out, "TENSORBOARD.ENABLE", "True"))
    assert os.path.isfile(cu.checkpoint_path(str(out), 1))
    results = json.load(open(out / "results.json"))
    for key in ("top1_acc", "top5_acc", "avg_err", "num_classes", "num_videos", "views", "gflops_per_view"):
        assert key in results
    assert results["num_videos"] == 4 and results["views"] == 6 and results["num_classes"] == 4
    scores = np.load(out / "test_scores.npz")
    assert scores["scores"].shape == (4, 4) and list(scores["num_views"]) == [6] * 4
    np.testing.assert_allclose(scores["scores"].sum(1), 6.0, rtol=1e-5)  # 6 softmax views summed (ENSEMBLE_METHOD sum)
    log = open(out / "log.txt").read()
    assert "eta" in log and 'json_stats: {"_type": "train_iter"' in log and '"_type": "test"' in log
    assert os.listdir(out / "runs")  # TensorBoard event file


def test_kill_and_resume_reproduces_the_uninterrupted_run(data_dir, tmp_path, monkeypatch):
    import slowfast.engine.train as train_mod

    opts = ["SOLVER.MAX_EPOCH", "2", "TEST.ENABLE", "False", "TRAIN.EVAL_PERIOD", "0"]
    run_net(tiny_opts(data_dir, tmp_path / "full", *opts))
    original = train_mod.train_epoch

    def crash_in_second_epoch(cfg, task, model, loader, optimizer, scaler, meter, epoch, tb, **kwargs):
        if epoch == 1:
            raise KeyboardInterrupt("killed")
        return original(cfg, task, model, loader, optimizer, scaler, meter, epoch, tb, **kwargs)

    monkeypatch.setattr(train_mod, "train_epoch", crash_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_net(tiny_opts(data_dir, tmp_path / "resumed", *opts))
    monkeypatch.setattr(train_mod, "train_epoch", original)
    assert cu.last_checkpoint(str(tmp_path / "resumed")).endswith("checkpoint_epoch_00001.pyth")
    # A newer checkpoint truncated by a crash while it was copied in, and a temporary file of an interrupted
    # save: the resumed run sets the first aside (*.corrupt), removes the second and resumes after epoch 1.
    second = cu.checkpoint_path(str(tmp_path / "resumed"), 2)
    whole = open(cu.checkpoint_path(str(tmp_path / "full"), 2), "rb").read()
    open(second, "wb").write(whole[: len(whole) * 2 // 3])
    open(os.path.join(os.path.dirname(second), ".tmp_k2j4.pyth"), "wb").write(whole[:100])
    run_net(tiny_opts(data_dir, tmp_path / "resumed", *opts))
    log = open(tmp_path / "resumed" / "log.txt").read()
    assert "skipping unreadable checkpoint " + second in log and "resumed from " + cu.checkpoint_path(
        str(tmp_path / "resumed"), 1) in log
    assert open(second + ".corrupt", "rb").read() == whole[: len(whole) * 2 // 3]
    assert not [n for n in os.listdir(os.path.dirname(second)) if n.startswith(".tmp_")]
    full = cu.read_checkpoint(cu.checkpoint_path(str(tmp_path / "full"), 2))
    resumed = cu.read_checkpoint(cu.checkpoint_path(str(tmp_path / "resumed"), 2))
    for k, v in full["model_state"].items():
        torch.testing.assert_close(resumed["model_state"][k], v, rtol=0, atol=0, msg=k)
    assert resumed["epoch"] == 2
    assert resumed["optimizer_state"]["param_groups"][0]["lr"] == full["optimizer_state"]["param_groups"][0]["lr"]


def test_test_only_run_on_videos_of_other_codecs_sizes_and_rates(tmp_path):
    """H.264 at an odd size, MPEG-4 at 25 fps, VP9 at 30000/1001 fps, and a 2 s clip shorter than the window."""
    rng = np.random.default_rng(0)
    specs = [("h264_odd.mp4", "libx264", 30, (53, 71), 90), ("mpeg4_25.avi", "mpeg4", 25, (48, 64), 75),
             ("short_2s.mp4", "libx264", 30, (40, 40), 60)]
    if codec_available("libvpx-vp9"):
        specs.append(("vp9_ntsc.webm", "libvpx-vp9", Fraction(30000, 1001), (36, 48), 90))
    lines = []
    for i, (name, codec, fps, (h, w), n) in enumerate(specs):
        frames = rng.integers(0, 255, size=(n, h, w, 3), dtype=np.uint8)
        write_video(str(tmp_path / name), frames, fps, codec)
        lines.append(f"{name} {i % 4}")
    (tmp_path / "test.csv").write_text("\n".join(lines) + "\n")
    cfg = load_config(TINY, ["NUM_GPUS", "0"])
    from slowfast.models import build_model

    ckpt = cu.save_checkpoint(str(tmp_path / "model.pyth"), build_model(cfg), epoch=3, cfg=cfg)
    out = tmp_path / "out"
    opts = tiny_opts(str(tmp_path), out, "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", ckpt,
                     "DATA.NUM_FRAMES", "32", "DATA.SAMPLING_RATE", "2")
    run_net(opts)
    results = json.load(open(out / "results.json"))
    assert results["num_videos"] == len(specs) and results["num_failed_views"] == 0
    assert results["checkpoint"] == ckpt


def test_throughput_counts_clips_per_second_over_all_processes():
    from slowfast.utils.meters import TrainMeter

    meter = TrainMeter(epoch_iters=10, max_epoch=1)
    for _ in range(3):
        meter.update(loss=1.0, lr=0.1, batch=8)
    meter.iter_time.values.clear()
    meter.iter_time.add(0.5)
    stats = meter.iter_stats(epoch=0, it=2, world_size=2)
    assert stats["clips_per_s"] == pytest.approx(8 * 2 / 0.5)
    assert stats["eta"] == "0:00:03"  # 7 iterations left x 0.5 s
