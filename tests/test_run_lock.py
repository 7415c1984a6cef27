"""Issue 18, class 2: one run per OUTPUT_DIR (OUTPUT_DIR/.run.lock, slowfast/utils/run_lock.py)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

import slowfast.apps.run_net as cli
from slowfast.utils.run_lock import LOCK_NAME, RunLock, RunLockedError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """run_net.main with the data steps skipped and launch_job recording whether the lock was held."""
    seen = []

    def launch(cfg, job, init_method=None):
        lock = os.path.join(cfg.OUTPUT_DIR, LOCK_NAME)
        seen.append(json.load(open(lock)) if os.path.isfile(lock) else None)

    monkeypatch.setattr(cli, "prepare_data", lambda cfg: None)
    monkeypatch.setattr(cli, "run_preflight", lambda cfg: cfg)
    monkeypatch.setattr(cli, "launch_job", launch)
    monkeypatch.delenv("SLOWFAST_DEBUG", raising=False)
    out = tmp_path / "out"
    return seen, out, ["--cfg", TINY, "OUTPUT_DIR", str(out), "NUM_GPUS", "0"]


def write_lock(out, host, pid):
    os.makedirs(out, exist_ok=True)
    (out / LOCK_NAME).write_text(json.dumps(dict(host=host, pid=pid, start="2024-01-01T00:00:00", command="x")))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_normal_run_holds_the_lock_and_removes_it(fake_run):
    seen, out, argv = fake_run
    assert cli.main(argv) == 0
    assert seen and seen[0]["pid"] == os.getpid() and seen[0]["host"] == socket.gethostname()
    assert "start" in seen[0] and "command" in seen[0]
    assert not os.path.exists(out / LOCK_NAME)


def test_a_failing_run_removes_the_lock(fake_run, monkeypatch):
    seen, out, argv = fake_run

    def broken(cfg, job, init_method=None):
        assert os.path.isfile(out / LOCK_NAME)
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "launch_job", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(argv)
    assert not os.path.exists(out / LOCK_NAME)


def test_a_live_holder_refuses_a_second_run_in_one_line(fake_run, capsys):
    seen, out, argv = fake_run
    write_lock(out, socket.gethostname(), os.getpid())
    before = (out / LOCK_NAME).read_text()
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(out) in err and f"pid {os.getpid()}" in err, err
    assert not seen and (out / LOCK_NAME).read_text() == before


def test_a_live_holder_in_another_process_refuses(fake_run, capsys):
    seen, out, argv = fake_run
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom slowfast.utils.run_lock import RunLock\n"
                               f"with RunLock({str(out)!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and f"pid {holder.pid}" in err and str(out) in err, err
    finally:
        holder.kill()
        holder.wait()
    assert not seen


def test_a_stale_lock_is_taken_over_with_a_warning(fake_run, caplog):
    seen, out, argv = fake_run
    pid = dead_pid()
    write_lock(out, socket.gethostname(), pid)
    with caplog.at_level("WARNING", logger="slowfast.utils.run_lock"):
        lock = RunLock(str(out))
        lock.acquire()
    try:
        assert json.load(open(out / LOCK_NAME))["pid"] == os.getpid()
        assert any("stale lock" in r.getMessage() and f"pid {pid}" in r.getMessage() for r in caplog.records)
    finally:
        lock.release()
    assert not os.path.exists(out / LOCK_NAME)
    write_lock(out, socket.gethostname(), pid)
    assert cli.main(argv) == 0 and seen[0]["pid"] == os.getpid()
    assert not os.path.exists(out / LOCK_NAME)


def test_a_lock_from_another_host_is_refused_naming_host_and_file(fake_run, capsys):
    seen, out, argv = fake_run
    write_lock(out, "elsewhere.example", 1)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "host elsewhere.example" in err and str(out / LOCK_NAME) in err, err
    with pytest.raises(RunLockedError):
        RunLock(str(out)).acquire()


def test_only_the_master_takes_the_lock(monkeypatch, tmp_path):
    from slowfast.config import load_config

    cfg = load_config(TINY, ["OUTPUT_DIR", str(tmp_path)])
    assert isinstance(cli.run_lock_for(cfg), RunLock)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not isinstance(cli.run_lock_for(cfg), RunLock)


def test_many_runs_racing_for_one_stale_lock_leave_exactly_one_holder(tmp_path):
    """The gap of the O_EXCL + remove design: two runs that both read a stale record could both win (each
    removing the other's fresh lock). Eight processes released at once onto a stale lock, on a slow file
    system: one holds it, seven are refused."""
    out = tmp_path / "out"
    write_lock(out, socket.gethostname(), dead_pid())
    go = tmp_path / "go"
    code = ("import os, sys, time\nfrom slowfast.utils import run_lock\n"
            "from slowfast.utils.run_lock import RunLock, RunLockedError\n"
            "read = run_lock._read\n"  # a slow file system: reading the record takes a while, widening the race
            "run_lock._read = lambda path: (read(path), time.sleep(0.3))[0]\n"
            f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.001)\n"
            f"lock = RunLock({str(out)!r})\n"
            "try:\n    lock.acquire()\nexcept RunLockedError:\n    print('refused', flush=True); sys.exit(0)\n"
            "print('held', flush=True)\ntime.sleep(3)\nlock.release()\n")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL) for _ in range(8)]
    time.sleep(2.0)  # all started and polling
    go.write_text("")
    outcomes = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outcomes) == ["held"] + ["refused"] * 7, outcomes
    assert not os.path.exists(out / LOCK_NAME)


def test_a_killed_holder_frees_the_lock_at_once(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", "import time\nfrom slowfast.utils.run_lock import RunLock\n"
                               f"RunLock({str(out)!r}).acquire()\nprint('held', flush=True)\ntime.sleep(60)\n"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunLockedError):
        RunLock(str(out)).acquire()
    holder.kill()
    holder.wait()
    lock = RunLock(str(out))
    lock.acquire()  # the record names a dead pid and nobody holds the flock: taken over
    lock.release()
