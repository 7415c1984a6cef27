"""The FLOPs cache (docs/flops_cache.json): fvcore counts keyed by what decides them, and nothing else.

A key is a hash of
- the values of the config keys that model code reads (every ``cfg.GROUP.KEY`` in it, helpers included,
  e.g. ``stage_depths``), less FLOPS_NEUTRAL_KEYS (values
  that change weights or numerics, never the count); a key read as a whole group puts the group in;
- the input size;
- the model code the count runs: slowfast/models/build.py and inputs.py with every slowfast/models module
  they import (not the person detector, feature extraction or inference optimisation), the helpers they
  import from other packages and the counter (slowfast/utils/complexity.py), as Python tokens with
  comments, blank lines and docstrings left out (editing prose is not a miss);
- the public versions of torch and fvcore (``2.14.1``, not the build tag ``+cu130`` / ``+cpu``).

Nothing clone- or machine-specific goes in (no paths, file times, host names or CUDA builds), so a fresh
clone in any folder hits every committed entry, and a run that only hits never rewrites the file. A config
key added elsewhere (training, data, logging) leaves every key as it was.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import io
import json
import os
import re
import time
import tokenize
from functools import lru_cache

from slowfast.utils.io import read_text, write_text_atomic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS_DIR = os.path.join(ROOT, "slowfast", "models")
COUNTER_FILE = os.path.join(ROOT, "slowfast", "utils", "complexity.py")
# Keys the model code reads whose values never change a FLOP count: initialisation, normalisation
# statistics and constants, dropout (identity at test time), in-place ops, and where the model runs.
FLOPS_NEUTRAL_KEYS = frozenset({
    "BN.EPSILON", "BN.MOMENTUM", "MODEL.DROPOUT_RATE", "MODEL.FC_INIT_STD", "RESNET.ZERO_INIT_FINAL_BN",
    "RESNET.INPLACE_RELU", "DATA.MEAN", "DATA.STD", "DATA.REVERSE_INPUT_CHANNEL", "AVA.BGR", "AVA.PREPROCESS",
    "TEST.OPTIMIZE_MODEL", "NUM_GPUS",
})
_CFG_READ = re.compile(r"\bcfg\s*\.\s*([A-Z][A-Z0-9_]*)(?:\s*\.\s*([A-Z][A-Z0-9_]*))?")
_DATA_TYPES = (dict, list, tuple, int, float, str, bool, frozenset)


def code_tokens(source: str) -> str:
    """`source` as its Python tokens, one per line, without comments, blank lines or docstrings."""
    toks = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER)]
    starts = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    out = []
    for i, t in enumerate(toks):
        prev = toks[i - 1].type if i else tokenize.NEWLINE
        nxt = toks[i + 1].type if i + 1 < len(toks) else tokenize.NEWLINE
        if t.type == tokenize.STRING and prev in starts and nxt == tokenize.NEWLINE:
            continue  # a string standing alone as a statement: a docstring
        out.append(tokenize.tok_name[t.type] if t.type in starts else t.string)
    return "\n".join(out)


MODEL_ROOTS = ("build.py", "inputs.py")  # what compute_cost runs: build_model and dummy_inputs


def _imports(path: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every `from slowfast.X import names` in a file, function-local ones included."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    return [(node.module, [a.name for a in node.names]) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("slowfast.")]


def model_files() -> list[str]:
    """MODEL_ROOTS and the slowfast/models modules they import, transitively, sorted."""
    todo, seen = [os.path.join(MODELS_DIR, f) for f in MODEL_ROOTS], set()
    while todo:
        path = todo.pop()
        if path in seen or not os.path.isfile(path):
            continue
        seen.add(path)
        todo += [os.path.join(MODELS_DIR, module.rsplit(".", 1)[1] + ".py") for module, _ in _imports(path)
                 if module.startswith("slowfast.models.")]
    return sorted(seen)


def _foreign_helpers() -> list:
    """Functions (and constants) the model files import from other slowfast packages, sorted by name."""
    found = {}
    for path in model_files():
        for module_name, names in _imports(path):
            if not module_name.startswith("slowfast.models"):
                module = importlib.import_module(module_name)
                found.update({f"{module_name}.{n}": getattr(module, n) for n in names})
    return [found[k] for k in sorted(found)]


def _helper_text(obj) -> str:
    """A helper's source plus the data constants it reads (e.g. STAGE_DEPTHS for stage_depths)."""
    if not callable(obj):
        return repr(obj)
    text = code_tokens(inspect.getsource(obj))
    glob_ns, code = getattr(obj, "__globals__", {}), getattr(obj, "__code__", None)
    for name in sorted(code.co_names if code else ()):
        if isinstance(glob_ns.get(name), _DATA_TYPES):
            text += f"\n{name} = {glob_ns[name]!r}"
    return text


