"""Strict readers and a writer for the AVA evaluation CSV formats (label maps:
:mod:`slowfast.formats.ava_labels`).

Formats (https://research.google.com/ava/download.html):

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
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

try:
    import pandas as _pd
except ImportError:  # the strict parser alone reads every file
    _pd = None

from slowfast.formats.problems import AvaFormatError, display_name
from slowfast.utils.io import write_text_atomic

_CHUNK_ROWS = 200_000
# Action ids beyond this magnitude cannot be label-map ids; they are stored as
# this sentinel (never in a label map) so int64 arrays can hold them.
_OUT_OF_RANGE_ID = -(2**62)


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
# CSV rows


def _read_text(path) -> str:
    # Text mode with universal newlines, as the official scorer opens files.
    with open(path, encoding="utf-8") as f:
        return f.read()


def _line_chunks(text: str):
    """Yields (first line number, lines) chunks of at most _CHUNK_ROWS lines."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for start in range(0, len(lines), _CHUNK_ROWS):
        yield start + 1, lines[start : start + _CHUNK_ROWS]


def _safe_row(line: str):
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        return exc


def _row_groups(first_line: int, lines: List[str], use_csv: bool):
    """Splits CSV lines -> (line numbers [n], {length: (positions, columns)},
    {position: error}).  Without quote characters a line is one row and
    ``line.split(",")`` is exactly what ``csv.reader`` returns for it."""
    n = len(lines)
    line_no = np.arange(first_line, first_line + n, dtype=np.int64)
    if not use_csv:
        commas = set(map(str.count, lines, itertools.repeat(",")))
        if len(commas) == 1 and min(commas) > 0:
            width = commas.pop() + 1
            flat = ",".join(lines).split(",")
            return line_no, {width: (range(n), [flat[j::width] for j in range(width)])}, {}
        rows = [line.split(",") if line else [] for line in lines]
    else:
        rows = [_safe_row(line) for line in lines]
    return (line_no,) + _group_rows(rows)


def _group_rows(rows):
    """rows (lists, or csv.Error) -> ({length: (positions, columns)}, {position: error})."""
    groups, errors = {}, {}
    for pos, row in enumerate(rows):
        if isinstance(row, Exception):
            errors[pos] = "cannot be read as CSV (%s)" % row
        else:
            groups.setdefault(len(row), []).append(pos)
    return {w: (ps, list(zip(*[rows[p] for p in ps]))) for w, ps in groups.items()}, errors


def _quoted_chunks(text: str):
    """Chunks for files with quote characters: rows may span lines, so each
    row is read with csv.reader and numbered by its first line."""
    reader = csv.reader(io.StringIO(text))
    rows, lines, start = [], [], 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        rows.append(exc)
        lines.append(start)
    yield rows, np.array(lines, dtype=np.int64)


# Bulk NumPy parsers are no faster than Python's float here (NumPy 2.4, one
# core, best CPU time for 1M repr'd floats): fromiter(map(float)) 0.42 s,
# np.array(list, float64) 0.46 s, np.fromstring(",".join(col), sep=",")
# 0.43 s, np.loadtxt 0.56 s; so conversion stays with the official scorer's
# own float/int, which also keeps its exact acceptance rules.  Clean files skip
# this parser altogether: see _fast_box_rows (pandas' C tokenizer, ~5x faster).
def _convert(values: Sequence[str], func, what: str, finite: bool):
    """Converts strings with ``func`` (Python's int/float, as the official
    scorer does); returns (array, {position: message})."""
    dtype = np.int64 if func is int else np.float64
    errors: Dict[int, str] = {}
    try:
        arr = np.fromiter(map(func, values), dtype=dtype, count=len(values))
    except (ValueError, ArithmeticError):
        out = []
        for pos, text in enumerate(values):
            try:
                value = func(text)
            except (ValueError, ArithmeticError):
                value = 0
                errors[pos] = "%s is not %s: %r" % (what, _WHAT_NUMBER[func], text)
            if func is int and not -(2**62) < value < 2**62:
                value = _OUT_OF_RANGE_ID
            out.append(value)
        arr = np.array(out, dtype=dtype)
    if finite:
        for pos in np.flatnonzero(~np.isfinite(arr)).tolist():
            errors.setdefault(pos, "%s is not a finite number: %r" % (what, values[pos]))
    return arr, errors


