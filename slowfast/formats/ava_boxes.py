"""AVA box CSVs -- ground truth, detections, person proposals -- read by one parser in two modes.

No header, one (box, action) per row (https://research.google.com/ava/download.html)::

    video_id, timestamp, x1, y1, x2, y2, action_id, person_id|score

coordinates normalised to [0, 1]; the 8th column is the person id in ground truth (absent in AVA
v2.0) and the score in detections; the 2020 scorer also accepts 2-column key-frame rows.  Proposals
(PySlowFast's ``ava_*_predicted_boxes.csv``) have the score in the last column and an empty or ``-1``
action id (or no action column).  Exclusions and the writers (:func:`~slowfast.formats.ava_csv.write_box_rows`, ...): :mod:`slowfast.formats.ava_csv`, whose
columnar parser both modes run (:class:`_ChunkParser` holds the two rule sets):

* strict, :func:`read_boxes_csv` (the evaluator's) -> :class:`BoxRows` arrays.  A bad row raises
  :class:`AvaFormatError` naming file (base name), line and problem (``GT.csv line 17: expected 7 or 8
  columns, got 6``), or with ``skip_bad_rows`` is left out and recorded in ``bad_rows``.  Fields are
  read as the official scorer reads them (quoting, spaces, ``1_000``), but ``nan``/``inf`` coordinates
  and scores are rejected (the official results for them depend on heap and sort internals).  Clean
  files take a pandas fast path that gives the same arrays bit for bit.
* lenient, :func:`read_box_rows` / :func:`read_box_csv` (the datasets' and the checker's) ->
  :class:`BoxRow` lists.  Lines are read one by one as UTF-8 (else a problem of kind ``encoding``),
  blank ones skipped, split on commas (never quoted), video ids stripped.  A bad row is a
  :class:`~slowfast.formats.problems.Problem` naming the full path and line, of kind ``parse``,
  ``no_score`` (a proposal without a finite score) or ``action_range`` (a ground-truth action id below
  1), raised (the first, as :class:`AvaFormatError`) or collected.  :func:`read_box_csv` also clips
  boxes to [0, 1] and drops boxes without area, counting both.
"""
from __future__ import annotations

import io
import itertools
import logging
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

try:
    import pandas as _pd
except ImportError:  # the strict parser alone reads every file
    _pd = None

from slowfast.formats.ava_csv import (OUT_OF_RANGE_ID, columns_phrase, convert, frame_keys, merge, numbered_chunks,
                                      read_text, text_chunks, timestamp_key)
from slowfast.formats.problems import AvaFormatError, Problem, ava_lines, display_name

logger = logging.getLogger(__name__)

Box = Tuple[float, float, float, float]
Key = Tuple[str, int]  # (video_id, timestamp seconds)
_COORDS = ("x1", "y1", "x2", "y2")


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


@dataclass(frozen=True)
class BoxRow:
    """One row of a ground-truth or proposal CSV (the lenient readers).

    ``box`` is ``(x1, y1, x2, y2)`` normalised to ``[0, 1]`` (clipped by :func:`read_box_csv`);
    ``action`` is the 1-based action id or ``-1`` (none); ``score`` is the detector score (proposals)
    or ``None``.
    """

    video: str
    sec: int
    box: Box
    action: int
    score: Optional[float]
    line: int


# ----------------------------------------------------------------------------
# The parser: row groups of one chunk -> arrays, under the strict or the lenient rules


@dataclass
class _Chunk:
    key: List[str]
    boxes: np.ndarray
    action: np.ndarray
    score: np.ndarray
    line: np.ndarray
    bare: List[str]


