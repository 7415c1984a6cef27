"""YAML read with bounded work and memory: a config (or the config text stored in a checkpoint) is a few
kilobytes, so a file far bigger, nested far deeper, with more nodes or with more aliases than any real
config has (a "billion laughs" alias bomb, a 100,000-level nesting, a 2-million-entry list) is refused
with a `YamlLimitError` before PyYAML builds it (composing is recursive; aliases share nodes that a
later walk or `repr` would expand)."""
from __future__ import annotations

import yaml

MAX_BYTES = 256 << 10  # 256 KiB; the largest config of configs/ is a few KB
MAX_DEPTH = 64  # nesting of mappings / lists
MAX_NODES = 20_000  # scalars, lists and mappings in all (a full config dump has about 1,000)
MAX_ALIASES = 100  # `*name` references (the configs of configs/ have none)


class YamlLimitError(ValueError):
    """The YAML text exceeds a bound (size, depth, node count or aliases); the message says which."""


class _BoundedLoader(yaml.SafeLoader):
    def __init__(self, stream):
        super().__init__(stream)
        self._depth = self._nodes = self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES} aliases (*name); a config needs none (alias bomb?)")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLimitError(f"more than {MAX_NODES} values; a config has a few hundred")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep; a config has 2 or 3")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def text_line_of(data: bytes, offset: int) -> int:
    """1-based line number of byte `offset` in `data`."""
    return data.count(b"\n", 0, offset) + 1


def compose_and_load(text: str):
    """`(node, data)`: the composed YAML node (None for an empty document) and the Python data built from
    it, or YamlLimitError (a bound is exceeded) / yaml.YAMLError (not YAML)."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"{len(text)} characters, more than a config may have ({MAX_BYTES})")
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}) > MAX_NODES:
            raise YamlLimitError(f"more than {MAX_NODES} values once its aliases are expanded (alias bomb?)")
        return node, (loader.construct_document(node) if node is not None else None)
    except RecursionError:
        raise YamlLimitError("nested too deeply to read") from None
    finally:
        loader.dispose()


def _expanded_size(node, memo: dict) -> int:
    """Number of values `node` stands for with every alias expanded (each distinct node computed once;
    a recursive alias counts as too many)."""
    key = id(node)
    if key in memo:
        if memo[key] is None:
            return MAX_NODES + 1
        return memo[key]
    memo[key] = None
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(v, memo) for v in node.value)
    else:
        size = 1
    memo[key] = min(size, MAX_NODES + 1)
    return memo[key]
