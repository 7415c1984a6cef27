"""AVA label maps: protobuf text, one block per class, e.g.::

    item {
      name: "bend/bow (at the waist)"
      id: 1
    }

The full AVA action list spells the block ``label { name: ... label_id: N label_type: PERSON_MOVEMENT }``;
both spellings are read, strictly: a syntax problem, a missing name or id, an id < 1 and a repeated id
or name raise :class:`~slowfast.formats.problems.AvaFormatError` naming file and line. The evaluator
(:class:`LabelMap`, with each class's line) and the datasets (``{id: name}``) read them with the same
reader; :func:`write_label_map` writes the ActivityNet spelling.
"""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from slowfast.formats.problems import AvaFormatError, display_name


@dataclass
class LabelMap:
    """Classes of a label map, in file order.

    ids: int64 [C] class ids (>= 1, unique); names: C unique names; lines: the
    1-based line of each class's block (for messages that name the line).
    """

    ids: np.ndarray
    names: List[str]
    lines: List[int] = field(default_factory=list)

    def name_of(self) -> Dict[int, str]:
        return dict(zip(self.ids.tolist(), self.names))



def _pbtxt_tokens(text: str, where: str):
    """Yields (line, token) for a protobuf-text file; strings keep quotes."""
    for lineno, raw in enumerate(text.split("\n"), start=1):
        pos, line = 0, raw.rstrip("\r")
        while pos < len(line):
            ch = line[pos]
            if ch.isspace():
                pos += 1
            elif ch == "#":
                break
            elif ch in "{}:":
                yield lineno, ch
                pos += 1
            elif ch in "\"'":
                end = line.find(ch, pos + 1)
                if end < 0:
                    raise AvaFormatError("%s line %d: unterminated string" % (where, lineno))
                yield lineno, line[pos : end + 1]
                pos = end + 1
            else:
                end = pos
                while end < len(line) and not (line[end].isspace() or line[end] in "{}:#\"'"):
                    end += 1
                yield lineno, line[pos:end]
                pos = end


def _parse_label_blocks(tokens, where: str):
    """Yields (line, {field: (line, value)}) for each top-level block."""
    tokens = list(tokens)
    i = 0

    def expect(j, what):
        if j >= len(tokens) or tokens[j][1] != what:
            lineno = tokens[j][0] if j < len(tokens) else (tokens[-1][0] if tokens else 1)
            got = repr(tokens[j][1]) if j < len(tokens) else "end of file"
            raise AvaFormatError("%s line %d: expected %r, got %s" % (where, lineno, what, got))

    while i < len(tokens):
        lineno, word = tokens[i]
        if word not in ("item", "label"):
            raise AvaFormatError(
                "%s line %d: expected 'item {' or 'label {', got %r" % (where, lineno, word)
            )
        i += 1
        if i < len(tokens) and tokens[i][1] == ":":
            i += 1
        expect(i, "{")
        i += 1
        fields = {}
        while i < len(tokens) and tokens[i][1] != "}":
            flineno, name = tokens[i]
            expect(i + 1, ":")
            if i + 2 >= len(tokens):
                raise AvaFormatError("%s line %d: missing value for %s" % (where, flineno, name))
            if name in fields:
                raise AvaFormatError("%s line %d: duplicate field %r" % (where, flineno, name))
            fields[name] = (flineno, tokens[i + 2][1])
            i += 3
        expect(i, "}")
        i += 1
        yield lineno, fields


def _label_entry(lineno: int, fields: dict, where: str) -> Tuple[int, str]:
    unknown = set(fields) - {"name", "id", "label_id", "display_name", "label_type"}
    if unknown:
        name = sorted(unknown)[0]
        raise AvaFormatError("%s line %d: unknown field %r" % (where, fields[name][0], name))
    if "name" not in fields:
        raise AvaFormatError("%s line %d: item has no name" % (where, lineno))
    id_fields = [f for f in ("id", "label_id") if f in fields]
    if len(id_fields) != 1:
        raise AvaFormatError("%s line %d: item needs exactly one id or label_id" % (where, lineno))
    nline, name = fields["name"]
    if len(name) < 2 or name[0] not in "\"'":
        raise AvaFormatError("%s line %d: name must be a quoted string, got %s" % (where, nline, name))
    iline, id_text = fields[id_fields[0]]
    try:
        class_id = int(id_text)
    except ValueError:
        raise AvaFormatError("%s line %d: id is not an integer: %s" % (where, iline, id_text)) from None
    if not 1 <= class_id < 2**31:
        raise AvaFormatError(
            "%s line %d: id must be in [1, 2^31) (ids are 1-indexed), got %d" % (where, iline, class_id)
        )
    return class_id, name[1:-1]


def read_labelmap(path) -> LabelMap:
    """Reads a label map pbtxt; raises AvaFormatError on any syntax problem,
    on a missing name/id, on ids < 1 and on duplicate ids or names."""
    where = display_name(path)
    with open(path, encoding="utf-8-sig") as f:  # a byte-order mark at the start is dropped
        text = f.read()
    ids, names, seen_ids, seen_names = [], [], {}, {}
    for lineno, fields in _parse_label_blocks(_pbtxt_tokens(text, where), where):
        class_id, name = _label_entry(lineno, fields, where)
        if class_id in seen_ids:
            raise AvaFormatError(
                "%s line %d: duplicate id %d (first at line %d)" % (where, lineno, class_id, seen_ids[class_id])
            )
        if name in seen_names:
            raise AvaFormatError(
                "%s line %d: duplicate name %r (first at line %d)" % (where, lineno, name, seen_names[name])
            )
        seen_ids[class_id], seen_names[name] = lineno, lineno
        ids.append(class_id)
        names.append(name)
    if not ids:
        raise AvaFormatError("%s: the label map has no classes" % where)
    return LabelMap(np.array(ids, dtype=np.int64), names, [seen_ids[i] for i in ids])


def read_label_map(path: str) -> Dict[int, str]:
    """``{action id: name}`` in file order, read with :func:`read_labelmap` (errors name file and line)."""
    return read_labelmap(path).name_of()


def write_label_map(path: str, labels: Dict[int, str]) -> None:
    """Write ``{id: name}`` as ``item { name: "..." id: N }`` blocks (the ActivityNet label-map spelling)."""
    with open(path, "w", encoding="utf-8") as f:
        for label_id, name in labels.items():
            f.write(f'item {{\n  name: "{name}"\n  id: {label_id}\n}}\n')
