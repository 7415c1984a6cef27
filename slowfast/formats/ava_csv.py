"""The columnar parser under every AVA CSV reader: text -> chunks -> rows grouped by column count ->
columns converted at once, each problem kept as ``{position: message}`` for the reader to raise, skip
or collect (:mod:`slowfast.formats.ava_boxes` reads boxes with it in a strict and a lenient mode;
:func:`read_exclusions` reads ``video_id, timestamp`` rows), and the AVA CSV writers
(:func:`write_detections_csv`, :func:`write_box_rows`, :func:`write_box_csv`).

Fields are converted with Python's own ``int``/``float``/``decimal.Decimal``, exactly as the official
scorer converts them, so a file is read the same way (surrounding spaces allowed, ``1_000`` is a
number, ...). Frame keys are the official ones (:func:`make_key`).
"""

import csv
import decimal
import io
import itertools
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from slowfast.formats.problems import AvaFormatError, display_name
from slowfast.utils.io import atomic_write, write_text_atomic

CHUNK_ROWS = 200_000
# Action ids beyond this magnitude cannot be label-map ids; they are stored as
# this sentinel (never in a label map) so int64 arrays can hold them.
OUT_OF_RANGE_ID = -(2**62)


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
    return video_id + "," + timestamp_key(timestamp, key_format)


def timestamp_key(timestamp: str, key_format: str) -> str:
    """The timestamp part of :func:`make_key`."""
    if key_format == "int":
        try:
            return "%04d" % int(timestamp)
        except ValueError:
            raise ValueError("timestamp is not an integer: %r" % timestamp) from None
    try:
        return "%.6f" % decimal.Decimal(timestamp)
    except (ValueError, ArithmeticError):
        raise ValueError("timestamp is not a number: %r" % timestamp) from None


def frame_keys(vids, stamps, key_format, ts_cache):
    """Frame keys of one column pair -> (keys, {position: error})."""
    for ts in set(stamps) - ts_cache.keys():
        try:
            ts_cache[ts] = timestamp_key(ts, key_format)
        except ValueError as exc:
            ts_cache[ts] = exc
    formatted = [ts_cache[ts] for ts in stamps]
    errors = {p: str(f) for p, f in enumerate(formatted) if isinstance(f, Exception)} if any(
        isinstance(ts_cache[ts], Exception) for ts in set(stamps)) else {}
    return [v + "," + f if isinstance(f, str) else "" for v, f in zip(vids, formatted)], errors


# ----------------------------------------------------------------------------
# Rows


