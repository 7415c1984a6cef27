"""Training curves (issue 20, item 3): the resolved config saved as OUTPUT_DIR/config.yaml, the data-wait and
compute time of each iteration in the training stats, OUTPUT_DIR/plots/ drawn from log.txt at each
evaluation, the log parser on resumed and restarted runs, and tools/plot_logs.py overlaying runs."""
import json
import os
import re
import subprocess
import sys
import time

import pytest
from PIL import Image

from slowfast.apps.plot_logs import main as plot_logs_main
from slowfast.apps.plot_logs import run_labels
from slowfast.apps.run_net import main as run_net_main
from slowfast.config import load_config
from slowfast.datasets.kinetics import Kinetics
from slowfast.datasets.synthetic import make_kinetics_synthetic
from slowfast.visualization.training_log import parse_stats_lines, read_training_log

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
SLEEP = 0.1  # seconds per clip the dataset is slowed down by: 4 clips per batch wait >= 0.4 s for data


def _png(path):
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        return im.format, im.size


def _line(stats, when="12/06 10:00:00"):
    return f"[{when}][INFO] slowfast.engine.train: json_stats: {json.dumps(stats)}\n"


def _iter(epoch, it, n, loss, lr=0.1, max_epoch=3):
    return _line({"_type": "train_iter", "epoch": f"{epoch}/{max_epoch}", "iter": f"{it}/{n}", "loss": loss, "lr": lr})


def _epoch(epoch, loss, top1=None, max_epoch=3, **more):
    extra = {} if top1 is None else {"top1_err": top1, "top5_err": 0.0}
    return _line({"_type": "train_epoch", "epoch": f"{epoch}/{max_epoch}", "loss": loss, "lr": 0.1, **extra, **more})


def _val(epoch, **metrics):
    return _line({"_type": "val_epoch", "epoch": epoch, **metrics})


