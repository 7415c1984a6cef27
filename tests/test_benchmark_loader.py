"""Is training input-bound? (issue 23, part 3): the loader benchmark per backend / source / worker count
(`tools/benchmark.py --what loader --backend ... --source ...`), the loader cores an 8-GPU node needs, the
data-wait fraction in the epoch stats, the run summary and `--what data-wait`, and the one-line answers
when a backend or source is not there."""
import json
import os
import statistics
import time

import pytest

from slowfast.apps.cli_tools import benchmark_main
from slowfast.apps.run_summary import run_summary
from slowfast.config import load_config
from slowfast.reports import benchmark_loader as bl
from slowfast.utils.meters import TrainMeter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
# 32 px synthetic disc videos, the tiny config's 16 x 2 clip, batches of 2.
SMALL = ["--cfg", TINY, "--media", "discs", "--size", "32", "--batch", "2"]


def _rows(text):
    return [json.loads(line) for line in text.strip().splitlines()]


def _loader(capsys, *args):
    rc = benchmark_main(["--what", "loader", *SMALL, "--json", *args])
    out = capsys.readouterr()
    assert rc == 0, out.err
    return _rows(out.out)


def test_loader_benchmark_on_pyav_files_gives_well_formed_rows_per_worker_count(capsys):
    rows = _loader(capsys, "--backend", "pyav", "--source", "files", "--workers", "0,1", "--clips", "4",
                   "--repeats", "2", "DATA.SAMPLING_RATE", "1")  # KEY VALUE overrides reach the loader's config
    loader, derived = rows[:-1], rows[-1]
    assert [r["workers"] for r in loader] == [0, 1]
    for r in loader:
        assert (r["what"], r["backend"], r["source"]) == ("loader", "pyav", "files")
        assert r["cores"] == max(1, r["workers"]) and r["clips_s"] > 0
        assert r["clips_s_per_core"] == pytest.approx(r["clips_s"] / r["cores"])
        assert len(r["repeats"]) == 2 and r["clips_s"] == pytest.approx(statistics.median(r["repeats"]), rel=1e-3)
        assert (r["num_frames"], r["sampling_rate"], r["crop"], r["batch"]) == (16, 1, 32, 2)
    best = max(r["clips_s_per_core"] for r in loader)
    assert derived["what"] == "loader_cores_per_node" and derived["clips_s_per_core"] == best
    assert derived["cores"] == pytest.approx(8 * 100 / best)
    best_cpu = max(r["clips_per_cpu_s"] for r in loader)
    assert best_cpu > 0 and derived["cores_by_cpu_time"] == pytest.approx(8 * 100 / best_cpu)


def test_loader_clips_per_second_follow_the_cost_of_a_clip_and_two_workers_share_it(capsys, monkeypatch):
    """Every clip made 80 ms slower (asleep): one process builds at most 12.5 clips/s; two workers, sleeping in
    parallel, nearly twice that (so the rate is measured on the real loader, workers included)."""
    from slowfast.datasets.kinetics import Kinetics

    item = Kinetics.__getitem__

    def slow_item(self, index):
        time.sleep(0.08)
        return item(self, index)

    monkeypatch.setattr(Kinetics, "__getitem__", slow_item)  # forked workers inherit it
    rows = _loader(capsys, "--workers", "0,2", "--clips", "8", "--repeats", "1")
    by_workers = {r["workers"]: r for r in rows[:-1]}
    assert by_workers[0]["clips_s"] < 12.5
    assert by_workers[2]["clips_s"] > 1.4 * by_workers[0]["clips_s"]
    assert by_workers[2]["clips_s_per_core"] == pytest.approx(by_workers[2]["clips_s"] / 2)
    # Sleeping costs no CPU: per CPU second far more clips are built than per second of the wall clock.
    assert by_workers[0]["clips_per_cpu_s"] > 2 * by_workers[0]["clips_s"]


