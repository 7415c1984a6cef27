"""Strict readers and a writer for the AVA evaluation file formats.

Formats (https://research.google.com/ava/download.html):

* label map: protobuf text, one block per class, e.g.::

      item {
        name: "bend/bow (at the waist)"
        id: 1
      }

  The full AVA action list spells the block ``label { name: ... label_id: N
  label_type: PERSON_MOVEMENT }``; both spellings are read.
* ground truth / detections CSV, no header, one (box, action) per row::

      video_id, timestamp, x1, y1, x2, y2, action_id, person_id|score

  coordinates normalised to [0, 1]; the 8th column is the person id in ground
  truth and the score in detections.  The 2020 scorer also accepts 2-column
  rows ``video_id, timestamp`` naming a key frame without boxes.
* exclusions CSV: ``video_id, timestamp`` rows of key frames to ignore.

Every reader is strict: a row that cannot be read raises
:class:`AvaFormatError` naming file, line and problem, e.g.
``GT.csv line 17: expected 7 or 8 columns, got 6``, unless ``skip_bad_rows``
is set; then the row is left out and recorded in ``bad_rows``.

Fields are converted with Python's own ``int``/``float``/``decimal.Decimal``,
exactly as the official scorer converts them, so a file is read the same way
(surrounding spaces allowed, ``1_000`` is a number, ...).  One deliberate
difference: ``nan``/``inf`` coordinates and scores are rejected, because the
official scorer's results for them depend on heap and sort internals.
"""

import csv
import decimal
import io
import itertools
import os
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

_CHUNK_ROWS = 200_000
# Action ids beyond this magnitude cannot be label-map ids; they are stored as
# this sentinel (never in a label map) so int64 arrays can hold them.
_OUT_OF_RANGE_ID = -(2**62)


class AvaFormatError(ValueError):
    """A file that cannot be read; the message names file, line and problem."""


@dataclass
class LabelMap:
    """Classes of a label map, in file order.

    ids: int64 [C] class ids (>= 1, unique); names: C unique names.
    """

    ids: np.ndarray
    names: List[str]

    def name_of(self) -> Dict[int, str]:
        return dict(zip(self.ids.tolist(), self.names))