_WHAT_NUMBER = {int: "an integer", float: "a number"}
_COORDS = ("x1", "y1", "x2", "y2")


def _columns_phrase(allowed: Sequence[int]) -> str:
    allowed = sorted(allowed)
    if len(allowed) == 1:
        return "%d columns" % allowed[0]
    return ", ".join(str(a) for a in allowed[:-1]) + " or %d columns" % allowed[-1]


def _frame_keys(vids, stamps, key_format, ts_cache):
    """Frame keys of one column pair -> (keys, {position: error})."""
    for ts in set(stamps) - ts_cache.keys():
        try:
            ts_cache[ts] = _timestamp_key(ts, key_format)
        except ValueError as exc:
            ts_cache[ts] = exc
    formatted = [ts_cache[ts] for ts in stamps]
    errors = {p: str(f) for p, f in enumerate(formatted) if isinstance(f, Exception)} if any(
        isinstance(ts_cache[ts], Exception) for ts in set(stamps)) else {}
    return [v + "," + f if isinstance(f, str) else "" for v, f in zip(vids, formatted)], errors


@dataclass
class _Chunk:
    key: List[str]
    boxes: np.ndarray
    action: np.ndarray
    score: np.ndarray
    line: np.ndarray
    bare: List[str]


class _ChunkParser:
    """Turns row groups of one chunk into arrays; collects (line, message)."""

    def __init__(self, allowed, key_format, column8):
        self.allowed, self.key_format, self.column8 = allowed, key_format, column8
        self.ts_cache: Dict[str, object] = {}
        self.errors: List[Tuple[int, str]] = []

    def parse(self, line_no, groups, bad) -> _Chunk:
        n = line_no.shape[0]
        boxes, action, score = np.zeros((n, 4)), np.zeros(n, dtype=np.int64), np.ones(n)
        keys: List[str] = [""] * n
        has_box, bare = np.zeros(n, dtype=bool), []
        for width, (positions, cols) in groups.items():
            if width not in self.allowed:
                for p in positions:
                    bad.setdefault(p, "expected %s, got %d" % (_columns_phrase(self.allowed), width))
                continue
            group_keys, errs = _frame_keys(cols[0], cols[1], self.key_format, self.ts_cache)
            _merge(bad, errs, positions)
            if isinstance(positions, range) and n == len(positions):
                keys = group_keys
            else:
                for p, k in zip(positions, group_keys):
                    keys[p] = k
            if width == 2:
                bare.extend(k for p, k in zip(positions, group_keys) if p not in bad)
                continue
            idx = np.asarray(positions, dtype=np.int64)
            has_box[idx] = True
            self._numbers(cols, width, idx, positions, bad, boxes, action, score)
        for pos in sorted(bad):
            self.errors.append((int(line_no[pos]), bad[pos]))
            has_box[pos] = False
        keep = np.flatnonzero(has_box)
        kept_keys = keys if keep.size == n else [keys[p] for p in keep.tolist()]
        return _Chunk(kept_keys, boxes[keep], action[keep], score[keep], line_no[keep], bare)

    def _numbers(self, cols, width, idx, positions, bad, boxes, action, score):
        for c, name in enumerate(_COORDS):
            boxes[idx, c], errs = _convert(cols[2 + c], float, name, True)
            _merge(bad, errs, positions)
        action[idx], errs = _convert(cols[6], int, "action_id", False)
        _merge(bad, errs, positions)
        if width == 8 and self.column8:
            score[idx], errs = _convert(cols[7], float, self.column8, True)
            _merge(bad, errs, positions)


def _merge(bad: Dict[int, str], errs: Dict[int, str], positions) -> None:
    for j, msg in errs.items():
        bad.setdefault(positions[j], msg)


def _chunks(text: str):
    """Yields (line numbers, row groups, errors) per chunk of the file."""
    if '"' in text:
        for rows, line_no in _quoted_chunks(text):
            yield (line_no,) + _group_rows(rows)
        return
    for first, lines in _line_chunks(text):
        yield _row_groups(first, lines, "\x00" in text)


