"""Checkpoint errors (each names the file) and the refusal of files that only a full unpickle could read."""
from __future__ import annotations

import logging
import re

logger = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message names the file."""


class CheckpointReadError(CheckpointError):
    """The file itself cannot be read: missing, truncated, not a checkpoint, or refused because
    unpickling it could run code. (A readable file that does not fit the model is a CheckpointError.)"""


class CheckpointMissingError(CheckpointError, FileNotFoundError):
    """The config names no checkpoint to use, or names a file that does not exist (the message says which
    keys were looked at)."""


UNSAFE_OPT_IN = "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE True"
# Ends every "checkpoint not found" message: where real weights come from and how to check one.
WEIGHTS_HINT = 'where to get pretrained weights: GETTING_STARTED.md, "Pretrained weights"'


def first_line(error: BaseException) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[0] if lines else type(error).__name__


def unsupported_global(error: BaseException) -> str:
    """The reason torch's weights-only unpickler gives ("Unsupported global: GLOBAL os.system ..."), else
    the first line of the error."""
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
    return f"it refers to {m.group(1)}" if m else first_line(error)


def refuse_or_warn(path: str, what: str, error: Exception, allow_unsafe: bool) -> None:
    """The restricted unpickler refused `path`: raise CheckpointReadError naming the global and the opt-in,
    or, with `allow_unsafe`, warn that the file is about to be fully unpickled."""
    if not allow_unsafe:
        raise CheckpointReadError(
            f"refusing to unpickle {what} {path}: {error}; unpickling it fully could run code stored in the "
            f"file. If you trust the file, set {UNSAFE_OPT_IN} to load it anyway") from error
    logger.warning("%s: %s; fully unpickling it because TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE is True (this "
                   "runs any code stored in the file)", path, error)
