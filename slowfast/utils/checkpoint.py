"""Checkpoints: `.pyth` files holding a dict with `model_state`, `optimizer_state`, `epoch` and `cfg`
(PySlowFast's layout), written atomically (temporary file + rename) so that a crash never leaves a
half-written checkpoint. Loading reports missing, unexpected and shape-mismatched keys in one table
and fails unless a partial load is allowed. Caffe2 `.pkl` files load through the name mapping of
`slowfast.utils.caffe2` (checkpoint_type "caffe2"); 2D ImageNet kernels can be inflated to 3D
(`inflate_state`).
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Iterable, Mapping

import torch
import torch.nn as nn

from slowfast.utils.checkpoint_cfg import warn_if_cfg_differs
from slowfast.utils.io import atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
_NAME = re.compile(r"^checkpoint_epoch_(\d{5,})\.pyth$")


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message names the file."""


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


def read_checkpoint(path: str) -> dict:
    """Read a `.pyth` file into its dict; a bare state dict is wrapped as {"model_state": ...}."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # Tensors, dicts, numbers and strings only: a checkpoint cannot run code when it is read.
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as safe_error:  # noqa: BLE001
        try:
            data = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
            raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
        logger.warning("%s holds objects other than tensors and plain containers (%s); it was loaded with "
                       "full unpickling: only do this with files you trust", path, str(safe_error).splitlines()[0])
    if isinstance(data, dict) and "model_state" in data:
        return data
    if isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
        return {"model_state": data, "optimizer_state": None, "epoch": 0, "cfg": None}
    raise CheckpointError(f"{path}: not a checkpoint (expected a dict with 'model_state')")


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


def read_any_checkpoint(path: str, checkpoint_type: str = "pytorch", model_state: Mapping | None = None) -> dict:
    """Read a "pytorch" `.pyth` or a "caffe2" `.pkl` checkpoint into the `.pyth` dict layout."""
    if checkpoint_type == "pytorch":
        return read_checkpoint(path)
    if checkpoint_type == "caffe2":
        from slowfast.utils.caffe2 import read_caffe2_checkpoint  # caffe2.py imports this module

        return read_caffe2_checkpoint(path, model_state)
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
    cfg: Any = None,
) -> int:
    """Load a checkpoint into `model` (and `optimizer`, `scaler` when given and present).

    checkpoint_type: "pytorch" for `.pyth` files (PySlowFast layout), "caffe2" for Caffe2 `.pkl` files
    (names converted by `slowfast.utils.caffe2`). `inflate`: turn 2D kernels into 3D (`inflate_state`).
    Returns the stored epoch (completed epochs), 0 when the file has none.
    """
    model_state = unwrap(model).state_dict()
    data = read_any_checkpoint(path, checkpoint_type, model_state)
    warn_if_cfg_differs(data.get("cfg"), cfg, path)  # `cfg`: the current config, compared with the stored one
    state = plain_bn_to_sub_bn(strip_wrapper_prefix(data["model_state"]), model_state)
    if inflate:
        state = inflate_state(state, model_state)
    load_state(model, state, path, allow_partial, expected_dropped)
    if optimizer is not None and data.get("optimizer_state"):
        optimizer.load_state_dict(data["optimizer_state"])
    if scaler is not None and data.get("scaler_state"):
        scaler.load_state_dict(data["scaler_state"])
    return int(data.get("epoch") or 0)