class _ChunkParser:
    """Turns row groups of one chunk into arrays; collects (line, message) and, for the lenient
    readers, each bad line's problem kind when it is not ``parse``.

    lenient: None (the evaluator's strict rules), ``"gt"`` or ``"proposals"`` (the datasets' rules).
    """

    def __init__(self, allowed, key_format, column8, lenient: Optional[str] = None):
        self.allowed, self.key_format, self.column8 = tuple(allowed), key_format, column8
        self.lenient = lenient
        self.ts_cache: Dict[str, object] = {}
        self.errors: List[Tuple[int, str]] = []
        self.kinds: Dict[int, str] = {}
        # lenient: action ids beyond the int64 range of the arrays, {line: id as written}
        self.big_actions: Dict[int, int] = {}

    def parse(self, line_no, groups, bad) -> _Chunk:
        n = line_no.shape[0]
        arrays = np.zeros((n, 4)), np.zeros(n, dtype=np.int64), np.ones(n)  # boxes, action, score
        keys: List[str] = [""] * n
        has_box, bare, kinds = np.zeros(n, dtype=bool), [], {}
        numbers = self._strict_numbers if self.lenient is None else self._lenient_numbers
        for width, (positions, cols) in groups.items():
            if width not in self.allowed:
                self._bad_width(width, positions, cols, bad)
                continue
            vids, stamps = (cols[0], cols[1]) if self.lenient is None else _stripped(cols[0], cols[1])
            group_keys, errs = frame_keys(vids, stamps, self.key_format, self.ts_cache)
            merge(bad, errs, positions)
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
            for errs, kind in numbers(cols, width, idx, line_no[idx], *arrays):
                merge(bad, errs, positions, kinds, kind)
        for pos in sorted(bad):
            self.errors.append((int(line_no[pos]), bad[pos]))
            if pos in kinds:
                self.kinds[int(line_no[pos])] = kinds[pos]
            has_box[pos] = False
        keep = np.flatnonzero(has_box)
        kept_keys = keys if keep.size == n else [keys[p] for p in keep.tolist()]
        return _Chunk(kept_keys, *(a[keep] for a in arrays), line_no[keep], bare)

    def _bad_width(self, width, positions, cols, bad) -> None:
        message = "expected %s, got %d" % (columns_phrase(self.allowed), width)
        for i, p in enumerate(positions):
            # the lenient readers also show the line (their rows are never quoted: the fields joined)
            bad.setdefault(p, message if self.lenient is None else "%s: %r" % (message, ",".join(c[i] for c in cols)))

    def _strict_numbers(self, cols, width, idx, lines, boxes, action, score):
        """Fills the group's rows (``idx``; file ``lines``) of the arrays; yields ({group position:
        message}, kind) in the order a row's problems rank (a row keeps its first)."""
        for c, name in enumerate(_COORDS):
            boxes[idx, c], errs = convert(cols[2 + c], float, name, True)
            yield errs, None
        action[idx], errs = convert(cols[6], int, "action_id", False)
        yield errs, None
        if width == 8 and self.column8:
            score[idx], errs = convert(cols[7], float, self.column8, True)
            yield errs, None

    def _lenient_numbers(self, cols, width, idx, lines, boxes, action, score):
        """The datasets' rules: coordinates (all parsed, then finite), then the proposal score (last
        column), then the action id (proposals: empty is -1; ground truth: >= 1); yields as above."""
        for c, name in enumerate(_COORDS):
            boxes[idx, c], errs = convert(cols[2 + c], float, "coordinate " + name, False)
            yield errs, None
        infinite = np.flatnonzero(~np.isfinite(boxes[idx]).all(axis=1)).tolist()
        yield {j: "box coordinates must be finite numbers, got %s" % [col[j] for col in cols[2:6]]
               for j in infinite}, None
        gt = self.lenient == "gt"
        if not gt:
            texts = cols[width - 1]
            yield {j: "no detector score in the last column (%r)" % t for j, t in enumerate(texts) if not t.strip()}, "no_score"
            score[idx], errs = convert(texts, float, "score", False)
            yield errs, "no_score"
            yield {j: "score must be a finite number, got %r" % texts[j]
                   for j in np.flatnonzero(~np.isfinite(score[idx])).tolist()}, "no_score"
        if gt or width == 8:
            texts = cols[6] if gt else [t.strip() or "-1" for t in cols[6]]
            action[idx], errs = convert(texts, int, "action_id", False)
            yield errs, None
            for j in np.flatnonzero(action[idx] == OUT_OF_RANGE_ID).tolist():
                self.big_actions[int(lines[j])] = int(texts[j])
            if gt:  # -1 means "no action" only in proposals
                below = (j for j in np.flatnonzero(action[idx] < 1).tolist() if j not in errs)
                yield {j: "action_id must be >= 1 in ground truth, got %d" % a
                       for j in below if (a := int(texts[j])) < 1}, "action_range"
        else:
            action[idx] = -1


