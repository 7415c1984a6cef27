"""Load a configuration: defaults <- `_BASE_` chain <- YAML file <- command-line `KEY VALUE` pairs.

Every step is strict: a key that the defaults do not declare, a value of the wrong type, a missing or
cyclic `_BASE_` and inconsistent values each raise `ConfigError` naming the file (or "command line")
and the key. The result is validated and frozen.
"""
from __future__ import annotations

import ast
import difflib
import math
import os
from typing import Any, Iterable, Sequence

import yaml
from fvcore.common.config import CfgNode

from slowfast.config.defaults import get_cfg
from slowfast.config.safe_yaml import MAX_BYTES, YamlLimitError, compose_and_load, text_line_of

BASE_KEY = "_BASE_"


class ConfigError(ValueError):
    """A configuration file or override is invalid; the message names the source and the key."""


# ----------------------------------------------------------------------------------------------
# Merging
# ----------------------------------------------------------------------------------------------
def _all_keys(node: CfgNode, prefix: str = "") -> list[str]:
    keys = []
    for k, v in node.items():
        full = prefix + k
        keys.append(full)
        if isinstance(v, CfgNode):
            keys.extend(_all_keys(v, full + "."))
    return keys


def _unknown_key_error(source: str, full_key: str, root: CfgNode) -> ConfigError:
    close = difflib.get_close_matches(full_key, _all_keys(root), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return ConfigError(f"{source}: unknown config key '{full_key}'{hint}")


def _type_name(v: Any) -> str:
    return type(v).__name__


def _coerce(source: str, full_key: str, default: Any, value: Any) -> Any:
    """Return `value` converted to the type of `default`, or raise ConfigError."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif isinstance(default, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-4" (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif isinstance(default, str):
        if isinstance(value, str):
            return value
    elif isinstance(default, (list, tuple)):
        if isinstance(value, (list, tuple)):
            return list(value)
    elif default is None:
        return value
    raise ConfigError(
        f"{source}: config key '{full_key}' expects {_type_name(default)} "
        f"(default {default!r}), got {_type_name(value)} {value!r}"
    )


def _merge_dict(source: str, node: CfgNode, data: dict, root: CfgNode, prefix: str = "") -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at '{prefix or '<top>'}', got {data!r}")
    for key, value in data.items():
        full = prefix + str(key)
        if key not in node:
            raise _unknown_key_error(source, full, root)
        default = node[key]
        if isinstance(default, CfgNode):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{source}: config key '{full}' is a group of keys, got {_type_name(value)} {value!r}"
                )
            _merge_dict(source, default, value, root, full + ".")
        else:
            node[key] = _coerce(source, full, default, value)


def check_duplicate_keys(node, path: str, prefix: str = "", _seen: set | None = None) -> None:
    """Raise ConfigError when a mapping of the composed YAML `node` gives a key twice (YAML itself keeps
    the last one silently); the message names the file, the full key and both lines. Each node is
    visited once (aliases may share or even contain nodes)."""
    _seen = set() if _seen is None else _seen
    if id(node) in _seen:
        return
    _seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            full = prefix + key
            if key in seen:
                raise ConfigError(f"{path}: config key '{full}' is given twice, on lines {seen[key] + 1} and "
                                  f"{key_node.start_mark.line + 1}; keep one")
            seen[key] = key_node.start_mark.line
            check_duplicate_keys(value_node, path, full + ".", _seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            check_duplicate_keys(item, path, prefix, _seen)


def _read_yaml(path: str, chain: tuple[str, ...]) -> list[tuple[str, dict]]:
    """Return [(path, dict), ...] for `path` and its `_BASE_` ancestors, ancestors first."""
    apath = os.path.abspath(path)
    if apath in chain:
        cycle = " -> ".join(list(chain[chain.index(apath):]) + [apath])
        raise ConfigError(f"cycle of {BASE_KEY} files: {cycle}")
    if not os.path.isfile(path):
        who = f" (the {BASE_KEY} of {chain[-1]})" if chain else ""
        raise ConfigError(f"config file not found: {path}{who}")
    if os.path.getsize(path) > MAX_BYTES:
        raise ConfigError(f"{path}: refused, not a config: {os.path.getsize(path)} bytes (a config has a few KB)")
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = text_line_of(e.object, e.start)
        raise ConfigError(f"{path} line {line}: not UTF-8 text ({e.reason})") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    try:
        node, data = compose_and_load(text)
        check_duplicate_keys(node, path)
    except YamlLimitError as e:
        raise ConfigError(f"{path}: refused, not a config: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(e).split())}") from e
    if data is None:
        raise ConfigError(f"{path}: the config file is empty (no keys); give at least one key, e.g. _BASE_")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of keys, got {_type_name(data)}")
    out: list[tuple[str, dict]] = []
    base = data.pop(BASE_KEY, None)
    if base is not None:
        bases = [base] if isinstance(base, str) else list(base)
        for b in bases:
            bpath = b if os.path.isabs(b) else os.path.join(os.path.dirname(path), b)
            out.extend(_read_yaml(bpath, chain + (apath,)))
    out.append((path, data))
    return out


def _parse_cli_value(text: str) -> Any:
    """Parse a command-line value the way YAML would ("True" -> bool, "[1, 2]" -> list, "a/b" -> str)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def merge_opts(cfg: CfgNode, opts: Sequence[str], source: str = "command line") -> None:
    """Merge `KEY VALUE` pairs (e.g. from the command line) into `cfg`."""
    opts = list(opts)
    if len(opts) % 2:
        raise ConfigError(f"{source}: overrides come in KEY VALUE pairs, got an odd number: {opts}")
    for full_key, text in zip(opts[0::2], opts[1::2]):
        node, parts = cfg, full_key.split(".")
        for i, p in enumerate(parts):
            if not isinstance(node, CfgNode) or p not in node:
                raise _unknown_key_error(source, full_key, cfg)
            if i < len(parts) - 1:
                node = node[p]
        if isinstance(node[parts[-1]], CfgNode):
            raise ConfigError(f"{source}: '{full_key}' is a group of keys, not a single key")
        value = _parse_cli_value(text) if isinstance(text, str) else text
        if isinstance(node[parts[-1]], str) and not isinstance(value, str):
            value = text  # e.g. OUTPUT_DIR 2024 stays a string
        node[parts[-1]] = _coerce(source, full_key, node[parts[-1]], value)


def merge_file(cfg: CfgNode, path: str) -> None:
    """Merge a YAML file and its `_BASE_` chain into `cfg`."""
    for src, data in _read_yaml(path, ()):
        _merge_dict(src, cfg, data, cfg)


def load_config(path: str | None = None, opts: Iterable[str] = ()) -> CfgNode:
    """Return the validated, frozen config: defaults <- `path` (with `_BASE_`s) <- `opts`."""
    cfg = get_cfg()
    source = path or "defaults"
    if path:
        merge_file(cfg, path)
    opts = list(opts or [])
    if opts:
        merge_opts(cfg, opts)
        source = f"{source} + command line"
    validate(cfg, source)
    cfg.freeze()
    return cfg


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------
STAGE_DEPTHS = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
_CHOICES = {
    "MODEL.ARCH": ("slowfast", "slow", "fast", "c2d", "i3d"),
    "MODEL.MODEL_NAME": ("SlowFast", "ResNet"),
    "MODEL.LOSS_FUNC": ("cross_entropy", "bce", "soft_cross_entropy"),
    "MODEL.HEAD_ACT": ("softmax", "sigmoid", "none"),
    "RESNET.TRANS_FUNC": ("bottleneck_transform", "basic_transform"),
    "NONLOCAL.INSTANTIATION": ("dot_product", "softmax"),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd", "adamw"),
    "BN.NORM_TYPE": ("batchnorm", "sub_batchnorm", "sync_batchnorm"),
    "DATA.ENSEMBLE_METHOD": ("sum", "mean", "max"),
    "DATA.DECODING_BACKEND": ("pyav",),
    "DATA.TEMPORAL_SAMPLING": ("pyslowfast", "timestamps"),
    "DATA.SLOW_PATHWAY_SAMPLING": ("linspace", "stride"),
    "DATA.VAL_VIEW": ("random", "fixed"),
    "MODEL.HEAD_POOLING": ("train_crop", "global"),
    "TRAIN.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "TEST.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "AVA.EVAL_VERSION": ("2018", "2019", "2020"),
    "MODEL.MEMORY_FORMAT": ("auto", "channels_last_3d", "contiguous"),
    "DEMO.CROP": ("center", "full"),
    "DEMO.DETECTOR": ("", "torchvision"),
    "AVA.PREPROCESS": ("pyslowfast", "exact"),
}


def _get(cfg: CfgNode, full_key: str) -> Any:
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


def validate(cfg: CfgNode, source: str = "config") -> None:
    """Raise ConfigError when values are out of range or inconsistent with each other: the checks of each
    config group in turn; the first problem found is raised."""

    def fail(msg: str) -> None:
        raise ConfigError(f"{source}: {msg}")

    for check in (_check_numbers, _check_choices, _check_backbone, _check_slowfast, _check_data, _check_processes, _check_solver,
                  _check_detection, _check_demo):
        check(cfg, fail)


def _check_numbers(cfg: CfgNode, fail) -> None:
    """Every float key finite (no .inf / .nan), counts that cannot be negative."""
    for key in _all_keys(cfg):
        value = _get(cfg, key)
        floats = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in floats):
            fail(f"{key} must be a finite number, got {value}")
    if cfg.DATA_LOADER.NUM_WORKERS < 0:
        fail(f"DATA_LOADER.NUM_WORKERS must be >= 0 (0 = load in the main process), got {cfg.DATA_LOADER.NUM_WORKERS}")


