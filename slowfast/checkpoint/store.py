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

Whether a checkpoint fits the run is checked in one place, `load_checkpoint`, before the model is touched:
NaN / Inf weights are a CheckpointReadError; with the run's `cfg`, the stored config is compared
(`slowfast.checkpoint.cfg_diff.check_cfg_fit`: architecture keys refused, data keys warned about).
"""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Iterable, Mapping

import torch
import torch.nn as nn

from slowfast.checkpoint.caffe2 import read_caffe2_checkpoint
from slowfast.checkpoint.cfg_diff import check_cfg_fit
from slowfast.checkpoint.errors import CheckpointError, CheckpointReadError, first_line
from slowfast.checkpoint.pyth import read_checkpoint
from slowfast.utils.distributed import unwrap
from slowfast.utils.io import TEMP_PREFIX, atomic_write

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
# checkpoint_epoch_NNNNN.pyth after N completed epochs; checkpoint_epoch_NNNNN_iter_IIIIII.pyth in the middle of
# epoch N + 1, before its iteration I + 1 (TRAIN.CHECKPOINT_ITER_PERIOD): sorted by (N, I), epoch ends first.
_NAME = re.compile(r"^checkpoint_epoch_(\d{5,})(?:_iter_(\d{6,}))?\.pyth$")


def checkpoint_dir(output_dir: str) -> str:
    return os.path.join(output_dir, CHECKPOINT_DIR)


def checkpoint_path(output_dir: str, epoch: int) -> str:
    """OUTPUT_DIR/checkpoints/checkpoint_epoch_NNNNN.pyth for a 1-based epoch number."""
    return os.path.join(checkpoint_dir(output_dir), f"checkpoint_epoch_{epoch:05d}.pyth")


def iteration_checkpoint_path(output_dir: str, epoch: int, next_iter: int) -> str:
    """OUTPUT_DIR/checkpoints/checkpoint_epoch_NNNNN_iter_IIIIII.pyth: `epoch` completed epochs and the first
    `next_iter` iterations of the next one (TRAIN.CHECKPOINT_ITER_PERIOD)."""
    return os.path.join(checkpoint_dir(output_dir), f"checkpoint_epoch_{epoch:05d}_iter_{next_iter:06d}.pyth")


def list_checkpoints(output_dir: str) -> list[str]:
    """The checkpoints of OUTPUT_DIR/checkpoints, oldest first (epoch, then iteration within the epoch)."""
    d = checkpoint_dir(output_dir)
    if not os.path.isdir(d):
        return []
    names = sorted((int(m.group(1)), int(m.group(2) or 0), n) for n in os.listdir(d) if (m := _NAME.match(n)))
    return [os.path.join(d, n) for _, _, n in names]


def last_checkpoint(output_dir: str) -> str | None:
    """The checkpoint with the highest epoch in OUTPUT_DIR/checkpoints, or None."""
    ckpts = list_checkpoints(output_dir)
    return ckpts[-1] if ckpts else None


def remove_files(paths: Iterable[str], failure: str) -> list[str]:
    """Delete each of `paths`; one that cannot be deleted is logged as a warning ("<failure> PATH: error")
    and kept. Returns the deleted paths."""
    removed = []
    for path in paths:
        try:
            os.remove(path)
        except OSError as err:
            logger.warning("%s %s: %s", failure, path, err)
            continue
        removed.append(path)
    return removed


def remove_stale_temp_files(output_dir: str) -> list[str]:
    """Delete the temporary files that an interrupted `atomic_write` left in OUTPUT_DIR/checkpoints
    (`.tmp_*`: never a finished checkpoint, which only exists after the rename). Returns their paths."""
    d = checkpoint_dir(output_dir)
    stale = [os.path.join(d, name) for name in (sorted(os.listdir(d)) if os.path.isdir(d) else [])
             if name.startswith(TEMP_PREFIX) and os.path.isfile(os.path.join(d, name))]
    removed = remove_files(stale, "cannot remove the stale temporary file")
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
                  scaler: Any = None, set_aside_unreadable: bool = True, cfg: Any = None,
                  state_out: dict | None = None) -> tuple[str | None, int]:
    """Auto-resume: load the newest checkpoint of OUTPUT_DIR/checkpoints that can be read.

    A newer file that cannot be read (truncated by a crash while copying, a full disk, refused content)
    is reported with its path and reason and renamed aside (`set_aside`, only when
    `set_aside_unreadable`: the master process) so that the next start does not trip over it; nothing is
    deleted; a file with NaN / Inf weights counts as unreadable. Files are never fully unpickled here. A
    readable checkpoint that does not fit the model, or whose stored config differs from `cfg` on an
    architecture key, raises CheckpointError (a configuration problem, not a damaged file).
    Returns (path, completed epochs), or (None, 0) when no checkpoint can be read; `state_out` as in
    `load_checkpoint`.
    """
    for path in reversed(list_checkpoints(output_dir)):
        try:
            return path, load_checkpoint(path, model, optimizer, scaler=scaler, cfg=cfg, state_out=state_out)
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


CLASSIFIER_WEIGHT = HEAD_PREFIX + "projection.weight"


def class_count_change(report: dict[str, list]) -> tuple[int, int] | None:
    """(checkpoint classes, model classes) when the classifier's shape differs between them, else None."""
    for key, ckpt_shape, model_shape in report["mismatched"]:
        if key == CLASSIFIER_WEIGHT and ckpt_shape[1:] == model_shape[1:]:
            return ckpt_shape[0], model_shape[0]
    return None


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
        changed = class_count_change(report)
        if changed:
            logger.info("classifier re-initialised: the checkpoint's head has %d classes, this model %d "
                        "(MODEL.NUM_CLASSES); %s keeps its initial weights", *changed, CLASSIFIER_WEIGHT)
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


