"""One run per OUTPUT_DIR: ``OUTPUT_DIR/.run.lock``, held by the master process before training or testing
starts and removed when the run ends (normally, on an exception, or at interpreter exit). It holds JSON:
host, pid, start time, command.

The file is held with an exclusive ``flock`` for the whole run, so the kernel decides who holds it: two
runs starting at once, or both finding a stale lock, cannot both win, and a lock whose holder died
(SIGKILL, a crash) is free again at once. Then:

* held by a live run (its ``flock``): refused (RunLockedError, naming OUTPUT_DIR and the holder);
* a record of a live process of this machine without the ``flock`` (a run of an older version): refused;
* a record of a process of this machine that is gone: taken over, with a warning naming it;
* a record written on another machine: refused (file locks are not shared by every network file system,
  so that run may be alive: delete the file if sure)."""
from __future__ import annotations

import atexit
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import time

from slowfast.utils.io import read_json_or_empty as _read  # the lock record; tests slow it down by name

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


class RunLock:
    """``with RunLock(output_dir): ...`` holds ``output_dir/.run.lock`` for the block (see the module)."""

    def __init__(self, output_dir: str):
        self.output_dir = output_dir
        self.path = os.path.join(output_dir, LOCK_NAME)
        self.held = False
        self._fd: int | None = None

    def _lock_file(self) -> int | None:
        """An fd of the lock file holding its ``flock``, or None when a live run holds it. Retries when the
        file it locked was removed (or replaced) by its previous holder meanwhile."""
        for _ in range(10):
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    return None
                raise
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # we locked a file that is no longer the lock file: try again
        raise RunLockedError(f"OUTPUT_DIR {self.output_dir}: could not take {self.path}; another run keeps replacing it")

    def acquire(self) -> None:
        os.makedirs(self.output_dir, exist_ok=True)
        fd = self._lock_file()
        if fd is None:
            holder = _read(self.path)
            raise RunLockedError(f"OUTPUT_DIR {self.output_dir} is in use by a running process (host "
                                 f"{holder.get('host')}, pid {holder.get('pid')}, since {holder.get('start')}); wait "
                                 "for it or choose another OUTPUT_DIR")
        try:
            self._check_record(_read(self.path))
        except RunLockedError:
            os.close(fd)
            raise
        info = dict(host=socket.gethostname(), pid=os.getpid(), start=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    command=" ".join([sys.executable] + sys.argv))
        data = (json.dumps(info, sort_keys=True) + "\n").encode()
        os.pwrite(fd, data, 0)  # then cut what an older, longer record left: the file is never empty
        os.ftruncate(fd, len(data))
        self._fd, self.held = fd, True
        atexit.register(self.release)

    def _check_record(self, holder: dict) -> None:
        """Refuse (or warn about taking over) what an unlocked lock file records (see the module)."""
        host, pid = holder.get("host"), holder.get("pid")
        if host is not None and host != socket.gethostname():
            raise RunLockedError(f"OUTPUT_DIR {self.output_dir} is in use by a run on host {host} (pid {pid}, "
                                 f"since {holder.get('start')}); if it has ended, delete {self.path}")
        if isinstance(pid, int) and _pid_alive(pid):
            raise RunLockedError(f"OUTPUT_DIR {self.output_dir} is in use by a running process (host {host}, "
                                 f"pid {pid}, since {holder.get('start')}); wait for it or choose another OUTPUT_DIR")
        if pid is not None:
            logger.warning("OUTPUT_DIR %s: taking over the stale lock %s of a process that is gone (host %s, pid %s)",
                           self.output_dir, self.path, host, pid)

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if _read(self.path).get("pid") == os.getpid():
            try:
                os.remove(self.path)  # while still holding the flock: nobody can take the file being removed
            except FileNotFoundError:
                pass
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
