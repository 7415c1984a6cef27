"""A full disk (or a read-only / forbidden output folder) while writing an output is one error that says
"no space left" and names the file; what was there before stays intact and no temporary file is left."""
import errno
import os

import pytest
import torch

from slowfast.apps.cli import user_error_line
from slowfast.checkpoint import read_checkpoint, save_checkpoint
from slowfast.utils import io as sio


def fail_with(code):
    def write(f):
        f.write(b"partial")
        raise OSError(code, os.strerror(code))
    return write


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only"),
                                         (errno.EACCES, "permission denied")])
def test_a_failed_write_names_the_file_and_keeps_the_old_one(tmp_path, code, words):
    target = tmp_path / "results.json"
    target.write_text("old\n")
    with pytest.raises(sio.OutputWriteError) as e:
        sio.atomic_write(target, fail_with(code))
    assert words in str(e.value) and str(target) in str(e.value) and "intact" in str(e.value)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left
    line = user_error_line(e.value)  # the command lines print it as their one line
    assert line.startswith("error: cannot write") and "\n" not in line


def test_a_full_disk_while_saving_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    path = str(tmp_path / "checkpoint_epoch_00001.pyth")
    save_checkpoint(path, torch.nn.Linear(2, 2), epoch=1)
    before = read_checkpoint(path)["model_state"]["weight"].clone()

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(sio.OutputWriteError, match="no space left"):
        save_checkpoint(path, torch.nn.Linear(2, 2), epoch=2)
    monkeypatch.undo()
    assert torch.equal(read_checkpoint(path)["model_state"]["weight"], before)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint_epoch_00001.pyth"]


def test_an_output_folder_that_cannot_be_created_is_named(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(sio.os, "makedirs", refuse)
    with pytest.raises(sio.OutputWriteError, match="read-only"):
        sio.write_text_atomic(tmp_path / "sub" / "x.txt", "x")
