"""Compare the config stored in a checkpoint with the current one.

A `.pyth` file carries the `cfg` it was trained with (ours and PySlowFast's: a YAML string; older or
converted files may hold a dict or a CfgNode). Loading weights into a model built from a config that
disagrees on the architecture, the input clip or the head usually "works" (same tensor shapes) and
gives wrong scores, so each disagreeing key is logged with both values and the `KEY VALUE` override
that restores the checkpoint's setting.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

import yaml

logger = logging.getLogger(__name__)

# Keys that define the network, the clip it reads, its head or its detection layout. Keys the stored
# config does not have (e.g. ours that PySlowFast lacks) are not compared.
ARCHITECTURE_KEYS = (
    "MODEL.ARCH", "MODEL.MODEL_NAME", "MODEL.NUM_CLASSES", "MODEL.HEAD_ACT", "MODEL.HEAD_POOLING",
    "RESNET.DEPTH", "RESNET.STAGE_DEPTHS", "RESNET.NUM_GROUPS", "RESNET.WIDTH_PER_GROUP", "RESNET.TRANS_FUNC",
    "RESNET.STRIDE_1X1", "RESNET.NUM_BLOCK_TEMP_KERNEL", "RESNET.SPATIAL_STRIDES", "RESNET.SPATIAL_DILATIONS",
    "SLOWFAST.ALPHA", "SLOWFAST.BETA_INV", "SLOWFAST.FUSION_CONV_CHANNEL_RATIO", "SLOWFAST.FUSION_KERNEL_SZ",
    "DATA.NUM_FRAMES", "DATA.SAMPLING_RATE", "DATA.TRAIN_CROP_SIZE", "DATA.INPUT_CHANNEL_NUM", "DATA.MEAN",
    "DATA.STD", "DATA.REVERSE_INPUT_CHANNEL",
    "NONLOCAL.LOCATION", "NONLOCAL.GROUP", "NONLOCAL.POOL", "NONLOCAL.INSTANTIATION",
    "DETECTION.ENABLE", "DETECTION.ALIGNED", "DETECTION.SPATIAL_SCALE_FACTOR", "DETECTION.ROI_XFORM_RESOLUTION",
    "DETECTION.CONTEXT_BRANCH",
)

_MISSING = object()


def stored_cfg_as_dict(stored: Any) -> dict | None:
    """The checkpoint's `cfg` as a plain nested dict: from a YAML string, a dict or a CfgNode; None when
    absent or unreadable (logged)."""
    if stored is None or stored == "":
        return None
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", errors="replace")
    if isinstance(stored, str):
        try:
            stored = yaml.safe_load(stored)
        except yaml.YAMLError as e:
            logger.warning("the checkpoint's stored cfg is not valid YAML (%s); it was not compared", e)
            return None
    if not isinstance(stored, Mapping):
        logger.warning("the checkpoint's stored cfg is a %s, not a config; it was not compared", type(stored).__name__)
        return None
    return _plain(stored)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _lookup(tree: Mapping, key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def format_value(value: Any) -> str:
    """A value as it is written after its key on the command line (`[[3, 3], [4, 4]]`, `True`, `slowfast`)."""
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, str):
        return value if value and all(c.isalnum() or c in "_-./" for c in value) else repr(value)
    return str(value)


def cfg_differences(stored: Any, cfg: Mapping, keys=ARCHITECTURE_KEYS) -> list[tuple[str, Any, Any]]:
    """`[(key, checkpoint value, current value), ...]` for each of `keys` present in both and different."""
    tree = stored_cfg_as_dict(stored)
    if tree is None:
        return []
    current = _plain(cfg)
    out = []
    for key in keys:
        theirs, ours = _lookup(tree, key), _lookup(current, key)
        if theirs is _MISSING or ours is _MISSING or _same(theirs, ours):
            continue
        out.append((key, theirs, ours))
    return out


def warn_if_cfg_differs(stored: Any, cfg: Mapping | None, path: str) -> list[tuple[str, Any, Any]]:
    """Log one warning listing every architecture-defining key where `cfg` differs from the checkpoint's
    stored config, with both values and the override to use; returns the differences."""
    if cfg is None:
        return []
    diffs = cfg_differences(stored, cfg)
    if diffs:
        lines = [f"  {key}: checkpoint {format_value(theirs)}, current config {format_value(ours)}"
                 for key, theirs, ours in diffs]
        override = " ".join(f"{key} {format_value(theirs)!s}" if not isinstance(theirs, list)
                            else f"{key} \"{format_value(theirs)}\"" for key, theirs, _ in diffs)
        logger.warning("%s was trained with a different config on %d architecture-defining key(s); its scores "
                       "will not be the ones it was evaluated with unless you override them:\n%s\n"
                       "  to use the checkpoint's values, add: %s", path, len(diffs), "\n".join(lines), override)
    return diffs
