"""Every command line in tools/ still answers --help after the package was rebuilt (each is a thin wrapper
over a `main` of the package), and `python -m slowfast.evaluation.ava` still runs."""
import contextlib
import io
import os
import runpy
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = os.path.join(ROOT, "tools")
# _path is the tools' prelude; _pyslowfast_timer runs inside a PySlowFast checkout's environment.
NOT_COMMANDS = {"_path.py", "_pyslowfast_timer.py"}
COMMANDS = sorted(f for f in os.listdir(TOOLS) if f.endswith(".py") and f not in NOT_COMMANDS)


@pytest.mark.parametrize("tool", COMMANDS)
def test_every_tool_answers_help(tool, monkeypatch):
    monkeypatch.syspath_prepend(TOOLS)
    monkeypatch.setattr(sys, "argv", [tool, "--help"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        runpy.run_path(os.path.join(TOOLS, tool), run_name="__main__")
    assert done.value.code in (0, None) and "usage:" in out.getvalue(), (tool, out.getvalue()[-500:])


def test_the_evaluator_runs_as_a_module():
    run = subprocess.run([sys.executable, "-m", "slowfast.evaluation.ava", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "--labelmap" in run.stdout, run.stderr[-1000:]