def _check_choices(cfg: CfgNode, fail) -> None:
    """Keys that take one of a fixed set of values (_CHOICES)."""
    for key, choices in _CHOICES.items():
        if _get(cfg, key) not in choices:
            fail(f"{key} is {_get(cfg, key)!r}; choose one of {list(choices)}")


def _check_backbone(cfg: CfgNode, fail) -> None:
    """MODEL, RESNET, NONLOCAL: depth, architecture, per-stage lists with one entry per pathway, block
    indices inside their stage, DATA.INPUT_CHANNEL_NUM per pathway, dropout and class count."""
    if cfg.RESNET.DEPTH != 0 and cfg.RESNET.DEPTH not in STAGE_DEPTHS:
        fail(f"RESNET.DEPTH is {cfg.RESNET.DEPTH}; choose one of {sorted(STAGE_DEPTHS)} or 0 (use RESNET.STAGE_DEPTHS)")
    depths = stage_depths(cfg)
    if len(depths) != 4 or any(d < 1 for d in depths):
        fail(f"RESNET.STAGE_DEPTHS must be 4 positive block counts (res2..res5), got {list(depths)}")

    npath = num_pathways(cfg)
    if cfg.MODEL.MODEL_NAME == "SlowFast" and cfg.MODEL.ARCH != "slowfast":
        fail(f"MODEL.MODEL_NAME SlowFast needs MODEL.ARCH slowfast, got {cfg.MODEL.ARCH!r}")
    if cfg.MODEL.MODEL_NAME == "ResNet" and cfg.MODEL.ARCH == "slowfast":
        fail("MODEL.ARCH slowfast needs MODEL.MODEL_NAME SlowFast (ResNet builds one pathway)")
    per_stage = {
        "RESNET.NUM_BLOCK_TEMP_KERNEL": cfg.RESNET.NUM_BLOCK_TEMP_KERNEL,
        "RESNET.SPATIAL_STRIDES": cfg.RESNET.SPATIAL_STRIDES,
        "RESNET.SPATIAL_DILATIONS": cfg.RESNET.SPATIAL_DILATIONS,
        "NONLOCAL.LOCATION": cfg.NONLOCAL.LOCATION,
        "NONLOCAL.GROUP": cfg.NONLOCAL.GROUP,
        "NONLOCAL.POOL": cfg.NONLOCAL.POOL,
    }
    defaults = get_cfg()
    for key, value in per_stage.items():
        if len(value) != 4 or any(not isinstance(s, (list, tuple)) or len(s) < npath for s in value):
            fail(f"{key} must list res2..res5 (4 entries) with one value per pathway ({npath}), got {value}")
        # Longer lists would be ignored silently; the (two-pathway) defaults are left alone.
        if any(len(s) > npath for s in value) and list(value) != list(_get(defaults, key)):
            fail(f"{key} has more entries per stage than the model has pathways ({npath}, MODEL.MODEL_NAME "
                 f"{cfg.MODEL.MODEL_NAME}), got {value}")
    for s, depth in enumerate(depths):
        for p in range(npath):
            n = cfg.RESNET.NUM_BLOCK_TEMP_KERNEL[s][p]
            if not 0 <= n <= depth:
                fail(f"RESNET.NUM_BLOCK_TEMP_KERNEL[{s}][{p}] = {n} but res{s + 2} has {depth} blocks")
            for idx in cfg.NONLOCAL.LOCATION[s][p]:
                if not 0 <= idx < depth:
                    fail(f"NONLOCAL.LOCATION[{s}][{p}] has block {idx} but res{s + 2} has {depth} blocks")
    channels = list(cfg.DATA.INPUT_CHANNEL_NUM)
    if channels and (len(channels) < npath or (len(channels) > npath and channels != list(defaults.DATA.INPUT_CHANNEL_NUM))):
        fail(f"DATA.INPUT_CHANNEL_NUM needs one entry per pathway ({npath}), got {cfg.DATA.INPUT_CHANNEL_NUM}")
    if not 0.0 <= cfg.MODEL.DROPOUT_RATE < 1.0:
        fail(f"MODEL.DROPOUT_RATE must be in [0, 1), got {cfg.MODEL.DROPOUT_RATE}")
    if cfg.MODEL.NUM_CLASSES < 0:
        fail(f"MODEL.NUM_CLASSES must be >= 1, or 0 to take it from the dataset, got {cfg.MODEL.NUM_CLASSES}")


