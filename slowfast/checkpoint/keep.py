"""TRAIN.CHECKPOINT_KEEP: keep only the last N checkpoints of OUTPUT_DIR/checkpoints, deleting only files
the current run wrote itself (a checkpoint from an earlier run, or one a user put there, is never touched)."""
from __future__ import annotations

import logging
import os
from typing import Iterable, List

from slowfast.checkpoint.store import list_checkpoints, remove_files

logger = logging.getLogger(__name__)


def prune_checkpoints(output_dir: str, keep: int, written: Iterable[str]) -> List[str]:
    """Delete the checkpoints in `written` that are not among the `keep` highest epochs of OUTPUT_DIR/checkpoints
    (`keep` 0: delete nothing). Returns the deleted paths."""
    if keep <= 0:
        return []
    mine = {os.path.abspath(p) for p in written}
    older = [path for path in list_checkpoints(output_dir)[:-keep] if os.path.abspath(path) in mine]
    removed = remove_files(older, "TRAIN.CHECKPOINT_KEEP: cannot remove")
    if removed:
        logger.info("TRAIN.CHECKPOINT_KEEP %d: removed %s", keep, ", ".join(os.path.basename(p) for p in removed))
    return removed