def test_loader_benchmark_text_says_the_per_core_formula_and_the_cores_needed(capsys):
    assert benchmark_main(["--what", "loader", *SMALL, "--workers", "0", "--clips", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "loader pyav/files, 0 worker(s):" in out and "cores = max(1, workers) = 1" in out
    assert "SlowFast 8x8 R50 on 8 GPUs at 100 clips/s each needs about" in out and "clips per CPU second" in out


def test_cores_per_node_derivation_reproduces_the_speed_sections_55_cores():
    # GETTING_STARTED, Speed: 150 GFLOP per 8x8 R50 training clip at 15 TFLOP/s = 100 clips/s per GPU, 8 GPUs,
    # one core builds about 15 clips/s: 800 / 15 = 53, "about 55 loader cores".
    assert bl.gpu_clips_per_s() == pytest.approx(100.0)
    assert bl.loader_cores_per_node(15.0) == pytest.approx(53.33, abs=0.01)
    assert bl.loader_cores_per_node(30.0, gpus=4, gpu_clips_s=60.0) == pytest.approx(8.0)
    assert bl.gpu_clips_per_s(step_gflop=300.0, tflops=30.0) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        bl.loader_cores_per_node(0.0)


def test_the_assumed_150_gflop_step_is_three_forwards_of_8x8_r50_at_224():
    """fvcore's forward count of SlowFast 8x8 R50 at 256^2 (docs/flops_cache.json), scaled to 224^2 by area
    (every layer's cost is proportional to it but the tiny classifier), times 3 for the backward pass."""
    cache = json.load(open(os.path.join(ROOT, "docs", "flops_cache.json")))
    fwd_256 = [e["gflops"] for e in cache.values()
               if e["config"] == "configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml" and e["size"] == 256]
    assert fwd_256, "docs/flops_cache.json lost SlowFast 8x8 R50 at 256"
    assert 3 * fwd_256[0] * (224 / 256) ** 2 == pytest.approx(bl.STEP_GFLOP_8X8_R50, rel=0.03)


def test_epoch_stats_carry_the_summed_data_wait_over_the_summed_iteration_time():
    meter = TrainMeter(epoch_iters=2, max_epoch=1)
    for seconds, waited in ((1.0, 0.3), (3.0, 2.7)):  # 10 % and 90 % waits; summed: 3.0 / 4.0 s
        meter._tic = time.perf_counter() - seconds
        meter.update(1.0, 0.1, 2, data_ready=meter._tic + waited)
    stats = meter.epoch_stats(0)
    assert stats["data_wait_frac"] == pytest.approx(0.75, abs=0.01)  # not the mean of the ratios (0.5)
    bare = TrainMeter(epoch_iters=1, max_epoch=1)
    bare.update(1.0, 0.1, 2)  # no data_ready: no wait measured, no fraction
    assert "data_wait_frac" not in bare.epoch_stats(0)


def _log(folder, epochs):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "log.txt"), "w") as f:
        for e, stats in enumerate(epochs, 1):
            line = {"_type": "train_epoch", "epoch": f"{e}/{len(epochs)}", "loss": 1.0, "lr": 0.1, **stats}
            f.write(f"[12/06 10:00:00][INFO] slowfast.engine.train: json_stats: {json.dumps(line)}\n")
    return str(folder)


def test_run_summary_says_how_much_of_training_time_waited_for_data(tmp_path):
    # 1 s iterations waiting half of it, then 2 s ones waiting 20 %: (0.5 + 0.4) / 3 = 30 % of the time.
    run = _log(tmp_path / "run", [{"dt": 1.0, "dt_data": 0.5, "data_wait_frac": 0.5},
                                  {"dt": 2.0, "dt_data": 0.4, "data_wait_frac": 0.2}])
    cfg = load_config(TINY, ["OUTPUT_DIR", run, "TEST.ENABLE", "False"])
    text = run_summary(cfg, 12.0)
    assert "waited for data 30.0 % of training time (2 epoch(s); per epoch, %: 50, 20)" in text
    # A log written before data_wait_frac existed: the same number from dt_data / dt.
    old = _log(tmp_path / "old", [{"dt": 1.0, "dt_data": 0.5}, {"dt": 2.0, "dt_data": 0.4}])
    assert "waited for data 30.0 %" in run_summary(load_config(TINY, ["OUTPUT_DIR", old]), 1.0)
    # No timings (or no log): no line.
    bare = _log(tmp_path / "bare", [{}])
    assert "waited for data" not in run_summary(load_config(TINY, ["OUTPUT_DIR", bare]), 1.0)
    assert "waited for data" not in run_summary(load_config(TINY, ["OUTPUT_DIR", str(tmp_path / "none")]), 1.0)


