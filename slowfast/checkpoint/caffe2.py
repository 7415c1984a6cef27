"""Caffe2 model-zoo checkpoints (`.pkl`): name conversion to and from our (= PySlowFast's) PyTorch names.

A Caffe2 checkpoint is a pickled dict `{"blobs": {name: numpy array}}` (Python 2 pickles, so read with
`encoding="latin1"`). Blob names follow the Caffe2 video models (video-nonlocal-net, the SlowFast Caffe2
release); the Fast pathway repeats the Slow pathway's names behind a `t_` prefix.

Name mapping (`{t}` is "" for the Slow pathway p=0 and "t_" for the Fast pathway p=1)::

    Caffe2 layer                          PyTorch module                          kind
    {t}conv1                              s1.pathway{p}_stem.conv                 conv
    {t}res_conv1                          s1.pathway{p}_stem.bn                   bn
    {t}res{s}_{i}_branch1                 s{s}.pathway{p}_res{i}.branch1          conv
    {t}res{s}_{i}_branch1                 s{s}.pathway{p}_res{i}.branch1_bn       bn
    {t}res{s}_{i}_branch2{x}  (x=a,b,c)   s{s}.pathway{p}_res{i}.branch2.{x}      conv
    {t}res{s}_{i}_branch2{x}              s{s}.pathway{p}_res{i}.branch2.{x}_bn   bn
    {t}nonlocal_conv{s}_{i}_{x}           s{s}.pathway{p}_nonlocal{i}.conv_{x}    conv (x=theta,phi,g,out)
    {t}nonlocal_conv{s}_{i}               s{s}.pathway{p}_nonlocal{i}.bn          bn
    t_pool1_subsample                     s1_fuse.conv_f2s / s1_fuse.bn           conv / bn
    t_res{s}_{i}_branch2c_bn_subsample    s{s}_fuse.conv_f2s / s{s}_fuse.bn       conv / bn
    pred                                  head.projection                         conv (fc)

The lateral connection after res{s} is named after the last Fast block `i` of that stage, so the inverse
mapping needs the stage depths (`last_blocks`, see `last_block_per_stage`).

Blob suffixes: a conv (or fc) layer has `_w` (weight) and `_b` (bias). A BN layer `L` has `L_bn_s`
(scale = weight), `L_bn_b` (bias), `L_bn_rm` (running mean) and `L_bn_riv` (running variance: despite the
"inv" in its name, Caffe2's SpatialBN keeps the plain variance in this blob, and PySlowFast copies it to
`running_var` unchanged). Caffe2 does not count BN batches; we write the extra blob `L_bn_nbt` for
`num_batches_tracked` so that a PyTorch -> Caffe2 -> PyTorch round trip is lossless, and fill 0 when a
file lacks it. Training-only blobs (momentum buffers `*_momentum`, `lr`, `model_iter`, `iter`, BN batch
statistics `*_bn_sm` / `*_bn_siv`) are skipped with a note.
"""
from __future__ import annotations

import logging
import os
import pickle
import re
from typing import Iterable, Mapping

import numpy as np
import torch

from slowfast.checkpoint import safe_pickle
from slowfast.checkpoint.errors import WEIGHTS_HINT, CheckpointReadError, refuse_or_warn
from slowfast.utils.io import atomic_write

logger = logging.getLogger(__name__)

# (Caffe2 layer template, PyTorch module template, kind). Placeholders: t/p pathway, s stage, i block, x part.
NAME_TABLE: list[tuple[str, str, str]] = [
    ("{t}conv1", "s1.pathway{p}_stem.conv", "conv"),
    ("{t}res_conv1", "s1.pathway{p}_stem.bn", "bn"),
    ("{t}res{s}_{i}_branch1", "s{s}.pathway{p}_res{i}.branch1", "conv"),
    ("{t}res{s}_{i}_branch1", "s{s}.pathway{p}_res{i}.branch1_bn", "bn"),
    ("{t}res{s}_{i}_branch2{x}", "s{s}.pathway{p}_res{i}.branch2.{x}", "conv"),
    ("{t}res{s}_{i}_branch2{x}", "s{s}.pathway{p}_res{i}.branch2.{x}_bn", "bn"),
    ("{t}nonlocal_conv{s}_{i}_{x}", "s{s}.pathway{p}_nonlocal{i}.conv_{x}", "conv"),
    ("{t}nonlocal_conv{s}_{i}", "s{s}.pathway{p}_nonlocal{i}.bn", "bn"),
    ("t_pool1_subsample", "s1_fuse.conv_f2s", "conv"),
    ("t_pool1_subsample", "s1_fuse.bn", "bn"),
    ("t_res{s}_{i}_branch2c_bn_subsample", "s{s}_fuse.conv_f2s", "conv"),
    ("t_res{s}_{i}_branch2c_bn_subsample", "s{s}_fuse.bn", "bn"),
    ("pred", "head.projection", "conv"),
]