@lru_cache(maxsize=1)
def model_code() -> tuple[str, str]:
    """(hash of the model code, all its text): `model_files` by file name, imported helpers, the counter."""
    parts = []
    for path in model_files() + [COUNTER_FILE]:
        with open(path, encoding="utf-8") as f:
            parts.append(f"# {os.path.basename(path)}\n{code_tokens(f.read())}")
    parts += [_helper_text(h) for h in _foreign_helpers()]
    text = "\n".join(parts)
    return hashlib.sha256(text.encode()).hexdigest(), text


def flops_keys(cfg) -> list[str]:
    """The config keys (or whole groups) the model code reads, less FLOPS_NEUTRAL_KEYS, sorted."""
    keys = set()
    for group, key in _CFG_READ.findall(model_code()[1]):
        if group not in cfg:
            continue
        name = f"{group}.{key}" if key and isinstance(cfg[group], dict) and key in cfg[group] else group
        if name not in FLOPS_NEUTRAL_KEYS:
            keys.add(name)
    return sorted(keys)


def _value(cfg, name: str):
    node = cfg
    for part in name.split("."):
        node = node[part]
    return node


def cost_key(cfg, size: int) -> str:
    """Cache key of `cfg`'s model at `size`^2 (module docstring)."""
    import fvcore
    import torch

    values = {k: _value(cfg, k) for k in flops_keys(cfg)}
    versions = [torch.__version__.split("+")[0], getattr(fvcore, "__version__", "")]
    text = json.dumps({"cfg": values, "size": int(size), "code": model_code()[0], "versions": versions},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def compute_cost(cfg, size: int) -> dict:
    """fvcore GFLOPs per view at `size`^2 and parameters (millions); builds the model on CPU."""
    from slowfast.models import build_model
    from slowfast.models.inputs import dummy_inputs
    from slowfast.utils.complexity import count_flops, count_params

    start = time.time()
    model = build_model(cfg, device="cpu")
    gflops = count_flops(model, dummy_inputs(cfg, size))
    return {"gflops": gflops, "params_m": count_params(model) / 1e6, "seconds": round(time.time() - start, 1)}


class CostCache:
    """JSON file {key: {"gflops", "params_m", "seconds", "config", "size"}}; `path=None` disables caching.

    `put` drops older entries of the same config and size (stale versions of the same count), and `save`
    writes only when something was put: a run that only hits leaves the file byte for byte as it was."""

    def __init__(self, path: str | None):
        self.path = path
        self.entries = {}
        if path and os.path.exists(path):
            try:
                self.entries = json.loads(read_text(path))
            except json.JSONDecodeError as e:
                raise ValueError(f"{path} line {e.lineno}: not a FLOPs cache (JSON: {e.msg}); pass another "
                                 "--cache or --no-cache") from None
            if not isinstance(self.entries, dict):
                raise ValueError(f"{path}: not a FLOPs cache (a JSON object of entries expected)")
        self.dirty = False
        self.hits = self.misses = 0

    def get(self, key: str):
        entry = self.entries.get(key)
        self.hits += entry is not None
        self.misses += entry is None
        return entry

    def put(self, key: str, value: dict) -> None:
        same = (value.get("config"), value.get("size"))
        if same[0] is not None:
            for old in [k for k, v in self.entries.items() if (v.get("config"), v.get("size")) == same]:
                del self.entries[old]
        self.entries[key] = value
        self.dirty = True

    def save(self) -> None:
        if not (self.path and self.dirty):
            return
        write_text_atomic(self.path, json.dumps(self.entries, indent=1, sort_keys=True) + "\n")
        self.dirty = False
