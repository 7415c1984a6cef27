"""Deprecated path: checkpoints moved to :mod:`slowfast.checkpoint` (this re-export goes in the next release).

``from slowfast.utils.checkpoint import load_checkpoint, save_checkpoint`` keeps working, with a
DeprecationWarning; write ``from slowfast.checkpoint import load_checkpoint, save_checkpoint``.
"""
import warnings

from slowfast.checkpoint import *  # noqa: F401,F403
from slowfast.checkpoint import __all__  # noqa: F401
from slowfast.utils.distributed import unwrap  # noqa: F401

MOVED_TO = "slowfast.checkpoint"
warnings.warn(f"slowfast.utils.checkpoint is deprecated: import from {MOVED_TO}", DeprecationWarning, stacklevel=2)
