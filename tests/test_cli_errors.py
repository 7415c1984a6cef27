"""Input errors end a run with one clear line naming the culprit (status 2); the traceback goes to
OUTPUT_DIR/log.txt, and to the terminal only with --debug or SLOWFAST_DEBUG=1. Bugs keep their traceback."""
import os
import subprocess
import sys

import pytest
import torch

from slowfast.apps.run_net import main
from slowfast.datasets.kinetics import DatasetFormatError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def bad_label_run(tmp_path):
    (tmp_path / "train.csv").write_text("a.mp4 0\nb.mp4 1\nc.mp4 12\n")
    return ["--cfg", os.path.join(ROOT, TINY), "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC",
            "False", "OUTPUT_DIR", str(tmp_path / "out"), "TEST.ENABLE", "False", "LOG_MODEL_INFO", "False"]


def test_the_pre_flight_check_refuses_the_bad_label_first(tmp_path, capsys):
    assert main(bad_label_run(tmp_path)) == 2
    err = capsys.readouterr().err
    assert "train.csv:3" in err and "label 12" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "checkpoints").exists()  # the check leaves no empty checkpoint folder behind


def skip_preflight(monkeypatch):
    """The reader's own error path, as reached when the pre-flight check is not run (e.g. a data error the
    cheap pre-flight cannot see)."""
    import slowfast.apps.run_net as cli

    monkeypatch.setattr(cli, "run_preflight", lambda cfg: cfg)


def test_a_data_format_error_is_one_line_and_the_traceback_goes_to_the_log(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SLOWFAST_DEBUG", raising=False)
    skip_preflight(monkeypatch)
    assert main(bad_label_run(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (f"error: {tmp_path / 'train.csv'} line 3: label 12 is outside 0..3 "
                                   "(MODEL.NUM_CLASSES 4)")
    assert "Traceback" not in err and "--debug or SLOWFAST_DEBUG=1 to print the traceback here" in err
    assert f"the traceback is in {tmp_path / 'out' / 'log.txt'}" in err
    log = open(tmp_path / "out" / "log.txt").read()
    assert "Traceback" in log and "DatasetFormatError" in log


def test_debug_flag_or_environment_variable_shows_the_traceback(tmp_path, monkeypatch):
    skip_preflight(monkeypatch)
    with pytest.raises(DatasetFormatError, match="label 12"):
        main(bad_label_run(tmp_path)[:2] + ["--debug"] + bad_label_run(tmp_path)[2:])
    monkeypatch.setenv("SLOWFAST_DEBUG", "1")
    with pytest.raises(DatasetFormatError):
        main(bad_label_run(tmp_path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_a_gpu_requested_on_a_cpu_machine_is_one_line(tmp_path):
    run = subprocess.run([sys.executable, "tools/run_net.py", "--cfg", TINY, "NUM_GPUS", "1", "OUTPUT_DIR",
                          str(tmp_path), "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False"],
                         cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "SLOWFAST_DEBUG"})
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert lines[0] == ("error: NUM_GPUS is 1 but CUDA is not available on this machine; set NUM_GPUS 0 to run "
                        "on CPU") and len(lines) == 2 and "Traceback" not in run.stderr


def test_a_missing_checkpoint_and_an_empty_config_are_one_line(tmp_path, capsys):
    missing = str(tmp_path / "nope.pyth")
    assert main(["--cfg", os.path.join(ROOT, TINY), "TRAIN.ENABLE", "False", "TEST.CHECKPOINT_FILE_PATH", missing,
                 "OUTPUT_DIR", str(tmp_path / "out"), "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC",
                 "False", "LOG_MODEL_INFO", "False"]) == 2
    assert f"{missing}: checkpoint not found (TEST.CHECKPOINT_FILE_PATH)" in capsys.readouterr().err
    (tmp_path / "empty.yaml").write_text("")
    assert main(["--cfg", str(tmp_path / "empty.yaml")]) == 2
    assert capsys.readouterr().err.startswith(f"config error: {tmp_path / 'empty.yaml'}: the config file is empty")


def test_a_bug_keeps_its_traceback(monkeypatch, tmp_path):
    import slowfast.apps.run_net as cli

    def broken(cfg):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "prepare_data", broken)
    with pytest.raises(ZeroDivisionError):
        main(["--cfg", os.path.join(ROOT, TINY), "OUTPUT_DIR", str(tmp_path)])


def test_an_input_error_raised_in_a_spawned_process_is_one_line_too():
    from torch.multiprocessing.spawn import ProcessRaisedException

    from slowfast.apps.run_net import user_error_line

    text = ("\n\n-- Process 1 terminated with the following error:\nTraceback (most recent call last):\n  File ...\n"
            "slowfast.formats.problems.AvaFormatError: /d/train.csv line 4: gap in video 'v'\n")
    assert user_error_line(ProcessRaisedException(text, 1, 123)) == "error: /d/train.csv line 4: gap in video 'v'"
    bug = text.replace("slowfast.formats.problems.AvaFormatError", "ZeroDivisionError")
    assert user_error_line(ProcessRaisedException(bug, 1, 123)) is None


def test_an_input_error_raised_in_a_dataloader_worker_is_one_line_too():
    """The DataLoader re-raises a worker's error with its class but the worker's traceback as the message."""
    from slowfast.datasets.validation import UnreadableDataError
    from slowfast.apps.run_net import user_error_line

    text = ("Caught UnreadableDataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
            "  File ...\nslowfast.datasets.validation.UnreadableDataError: 3 unreadable videos in a row (last: /d/a.mp4)\n")
    assert user_error_line(UnreadableDataError(text)) == "error: 3 unreadable videos in a row (last: /d/a.mp4)"
    assert user_error_line(UnreadableDataError("2 frames: x")) == "error: 2 frames: x"