def _check_slowfast(cfg: CfgNode, fail) -> None:
    """SLOWFAST (two pathways only): alpha divides the clip's frames, beta_inv the width."""
    if cfg.MODEL.MODEL_NAME != "SlowFast":
        return
    alpha = cfg.SLOWFAST.ALPHA
    if alpha < 1:
        fail(f"SLOWFAST.ALPHA must be >= 1, got {alpha}")
    if cfg.DATA.NUM_FRAMES % alpha:
        fail(
            f"SLOWFAST.ALPHA = {alpha} does not divide DATA.NUM_FRAMES = {cfg.DATA.NUM_FRAMES} "
            "(the Slow pathway takes every alpha-th frame of the Fast pathway)"
        )
    if cfg.SLOWFAST.BETA_INV < 1 or cfg.RESNET.WIDTH_PER_GROUP % cfg.SLOWFAST.BETA_INV:
        fail(
            f"SLOWFAST.BETA_INV = {cfg.SLOWFAST.BETA_INV} must divide RESNET.WIDTH_PER_GROUP = "
            f"{cfg.RESNET.WIDTH_PER_GROUP}"
        )


def _check_data(cfg: CfgNode, fail) -> None:
    """DATA: clip length, jitter scales and crop, normalisation statistics, labels, decode retries."""
    if cfg.DATA.NUM_FRAMES < 1 or cfg.DATA.SAMPLING_RATE < 1:
        fail("DATA.NUM_FRAMES and DATA.SAMPLING_RATE must be >= 1")
    lo, hi = (list(cfg.DATA.TRAIN_JITTER_SCALES) + [0, 0])[:2]
    if len(cfg.DATA.TRAIN_JITTER_SCALES) != 2 or lo > hi or lo < 1:
        fail(f"DATA.TRAIN_JITTER_SCALES must be [min, max] with 1 <= min <= max, got {cfg.DATA.TRAIN_JITTER_SCALES}")
    if cfg.DATA.TRAIN_CROP_SIZE > lo:
        fail(f"DATA.TRAIN_CROP_SIZE = {cfg.DATA.TRAIN_CROP_SIZE} exceeds the smallest jitter scale {lo}")
    if len(cfg.DATA.MEAN) != 3 or len(cfg.DATA.STD) != 3 or min(cfg.DATA.STD) <= 0:
        fail("DATA.MEAN and DATA.STD need 3 values each, STD > 0")
    if cfg.DATA.MULTI_LABEL:
        fail("DATA.MULTI_LABEL True is not supported (multi-label video classification); for AVA use "
             "DETECTION.ENABLE True with MODEL.LOSS_FUNC bce")
    if cfg.AVA.MAX_REPLACED_KEYFRAMES < -1 or cfg.DATA.MAX_DECODE_RETRIES < 0:
        fail("AVA.MAX_REPLACED_KEYFRAMES must be >= -1 (-1 = no limit) and DATA.MAX_DECODE_RETRIES >= 0")