def read_text(path) -> str:
    """The whole file, in text mode with universal newlines, as the official scorer opens files; a
    UTF-8 byte-order mark at the start is dropped (as the lenient readers' ``utf-8-sig`` does)."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise AvaFormatError(f"{display_name(path)} line {line}: not UTF-8 text ({e.reason} at byte {e.start}); "
                             "AVA files are UTF-8 CSV / protobuf text") from None
    if "\r" in text:  # universal newlines, as text mode reads it
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[1:] if text.startswith("\ufeff") else text


def text_chunks(text: str):
    """Yields (line numbers [n], {width: (positions, columns)}, {position: error}) per chunk of the
    text of a file."""
    if '"' in text:
        for rows, line_no in _quoted_chunks(text):
            yield (line_no,) + group_rows(rows)
        return
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    use_csv = "\x00" in text
    for start in range(0, len(lines), CHUNK_ROWS):
        part = lines[start : start + CHUNK_ROWS]
        yield row_groups(np.arange(start + 1, start + 1 + len(part), dtype=np.int64), part, use_csv)


def numbered_chunks(numbered: Sequence[tuple]):
    """Yields :func:`text_chunks`' triples for ``(line number, line)`` pairs (lines already read one by
    one); lines are split on commas, never CSV-quoted."""
    for start in range(0, len(numbered), CHUNK_ROWS):
        part = numbered[start : start + CHUNK_ROWS]
        yield row_groups(np.array([n for n, _ in part], dtype=np.int64), [line for _, line in part], False)


def _safe_row(line: str):
    try:
        return next(csv.reader([line]), [])
    except csv.Error as exc:
        return exc


def row_groups(line_no: np.ndarray, lines: List[str], use_csv: bool):
    """Splits CSV lines -> (line numbers [n], {length: (positions, columns)},
    {position: error}).  Without quote characters a line is one row and
    ``line.split(",")`` is exactly what ``csv.reader`` returns for it."""
    n = len(lines)
    if not use_csv:
        commas = set(map(str.count, lines, itertools.repeat(",")))
        if len(commas) == 1 and min(commas) > 0:
            width = commas.pop() + 1
            flat = ",".join(lines).split(",")
            return line_no, {width: (range(n), [flat[j::width] for j in range(width)])}, {}
        rows = [line.split(",") if line else [] for line in lines]
    else:
        rows = [_safe_row(line) for line in lines]
    return (line_no,) + group_rows(rows)


def group_rows(rows):
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


def columns_phrase(allowed: Sequence[int]) -> str:
    allowed = sorted(allowed)
    if len(allowed) == 1:
        return "%d columns" % allowed[0]
    return ", ".join(str(a) for a in allowed[:-1]) + " or %d columns" % allowed[-1]


def merge(bad: Dict[int, str], errs: Dict[int, str], positions, kinds=None, kind=None) -> None:
    """Adds a column's ``{group position: message}`` to the chunk's ``bad``; a row keeps its first
    problem (and, with ``kinds``, that problem's ``kind``)."""
    for j, msg in errs.items():
        p = positions[j]
        if p not in bad:
            bad[p] = msg
            if kind:
                kinds[p] = kind


# ----------------------------------------------------------------------------
# Fields


# Bulk NumPy parsers are no faster than Python's float here (NumPy 2.4, one
# core, best CPU time for 1M repr'd floats): fromiter(map(float)) 0.42 s,
# np.array(list, float64) 0.46 s, np.fromstring(",".join(col), sep=",")
# 0.43 s, np.loadtxt 0.56 s; so conversion stays with the official scorer's
# own float/int, which also keeps its exact acceptance rules.  Clean files skip
# this parser altogether: see ava_boxes._fast_box_rows (pandas' C tokenizer, ~5x faster).
def convert(values: Sequence[str], func, what: str, finite: bool):
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
                value = OUT_OF_RANGE_ID
            out.append(value)
        arr = np.array(out, dtype=dtype)
    if finite:
        for pos in np.flatnonzero(~np.isfinite(arr)).tolist():
            errors.setdefault(pos, "%s is not a finite number: %r" % (what, values[pos]))
    return arr, errors


_WHAT_NUMBER = {int: "an integer", float: "a number"}


# ----------------------------------------------------------------------------
# Exclusions; writers


def read_exclusions(path, key_format: str = "int", skip_bad_rows: bool = False):
    """Reads an exclusions CSV (``video_id, timestamp`` rows of key frames to ignore); returns (set of
    keys, bad rows). Raises AvaFormatError naming file and line at the first bad row unless skip_bad_rows."""
    where = display_name(path)
    keys, errors = set(), []
    for line_no, groups, bad in text_chunks(read_text(path)):
        for width, (positions, cols) in groups.items():
            if width != 2:
                for p in positions:
                    bad.setdefault(p, "expected 2 columns, got %d" % width)
                continue
            group_keys, errs = frame_keys(cols[0], cols[1], key_format, {})
            merge(bad, errs, positions)
            keys.update(k for p, k in zip(positions, group_keys) if p not in bad)
        errors.extend((int(line_no[p]), bad[p]) for p in sorted(bad))
        if errors and not skip_bad_rows:
            raise AvaFormatError("%s line %d: %s" % ((where,) + errors[0]))
    return keys, errors


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


def write_box_rows(path, rows) -> int:
    """Writes :class:`~slowfast.formats.ava_boxes.BoxRows` (keys ``"video_id,%04d"``) as an AVA
    detections CSV with :func:`write_detections_csv`; returns the number of rows."""
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


def write_box_csv(path: str, rows: Iterable[Tuple[str, int, Sequence[float], int, float]], proposals: bool = False) -> None:
    """Write ``(video_id, sec, box, action_id, last)`` rows in the official layout: ground truth
    ``...,action_id,person_id`` (``last`` is the person id); proposals ``...,action_id,score``
    (``action_id`` -1 written empty, ``last`` is the score).  Timestamps as 4 digits, 3-decimal boxes; the
    file is written atomically."""
    def write(f):
        for video, sec, box, action, last in rows:
            coords = ",".join(f"{v:.3f}" for v in box)
            if proposals:
                f.write(f"{video},{sec:04d},{coords},{'' if action == -1 else action},{last:.6f}\n")
            else:
                f.write(f"{video},{sec:04d},{coords},{action},{int(last)}\n")

    atomic_write(path, write, "w")  # a temporary file renamed into place