def _write_run(folder, lines):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "log.txt"), "w") as f:
        f.write("".join(lines))
    return str(folder)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 2-epoch run (2 iterations each) with validation after every epoch, its clips slowed down by SLEEP s each."""
    base = tmp_path_factory.mktemp("curves")
    data = str(base / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=8, num_val=4, num_test=4, size=32, num_frames=16, seed=0,
                            num_workers=1)
    out = str(base / "run")
    opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", out,
            "DATA.NUM_FRAMES", "4", "DATA.SAMPLING_RATE", "2", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4",
            "DATA_LOADER.NUM_WORKERS", "0", "SOLVER.MAX_EPOCH", "2", "LOG_PERIOD", "1", "LOG_MODEL_INFO", "False",
            "TRAIN.EVAL_PERIOD", "1", "TEST.ENABLE", "False"]
    original = Kinetics.__getitem__

    def slow_getitem(self, index):
        time.sleep(SLEEP)
        return original(self, index)

    mp = pytest.MonkeyPatch()
    mp.setattr(Kinetics, "__getitem__", slow_getitem)
    try:
        assert run_net_main(["--cfg", TINY, *opts]) == 0
    finally:
        mp.undo()
    return out, opts


def test_a_training_run_saves_its_resolved_config_and_running_it_again_gives_the_same_config(tiny_run, capsys):
    out, opts = tiny_run
    saved = os.path.join(out, "config.yaml")
    assert load_config(saved) == load_config(TINY, opts)
    before = open(saved).read()
    # Run again from the saved file: training is done (auto-resume at epoch 2 of 2), the config is the same file.
    assert run_net_main(["--cfg", saved]) == 0
    assert open(saved).read() == before
    # With an override the saved file is this run's input: it stays as it is, and a warning says so.
    assert run_net_main(["--cfg", saved, "TRAIN.ENABLE", "False", "TEST.ENABLE", "False"]) == 0
    assert open(saved).read() == before
    assert "is this run's --cfg: left as it is" in capsys.readouterr().err


def test_every_shipped_config_survives_the_config_yaml_round_trip(all_config_paths, tmp_path):
    for path in all_config_paths:
        cfg = load_config(path)
        saved = tmp_path / "config.yaml"
        saved.write_text(cfg.dump())
        assert load_config(str(saved)) == cfg, path


def test_train_stats_split_each_iteration_into_data_wait_and_compute(tiny_run):
    out, _ = tiny_run
    log = read_training_log(out)
    assert sorted(log.train) == [1, 2] and sorted(log.val) == [1, 2] and log.skipped == 0
    assert sorted(log.iters) == [0.5, 1.0, 1.5, 2.0]
    for stats in [*log.train.values(), *log.iters.values()]:
        # Every batch waited >= 4 x SLEEP s for its clips, and the wait is counted as data, not compute.
        assert stats["dt_data"] >= 4 * SLEEP * 0.95 and stats["dt_net"] < stats["dt"] - 4 * SLEEP * 0.95, stats
    progress = re.findall(r"iter \d/2 \| .* \| data wait (\d+)% \| ", open(os.path.join(out, "log.txt")).read())
    assert len(progress) == 4 and all(int(p) > 0 for p in progress)  # the progress lines show the data wait
    for stats in log.train.values():  # epoch means: data wait + compute = the iteration
        assert stats["dt_data"] + stats["dt_net"] == pytest.approx(stats["dt"], rel=1e-4), stats
        assert stats["data_wait_frac"] == pytest.approx(stats["dt_data"] / stats["dt"], rel=1e-4), stats


def test_training_draws_its_curves_into_output_dir_plots_at_each_evaluation(tiny_run):
    out, _ = tiny_run
    for name in ("loss", "lr", "top1_err", "time", "curves"):
        fmt, (w, h) = _png(os.path.join(out, "plots", f"{name}.png"))
        assert fmt == "PNG" and w >= 300 and h >= 200
    assert not os.path.exists(os.path.join(out, "plots", "mAP.png"))  # classification: no mAP panel
    assert open(os.path.join(out, "log.txt")).read().count("training curves: plots/loss.png") == 2


def test_the_parser_keeps_the_latest_value_of_an_epoch_across_a_resume_and_skips_cut_lines():
    run1 = [_iter(1, 2, 4, 2.0), _iter(1, 4, 4, 1.8), _epoch(1, 1.9, 70.0), _val(1, top1_err=60.0),
            _iter(2, 2, 4, 1.5), _iter(2, 4, 4, 1.4), _epoch(2, 1.45, 50.0), _val(2, top1_err=45.0),
            _iter(3, 2, 4, 1.2), _epoch(3, 9.9)[:70]]  # killed in epoch 3, mid-line (no newline)
    # Resumed from the epoch-1 checkpoint: epoch 2 again (other numbers), then epoch 3.
    run2 = [_iter(2, 2, 4, 1.6),
            "[12/06 11:00:00][INFO] slowfast.engine.common: resumed from checkpoint_epoch_00001.pyth\n", _iter(2, 4, 4, 1.3), _epoch(2, 1.35, 40.0), _val(2, top1_err=35.0),
            _iter(3, 2, 4, 1.1), _iter(3, 4, 4, 1.0), _epoch(3, 1.05, 20.0), _val(3, top1_err=15.0)]
    log = parse_stats_lines("".join(run1 + run2).splitlines(keepends=True))  # as a file reads them
    assert log.skipped == 1
    assert {e: s["loss"] for e, s in log.train.items()} == {1: 1.9, 2: 1.35, 3: 1.05}
    assert {e: s["top1_err"] for e, s in log.val.items()} == {1: 60.0, 2: 35.0, 3: 15.0}
    assert {x: s["loss"] for x, s in log.iters.items()} == {0.5: 2.0, 1.0: 1.8, 1.5: 1.6, 2.0: 1.3, 2.5: 1.1,
                                                           3.0: 1.0}
    # Then started afresh in the same folder (no auto-resume) for one epoch: the old history is gone.
    log = parse_stats_lines("".join(run1 + run2 + [_iter(1, 4, 4, 3.0), _epoch(1, 3.0, 90.0),
                                                   _val(1, top1_err=80.0)]).splitlines(keepends=True))
    assert list(log.train) == [1] and log.train[1]["loss"] == 3.0 and list(log.val) == [1]
    assert list(log.iters) == [1.0]


def test_plot_logs_overlays_a_classification_and_a_detection_run(tmp_path, capsys):
    a = _write_run(tmp_path / "a" / "run", [_iter(1, 2, 2, 2.0), _epoch(1, 2.0, 60.0, dt=0.5, dt_data=0.4, dt_net=0.1),
                                            _val(1, top1_err=50.0), _epoch(2, 1.0, 30.0, dt=0.5, dt_data=0.1,
                                                                          dt_net=0.4), _val(2, top1_err=25.0)])
    b = _write_run(tmp_path / "b" / "run", [_epoch(1, 3.0), _val(1, mAP=0.2), _epoch(2, 2.5), _val(2, mAP=0.3)])
    out = tmp_path / "overlay"
    assert plot_logs_main([a, b, "--out", str(out)]) == 0
    for name in ("loss", "lr", "top1_err", "mAP", "time", "curves"):
        assert _png(out / f"{name}.png")[0] == "PNG"
    printed = capsys.readouterr().out
    assert "a/run | 2 epochs | train loss 1 | val top1_err 25 (best 25 at epoch 2) | data wait 20% of the iteration\n" in printed
    assert "b/run | 2 epochs | train loss 2.5 | val mAP 0.3 (best 0.3 at epoch 2)" in printed
    assert "(input-bound)" not in printed.splitlines()[0]  # 80 % in epoch 1, 20 % in the last: the last counts
    # One run alone: into RUN_DIR/plots by default, legend names are the folders' names.
    assert plot_logs_main([b]) == 0 and _png(os.path.join(b, "plots", "mAP.png"))[0] == "PNG"
    assert run_labels([str(tmp_path / "x" / "r1"), str(tmp_path / "x" / "r2")]) == ["r1", "r2"]


def test_plot_logs_names_a_folder_without_a_log_or_without_stats_in_one_line(tmp_path, capsys):
    empty, no_stats = tmp_path / "empty", _write_run(tmp_path / "nostats", ["[12/06 10:00:00][INFO] x: started\n"])
    os.makedirs(empty)
    ok = _write_run(tmp_path / "ok", [_epoch(1, 1.0)])
    for argv, culprit in (([str(empty)], f"{empty}: no log.txt"), ([ok, no_stats, "--out", str(tmp_path / "o")],
                                                                    f"{no_stats}/log.txt: no training stats lines"),
                          ([str(tmp_path / "missing")], f"{tmp_path / 'missing'}: no such run folder"),
                          ([ok, ok], "2 runs given: say where their overlaid curves go with --out DIR")):
        assert plot_logs_main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and culprit in err, err
    run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "plot_logs.py"), str(empty)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr and f"{empty}: no log.txt" in run.stderr


def test_only_the_first_launching_process_saves_the_config(monkeypatch, tmp_path):
    from slowfast.apps.run_net import save_run_config

    cfg = load_config(TINY, ["OUTPUT_DIR", str(tmp_path / "out")])
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert save_run_config(cfg, TINY) is None and not os.path.exists(tmp_path / "out")
    monkeypatch.setenv("RANK", "0")
    assert save_run_config(cfg, TINY) == str(tmp_path / "out" / "config.yaml")
    assert load_config(str(tmp_path / "out" / "config.yaml")) == cfg
    other_machine = load_config(TINY, ["OUTPUT_DIR", str(tmp_path / "out2"), "NUM_SHARDS", "2", "SHARD_ID", "1"])
    assert save_run_config(other_machine, TINY) is None and not os.path.exists(tmp_path / "out2")


def test_a_failure_to_draw_is_a_warning_that_does_not_stop_training(tmp_path, caplog):
    from slowfast.visualization.training_curves import update_run_plots

    run = _write_run(tmp_path / "run", [_epoch(1, 1.0, 50.0), _val(1, top1_err=40.0)])
    open(os.path.join(run, "plots"), "w").close()  # a file where the plots folder goes
    with caplog.at_level("WARNING"):
        assert update_run_plots(run) == []
    assert "training curves not drawn" in caplog.text
    os.remove(os.path.join(run, "plots"))
    assert [os.path.basename(p) for p in update_run_plots(run)] == ["loss.png", "lr.png", "top1_err.png", "curves.png"]