def refuse_non_finite(path: str, state: Mapping[str, Any]) -> None:
    """CheckpointReadError naming `path` and the first floating tensor of `state` holding a NaN or Inf."""
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            nan, inf = int(torch.isnan(value).sum()), int(torch.isinf(value).sum())
            raise CheckpointReadError(f"{path}: the weights are not finite: {key} holds {nan} NaN and {inf} Inf "
                                      f"value(s) (the run that saved it diverged?); refusing to use it")


def read_any_checkpoint(path: str, checkpoint_type: str = "pytorch", model_state: Mapping | None = None,
                        allow_unsafe: bool = False) -> dict:
    """Read a "pytorch" `.pyth` or a "caffe2" `.pkl` checkpoint into the `.pyth` dict layout, without
    running code from the file unless `allow_unsafe` (see `load_pickled`)."""
    if checkpoint_type == "pytorch":
        return read_checkpoint(path, allow_unsafe)
    if checkpoint_type == "caffe2":
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
    cfg_exempt: Iterable[str] = (),
    state_out: dict | None = None,
) -> int:
    """Load a checkpoint into `model` (and `optimizer`, `scaler` when given and present).

    checkpoint_type: "pytorch" for `.pyth` files (PySlowFast layout), "caffe2" for Caffe2 `.pkl` files
    (names converted by `slowfast.checkpoint.caffe2`). `inflate`: turn 2D kernels into 3D (`inflate_state`).
    `allow_unsafe`: fully unpickle a file that the restricted readers refuse (TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE).
    Returns the stored epoch (completed epochs), 0 when the file has none. A file that cannot be read,
    or whose weights hold a NaN or Inf, raises CheckpointReadError before the model is touched.
    `cfg`: the run's config, compared with the stored one (`check_cfg_fit`: a differing architecture key
    but `cfg_exempt` is a CheckpointError, a differing data key a warning); files with no stored cfg
    (Caffe2 pickles, bare state dicts) are not compared. `state_out` (a dict) receives the file's
    "train_state" (where a mid-epoch checkpoint stopped: `engine.resume`) when it has one.
    """
    model_state = unwrap(model).state_dict()
    data = read_any_checkpoint(path, checkpoint_type, model_state, allow_unsafe)
    refuse_non_finite(path, data["model_state"])
    check_cfg_fit(data.get("cfg"), cfg, path, cfg_exempt)
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
                              f"SOLVER.OPTIMIZING_METHOD or parameter set?): {first_line(e)}") from e
    if state_out is not None and isinstance(data.get("train_state"), dict):
        state_out["train_state"] = data["train_state"]
    return int(data.get("epoch") or 0)
