"""Values derived from a config that several layers need (stage depths, pathways, processes), and reading
a dotted key; a leaf of the config package (validation and the checks modules import it)."""
from __future__ import annotations

from typing import Any

from fvcore.common.config import CfgNode

STAGE_DEPTHS = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def get_key(cfg: CfgNode, full_key: str) -> Any:
    """The value of a dotted key (`"DATA.NUM_FRAMES"`)."""
    node = cfg
    for p in full_key.split("."):
        node = node[p]
    return node


def stage_depths(cfg: CfgNode) -> tuple[int, int, int, int]:
    """Blocks in res2..res5 for the configured RESNET.DEPTH (or RESNET.STAGE_DEPTHS when DEPTH is 0)."""
    if cfg.RESNET.DEPTH == 0:
        return tuple(cfg.RESNET.STAGE_DEPTHS)
    return STAGE_DEPTHS[cfg.RESNET.DEPTH]


def num_pathways(cfg: CfgNode) -> int:
    return 2 if cfg.MODEL.MODEL_NAME == "SlowFast" else 1


def world_size(cfg: CfgNode) -> int:
    """Total number of processes: (GPUs, or CPU processes when NUM_GPUS is 0) x machines."""
    per_machine = cfg.NUM_GPUS if cfg.NUM_GPUS > 0 else cfg.NUM_PROCESSES
    return max(1, per_machine) * cfg.NUM_SHARDS
