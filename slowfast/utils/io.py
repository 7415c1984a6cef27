"""Atomic file writes: every output of the project (checkpoints, predictions, scores, results, caches)
is written to a temporary file in the target's folder, flushed to disk, then renamed over the target,
so a crash never leaves a half-written file and an existing file stays intact until the new one is whole."""
from __future__ import annotations

import json
import os
import tempfile
from typing import IO, Callable

# Name prefix of the temporary files of `atomic_write` (a crash can leave one behind).
TEMP_PREFIX = ".tmp_"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[IO], None], mode: str = "wb") -> None:
    """Call `write(f)` on a temporary file next to `path` ("wb": bytes; "w": UTF-8 text with "\\n"
    newlines), fsync, then rename it over `path`. On failure the temporary file is removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1], dir=folder)
    text = {} if "b" in mode else dict(encoding="utf-8", newline="\n")
    try:
        with os.fdopen(fd, mode, **text) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), "w")


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")