@dataclass
class BoxRows:
    """Readable rows of a ground-truth or detections CSV, in file order.

    N rows with boxes; K distinct frame keys ``"video_id,timestamp"``.

    key: int64 [N] index into ``key_names``; key_names: K keys in order of
    first appearance; boxes: float64 [N, 4] as x1, y1, x2, y2; action: int64
    [N]; score: float64 [N] (8th column, 1.0 where absent); line: int64 [N]
    1-based line numbers; bare_keys: int64 [B] keys of 2-column rows;
    bad_rows: (line, message) of rows skipped with ``skip_bad_rows``.
    """

    path: str
    key_names: List[str]
    key: np.ndarray
    boxes: np.ndarray
    action: np.ndarray
    score: np.ndarray
    line: np.ndarray
    bare_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    bad_rows: List[Tuple[int, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.key.shape[0])


def _display(path) -> str:
    return os.path.basename(str(path)) or str(path)


# ----------------------------------------------------------------------------
# Frame keys


def make_key(video_id: str, timestamp: str, key_format: str = "int") -> str:
    """The official frame key of one row.

    ``key_format="int"`` (2018/2019 scorers): ``"%s,%04d" % (video_id,
    int(timestamp))``, so ``0902`` and ``902`` are the same frame and ``902.5``
    is unreadable.  ``"decimal"`` (2020 scorer): ``"%s,%.6f"`` of
    ``decimal.Decimal(timestamp)``, which allows fractional timestamps.
    Raises ValueError with the problem when the timestamp cannot be read.
    """
    return video_id + "," + _timestamp_key(timestamp, key_format)


def _timestamp_key(timestamp: str, key_format: str) -> str:
    if key_format == "int":
        try:
            return "%04d" % int(timestamp)
        except ValueError:
            raise ValueError("timestamp is not an integer: %r" % timestamp) from None
    try:
        return "%.6f" % decimal.Decimal(timestamp)
    except (ValueError, ArithmeticError):
        raise ValueError("timestamp is not a number: %r" % timestamp) from None


# ----------------------------------------------------------------------------
# Label map


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
    where = _display(path)
    with open(path, encoding="utf-8") as f:
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
    return LabelMap(np.array(ids, dtype=np.int64), names)


# ----------------------------------------------------------------------------
# CSV rows


def _numbered_rows(path):
    """Yields lists of (line, row) chunks read with ``csv.reader``.

    The file is read in text mode (universal newlines) as the official scorer
    reads it.  Without quote characters every line is one row, so line
    numbers are the row positions; otherwise the reader's line_num is used.
    """
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if '"' in text:
        reader = csv.reader(io.StringIO(text))
        out = []
        for row in reader:
            out.append((reader.line_num, row))
        yield out
        return
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for start in range(0, len(lines), _CHUNK_ROWS):
        chunk = lines[start : start + _CHUNK_ROWS]
        try:
            rows = list(csv.reader(chunk))
        except csv.Error:
            rows = [_safe_row(line) for line in chunk]
        yield list(zip(range(start + 1, start + 1 + len(chunk)), rows))


def _safe_row(line: str):
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        return exc


def _convert(values: Sequence[str], func, what: str, finite: bool):
    """Converts strings with ``func``; returns (array, {position: message})."""
    try:
        out = list(map(func, values))
        errors = {}
    except (ValueError, ArithmeticError):
        out, errors = [], {}
        for pos, text in enumerate(values):
            try:
                out.append(func(text))
            except (ValueError, ArithmeticError):
                out.append(0)
                errors[pos] = "%s is not %s: %r" % (what, _WHAT_NUMBER[func], text)
    if func is int:
        out = [v if -(2**62) < v < 2**62 else _OUT_OF_RANGE_ID for v in out]
        return np.array(out, dtype=np.int64), errors
    arr = np.array(out, dtype=np.float64)
    if finite:
        for pos in np.flatnonzero(~np.isfinite(arr)).tolist():
            errors.setdefault(pos, "%s is not a finite number: %r" % (what, values[pos]))
    return arr, errors


_WHAT_NUMBER = {int: "an integer", float: "a number"}
_COORDS = ("x1", "y1", "x2", "y2")


@dataclass
class _Chunk:
    key: List[str]
    boxes: np.ndarray
    action: np.ndarray
    score: np.ndarray
    line: np.ndarray
    bare: List[str]


def _columns_phrase(allowed: Sequence[int]) -> str:
    allowed = sorted(allowed)
    if len(allowed) == 1:
        return "%d columns" % allowed[0]
    return ", ".join(str(a) for a in allowed[:-1]) + " or %d columns" % allowed[-1]


def _parse_chunk(numbered, allowed, key_format, read_col8, ts_cache, errors):
    """Converts one chunk of (line, row); appends (line, message) to errors."""
    n = len(numbered)
    lines = np.array([ln for ln, _ in numbered], dtype=np.int64)
    rows = [row for _, row in numbered]
    ok = np.ones(n, dtype=bool)
    boxes = np.zeros((n, 4))
    action = np.zeros(n, dtype=np.int64)
    score = np.ones(n)
    keys: List[str] = [""] * n
    bad: Dict[int, str] = {}
    by_len: Dict[int, List[int]] = {}
    for pos, row in enumerate(rows):
        if isinstance(row, Exception):
            bad[pos] = "cannot be read as CSV (%s)" % row
        elif len(row) not in allowed:
            bad[pos] = "expected %s, got %d" % (_columns_phrase(allowed), len(row))
        else:
            by_len.setdefault(len(row), []).append(pos)
    bare = []
    for length, positions in by_len.items():
        cols = list(zip(*[rows[p] for p in positions]))
        for j, ts in enumerate(cols[1]):
            if ts not in ts_cache:
                try:
                    ts_cache[ts] = _timestamp_key(ts, key_format)
                except ValueError as exc:
                    ts_cache[ts] = exc
            value = ts_cache[ts]
            if isinstance(value, Exception):
                bad.setdefault(positions[j], str(value))
            else:
                keys[positions[j]] = cols[0][j] + "," + value
        idx = np.array(positions, dtype=np.int64)
        if length == 2:
            ok[idx] = False
            bare.extend(keys[p] for p in positions if p not in bad)
            continue
        for c, name in enumerate(_COORDS):
            boxes[idx, c], errs = _convert(cols[2 + c], float, name, True)
            _merge(bad, errs, positions)
        action[idx], errs = _convert(cols[6], int, "action_id", False)
        _merge(bad, errs, positions)
        if length == 8 and read_col8:
            score[idx], errs = _convert(cols[7], float, read_col8, True)
            _merge(bad, errs, positions)
    for pos in sorted(bad):
        errors.append((int(lines[pos]), bad[pos]))
        ok[pos] = False
    keep = np.flatnonzero(ok)
    return _Chunk([keys[p] for p in keep.tolist()], boxes[keep], action[keep], score[keep], lines[keep], bare)


def _merge(bad: Dict[int, str], errs: Dict[int, str], positions: List[int]) -> None:
    for j, msg in errs.items():
        bad.setdefault(positions[j], msg)


def read_boxes_csv(
    path,
    allowed_columns: Sequence[int] = (7, 8),
    key_format: str = "int",
    column8: str = "score",
    skip_bad_rows: bool = False,
) -> BoxRows:
    """Reads an AVA ground-truth or detections CSV.

    allowed_columns: accepted column counts (2 means a bare key-frame row);
    key_format: see :func:`make_key`; column8: name used in messages for the
    8th column, or "" to not read it (it then scores 1.0).
    Raises AvaFormatError at the first unreadable row unless skip_bad_rows.
    """
    where = _display(path)
    ts_cache: Dict[str, object] = {}
    key_index: Dict[str, int] = {}
    errors: List[Tuple[int, str]] = []
    parts: List[_Chunk] = []
    bare_names: List[str] = []
    for numbered in _numbered_rows(path):
        chunk = _parse_chunk(numbered, allowed_columns, key_format, column8, ts_cache, errors)
        if errors and not skip_bad_rows:
            line, msg = errors[0]
            raise AvaFormatError("%s line %d: %s" % (where, line, msg))
        parts.append(chunk)
        bare_names.extend(chunk.bare)
    codes = [np.array([key_index.setdefault(k, len(key_index)) for k in p.key], dtype=np.int64) for p in parts]
    bare = np.array([key_index.setdefault(k, len(key_index)) for k in bare_names], dtype=np.int64)
    return BoxRows(
        path=where,
        key_names=list(key_index),
        key=_cat([c for c in codes], np.int64),
        boxes=np.concatenate([p.boxes for p in parts]) if parts else np.zeros((0, 4)),
        action=_cat([p.action for p in parts], np.int64),
        score=_cat([p.score for p in parts], np.float64),
        line=_cat([p.line for p in parts], np.int64),
        bare_keys=np.unique(bare),
        bad_rows=errors,
    )


def _cat(arrays, dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


def read_exclusions(path, key_format: str = "int", skip_bad_rows: bool = False):
    """Reads ``video_id,timestamp`` rows; returns (set of keys, bad rows)."""
    where = _display(path)
    keys, errors = set(), []
    for numbered in _numbered_rows(path):
        for line, row in numbered:
            try:
                if isinstance(row, Exception):
                    raise ValueError("cannot be read as CSV (%s)" % row)
                if len(row) != 2:
                    raise ValueError("expected 2 columns, got %d" % len(row))
                keys.add(make_key(row[0], row[1], key_format))
            except ValueError as exc:
                if not skip_bad_rows:
                    raise AvaFormatError("%s line %d: %s" % (where, line, exc)) from None
                errors.append((line, str(exc)))
    return keys, errors


# ----------------------------------------------------------------------------
# Writer


def write_detections_csv(path, video_ids, timestamps, boxes, action_ids, scores) -> int:
    """Writes detections in the AVA CSV format; returns the number of rows.

    video_ids: N strings; timestamps: N ints (seconds); boxes: [N, 4] x1, y1,
    x2, y2 normalised; action_ids: N ints; scores: N floats.  Floats are
    written with ``repr`` so that reading the file back gives the same values
    (rounding scores would create ties that change AP).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    cols = [
        list(video_ids),
        ["%04d" % int(t) for t in np.asarray(timestamps).tolist()],
        *(map(repr, boxes[:, c].tolist()) for c in range(4)),
        map(str, np.asarray(action_ids, dtype=np.int64).tolist()),
        map(repr, np.asarray(scores, dtype=np.float64).tolist()),
    ]
    n = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for fields in itertools.zip_longest(*cols):
            if None in fields:
                raise ValueError("write_detections_csv: all inputs must have the same length")
            f.write(",".join(fields) + "\n")
            n += 1
    return n