# PyTorch parameter / buffer name <-> Caffe2 blob suffix, per layer kind.
PARAM_SUFFIXES: dict[str, dict[str, str]] = {
    "conv": {"weight": "_w", "bias": "_b"},
    "bn": {
        "weight": "_bn_s",
        "bias": "_bn_b",
        "running_mean": "_bn_rm",
        "running_var": "_bn_riv",
        "num_batches_tracked": "_bn_nbt",
    },
}

# Blobs that hold optimiser or bookkeeping state, not weights.
SKIPPED_BLOBS = re.compile(r"(_momentum|_bn_sm|_bn_siv)$|^(lr|model_iter|iter)$")

_FIELDS = {
    "t": r"(?P<t>(?:t_)?)",
    "p": r"(?P<p>[01])",
    "s": r"(?P<s>\d+)",
    "i": r"(?P<i>\d+)",
    "x": r"(?P<x>[a-z]+)",
}


def _template_regex(template: str) -> re.Pattern:
    """A template such as "s{s}.pathway{p}_res{i}" as a full-match regex with named groups."""
    parts = re.split(r"(\{[a-z]\})", template)
    return re.compile("".join(_FIELDS[p[1]] if re.fullmatch(r"\{[a-z]\}", p) else re.escape(p) for p in parts))


_C2_RULES = [(_template_regex(c2), pt, kind) for c2, pt, kind in NAME_TABLE]
_PT_RULES = [(_template_regex(pt), c2, kind) for c2, pt, kind in NAME_TABLE]


def c2_to_pytorch_name(name: str) -> str:
    """The PyTorch state-dict key of a Caffe2 blob name, e.g. "res2_0_branch2a_bn_s" ->
    "s2.pathway0_res0.branch2.a_bn.weight". Raises KeyError for names outside the table."""
    for kind in ("bn", "conv"):  # BN suffixes first: "_bn_b" must not be read as a conv "_b"
        for param, suffix in PARAM_SUFFIXES[kind].items():
            if not name.endswith(suffix):
                continue
            layer = name[: -len(suffix)]
            for regex, pt_template, rule_kind in _C2_RULES:
                m = regex.fullmatch(layer)
                if m and rule_kind == kind:
                    fields = m.groupdict()
                    fields["p"] = "1" if fields.get("t") else "0"
                    return pt_template.format(**fields) + "." + param
    raise KeyError(f"Caffe2 blob {name!r} has no PyTorch name (see slowfast/checkpoint/caffe2.py NAME_TABLE)")


def pytorch_to_c2_name(name: str, last_blocks: Mapping[int, int] | None = None) -> str:
    """The Caffe2 blob name of a PyTorch state-dict key (inverse of `c2_to_pytorch_name`).

    `last_blocks` maps a stage number to the index of its last block; it is needed only for the lateral
    connections `s{2,3,4}_fuse.*`, whose Caffe2 names carry that index. Raises KeyError for keys
    outside the table (and for a lateral key without `last_blocks`).
    """
    module, _, param = name.rpartition(".")
    for regex, c2_template, kind in _PT_RULES:
        m = regex.fullmatch(module)
        if not m or param not in PARAM_SUFFIXES[kind]:
            continue
        fields = m.groupdict()
        fields["t"] = "t_" if fields.get("p") == "1" else ""
        if "{i}" in c2_template and "i" not in fields:
            stage = int(fields["s"])
            if not last_blocks or stage not in last_blocks:
                raise KeyError(f"{name}: the Caffe2 name of a lateral connection needs the last block of res{stage}")
            fields["i"] = str(last_blocks[stage])
        return c2_template.format(**fields) + PARAM_SUFFIXES[kind][param]
    raise KeyError(f"PyTorch key {name!r} has no Caffe2 name (see slowfast/checkpoint/caffe2.py NAME_TABLE)")


def last_block_per_stage(keys: Iterable[str]) -> dict[int, int]:
    """{stage: index of its last residual block} from state-dict keys `s{s}.pathway{p}_res{i}...`."""
    last: dict[int, int] = {}
    for k in keys:
        m = re.match(r"s(\d+)\.pathway\d+_res(\d+)\.", k)
        if m:
            s, i = int(m.group(1)), int(m.group(2))
            last[s] = max(last.get(s, i), i)
    return last