def _check_processes(cfg: CfgNode, fail) -> None:
    """Machines and processes, TRAIN / TEST batch sizes split over them, test views, and the BN variants
    that depend on the per-process batch (BN.NUM_SPLITS) or on the processes (BN.NUM_SYNC_DEVICES)."""
    if cfg.NUM_SHARDS < 1 or not 0 <= cfg.SHARD_ID < cfg.NUM_SHARDS:
        fail(f"SHARD_ID = {cfg.SHARD_ID} must be in [0, NUM_SHARDS = {cfg.NUM_SHARDS})")
    if cfg.DIST_INIT_TIMEOUT_SEC < 1:
        fail(f"DIST_INIT_TIMEOUT_SEC must be >= 1 second, got {cfg.DIST_INIT_TIMEOUT_SEC}")
    if cfg.NUM_GPUS < 0 or cfg.NUM_PROCESSES < 1:
        fail("NUM_GPUS must be >= 0 and NUM_PROCESSES >= 1")
    world = world_size(cfg)
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        bs = _get(cfg, key)
        if bs < 1 or bs % world:
            fail(f"{key} = {bs} is not divisible by the number of processes ({world})")
    if cfg.TEST.NUM_ENSEMBLE_VIEWS < 1 or cfg.TEST.NUM_SPATIAL_CROPS not in (1, 3):
        fail("TEST.NUM_ENSEMBLE_VIEWS must be >= 1 and TEST.NUM_SPATIAL_CROPS 1 or 3")
    if cfg.BN.NORM_TYPE == "sub_batchnorm":
        per_proc = cfg.TRAIN.BATCH_SIZE // world
        if cfg.BN.NUM_SPLITS < 1 or per_proc % cfg.BN.NUM_SPLITS:
            fail(
                f"BN.NUM_SPLITS = {cfg.BN.NUM_SPLITS} must divide the per-process batch "
                f"TRAIN.BATCH_SIZE / processes = {per_proc}"
            )
    if cfg.BN.NORM_TYPE == "sync_batchnorm" and cfg.BN.NUM_SYNC_DEVICES and world % cfg.BN.NUM_SYNC_DEVICES:
        fail(f"BN.NUM_SYNC_DEVICES = {cfg.BN.NUM_SYNC_DEVICES} must divide the number of processes ({world})")