# Fast path: pandas' C tokenizer splits a clean file and parses the floats with
# float_precision="round_trip" (CPython's own string-to-double, so every value
# equals float() of its text bit for bit).  Integer columns (timestamp,
# action id) are read as text and only their distinct values are converted
# with Python's int, because pandas' int parser accepts "1.0" and "1e3".
# Anything unusual -- quotes, NULs, whitespace, a BOM, blank lines, missing,
# extra or empty fields, NaN/inf, a parser error or warning -- returns None
# and the strict parser reads the file, so its messages and skip_bad_rows
# behaviour are unchanged.
_FAST_REJECT = ('"', "\x00", " ", "\t", "\x0b", "\x0c", "\r", "\ufeff")


def _fast_box_rows(text: str, where: str, allowed, key_format: str, column8: str):
    """BoxRows of a clean file via pandas, or None to use the strict parser."""
    allowed = set(allowed)
    if _pd is None or key_format != "int" or not allowed & {7, 8} or not text:
        return None
    if text.startswith("\n") or "\n\n" in text or any(ch in text for ch in _FAST_REJECT):
        return None
    n_lines = text.count("\n") + (not text.endswith("\n"))
    dtype = {0: object, 1: object, 2: np.float64, 3: np.float64, 4: np.float64, 5: np.float64,
             6: object, 7: np.float64 if column8 else object}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message=".*float_precision.*")
            df = _pd.read_csv(io.BytesIO(text.encode("utf-8")), header=None, names=list(range(8)),
                              index_col=False, engine="c", float_precision="round_trip", dtype=dtype)
    except Exception:  # noqa: BLE001 -- any trouble: the strict parser explains it
        return None
    n = len(df)
    if n != n_lines:
        return None
    has8 = df[7].notna().to_numpy()
    n8 = int(has8.sum())
    if (n8 and 8 not in allowed) or (n8 < n and 7 not in allowed) or text.count(",") != 6 * n + n8:
        return None
    floats = [df[c].to_numpy(np.float64) for c in range(2, 6)]
    if column8:
        floats.append(np.where(has8, df[7].to_numpy(np.float64), 1.0))
    if not all(np.isfinite(f).all() for f in floats):
        return None
    vid_code, vid_names = _pd.factorize(df[0], use_na_sentinel=True)
    ts_code, ts_texts = _pd.factorize(df[1], use_na_sentinel=True)
    act_code, act_texts = _pd.factorize(df[6], use_na_sentinel=True)
    if min(vid_code.min(), ts_code.min(), act_code.min()) < 0:
        return None
    try:
        ts_keys = [_timestamp_key(t, key_format) for t in ts_texts.tolist()]
        act_values = [int(a) for a in act_texts.tolist()]
    except ValueError:
        return None
    act_values = [a if -(2**62) < a < 2**62 else _OUT_OF_RANGE_ID for a in act_values]
    ts_key_code, ts_key_names = _pd.factorize(np.array(ts_keys, dtype=object))
    pair = vid_code.astype(np.int64) * len(ts_key_names) + ts_key_code[ts_code]
    key, pairs = _pd.factorize(pair)
    vid_names, ts_key_names = vid_names.tolist(), ts_key_names.tolist()
    m = len(ts_key_names)
    key_names = [vid_names[p // m] + "," + ts_key_names[p % m] for p in pairs.tolist()]
    return BoxRows(
        path=where,
        key_names=key_names,
        key=key.astype(np.int64),
        boxes=np.ascontiguousarray(np.stack(floats[:4], axis=1)),
        action=np.array(act_values, dtype=np.int64)[act_code],
        score=floats[4] if column8 else np.ones(n),
        line=np.arange(1, n + 1, dtype=np.int64),
        bare_keys=np.zeros(0, dtype=np.int64),
        bad_rows=[],
    )


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
    where = display_name(path)
    text = _read_text(path)
    fast = _fast_box_rows(text, where, allowed_columns, key_format, column8)
    if fast is not None:
        return fast
    return _strict_box_rows(text, where, allowed_columns, key_format, column8, skip_bad_rows)


def _strict_box_rows(text, where, allowed_columns, key_format, column8, skip_bad_rows) -> BoxRows:
    parser = _ChunkParser(tuple(allowed_columns), key_format, column8)
    parts: List[_Chunk] = []
    for line_no, groups, bad in _chunks(text):
        parts.append(parser.parse(line_no, groups, bad))
        if parser.errors and not skip_bad_rows:
            line, msg = parser.errors[0]
            raise AvaFormatError("%s line %d: %s" % (where, line, msg))
    key_index: Dict[str, int] = {}
    codes = [np.array([key_index.setdefault(k, len(key_index)) for k in p.key], dtype=np.int64) for p in parts]
    bare = np.array([key_index.setdefault(k, len(key_index)) for p in parts for k in p.bare], dtype=np.int64)
    return BoxRows(
        path=where,
        key_names=list(key_index),
        key=_cat(codes, np.int64),
        boxes=np.concatenate([p.boxes for p in parts]) if parts else np.zeros((0, 4)),
        action=_cat([p.action for p in parts], np.int64),
        score=_cat([p.score for p in parts], np.float64),
        line=_cat([p.line for p in parts], np.int64),
        bare_keys=np.unique(bare),
        bad_rows=parser.errors,
    )


def _cat(arrays, dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


def read_exclusions(path, key_format: str = "int", skip_bad_rows: bool = False):
    """Reads ``video_id,timestamp`` rows; returns (set of keys, bad rows)."""
    where = display_name(path)
    keys, errors = set(), []
    for line_no, groups, bad in _chunks(_read_text(path)):
        for width, (positions, cols) in groups.items():
            if width != 2:
                for p in positions:
                    bad.setdefault(p, "expected 2 columns, got %d" % width)
                continue
            group_keys, errs = _frame_keys(cols[0], cols[1], key_format, {})
            _merge(bad, errs, positions)
            keys.update(k for p, k in zip(positions, group_keys) if p not in bad)
        errors.extend((int(line_no[p]), bad[p]) for p in sorted(bad))
        if errors and not skip_bad_rows:
            raise AvaFormatError("%s line %d: %s" % ((where,) + errors[0]))
    return keys, errors


# ----------------------------------------------------------------------------
# Writer


def write_detections_csv(path, video_ids, timestamps, boxes, action_ids, scores) -> int:
    """Writes detections in the AVA CSV format; returns the number of rows.

    video_ids: N strings; timestamps: N ints (seconds); boxes: [N, 4] x1, y1,
    x2, y2 normalised; action_ids: N ints; scores: N floats.  Floats are
    written with ``repr`` so that reading the file back gives the same values
    (rounding scores would create ties that change AP); round values before
    writing to get shorter files (``repr`` of a rounded float is short).

    The file is written next to ``path`` under a temporary name and renamed
    over it, so ``path`` never holds a partial file.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    video_ids = list(video_ids)
    check_video_ids(video_ids)
    cols = [
        video_ids,
        ["%04d" % int(t) for t in np.asarray(timestamps).tolist()],
        *(map(repr, boxes[:, c].tolist()) for c in range(4)),
        map(str, np.asarray(action_ids, dtype=np.int64).tolist()),
        map(repr, np.asarray(scores, dtype=np.float64).tolist()),
    ]
    lines = []
    for fields in itertools.zip_longest(*cols):
        if None in fields:
            raise ValueError("write_detections_csv: all inputs must have the same length")
        lines.append(",".join(fields))
    write_text_atomic(path, "".join(line + "\n" for line in lines))
    return len(lines)


def write_box_rows(path, rows: BoxRows) -> int:
    """Writes :class:`BoxRows` (keys ``"video_id,%04d"``) as an AVA detections
    CSV with :func:`write_detections_csv`; returns the number of rows."""
    split = [name.rsplit(",", 1) for name in rows.key_names]
    if any(len(s) != 2 for s in split):
        raise ValueError("write_box_rows: key names must be 'video_id,timestamp'")
    codes = rows.key.tolist()
    return write_detections_csv(path, [split[k][0] for k in codes], [split[k][1] for k in codes],
                                rows.boxes, rows.action, rows.score)


def check_video_ids(video_ids: Sequence[str]) -> None:
    """Raises ValueError for a video id that the AVA CSV cannot hold."""
    for vid in set(video_ids):
        if not isinstance(vid, str) or not vid or any(c in vid for c in ',"\r\n'):
            raise ValueError("video id %r cannot be written to an AVA CSV (empty, not a string, "
                             "or contains a comma, quote or newline)" % (vid,))