def state_dict_to_blobs(state_dict: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Caffe2 blobs (numpy arrays, same dtype and bits) for a PyTorch state dict."""
    last = last_block_per_stage(state_dict)
    blobs, unmapped = {}, []
    for key, value in state_dict.items():
        try:
            blobs[pytorch_to_c2_name(key, last)] = value.detach().cpu().numpy().copy()
        except KeyError:
            unmapped.append(key)
    if unmapped:
        raise KeyError(f"{len(unmapped)} keys have no Caffe2 name: {', '.join(unmapped[:10])}")
    return blobs


def _load_pickle(path: str, allow_unsafe: bool = False) -> dict:
    """Unpickle a Caffe2 checkpoint (latin1 for Python 2 pickles) with the restricted unpickler of
    `slowfast.checkpoint.safe_pickle` (numpy arrays, dicts, numbers, strings) and return its blob dict.
    A file naming any other global is refused unless `allow_unsafe` (TRAIN.CHECKPOINT_ALLOW_UNSAFE_PICKLE)."""
    if not os.path.isfile(path):
        raise CheckpointReadError(f"checkpoint not found: {path}; {WEIGHTS_HINT}")
    try:
        with open(path, "rb") as f:
            data = safe_pickle.load(f, encoding="latin1")
    except safe_pickle.ForbiddenGlobal as e:
        refuse_or_warn(path, "Caffe2 checkpoint", e, allow_unsafe)
        try:
            with open(path, "rb") as f:
                data = pickle.load(f, encoding="latin1")
        except Exception as e2:  # noqa: BLE001
            raise CheckpointReadError(f"cannot read Caffe2 checkpoint {path}: {e2}") from e2
    except Exception as e:  # noqa: BLE001 - any unpickling failure means a bad file
        raise CheckpointReadError(f"cannot read Caffe2 checkpoint {path}: {e}") from e
    blobs = data.get("blobs", data) if isinstance(data, dict) else None
    if not isinstance(blobs, dict) or not any(isinstance(v, np.ndarray) for v in blobs.values()):
        raise CheckpointReadError(f"{path}: not a Caffe2 checkpoint (expected a dict with 'blobs' of numpy arrays)")
    return blobs


def _strip_trailing_ones(shape) -> tuple:
    shape = tuple(shape)
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def _fit_shape(value: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Reshape when the shapes differ only by trailing singleton dimensions (a Caffe2 fc stored as a
    1x1x1 conv, or a 1x1 kernel without its time axis); anything else is left for the key report."""
    if tuple(value.shape) != tuple(shape) and _strip_trailing_ones(value.shape) == _strip_trailing_ones(shape):
        return value.reshape(shape)
    return value


def _fill_num_batches_tracked(state: dict, model_state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """Add a zero `num_batches_tracked` for every model BN whose running mean came from the file
    (also for SubBatchNorm3d, whose counters sit in `.bn` and `.split_bn`)."""
    filled = []
    for key, ref in model_state_dict.items():
        if not key.endswith(".num_batches_tracked") or key in state:
            continue
        owner = key[: -len(".num_batches_tracked")]
        owners = {owner, owner.removesuffix(".bn"), owner.removesuffix(".split_bn")}  # plain or sub-batch BN
        has_counter = any(o + ".num_batches_tracked" in state for o in owners)
        if not has_counter and any(o + ".running_mean" in state for o in owners):
            state[key] = torch.zeros_like(ref, device="cpu")
            filled.append(key)
    return filled


def read_caffe2_checkpoint(path: str, model_state_dict: Mapping[str, torch.Tensor] | None = None,
                           allow_unsafe: bool = False) -> dict:
    """Read a Caffe2 `.pkl` into our checkpoint layout
    `{"model_state", "optimizer_state": None, "epoch": 0, "cfg": None, "skipped", "c2_names"}`.

    Blob names are converted by `c2_to_pytorch_name`; names outside the table keep their Caffe2 name
    (they then show up as "unexpected" in the key report). Given the model's state dict, blobs whose
    shape differs only by singleton dimensions are reshaped and missing BN batch counters are set to 0.
    Nothing in the file is run: see `_load_pickle`.
    """
    blobs = _load_pickle(path, allow_unsafe)
    state: dict[str, torch.Tensor] = {}
    skipped, c2_names = [], {}
    for name, value in blobs.items():
        if SKIPPED_BLOBS.search(name) or not isinstance(value, np.ndarray):
            skipped.append(name)
            continue
        try:
            key = c2_to_pytorch_name(name)
        except KeyError:
            key = name
        tensor = torch.from_numpy(np.array(value, order="C", copy=True))  # keeps 0-d arrays 0-d
        if model_state_dict is not None and key in model_state_dict:
            tensor = _fit_shape(tensor, model_state_dict[key].shape)
        state[key] = tensor
        c2_names[key] = name
    if skipped:
        logger.info("%s: skipped %d training-only blobs (momentum, lr, iteration counters): %s",
                    path, len(skipped), ", ".join(sorted(skipped)[:8]) + (" ..." if len(skipped) > 8 else ""))
    if model_state_dict is not None:
        _fill_num_batches_tracked(state, model_state_dict)
    return {"model_state": state, "optimizer_state": None, "epoch": 0, "cfg": None,
            "skipped": skipped, "c2_names": c2_names}


def save_caffe2_checkpoint(path: str, state_dict: Mapping[str, torch.Tensor]) -> str:
    """Write `state_dict` as a Caffe2-style `{"blobs": ...}` pickle (protocol 2), atomically."""
    blobs = state_dict_to_blobs(state_dict)
    atomic_write(path, lambda f: pickle.dump({"blobs": blobs}, f, protocol=2))
    return path
