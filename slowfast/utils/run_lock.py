"""One run per OUTPUT_DIR: ``OUTPUT_DIR/.run.lock``, created atomically (O_CREAT | O_EXCL) by the master
process before training or testing starts and removed when the run ends (normally, on an exception, or at
interpreter exit). It holds JSON: host, pid, start time, command.

A second run finding the lock held by a live process of this machine is refused (RunLockedError, naming
OUTPUT_DIR and the holder); a lock left by a dead process of this machine is taken over with a warning; a
lock written on another machine is refused (that machine's run may be alive: delete the file if sure)."""
from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import time

LOCK_NAME = ".run.lock"
logger = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """OUTPUT_DIR is in use by another run (an input error: one line, exit status 2)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class RunLock:
    """``with RunLock(output_dir): ...`` holds ``output_dir/.run.lock`` for the block (see the module)."""

    def __init__(self, output_dir: str):
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, LOCK_NAME)
        self.held = False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        info = dict(host=socket.gethostname(), pid=os.getpid(), start=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    command=" ".join([sys.executable] + sys.argv))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(info, f, sort_keys=True)
            f.write("\n")
        return True

    def acquire(self) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        for _ in range(3):  # a stale lock removed by us may be re-created by a concurrent run in between
            if self._create():
                self.held = True
                atexit.register(self.release)
                return
            holder = _read(self.path)
            host, pid = holder.get("host"), holder.get("pid")
            if host is not None and host != socket.gethostname():
                raise RunLockedError(f"OUTPUT_DIR {self.output_dir} is in use by a run on host {host} (pid {pid}, "
                                     f"since {holder.get('start')}); if it has ended, delete {self.path}")
            if isinstance(pid, int) and _pid_alive(pid):
                raise RunLockedError(f"OUTPUT_DIR {self.output_dir} is in use by a running process (host {host}, "
                                     f"pid {pid}, since {holder.get('start')}); wait for it or choose another OUTPUT_DIR")
            logger.warning("OUTPUT_DIR %s: taking over the stale lock %s of a process that is gone (host %s, pid %s)",
                           self.output_dir, self.path, host, pid)
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        raise RunLockedError(f"OUTPUT_DIR {self.output_dir}: could not take {self.path}; another run keeps creating it")

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if _read(self.path).get("pid") == os.getpid():
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
