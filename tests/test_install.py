"""make setup: the default installs the PyPI wheels as before; TORCH_VARIANT=cpu takes PyTorch's CPU index first."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU_INDEX = "--index-url https://download.pytorch.org/whl/cpu"
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def dry_run(tmp_path, *args):
    """`make -n setup` for a virtual environment that does not exist yet (so every step is listed)."""
    return subprocess.run(["make", "-n", "setup", f"VENV={tmp_path / 'venv'}", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "TORCH_VARIANT"})


def test_cpu_variant_installs_torch_from_the_cpu_index_before_the_requirements(tmp_path):
    steps = dry_run(tmp_path, "TORCH_VARIANT=cpu").stdout.splitlines()
    cpu = [i for i, s in enumerate(steps) if CPU_INDEX in s]
    reqs = [i for i, s in enumerate(steps) if "-r requirements-test.txt" in s]
    assert len(cpu) == 1 and reqs and cpu[0] < reqs[0], steps
    assert "torch==2.14.1 torchvision==0.29.1" in steps[cpu[0]]


def test_default_setup_is_unchanged_and_a_bad_variant_is_one_line(tmp_path):
    out = dry_run(tmp_path).stdout
    assert "download.pytorch.org" not in out and "-r requirements-test.txt" in out
    bad = dry_run(tmp_path, "TORCH_VARIANT=cuda")
    assert bad.returncode != 0 and "TORCH_VARIANT must be empty (default wheels) or cpu, not 'cuda'" in bad.stderr


def test_the_cpu_route_is_documented_with_the_command_that_takes_it():
    text = open(os.path.join(ROOT, "INSTALL.md")).read()
    assert "make setup TORCH_VARIANT=cpu" in text and "https://download.pytorch.org/whl/cpu" in text
