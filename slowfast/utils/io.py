"""Atomic file writes: every output of the project (checkpoints, predictions, scores, results, caches)
is written to a temporary file in the target's folder, flushed to disk, then renamed over the target,
so a crash never leaves a half-written file and an existing file stays intact until the new one is whole."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import sys
import tempfile
from typing import IO, Callable

# Name prefix of the temporary files of `atomic_write` (a crash can leave one behind).
TEMP_PREFIX = ".tmp_"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class OutputWriteError(OSError):
    """An output could not be written (no space left, a read-only or forbidden folder); the message names
    the file and says that what was there before is intact."""

    def __str__(self) -> str:
        return self.strerror


_WHY = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted"}


def _write_error(path: str, error: OSError) -> OutputWriteError:
    why = _WHY[error.errno]
    return OutputWriteError(error.errno, f"cannot write {path}: {why}; nothing was written there (a previous "
                                         "version of the file, if any, is intact)")


def atomic_write(path, write: Callable[[IO], None], mode: str = "wb") -> None:
    """Call `write(f)` on a temporary file next to `path` ("wb": bytes; "w": UTF-8 text with "\\n"
    newlines), fsync, then rename it over `path`. On failure the temporary file is removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1], dir=folder)
    except OSError as e:
        raise (_write_error(path, e) if e.errno in _WHY else e) from e
    text = {} if "b" in mode else dict(encoding="utf-8", newline="\n")
    try:
        with os.fdopen(fd, mode, **text) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno in _WHY and not isinstance(e, OutputWriteError):
            raise _write_error(path, e) from e
        raise


def write_text_atomic(path, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), "w")


def write_json_atomic(path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


class OutputIsInputError(ValueError):
    """An output path names an input file (or a folder holding an input): writing it would destroy the input."""


def _same_path(a: str, b: str) -> bool:
    """True when `a` and `b` name the same file: same real path, or (both existing) the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def _inside(path: str, folder: str) -> bool:
    """True when `path` lies inside `folder` (real paths) or is it."""
    real, top = os.path.realpath(path), os.path.realpath(folder)
    return real == top or real.startswith(top.rstrip(os.sep) + os.sep)


def refuse_overwriting_inputs(outputs: dict, inputs: dict, output_folders: dict | None = None) -> None:
    """Raise OutputIsInputError when an output file is one of the input files, or an output folder is
    (or contains) an input. Keys are the flags (``"--output"``), values paths (None: not given); an input
    value may be a list of paths. A symlink or another spelling (``./a/../a/x.csv``) counts as the same
    file. The message names both flags and the path: one line, for the tools' one-line error convention."""
    def pairs(named):
        for flag, value in named.items():
            for path in (value if isinstance(value, (list, tuple)) else [value]):
                if path:
                    yield flag, os.fspath(path)

    ins = list(pairs(inputs))
    for out_flag, out in pairs(outputs):
        for in_flag, src in ins:
            if _same_path(out, src):
                raise OutputIsInputError(f"{out_flag} {out} is the {in_flag} file {src}; writing it would destroy "
                                         "the input, choose another path")
    for out_flag, folder in pairs(output_folders or {}):
        for in_flag, src in ins:
            if _inside(src, folder):
                raise OutputIsInputError(f"{out_flag} folder {folder} holds the {in_flag} {src}; writing there could "
                                         "overwrite the input, choose another folder")


class TextFileError(ValueError):
    """A text input (a list, a split file, an annotation CSV) is not UTF-8; the message names the file and
    the line."""


def overwrite_refused(outputs: dict, inputs: dict, output_folders: dict | None = None) -> bool:
    """`refuse_overwriting_inputs` for a command line: True, with its one line "error: ..." on stderr,
    when an output would overwrite an input (the caller then exits with status 2)."""
    try:
        refuse_overwriting_inputs(outputs, inputs, output_folders)
    except OutputIsInputError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return True
    return False


def file_sha256(path: str) -> str:
    """The hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json_or_empty(path: str):
    """The JSON in `path`, or {} when it cannot be read or parsed (a record another process may be
    writing or may have removed: a run lock, a feature fingerprint)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def read_text(path: str) -> str:
    """The UTF-8 text of `path` (a byte-order mark dropped); a file that is not UTF-8 (a video, a binary
    file given by mistake) raises `TextFileError` naming the file and the line of the first bad byte."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise TextFileError(f"{path} line {line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                            "is it the right file?") from None