def test_data_wait_mode_reads_runs_log_txt(tmp_path, capsys):
    run = _log(tmp_path / "run", [{"dt": 1.0, "dt_data": 0.25, "data_wait_frac": 0.25}])
    assert benchmark_main(["--what", "data-wait", run]) == 0
    assert f"{run}: waited for data 25.0 % of training time" in capsys.readouterr().out
    assert benchmark_main(["--what", "data-wait", run, "--json"]) == 0
    row = _rows(capsys.readouterr().out)[0]
    assert row["what"] == "data_wait" and row["data_wait_frac"] == 0.25 and row["epochs"] == 1
    assert benchmark_main(["--what", "data-wait", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing" in err[0] and "no such run folder" in err[0]


def _one_error_line(capsys, *args):
    assert benchmark_main(["--what", "loader", *SMALL, *args]) == 2
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and not out.out, out
    return lines[0]


def test_a_source_or_backend_this_checkout_lacks_is_one_line_naming_it(tmp_path, capsys, monkeypatch):
    from slowfast.config import validation

    monkeypatch.setattr(bl, "MAKE_SHARDS", str(tmp_path / "tools" / "make_shards.py"))
    line = _one_error_line(capsys, "--source", "shards")
    assert line.startswith("error: --source shards:") and "make_shards.py is not available" in line
    monkeypatch.setitem(validation._CHOICES, "DATA.DECODING_BACKEND", ("pyav",))
    line = _one_error_line(capsys, "--backend", "torchcodec")
    assert line.startswith("error: --backend torchcodec: not available in this checkout")


def test_missing_torchcodec_or_webdataset_packages_name_what_to_install(tmp_path, capsys, monkeypatch):
    import importlib.util

    from slowfast.config import validation

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("torchcodec", "webdataset") else real(name, *a))
    monkeypatch.setitem(validation._CHOICES, "DATA.DECODING_BACKEND", ("pyav", "torchcodec"))
    assert "pip install -e .[torchcodec]" in _one_error_line(capsys, "--backend", "torchcodec")
    writer = tmp_path / "make_shards.py"
    writer.write_text("")
    monkeypatch.setattr(bl, "MAKE_SHARDS", str(writer))
    assert "pip install -e .[shards]" in _one_error_line(capsys, "--source", "shards")


def test_a_failing_shard_writer_is_one_line_with_its_last_words(tmp_path, capsys, monkeypatch):
    writer = tmp_path / "make_shards.py"
    writer.write_text("import sys\nprint('error: no videos to pack', file=sys.stderr)\nsys.exit(2)\n")
    monkeypatch.setattr(bl, "MAKE_SHARDS", str(writer))
    monkeypatch.setattr(bl, "missing_part", lambda *a: None)  # webdataset may be absent: the writer is what fails
    line = _one_error_line(capsys, "--source", "shards")
    assert line.startswith("error: --source shards:") and "failed (exit 2): error: no videos to pack" in line


def test_the_default_media_decode_like_kinetics_videos(tmp_path):
    """--media kinetics-like: 340x256 H.264 benchmark videos, distinct per seed, listed in turn in train.csv."""
    from slowfast.datasets.video_container import get_video_info

    data = bl.make_benchmark_data(str(tmp_path / "d"), "kinetics-like", rows=6, seconds=1.0, videos=2)
    lines = open(os.path.join(data, "train.csv")).read().splitlines()
    assert [ln.split() for ln in lines] == [[f"videos/v{i % 2}.mp4", str(i % 4)] for i in range(6)]
    info = get_video_info(os.path.join(data, "videos", "v0.mp4"))
    assert (info.width, info.height) == (340, 256)
    assert open(os.path.join(data, "videos", "v0.mp4"), "rb").read() != open(os.path.join(data, "videos", "v1.mp4"), "rb").read()
    assert os.path.isfile(os.path.join(data, "val.csv")) and os.path.isfile(os.path.join(data, "test.csv"))


def test_bad_data_folder_and_worker_counts_are_input_errors(tmp_path, capsys):
    line = _one_error_line(capsys, "--data", str(tmp_path))
    assert "--data" in line and "no train.csv" in line
    with pytest.raises(SystemExit) as e:
        benchmark_main(["--what", "loader", "--workers", "0,x"])
    assert e.value.code == 2


@pytest.mark.parametrize("backend,source", [("torchcodec", "files"), ("pyav", "shards")])
def test_other_backends_and_sources_run_when_this_checkout_has_them(backend, source, capsys):
    """Skipped until the shard writer / TorchCodec backend are merged (and their packages installed)."""
    missing = bl.missing_part(backend, source, load_config(TINY))
    if missing:
        pytest.skip(missing)
    rows = _loader(capsys, "--backend", backend, "--source", source, "--workers", "0", "--clips", "2",
                   "--repeats", "1")
    assert (rows[0]["backend"], rows[0]["source"]) == (backend, source) and rows[0]["clips_s"] > 0
