"""tools/gpu_check.py on a machine without CUDA: one line saying so, exit status 3, nothing run."""
import subprocess
import sys

import pytest
import torch

from slowfast.apps import gpu_check


def test_without_cuda_gpu_check_says_so_in_one_line_and_exits_3(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(gpu_check, "quick_starts", lambda *a: pytest.fail("ran a check without CUDA"))
    assert gpu_check.main([]) == gpu_check.NO_CUDA_EXIT == 3
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no CUDA device here" in out[0] and "nothing was run" in out[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the tool would run its checks")
def test_the_tool_itself_exits_3_here():
    out = subprocess.run([sys.executable, "tools/gpu_check.py"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3 and out.stdout.count("\n") == 1, out.stderr


def test_a_failing_check_is_reported_and_the_next_still_runs(capsys):
    budget = gpu_check.Budget(60)
    budget.check("broken", lambda: 1 / 0, need_s=0)
    assert budget.check("fine", lambda: "42", need_s=0) == "42" and budget.failed == 1
    assert gpu_check.Budget(0).check("late", lambda: "x", need_s=1) is None
    out = capsys.readouterr().out
    assert "[FAIL] broken" in out and "ZeroDivisionError" in out and "[ok]   fine" in out and "[skip] late" in out
