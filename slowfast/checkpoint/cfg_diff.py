"""Compare the config stored in a checkpoint with the current one: the one check of whether a checkpoint
fits the run, used by every path that loads weights (`slowfast.checkpoint.store.load_checkpoint`).

A `.pyth` file carries the `cfg` it was trained with (ours and PySlowFast's: a YAML string; older or
converted files may hold a dict or a CfgNode). Loading weights into a model built from a config that
disagrees on the architecture usually "works" (same tensor shapes, e.g. another SLOWFAST.ALPHA) and gives
wrong scores, so `check_cfg_fit`:

- refuses a difference on an ARCHITECTURE_KEYS key with a one-line CheckpointError naming each key, both
  values, the `KEY VALUE` overrides that restore the checkpoint's setting, and IGNORE_OVERRIDE (with which
  it only warns); FINE_TUNE_EXEMPT_KEYS (the head and the task layout) are exempt when a checkpoint
  initialises a fine-tuning run (TRAIN.CHECKPOINT_FILE_PATH): they are expected to change there;
- warns on a difference on a DATA_KEYS key (the clip and its normalisation: the weights still fit).

Files with no stored cfg (Caffe2 pickles, bare state dicts, converted files) are not compared.
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping

import yaml

from slowfast.checkpoint.errors import CheckpointError
from slowfast.config.safe_yaml import YamlLimitError, compose_and_load

logger = logging.getLogger(__name__)

IGNORE_KEY = "TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH"
IGNORE_OVERRIDE = f"{IGNORE_KEY} True"

# Keys that define the network, its head or its detection layout: a difference is refused. Keys the
# stored config does not have (e.g. ours that PySlowFast lacks) are not compared.
ARCHITECTURE_KEYS = (
    "MODEL.ARCH", "MODEL.MODEL_NAME", "MODEL.NUM_CLASSES", "MODEL.HEAD_ACT", "MODEL.HEAD_POOLING", "MODEL.STEM_DIM",
    "RESNET.DEPTH", "RESNET.STAGE_DEPTHS", "RESNET.NUM_GROUPS", "RESNET.WIDTH_PER_GROUP", "RESNET.TRANS_FUNC",
    "RESNET.STRIDE_1X1", "RESNET.NUM_BLOCK_TEMP_KERNEL", "RESNET.SPATIAL_STRIDES", "RESNET.SPATIAL_DILATIONS",
    "SLOWFAST.ALPHA", "SLOWFAST.BETA_INV", "SLOWFAST.FUSION_CONV_CHANNEL_RATIO", "SLOWFAST.FUSION_KERNEL_SZ",
    "NONLOCAL.LOCATION", "NONLOCAL.GROUP", "NONLOCAL.POOL", "NONLOCAL.INSTANTIATION",
    "DETECTION.ENABLE", "DETECTION.ALIGNED", "DETECTION.SPATIAL_SCALE_FACTOR", "DETECTION.ROI_XFORM_RESOLUTION",
    "DETECTION.CONTEXT_BRANCH",
)
# The clip the network reads and its normalisation: a difference is warned about (the weights fit; the
# scores may not be the checkpoint's).
DATA_KEYS = (
    "DATA.NUM_FRAMES", "DATA.SAMPLING_RATE", "DATA.TRAIN_CROP_SIZE", "DATA.TEST_CROP_SIZE", "DATA.INPUT_CHANNEL_NUM",
    "DATA.MEAN", "DATA.STD", "DATA.REVERSE_INPUT_CHANNEL", "AVA.BGR",
)
# Architecture keys that may differ when a checkpoint initialises fine-tuning (TRAIN.CHECKPOINT_FILE_PATH,
# whose head is dropped): the head and the task layout, e.g. Kinetics -> AVA changes the class count, the
# head activation, detection on, and res5's stride / dilation (no parameter shape depends on those).
FINE_TUNE_EXEMPT_KEYS = (
    "MODEL.NUM_CLASSES", "MODEL.HEAD_ACT", "MODEL.HEAD_POOLING", "RESNET.SPATIAL_STRIDES", "RESNET.SPATIAL_DILATIONS",
    "DETECTION.ENABLE", "DETECTION.ALIGNED", "DETECTION.SPATIAL_SCALE_FACTOR", "DETECTION.ROI_XFORM_RESOLUTION",
    "DETECTION.CONTEXT_BRANCH",
)

_MISSING = object()


def stored_cfg_as_dict(stored: Any, path: str = "the checkpoint") -> dict | None:
    """The checkpoint's `cfg` as a plain nested dict: from a YAML string, a dict or a CfgNode; None when
    absent or unreadable (logged). YAML text past the bounds of `slowfast.config.safe_yaml` (an alias bomb,
    a deep nesting: bounded work) raises a one-line CheckpointError naming `path`."""
    if stored is None or stored == "":
        return None
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", errors="replace")
    if isinstance(stored, str):
        try:
            stored = compose_and_load(stored)[1]
        except YamlLimitError as e:
            raise CheckpointError(f"{path}: its stored cfg is refused, not a config: {e}") from None
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
        if key == "MODEL.NUM_CLASSES" and 0 in (theirs, ours):  # 0: taken from the dataset, not known here
            continue
        out.append((key, theirs, ours))
    return out


def _listing(diffs) -> tuple[list[str], str]:
    """`KEY: checkpoint X, current config Y` per difference, and the overrides restoring the checkpoint's values."""
    lines = [f"{key}: checkpoint {format_value(theirs)}, current config {format_value(ours)}"
             for key, theirs, ours in diffs]
    override = " ".join(f"{key} {format_value(theirs)!s}" if not isinstance(theirs, list)
                        else f"{key} \"{format_value(theirs)}\"" for key, theirs, _ in diffs)
    return lines, override