def _stripped(vids, stamps):
    return [v.strip() for v in vids], [t.strip() for t in stamps]


def _join(path: str, parts: Sequence[_Chunk], errors) -> BoxRows:
    """The chunks of one file as :class:`BoxRows` (frame keys numbered in order of first appearance)."""
    key_index: Dict[str, int] = {}
    codes = [np.array([key_index.setdefault(k, len(key_index)) for k in p.key], dtype=np.int64) for p in parts]
    bare = np.array([key_index.setdefault(k, len(key_index)) for p in parts for k in p.bare], dtype=np.int64)
    return BoxRows(
        path=path,
        key_names=list(key_index),
        key=_cat(codes, np.int64),
        boxes=np.concatenate([p.boxes for p in parts]) if parts else np.zeros((0, 4)),
        action=_cat([p.action for p in parts], np.int64),
        score=_cat([p.score for p in parts], np.float64),
        line=_cat([p.line for p in parts], np.int64),
        bare_keys=np.unique(bare),
        bad_rows=errors,
    )


def _cat(arrays, dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)


# ----------------------------------------------------------------------------
# Strict: the evaluator's reader


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
        ts_keys = [timestamp_key(t, key_format) for t in ts_texts.tolist()]
        act_values = [int(a) for a in act_texts.tolist()]
    except ValueError:
        return None
    act_values = [a if -(2**62) < a < 2**62 else OUT_OF_RANGE_ID for a in act_values]
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
    """Reads an AVA ground-truth or detections CSV (strict mode, module docstring).

    allowed_columns: accepted column counts (2 means a bare key-frame row);
    key_format: see :func:`slowfast.formats.ava_csv.make_key`; column8: name used in messages for the
    8th column, or "" to not read it (it then scores 1.0).
    Raises AvaFormatError at the first unreadable row unless skip_bad_rows.
    """
    where = display_name(path)
    text = read_text(path)
    fast = _fast_box_rows(text, where, allowed_columns, key_format, column8)
    if fast is not None:
        return fast
    return _strict_box_rows(text, where, allowed_columns, key_format, column8, skip_bad_rows)


def _strict_box_rows(text, where, allowed_columns, key_format, column8, skip_bad_rows) -> BoxRows:
    parser = _ChunkParser(allowed_columns, key_format, column8)
    parts: List[_Chunk] = []
    for line_no, groups, bad in text_chunks(text):
        parts.append(parser.parse(line_no, groups, bad))
        if parser.errors and not skip_bad_rows:
            line, msg = parser.errors[0]
            raise AvaFormatError("%s line %d: %s" % (where, line, msg))
    return _join(where, parts, parser.errors)


# ----------------------------------------------------------------------------
# Lenient: the datasets' and the checker's reader


def read_box_rows(path: str, proposals: bool = False, problems: Optional[List[Problem]] = None) -> List[BoxRow]:
    """The rows of a ground-truth (``proposals=False``) or proposal CSV as written (not clipped), in the
    lenient mode (module docstring).

    Problems: wrong column count, a field that is not a number, non-finite numbers, non-UTF-8 bytes
    (kinds ``parse``, ``encoding``), a proposal without a score (``no_score``), a ground-truth
    action id below 1 (``action_range``). ``problems=None`` raises the first as :class:`AvaFormatError`
    (file and line); a list collects them all and keeps the rows that parse.

    Raises:
        FileNotFoundError: ``path`` is missing.
    """
    rows, big_actions = _lenient_box_rows(path, "proposals" if proposals else "gt", problems)
    split = [k.rsplit(",", 1) for k in rows.key_names]
    videos, secs = [s[0] for s in split], [int(s[1]) for s in split]
    codes, lines, actions = rows.key.tolist(), rows.line.tolist(), rows.action.tolist()
    for i in np.flatnonzero(rows.action == OUT_OF_RANGE_ID).tolist():
        actions[i] = big_actions[lines[i]]
    boxes = zip(*(rows.boxes[:, c].tolist() for c in range(4)))
    scores = rows.score.tolist() if proposals else itertools.repeat(None)
    return list(itertools.starmap(BoxRow, zip([videos[k] for k in codes], [secs[k] for k in codes], boxes,
                                              actions, scores, lines)))


