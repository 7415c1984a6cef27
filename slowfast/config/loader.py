"""Load a configuration: defaults <- `_BASE_` chain <- YAML file <- command-line `KEY VALUE` pairs.

Every step is strict: a key that the defaults do not declare, a value of the wrong type, a missing or
cyclic `_BASE_` and inconsistent values each raise `ConfigError` naming the file (or "command line")
and the key. The result is validated and frozen.
"""
from __future__ import annotations

import ast
import difflib
import os
from typing import Any, Iterable, Sequence

import yaml
from fvcore.common.config import CfgNode

from slowfast.config.defaults import get_cfg
from slowfast.config.errors import ConfigError
from slowfast.config.safe_yaml import MAX_BYTES, YamlLimitError, compose_and_load, text_line_of
from slowfast.config.validation import all_keys, validate

BASE_KEY = "_BASE_"


# ----------------------------------------------------------------------------------------------
# Merging
# ----------------------------------------------------------------------------------------------
def _unknown_key_error(source: str, full_key: str, root: CfgNode) -> ConfigError:
    close = difflib.get_close_matches(full_key, all_keys(root), n=1, cutoff=0.6)
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
