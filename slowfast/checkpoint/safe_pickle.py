"""A restricted unpickler for legacy checkpoints: it builds only the classes such files contain.

Unpickling runs whatever callables a file names (`__reduce__` payloads), so full unpickling of a
downloaded or dropped-in file can run arbitrary code. Our own `.pyth` files load with
`torch.load(weights_only=True)`; two kinds of older files need more than that:

* PySlowFast's older `.pyth` checkpoints: numpy arrays and a yacs / fvcore `CfgNode` as `cfg`
  (read with `torch.load(..., weights_only=False, pickle_module=slowfast.checkpoint.safe_pickle)`: torch
  resolves its storages itself and asks this module for every other global);
* Caffe2 `.pkl` files: a pickled `{"blobs": {name: numpy array}}` (read with `load`).

Every global a file names is looked up in `ALLOWED`: numpy's array / scalar / dtype reconstructors,
`collections.OrderedDict` and `Counter`, a few builtin containers, torch's tensor rebuild functions
(the ones `torch.save` writes), torch dtypes, and the config-node classes, which are replaced by
`ConfigNode` (a plain dict subclass: nothing of yacs / fvcore runs). `_codecs.encode` (how protocol 2
writes bytes) is allowed for the latin-1 codec only. Any other global raises `ForbiddenGlobal`
before anything is called.
"""
from __future__ import annotations

import _codecs
import _compat_pickle
import collections
import copyreg
import io
import pickle
from typing import Any

import numpy as np
import torch


class ForbiddenGlobal(pickle.UnpicklingError):
    """The file names a global outside the allow-list (e.g. `builtins.exec`, `os.system`)."""

    def __init__(self, module: str, name: str):
        self.global_name = f"{module}.{name}"
        super().__init__(f"it refers to {self.global_name}, which is not on the list of classes that checkpoints "
                         "contain (see slowfast/checkpoint/safe_pickle.py)")


class ConfigNode(dict):
    """Stand-in for a pickled yacs / fvcore / detectron2 `CfgNode`: its keys and values, no behaviour.
    The node's attribute state (immutability flags, ...) is dropped."""

    def __setstate__(self, state: Any) -> None:
        pass


def config_to_plain(value: Any) -> Any:
    """Nested `ConfigNode`s (and dicts) as plain dicts, tuples as lists: what yaml.safe_dump can write."""
    if isinstance(value, dict):
        return {str(k): config_to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [config_to_plain(v) for v in value]
    return value


def _latin1_encode(text: str, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """`_codecs.encode` as protocol-2 pickles use it (bytes as latin-1 text); other codecs refused."""
    if encoding.replace("_", "-").lower() not in ("latin1", "latin-1", "iso-8859-1"):
        raise ForbiddenGlobal("_codecs", f"encode(..., {encoding!r})")
    return _codecs.encode(text, "latin1", errors)


_ALLOWED_CLASSES: set = {ConfigNode, np.ndarray, collections.OrderedDict, collections.Counter}


def _reconstructor(cls, base, state):
    """`copyreg._reconstructor` (protocol 0/1 objects) for allow-listed classes only."""
    if cls not in _ALLOWED_CLASSES or base not in (object, dict):
        raise ForbiddenGlobal("copyreg", f"_reconstructor({getattr(cls, '__name__', cls)!r})")
    return copyreg._reconstructor(cls, base, state)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    try:
        import numpy._core.multiarray as multiarray  # numpy >= 2; pickles of numpy 1 say numpy.core
    except ImportError:  # numpy 1
        import numpy.core.multiarray as multiarray

    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    for name in dir(getattr(np, "dtypes", None)):
        if name.endswith("DType"):
            allowed[("numpy.dtypes", name)] = getattr(np.dtypes, name)
    for mod in ("yacs.config", "fvcore.common.config", "detectron2.config.config", "slowfast.config.defaults"):
        allowed[(mod, "CfgNode")] = ConfigNode
    allowed[("collections", "OrderedDict")] = collections.OrderedDict
    allowed[("collections", "Counter")] = collections.Counter
    for name in ("set", "frozenset", "complex", "slice", "object", "dict"):
        allowed[("builtins", name)] = getattr(__import__("builtins"), name)
    allowed[("_codecs", "encode")] = _latin1_encode
    allowed[("copyreg", "_reconstructor")] = _reconstructor
    # What torch.save writes for tensors, parameters, sizes, devices and dtypes.
    from torch import _tensor, _utils

    for name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state"):
        allowed[("torch._utils", name)] = getattr(_utils, name)
    allowed[("torch._tensor", "_rebuild_from_type_v2")] = _tensor._rebuild_from_type_v2
    allowed[("torch", "Size")] = torch.Size
    allowed[("torch", "device")] = torch.device
    allowed[("torch", "Tensor")] = torch.Tensor
    allowed[("torch.nn.parameter", "Parameter")] = torch.nn.Parameter
    for name in dir(torch):
        if isinstance(getattr(torch, name, None), torch.dtype):
            allowed[("torch", name)] = getattr(torch, name)
    return allowed


ALLOWED = _allowed_globals()
_ALLOWED_CLASSES |= {torch.Tensor, torch.nn.Parameter}


class Unpickler(pickle.Unpickler):
    """`pickle.Unpickler` whose globals come from `ALLOWED` only."""

    def find_class(self, module: str, name: str) -> Any:
        # Protocol 0-2 pickles use Python 2 names (__builtin__, copy_reg): map them as pickle does.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(module, name) from None


def load(file, **kwargs) -> Any:
    """`pickle.load` through the restricted `Unpickler` (same keyword arguments, e.g. encoding="latin1")."""
    return Unpickler(file, **kwargs).load()


def loads(data: bytes, **kwargs) -> Any:
    return load(io.BytesIO(data), **kwargs)