def warn_if_cfg_differs(stored: Any, cfg: Mapping | None, path: str, keys=ARCHITECTURE_KEYS,
                        what: str = "architecture-defining") -> list[tuple[str, Any, Any]]:
    """Log one warning listing every one of `keys` where `cfg` differs from the checkpoint's stored config,
    with both values and the override to use; returns the differences."""
    if cfg is None:
        return []
    diffs = cfg_differences(stored, cfg, keys)
    if diffs:
        lines, override = _listing(diffs)
        logger.warning("%s was trained with a different config on %d %s key(s); its scores will not be the ones "
                       "it was evaluated with unless you override them:\n  %s\n  to use the checkpoint's values, "
                       "add: %s", path, len(diffs), what, "\n  ".join(lines), override)
    return diffs


def check_cfg_fit(stored: Any, cfg: Mapping | None, path: str, exempt: Iterable[str] = ()) -> list[tuple[str, Any, Any]]:
    """Compare the checkpoint's stored config with the run's `cfg` (nothing when either is absent).

    A difference on ARCHITECTURE_KEYS (but `exempt`) raises a one-line CheckpointError, unless
    TRAIN.CHECKPOINT_IGNORE_CFG_MISMATCH is True in `cfg` (then a warning); differences on `exempt` keys are
    logged; differences on DATA_KEYS are warned about. Returns every difference found.
    """
    stored = stored_cfg_as_dict(stored, path) if cfg is not None else None
    if stored is None:
        return []
    exempt = set(exempt)
    diffs = cfg_differences(stored, cfg, ARCHITECTURE_KEYS)
    arch = [d for d in diffs if d[0] not in exempt]
    allowed = [d for d in diffs if d[0] in exempt]
    if arch:
        lines, override = _listing(arch)
        if _lookup(_plain(cfg), IGNORE_KEY) is not True:
            raise CheckpointError(
                f"{path} does not fit this run's model: {'; '.join(lines)}. Set these keys to the checkpoint's "
                f"values ({override}) or add {IGNORE_OVERRIDE} to load it anyway")
        logger.warning("%s does not fit this run's model (%s); loading it anyway because %s is True",
                       path, "; ".join(lines), IGNORE_KEY)
    if allowed:
        logger.info("%s: head / task keys differ as expected when fine-tuning: %s", path,
                    "; ".join(_listing(allowed)[0]))
    return arch + allowed + warn_if_cfg_differs(stored, cfg, path, DATA_KEYS, "data / normalisation")