def _check_solver(cfg: CfgNode, fail) -> None:
    """SOLVER: the step schedule, learning rate, epochs and warm-up."""
    if cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs":
        steps, lrs = cfg.SOLVER.STEPS, cfg.SOLVER.LRS
        if not steps or len(steps) != len(lrs) or steps[0] != 0 or list(steps) != sorted(steps):
            fail(
                "SOLVER.STEPS must start at 0, increase, and have one SOLVER.LRS entry each; "
                f"got STEPS {steps}, LRS {lrs}"
            )
    if not cfg.SOLVER.BASE_LR > 0:
        fail(f"SOLVER.BASE_LR must be > 0, got {cfg.SOLVER.BASE_LR}")
    if cfg.SOLVER.MAX_EPOCH < 1:
        fail(f"SOLVER.MAX_EPOCH must be >= 1, got {cfg.SOLVER.MAX_EPOCH}")
    if cfg.SOLVER.WARMUP_EPOCHS > cfg.SOLVER.MAX_EPOCH:
        fail(f"SOLVER.WARMUP_EPOCHS = {cfg.SOLVER.WARMUP_EPOCHS} exceeds SOLVER.MAX_EPOCH = {cfg.SOLVER.MAX_EPOCH}")


def _check_detection(cfg: CfgNode, fail) -> None:
    """DETECTION and AVA: the RoI head's settings, the key-frame timeline."""
    if cfg.DETECTION.ENABLE and cfg.DETECTION.SPATIAL_SCALE_FACTOR < 1:
        fail("DETECTION.SPATIAL_SCALE_FACTOR must be >= 1")
    if cfg.DETECTION.CONTEXT_BRANCH and not cfg.DETECTION.ENABLE:
        fail("DETECTION.CONTEXT_BRANCH needs DETECTION.ENABLE True")
    if cfg.AVA.FPS < 1 or not cfg.AVA.START_SEC <= cfg.AVA.KEYFRAME_START_SEC <= cfg.AVA.KEYFRAME_END_SEC:
        fail(f"AVA.FPS must be >= 1 and AVA.START_SEC <= AVA.KEYFRAME_START_SEC <= AVA.KEYFRAME_END_SEC, got "
             f"{cfg.AVA.FPS}, {cfg.AVA.START_SEC}, {cfg.AVA.KEYFRAME_START_SEC}, {cfg.AVA.KEYFRAME_END_SEC}")


def _check_demo(cfg: CfgNode, fail) -> None:
    """DEMO: stride (whole seconds for detection), top-k, thresholds."""
    if cfg.DEMO.STRIDE_SEC <= 0:
        fail(f"DEMO.STRIDE_SEC must be > 0 seconds, got {cfg.DEMO.STRIDE_SEC}")
    if cfg.DETECTION.ENABLE and cfg.DEMO.STRIDE_SEC != int(cfg.DEMO.STRIDE_SEC):
        fail(f"DEMO.STRIDE_SEC must be a whole number of seconds for detection (AVA key frames), got {cfg.DEMO.STRIDE_SEC}")
    if cfg.DEMO.TOP_K < 1:
        fail(f"DEMO.TOP_K must be >= 1, got {cfg.DEMO.TOP_K}")
    for key in ("DEMO.DETECTOR_THRESH", "DEMO.ACTION_THRESH"):
        if not 0.0 <= _get(cfg, key) <= 1.0:
            fail(f"{key} must be in [0, 1], got {_get(cfg, key)}")
