"""Checkpoints: `.pyth` files holding a dict with `model_state`, `optimizer_state`, `epoch` and `cfg`
(PySlowFast's layout), written atomically (temporary file + rename) so that a crash never leaves a
half-written checkpoint. Loading reports missing, unexpected and shape-mismatched keys in one table
and fails unless a partial load is allowed. Caffe2 `.pkl` files load through the name mapping of
`slowfast.checkpoint.caffe2` (checkpoint_type "caffe2"); 2D ImageNet kernels can be inflated to 3D
(`inflate_state`).

Reading never runs code from a file (SECURITY.md, `load_pickled`): `torch.load(weights_only=True)`,
then the restricted unpickler of `slowfast.checkpoint.safe_pickle` for legacy files, else a refusal that
names TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE. Auto-resume (`resume_latest`) takes the newest readable
checkpoint and renames unreadable newer ones to `*.corrupt`.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from typing import Any, Iterable, Mapping

import numpy as np
import torch
import torch.nn as nn
import yaml

from slowfast.checkpoint import safe_pickle
from slowfast.checkpoint.cfg_diff import warn_if_cfg_differs
from slowfast.utils.io import TEMP_PREFIX, atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^checkpoint_epoch_(\d{5,})\.pyth$")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message names the file."""


class CheckpointReadError(CheckpointError):
    """The file itself cannot be read: missing, truncated, not a checkpoint, or refused because
    unpickling it could run code. (A readable file that does not fit the model is a CheckpointError.)"""


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside DistributedDataParallel / DataParallel wrappers."""
    return model.module if hasattr(model, "module") and isinstance(model.module, nn.Module) else model


def checkpoint_dir(output_dir: str) -> str:
    return os.path.join(output_dir, CHECKPOINT_DIR)


def checkpoint_path(output_dir: str, epoch: int) -> str:
    """OUTPUT_DIR/checkpoints/checkpoint_epoch_NNNNN.pyth for a 1-based epoch number."""
    return os.path.join(checkpoint_dir(output_dir), f"checkpoint_epoch_{epoch:05d}.pyth")


def list_checkpoints(output_dir: str) -> list[str]:
    d = checkpoint_dir(output_dir)
    if not os.path.isdir(d):
        return []
    names = sorted((int(m.group(1)), n) for n in os.listdir(d) if (m := _NAME.match(n)))
    return [os.path.join(d, n) for _, n in names]


def last_checkpoint(output_dir: str) -> str | None:
    """The checkpoint with the highest epoch in OUTPUT_DIR/checkpoints, or None."""
    ckpts = list_checkpoints(output_dir)
    return ckpts[-1] if ckpts else None


def remove_stale_temp_files(output_dir: str) -> list[str]:
    """Delete the temporary files that an interrupted `atomic_write` left in OUTPUT_DIR/checkpoints
    (`.tmp_*`: never a finished checkpoint, which only exists after the rename). Returns their paths."""
    d = checkpoint_dir(output_dir)
    removed = []
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        path = os.path.join(d, name)
        if name.startswith(TEMP_PREFIX) and os.path.isfile(path):
            try:
                os.remove(path)
            except OSError as e:
                logger.warning("cannot remove the stale temporary file %s: %s", path, e)
                continue
            removed.append(path)
    if removed:
        logger.warning("removed %d temporary files of an interrupted checkpoint save: %s", len(removed),
                       ", ".join(removed))
    return removed


def set_aside(path: str) -> str:
    """Rename an unreadable checkpoint to `<path>.corrupt` (`.corrupt.1`, ... when taken): kept for
    inspection, no longer picked by auto-resume. Returns the new path."""
    target, n = path + ".corrupt", 0
    while os.path.exists(target):
        n += 1
        target = f"{path}.corrupt.{n}"
    os.replace(path, target)
    return target


def resume_latest(output_dir: str, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
                  scaler: Any = None, set_aside_unreadable: bool = True) -> tuple[str | None, int]:
    """Auto-resume: load the newest checkpoint of OUTPUT_DIR/checkpoints that can be read.

    A newer file that cannot be read (truncated by a crash while copying, a full disk, refused content)
    is reported with its path and reason and renamed aside (`set_aside`, only when
    `set_aside_unreadable`: the master process) so that the next start does not trip over it; nothing is
    deleted. Files are never fully unpickled here. A readable checkpoint that does not fit the model
    raises CheckpointError (a configuration problem, not a damaged file).
    Returns (path, completed epochs), or (None, 0) when no checkpoint can be read.
    """
    for path in reversed(list_checkpoints(output_dir)):
        try:
            return path, load_checkpoint(path, model, optimizer, scaler=scaler)
        except CheckpointReadError as e:
            note = ""
            if set_aside_unreadable and os.path.exists(path):
                try:
                    note = f"; renamed to {set_aside(path)}"
                except OSError as e2:
                    note = f"; it could not be renamed aside ({e2})"
            logger.error("auto-resume: skipping unreadable checkpoint %s (%s)%s", path, e, note)
    return None, 0


def atomic_torch_save(obj: Any, path: str) -> None:
    """torch.save `obj` to `path` through `atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_checkpoint(
    path: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    epoch: int = 0,
    cfg=None,
    scaler: Any = None,
    extra: dict | None = None,
) -> str:
    """Write a `.pyth` checkpoint to `path` atomically and return the path.

    `epoch` is the number of completed epochs. `cfg` (a CfgNode) is stored as its YAML dump.
    """
    state = {
        "model_state": {k: v.detach().cpu() for k, v in unwrap(model).state_dict().items()},
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "epoch": epoch,
        "cfg": cfg.dump() if cfg is not None else None,
    }
    if scaler is not None:
        state["scaler_state"] = scaler.state_dict()
    if extra:
        state.update(extra)
    atomic_torch_save(state, path)
    return path


UNSAFE_OPT_IN = "TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE True"


def _first_line(error: BaseException) -> str:
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    return lines[0] if lines else type(error).__name__


def _unsupported_global(error: BaseException) -> str:
    """The reason torch's weights-only unpickler gives ("Unsupported global: GLOBAL os.system ..."), else
    the first line of the error."""
    m = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(error))
    return f"it refers to {m.group(1)}" if m else _first_line(error)


def refuse_or_warn(path: str, what: str, error: Exception, allow_unsafe: bool) -> None:
    """The restricted unpickler refused `path`: raise CheckpointReadError naming the global and the opt-in,
    or, with `allow_unsafe`, warn that the file is about to be fully unpickled."""
    if not allow_unsafe:
        raise CheckpointReadError(
            f"refusing to unpickle {what} {path}: {error}; unpickling it fully could run code stored in the "
            f"file. If you trust the file, set {UNSAFE_OPT_IN} to load it anyway") from error
    logger.warning("%s: %s; fully unpickling it because TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE is True (this "
                   "runs any code stored in the file)", path, error)


def _legacy_to_plain(data: Any) -> Any:
    """A legacy checkpoint in our layout: the config node as YAML text (as our files and PySlowFast's
    newer ones store it), numpy arrays of the model state as tensors."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if isinstance(data.get("cfg"), safe_pickle.ConfigNode):
        data["cfg"] = yaml.safe_dump(safe_pickle.config_to_plain(data["cfg"]), default_flow_style=False)
    state = data.get("model_state")
    if isinstance(state, dict):
        data["model_state"] = {k: torch.from_numpy(np.array(v, copy=True)) if isinstance(v, np.ndarray) else v
                               for k, v in state.items()}
    return data


def load_pickled(path: str, allow_unsafe: bool = False) -> Any:
    """Unpickle a `.pyth` file without running code from it.

    1. `torch.load(weights_only=True)`: tensors, numbers, strings and plain containers (our files).
    2. Otherwise the restricted unpickler of `slowfast.checkpoint.safe_pickle` (PySlowFast's older files with
       numpy arrays and a CfgNode as `cfg`; the node comes back as YAML text).
    3. A file that needs anything else is refused (CheckpointReadError naming the file, the offending
       global and the opt-in), unless `allow_unsafe` (TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE): then it is
       fully unpickled, with a warning.
    """
    if not os.path.isfile(path):
        raise CheckpointReadError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        weights_only_error = e
    except Exception as e:  # noqa: BLE001 - a truncated zip, random bytes, ...: a bad file
        raise CheckpointReadError(f"cannot read checkpoint {path}: {_first_line(e)}") from e
    try:
        data = torch.load(path, map_location="cpu", weights_only=False, pickle_module=safe_pickle)
    except safe_pickle.ForbiddenGlobal as e:
        refuse_or_warn(path, "checkpoint", e, allow_unsafe)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e2:  # noqa: BLE001
            raise CheckpointReadError(f"cannot read checkpoint {path}: {_first_line(e2)}") from e2
    except Exception as e:  # noqa: BLE001
        raise CheckpointReadError(f"cannot read checkpoint {path}: {_unsupported_global(weights_only_error)}; "
                                  f"{_first_line(e)}") from e
    logger.info("%s: legacy checkpoint (numpy arrays or a config node) read with the restricted unpickler", path)
    try:
        return _legacy_to_plain(data)
    except (RecursionError, ValueError, TypeError, yaml.YAMLError) as e:  # a crafted, e.g. self-containing, cfg
        raise CheckpointReadError(f"cannot read checkpoint {path}: its cfg or model state is malformed "
                                  f"({_first_line(e)})") from e


def read_checkpoint(path: str, allow_unsafe: bool = False) -> dict:
    """Read a `.pyth` file into its dict (see `load_pickled`); a bare state dict is wrapped as
    {"model_state": ...}. The stored `cfg` is YAML text (or None)."""
    data = load_pickled(path, allow_unsafe)
    if isinstance(data, dict) and "model_state" in data:
        return check_layout(data, path)
    if isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
        return {"model_state": data, "optimizer_state": None, "epoch": 0, "cfg": None}
    raise CheckpointReadError(f"{path}: not a checkpoint (expected a dict with 'model_state')")


def check_layout(data: dict, path: str) -> dict:
    """Raise CheckpointReadError unless `model_state` maps names to tensors, `epoch` is a whole number
    and `optimizer_state` is a dict or None (a damaged or crafted file fails here, naming the field)."""
    state = data["model_state"]
    if not isinstance(state, dict):
        raise CheckpointReadError(f"{path}: 'model_state' is a {type(state).__name__}, expected a dict of tensors")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointReadError(f"{path}: 'model_state' entry {bad[0]!r} is not a named tensor "
                                  f"({len(bad)} such entries)")
    epoch = data.get("epoch")
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0):
        raise CheckpointReadError(f"{path}: 'epoch' is {epoch!r}, expected a number of completed epochs")
    if data.get("optimizer_state") is not None and not isinstance(data["optimizer_state"], dict):
        raise CheckpointReadError(f"{path}: 'optimizer_state' is a {type(data['optimizer_state']).__name__}, "
                                  "expected a dict")
    return data


def compare_state_dicts(model_state: dict, ckpt_state: dict) -> dict[str, list]:
    """Keys missing from the checkpoint, unexpected in it, and present with another shape."""
    missing = sorted(k for k in model_state if k not in ckpt_state)
    unexpected = sorted(k for k in ckpt_state if k not in model_state)
    mismatched = sorted(
        (k, tuple(ckpt_state[k].shape), tuple(model_state[k].shape))
        for k in model_state
        if k in ckpt_state and tuple(model_state[k].shape) != tuple(ckpt_state[k].shape)
    )
    return {"missing": missing, "unexpected": unexpected, "mismatched": mismatched}


def format_key_report(report: dict[str, list], path: str = "") -> str:
    """One readable table of the key differences."""
    rows = [f"{'status':<12} {'key':<60} detail"]
    for k in report["missing"]:
        rows.append(f"{'missing':<12} {k:<60} not in checkpoint (keeps its initial value)")
    for k in report["unexpected"]:
        rows.append(f"{'unexpected':<12} {k:<60} not in model (ignored)")
    for k, ck, mo in report["mismatched"]:
        rows.append(f"{'shape':<12} {k:<60} checkpoint {list(ck)} vs model {list(mo)} (not loaded)")
    head = f"checkpoint {path}: " if path else ""
    return head + f"{len(rows) - 1} key differences\n" + "\n".join(rows)


HEAD_PREFIX = "head."


def _differing_keys(report: dict[str, list]) -> list[str]:
    return report["missing"] + report["unexpected"] + [m[0] for m in report["mismatched"]]


def load_state(
    model: nn.Module,
    ckpt_state: dict,
    path: str = "",
    allow_partial: bool = False,
    expected_dropped: Iterable[str] = (),
) -> dict[str, list]:
    """Copy matching tensors of `ckpt_state` into `model`.

    Raises CheckpointError on any missing, unexpected or shape-mismatched key unless `allow_partial`.
    When every difference lies in the classifier head (`head.`) or under a prefix of `expected_dropped`,
    the log says that the head is dropped for fine-tuning. Returns the key report, with
    `report["dropped"]`: the checkpoint keys that were not loaded (unexpected or of another shape).
    """
    model = unwrap(model)
    model_state = model.state_dict()
    report = compare_state_dicts(model_state, ckpt_state)
    report["dropped"] = sorted(set(report["unexpected"]) | {m[0] for m in report["mismatched"]})
    differing = _differing_keys(report)
    if differing:
        table = format_key_report(report, path)
        head_only = all(k.startswith((HEAD_PREFIX, *expected_dropped)) for k in differing)
        if not allow_partial:
            hint = " (only the classifier head differs: fine-tuning on another label set?)" if head_only else ""
            raise CheckpointError(
                table + f"\nset TRAIN.CHECKPOINT_PARTIAL_LOAD True to load the matching keys only{hint}"
            )
        if head_only:
            logger.warning("partial load for fine-tuning: the checkpoint's classifier head is dropped and the "
                           "model's head keeps its initial values:\n%s", table)
        else:
            logger.warning("partial load:\n%s", table)
    mismatched = {m[0] for m in report["mismatched"]}
    to_load = {k: v for k, v in ckpt_state.items() if k in model_state and k not in mismatched}
    model.load_state_dict(to_load, strict=False)
    return report


def inflate_state(ckpt_state: Mapping[str, torch.Tensor], model_state: Mapping[str, torch.Tensor]) -> dict:
    """Inflate 2D conv kernels of `ckpt_state` to the 3D kernels of `model_state` (I3D-style).

    A checkpoint tensor `O x I x kH x kW` whose model counterpart is `O x I x kT x kH x kW` is repeated
    kT times along time and divided by kT, so that on a temporally constant clip the 3D conv gives the
    2D conv's output at every frame (away from zero-padded temporal borders). Other tensors are kept.
    """
    out = dict(ckpt_state)
    inflated = []
    for key, value in ckpt_state.items():
        ref = model_state.get(key)
        if ref is None or value.dim() != 4 or ref.dim() != 5:
            continue
        if tuple(value.shape[:2]) != tuple(ref.shape[:2]) or tuple(value.shape[2:]) != tuple(ref.shape[3:]):
            continue
        kt = ref.shape[2]
        out[key] = value.unsqueeze(2).repeat(1, 1, kt, 1, 1) / kt
        inflated.append(f"{key} {list(value.shape)} -> {list(out[key].shape)}")
    logger.info("inflated %d 2D kernels to 3D%s", len(inflated), (":\n  " + "\n  ".join(inflated)) if inflated else "")
    return out


def strip_wrapper_prefix(state: dict) -> dict:
    """Drop a "module." prefix that a DataParallel / DistributedDataParallel model puts on every key."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


def plain_bn_to_sub_bn(ckpt_state: Mapping[str, torch.Tensor], model_state: Mapping[str, torch.Tensor]) -> dict:
    """Fit plain-BN statistics to a model with SubBatchNorm3d layers.

    PySlowFast saves sub-batch BN as plain BN keys (`X.running_mean`, ...). Our SubBatchNorm3d keeps
    them in `X.bn.*` (test time) and `X.split_bn.*` (per sub-batch, num_splits times longer): each
    plain statistic is copied to `X.bn.*` and tiled num_splits times into `X.split_bn.*`.
    """
    out = dict(ckpt_state)
    consumed = set()
    for key, ref in model_state.items():
        m = re.fullmatch(r"(.*)\.(bn|split_bn)\.(running_mean|running_var|num_batches_tracked)", key)
        plain_key = f"{m.group(1)}.{m.group(3)}" if m else None
        if key in ckpt_state or plain_key not in ckpt_state or plain_key in model_state:
            continue
        plain = ckpt_state[plain_key]
        if plain.dim() == 1 and ref.dim() == 1 and plain.shape[0] and ref.shape[0] % plain.shape[0] == 0:
            plain = plain.repeat(ref.shape[0] // plain.shape[0])
        out[key] = plain.clone()
        consumed.add(plain_key)
    for key in consumed:
        del out[key]
    return out


def read_any_checkpoint(path: str, checkpoint_type: str = "pytorch", model_state: Mapping | None = None,
                        allow_unsafe: bool = False) -> dict:
    """Read a "pytorch" `.pyth` or a "caffe2" `.pkl` checkpoint into the `.pyth` dict layout, without
    running code from the file unless `allow_unsafe` (see `load_pickled`)."""
    if checkpoint_type == "pytorch":
        return read_checkpoint(path, allow_unsafe)
    if checkpoint_type == "caffe2":
        from slowfast.checkpoint.caffe2 import read_caffe2_checkpoint  # caffe2.py imports this module

        return read_caffe2_checkpoint(path, model_state, allow_unsafe)
    raise CheckpointError(f"unsupported checkpoint_type {checkpoint_type!r} for {path}; use 'pytorch' or 'caffe2'")


def load_checkpoint(
    path: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    checkpoint_type: str = "pytorch",
    allow_partial: bool = False,
    scaler: Any = None,
    expected_dropped: Iterable[str] = (),
    inflate: bool = False,
    allow_unsafe: bool = False,
    cfg: Any = None,
) -> int:
    """Load a checkpoint into `model` (and `optimizer`, `scaler` when given and present).

    checkpoint_type: "pytorch" for `.pyth` files (PySlowFast layout), "caffe2" for Caffe2 `.pkl` files
    (names converted by `slowfast.checkpoint.caffe2`). `inflate`: turn 2D kernels into 3D (`inflate_state`).
    `allow_unsafe`: fully unpickle a file that the restricted readers refuse (TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE).
    Returns the stored epoch (completed epochs), 0 when the file has none. A file that cannot be read
    raises CheckpointReadError before the model is touched.
    """
    model_state = unwrap(model).state_dict()
    data = read_any_checkpoint(path, checkpoint_type, model_state, allow_unsafe)
    warn_if_cfg_differs(data.get("cfg"), cfg, path)  # `cfg`: the current config, compared with the stored one
    state = plain_bn_to_sub_bn(strip_wrapper_prefix(data["model_state"]), model_state)
    if inflate:
        state = inflate_state(state, model_state)
    load_state(model, state, path, allow_partial, expected_dropped)
    try:
        if optimizer is not None and data.get("optimizer_state"):
            optimizer.load_state_dict(data["optimizer_state"])
        if scaler is not None and data.get("scaler_state"):
            scaler.load_state_dict(data["scaler_state"])
    except (ValueError, KeyError, TypeError, RuntimeError) as e:
        raise CheckpointError(f"{path}: the optimizer / grad-scaler state does not fit (another "
                              f"SOLVER.OPTIMIZING_METHOD or parameter set?): {_first_line(e)}") from e
    return int(data.get("epoch") or 0)
