"""A data-loading worker killed under a run (the kernel's out-of-memory killer, `kill -9`) is one line
naming what died, the usual cause and the way back (rerun: training resumes from the last checkpoint),
exit status 2, no traceback."""
import argparse
import os
import signal

import torch

from slowfast.apps.cli import run_with_config, user_error_line

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


class KillsItsWorker(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        if torch.utils.data.get_worker_info() is not None:
            os.kill(os.getpid(), signal.SIGKILL)
        return torch.zeros(1)


def test_a_killed_dataloader_worker_is_one_line_with_the_way_back(capsys):
    def job(cfg):
        for _ in torch.utils.data.DataLoader(KillsItsWorker(), num_workers=1):
            pass
        return 0

    args = argparse.Namespace(cfg_file=TINY, opts=[], debug=False)
    assert run_with_config(args, job, resolve_classes=False) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "data-loading worker died (DataLoader worker (pid" in err[0]
    assert "killed by signal" in err[0] or "exited unexpectedly" in err[0]
    assert "DATA_LOADER.NUM_WORKERS" in err[0] and "rerun the same command" in err[0]


def test_a_worker_death_reported_by_a_spawned_training_process_is_recognised_too():
    class ProcessRaisedException(Exception):
        pass

    text = ("\n\n-- Process 0 terminated with the following error:\nTraceback (most recent call last):\n  ...\n"
            "RuntimeError: DataLoader worker (pid(s) 4242) exited unexpectedly")
    line = user_error_line(ProcessRaisedException(text))
    assert line.startswith("error: a data-loading worker died (DataLoader worker (pid(s) 4242) exited unexpectedly)")


def test_other_runtime_errors_stay_bugs_with_their_traceback():
    assert user_error_line(RuntimeError("shape mismatch in conv")) is None
