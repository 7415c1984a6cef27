"""Reading `.pyth` files without running code from them (SECURITY.md): `torch.load(weights_only=True)`,
then the restricted unpickler of `slowfast.checkpoint.safe_pickle` for legacy files (numpy arrays, a config
node), else a refusal that names TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE; the layout is checked field by field."""
from __future__ import annotations

import logging
import os
import pickle
from typing import Any

import numpy as np
import torch
import yaml

from slowfast.checkpoint import safe_pickle
from slowfast.checkpoint.errors import WEIGHTS_HINT, CheckpointReadError, first_line, refuse_or_warn, unsupported_global

logger = logging.getLogger(__name__)


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
        raise CheckpointReadError(f"checkpoint not found: {path}; {WEIGHTS_HINT}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        weights_only_error = e
    except Exception as e:  # noqa: BLE001 - a truncated zip, random bytes, ...: a bad file
        raise CheckpointReadError(f"cannot read checkpoint {path}: {first_line(e)}") from e
    try:
        data = torch.load(path, map_location="cpu", weights_only=False, pickle_module=safe_pickle)
    except safe_pickle.ForbiddenGlobal as e:
        refuse_or_warn(path, "checkpoint", e, allow_unsafe)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e2:  # noqa: BLE001
            raise CheckpointReadError(f"cannot read checkpoint {path}: {first_line(e2)}") from e2
    except Exception as e:  # noqa: BLE001
        raise CheckpointReadError(f"cannot read checkpoint {path}: {unsupported_global(weights_only_error)}; "
                                  f"{first_line(e)}") from e
    logger.info("%s: legacy checkpoint (numpy arrays or a config node) read with the restricted unpickler", path)
    try:
        return _legacy_to_plain(data)
    except (RecursionError, ValueError, TypeError, yaml.YAMLError) as e:  # a crafted, e.g. self-containing, cfg
        raise CheckpointReadError(f"cannot read checkpoint {path}: its cfg or model state is malformed "
                                  f"({first_line(e)})") from e


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