def _lenient_box_rows(path: str, layout: str, problems: Optional[List[Problem]]):
    """(:class:`BoxRows` of the rows that parse under the lenient rules, ``{line: action id}`` of the
    ids beyond the arrays' int64 range); problems raised (the first) or collected, in line order."""
    found: List[Problem] = []
    parser = _ChunkParser((7, 8), "int", "", layout)
    parts = [parser.parse(*chunk) for chunk in numbered_chunks(list(ava_lines(path, found)))]
    found += [Problem(path, line, parser.kinds.get(line, "parse"), message) for line, message in parser.errors]
    found.sort(key=lambda p: p.line)
    if found and problems is None:
        raise AvaFormatError(found[0].error_text())
    if problems is not None:
        problems += found
    return _join(path, parts, parser.errors), parser.big_actions


def check_action_range(rows: Iterable[BoxRow], path: str, num_classes: int) -> List[Problem]:
    """Problems (kind ``action_range``) of rows whose action id is neither ``-1`` (a proposal without
    one) nor in ``1..num_classes`` (MODEL.NUM_CLASSES: the label map's ids)."""
    return [Problem(path, r.line, "action_range", f"action_id {r.action} outside 1..{num_classes} "
                                                  "(MODEL.NUM_CLASSES; the label map's ids)")
            for r in rows if not (r.action == -1 or 1 <= r.action <= num_classes)]


def _clip_box(box: Box) -> Tuple[Box, bool]:
    """Clamp to ``[0, 1]``; also say whether anything changed."""
    clipped = tuple(min(max(v, 0.0), 1.0) for v in box)
    return clipped, clipped != box


def read_box_csv(path: str, proposals: bool = False, stats: Optional[Counter] = None) -> List[BoxRow]:
    """Read a ground-truth (``proposals=False``) or proposal CSV (see module docstring) with
    :func:`read_box_rows`.

    Boxes outside ``[0, 1]`` are clipped (counted in ``stats["clipped_boxes"]``, one warning per
    file); boxes with no area left are dropped (``stats["degenerate_boxes"]``).

    Raises:
        FileNotFoundError: ``path`` is missing.
        AvaFormatError: wrong column count or non-numeric field, naming file and line.
    """
    stats = stats if stats is not None else Counter()
    rows, clipped_lines, degenerate_lines = [], [], []
    for row in read_box_rows(path, proposals):
        box, changed = _clip_box(row.box)
        if changed:
            clipped_lines.append(row.line)
            row = BoxRow(row.video, row.sec, box, row.action, row.score, row.line)
        if box[2] <= box[0] or box[3] <= box[1]:
            degenerate_lines.append(row.line)
            continue
        rows.append(row)
    if clipped_lines:
        stats["clipped_boxes"] += len(clipped_lines)
        logger.warning("%s: %d boxes outside [0, 1] clipped (lines %s)", path, len(clipped_lines), _some(clipped_lines))
    if degenerate_lines:
        stats["degenerate_boxes"] += len(degenerate_lines)
        logger.warning("%s: %d boxes without area skipped (lines %s)", path, len(degenerate_lines), _some(degenerate_lines))
    return rows


def _some(numbers: Sequence[int], most: int = 5) -> str:
    shown = ", ".join(str(n) for n in numbers[:most])
    return shown + (", ..." if len(numbers) > most else "")
