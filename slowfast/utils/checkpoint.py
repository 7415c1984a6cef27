"""Checkpoints: `.pyth` files holding a dict with `model_state`, `optimizer_state`, `epoch` and `cfg`
(PySlowFast's layout), written atomically (temporary file + rename) so that a crash never leaves a
half-written checkpoint. Loading reports missing, unexpected and shape-mismatched keys in one table
and fails unless a partial load is allowed.
"""
from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Any, Iterable

import torch
import torch.nn as nn

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
    """torch.save to a temporary file in the same folder, fsync, then rename over `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".pyth", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
        data = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
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


def load_state(
    model: nn.Module,
    ckpt_state: dict,
    path: str = "",
    allow_partial: bool = False,
    expected_dropped: Iterable[str] = (),
) -> dict[str, list]:
    """Copy matching tensors of `ckpt_state` into `model`.

    Raises CheckpointError on any missing, unexpected or shape-mismatched key unless `allow_partial`;
    keys starting with a prefix in `expected_dropped` (e.g. "head.") are reported as dropped on purpose.
    Returns the key report.
    """
    model = unwrap(model)
    model_state = model.state_dict()
    report = compare_state_dicts(model_state, ckpt_state)
    dropped = tuple(expected_dropped)
    differs = report["missing"] or report["unexpected"] or report["mismatched"]
    if differs:
        table = format_key_report(report, path)
        if not allow_partial:
            raise CheckpointError(
                table + "\nset TRAIN.CHECKPOINT_PARTIAL_LOAD True to load the matching keys only"
            )
        on_purpose = all(
            k.startswith(dropped)
            for k in report["missing"] + report["unexpected"] + [m[0] for m in report["mismatched"]]
        ) if dropped else False
        logger.warning(("partial load, dropping the head on purpose:\n" if on_purpose else "partial load:\n") + table)
    mismatched = {m[0] for m in report["mismatched"]}
    to_load = {k: v for k, v in ckpt_state.items() if k in model_state and k not in mismatched}
    model.load_state_dict(to_load, strict=False)
    return report


def load_checkpoint(
    path: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    checkpoint_type: str = "pytorch",
    allow_partial: bool = False,
    scaler: Any = None,
    expected_dropped: Iterable[str] = (),
) -> int:
    """Load a checkpoint into `model` (and `optimizer`, `scaler` when given and present).

    checkpoint_type: "pytorch" for `.pyth` files (PySlowFast layout). Returns the stored epoch
    (completed epochs), 0 when the file has none.
    """
    if checkpoint_type == "pytorch":
        data = read_checkpoint(path)
    else:
        raise CheckpointError(f"unsupported checkpoint_type {checkpoint_type!r} for {path}; only 'pytorch' is implemented")
    load_state(model, data["model_state"], path, allow_partial, expected_dropped)
    if optimizer is not None and data.get("optimizer_state"):
        optimizer.load_state_dict(data["optimizer_state"])
    if scaler is not None and data.get("scaler_state"):
        scaler.load_state_dict(data["scaler_state"])
    return int(data.get("epoch") or 0)
