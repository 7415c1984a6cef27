"""Print the report's models (Tables 2 and 3, plus K400/K600 and R50 rows) with T x tau, GFLOPs per view
x views (fvcore, computed now), parameters, the published numbers and, optionally, measured ones.

    python tools/repro_report.py [--results NAME=OUTPUT_DIR ...] [--markdown FILE] [--figure FILE.png]
                                 [--rows NAME,NAME] [--no-cache] [--cache FILE] [--fast]

--results NAME=DIR puts DIR/results.json (written by `run_net.py` testing) beside row NAME; a bare DIR
uses DIR's basename as NAME. `--list` prints the row names. GFLOPs come from fvcore (10-60 s per R101
model on CPU); they are cached in --cache (default docs/flops_cache.json) keyed by a hash of the config
keys that build the model, the input size and the model code (nothing clone- or machine-specific: a fresh
clone hits every committed row and leaves the file untouched), so a warm run takes seconds. Progress is
"n/N rows ... ETA" on stderr, and a summary closes the run. Rows read from the cache say "(cached)";
--no-cache recomputes everything (and leaves the cache alone), --fast skips FLOPs.
"""
import argparse
import os
import sys
import time
import warnings

from slowfast.reports import flops_cache, repro, repro_figure
from slowfast.utils.io import OutputIsInputError, refuse_overwriting_inputs, write_text_atomic
from slowfast.utils.progress import Progress, format_seconds

DEFAULT_CACHE = os.path.join(repro.ROOT, "docs", "flops_cache.json")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", action="append", default=[], metavar="NAME=DIR",
                        help="measured results: DIR/results.json beside row NAME (repeatable)")
    parser.add_argument("--markdown", help="also write the Markdown table to this file")
    parser.add_argument("--figure", help="write a PNG of top-1 / mAP vs GFLOPs per view")
    parser.add_argument("--rows", help="comma-separated row names (default: all)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="FLOPs cache file (default: %(default)s)")
    parser.add_argument("--no-cache", action="store_true", help="recompute every FLOP count; do not touch the cache")
    parser.add_argument("--fast", action="store_true", help="skip FLOP counting (parameters only)")
    parser.add_argument("--list", action="store_true", help="print the row names and exit")
    return parser.parse_args(argv)


def select_rows(spec):
    if not spec:
        return list(repro.REPORT_ROWS)
    return [repro.row_by_name(n.strip()) for n in spec.split(",") if n.strip()]


def gather(args, cache=None) -> list:
    """One entry {"row", "info", "results", "measured"} per selected row; "n/N ... ETA" on stderr per row.
    Every --results file is read before any counting starts: a bad one stops the run at once."""
    given = dict(repro.parse_results_arg(a) for a in args.results)
    rows = select_rows(args.rows)
    loaded = {name: repro.load_results(path) for name, path in given.items()}
    progress = Progress("[repro_report]", len(rows), unit="rows")
    entries = []
    for row in rows:
        results = loaded.get(row.name)
        info = repro.describe_row(row, cache, flops=not args.fast)
        measured = repro.measured_metrics(row, results) if results else None
        entries.append({"row": row, "info": info, "results": results, "measured": measured})
        progress.done += 1
        print(f"{progress.line()}: {row.name}, GFLOPs from {info['flops_from']}", file=sys.stderr, flush=True)
        if cache is not None:
            cache.save()  # after each row: an interrupted run keeps what it counted
    return entries


def summary(args, entries: list, cache, seconds: float) -> str:
    """The closing lines: rows, where the GFLOPs came from, what was written where, the time taken."""
    froms = [e["info"]["flops_from"] for e in entries]
    counted = sum(f.startswith("fvcore") for f in froms)
    lines = [f"[repro_report] done: {len(entries)} rows in {format_seconds(seconds)} "
             f"({froms.count('cache')} GFLOPs from the cache, {counted} counted by fvcore, "
             f"{froms.count('skipped')} skipped)"]
    if cache is None:
        lines.append("  FLOPs cache: not used (--no-cache)")
    else:
        state = f"{counted} entries written" if counted else "unchanged"
        lines.append(f"  FLOPs cache: {cache.path} ({state})")
    lines.append(f"  table: {os.path.abspath(args.markdown) if args.markdown else 'stdout'}")
    if args.figure:
        lines.append(f"  figure: {os.path.abspath(args.figure)}")
    measured = [e["row"].name for e in entries if e["measured"]]
    if measured:
        lines.append(f"  measured results beside: {', '.join(measured)}")
    return "\n".join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.list:
        print("\n".join(f"{r.name}\t{r.config}" for r in repro.REPORT_ROWS))
        return
    start = time.time()
    try:
        results = [repro.parse_results_arg(a)[1] for a in args.results]
    except ValueError:  # an unknown row name: reported by gather below
        results = []
    try:
        refuse_overwriting_inputs({"--markdown": args.markdown, "--figure": args.figure},
                                  {"--cache": None if args.no_cache else args.cache,
                                   "--results": [p if p.endswith(".json") else os.path.join(p, "results.json")
                                                 for p in results]})
    except OutputIsInputError as e:
        print(f"repro_report: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        cache = None if args.no_cache else flops_cache.CostCache(args.cache)
        entries = gather(args, cache)
    except (OSError, ValueError) as e:  # TextFileError and a bad JSON file are ValueErrors
        print(f"repro_report: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    table = repro.markdown_table(entries)
    print(table)
    if args.markdown:
        write_text_atomic(args.markdown, table + "\n")
    if args.figure:
        repro_figure.write_figure(entries, args.figure)
    print(summary(args, entries, cache, time.time() - start), file=sys.stderr)

