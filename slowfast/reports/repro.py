"""The report's numbers (ONE table, `REPORT_ROWS`), model cost computed now, measured results beside them.

`tools/repro_report.py` is the command-line front end. GFLOPs per view are fvcore's
(`slowfast.utils.complexity.count_flops`, one multiply-add = one flop, batch norm included) at
DATA.TEST_CROP_SIZE^2 (one box for AVA). fvcore traces a real forward pass, 10-60 s per R101 model
on CPU, so results are cached in docs/flops_cache.json keyed by what decides them: the model's config
keys, the input size and the model code (`slowfast.reports.flops_cache`; a change to any of them is a miss
and recomputes; nothing clone- or machine-specific, so a fresh clone hits every row).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from slowfast.config import load_config
from slowfast.config.validation import num_pathways
from slowfast.utils.io import read_text
from slowfast.reports.flops_cache import CostCache, compute_cost, cost_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORT = "report"
PAPER = "SlowFast paper"
CPU_OPTS = ["NUM_GPUS", "0", "NUM_SHARDS", "1", "NUM_PROCESSES", "1"]
# Metrics as printed; the report gives accuracies, errors and mAP in percent.
KINETICS_METRICS = ("top1_acc", "top5_acc", "avg_err")
AVA_METRICS = ("mAP",)


@dataclass(frozen=True)
class ReportRow:
    """One model of the report (or of the SlowFast paper): config, where it is printed, its numbers."""

    name: str  # short key for --results NAME=DIR
    config: str  # path relative to the repository root
    table: str  # e.g. "Table 3 (K700)"
    label: str  # model as printed
    source: str = REPORT  # REPORT, PAPER, or "" (no published number)
    metrics: dict = field(default_factory=dict)  # metric name -> value in percent
    gflops: float | None = None  # published GFLOPs per view
    views: int | None = None  # published views

    @property
    def task(self) -> str:
        return "ava" if "/AVA/" in self.config or "AVA_" in os.path.basename(self.config) else "kinetics"


def _k(name, cfg, table, label, source=REPORT, top1=None, top5=None, err=None, gflops=None, views=30):
    metrics = {k: v for k, v in zip(KINETICS_METRICS, (top1, top5, err)) if v is not None}
    return ReportRow(name, cfg, table, label, source if metrics or gflops else "", metrics, gflops, views)


def _ava(name, cfg, label, mAP):
    return ReportRow(name, cfg, "Table 2 (AVA)", label, REPORT, {"mAP": mAP})


K700, K600, K400 = "configs/Kinetics/K700/", "configs/Kinetics/K600/", "configs/Kinetics/K400/"
# THE table of published numbers. tests/test_repro_report.py checks that each config exists, loads,
# and that its header comment carries these numbers.
REPORT_ROWS: tuple[ReportRow, ...] = (
    _k("k700_slowfast_8x8", K700 + "SLOWFAST_8x8_R101_NL.yaml", "Table 3 (K700)", "SlowFast 8x8 R101+NL",
       top1=70.6, top5=89.7, err=19.9, gflops=115),
    _k("k700_fast_32x2", K700 + "FAST_32x2_R101_NL.yaml", "Table 3 (K700)", "Fast (beta=1) 32x2 R101+NL",
       top1=70.6, top5=89.7, err=19.9, gflops=552),
    _k("k700_slowfast_16x8", K700 + "SLOWFAST_16x8_R101_NL.yaml", "Table 3 (K700)", "SlowFast 16x8 R101+NL",
       top1=71.0, top5=89.6, err=19.7, gflops=234),
    _ava("ava_slowfast_8x8_v2.1", "configs/AVA/SLOWFAST_8x8_v2.1.yaml", "SlowFast 8x8, AVA v2.1", 28.2),
    _ava("ava_slowfast_8x8", "configs/AVA/SLOWFAST_8x8.yaml", "SlowFast 8x8", 29.0),
    _ava("ava_fast_32x2", "configs/AVA/FAST_32x2.yaml", "Fast (beta=1) 32x2", 27.4),
    _ava("ava_slowfast_16x8", "configs/AVA/SLOWFAST_16x8.yaml", "SlowFast 16x8", 29.8),
    _ava("ava_slowfast_16x8_plusplus", "configs/AVA/SLOWFAST_16x8_PLUSPLUS.yaml", "SlowFast++ 16x8", 30.7),
    _k("k600_slowfast_16x8", K600 + "SLOWFAST_16x8_R101_NL.yaml", "Sec. 3.1 (K600)", "SlowFast 16x8 R101+NL",
       top1=81.1, top5=95.1, gflops=234),
    _k("k600_slowfast_8x8", K600 + "SLOWFAST_8x8_R101_NL.yaml", "Table 3 GFLOPs (K600)", "SlowFast 8x8 R101+NL",
       gflops=115),
    _k("k600_fast_32x2", K600 + "FAST_32x2_R101_NL.yaml", "Table 3 GFLOPs (K600)", "Fast (beta=1) 32x2 R101+NL",
       gflops=552),
    _k("k400_slowfast_16x8", K400 + "SLOWFAST_16x8_R101_NL.yaml", "Sec. 3.1 (K400)", "SlowFast 16x8 R101+NL",
       top1=79.8, top5=93.9, gflops=234),
    _k("k400_slowfast_8x8", K400 + "SLOWFAST_8x8_R101_NL.yaml", "Table 3 GFLOPs (K400)", "SlowFast 8x8 R101+NL",
       gflops=115),
    _k("k400_fast_32x2", K400 + "FAST_32x2_R101_NL.yaml", "Table 3 GFLOPs (K400)", "Fast (beta=1) 32x2 R101+NL",
       gflops=552),
    _k("k400_slowfast_8x8_r50", K400 + "SLOWFAST_8x8_R50.yaml", "Table 2 (K400)", "SlowFast 8x8 R50",
       source=PAPER, top1=77.0, top5=92.6, gflops=65.7),
    _k("k400_slowfast_4x16_r50", K400 + "SLOWFAST_4x16_R50.yaml", "Table 2 (K400)", "SlowFast 4x16 R50",
       source=PAPER, top1=75.6, top5=92.1, gflops=36.1),
    # CPU quick-start models: no published number; listed so their measured results can be shown.
    _k("synthetic_slowfast_tiny", "configs/Synthetic/SLOWFAST_TINY.yaml", "- (synthetic)", "tiny SlowFast"),
    ReportRow("synthetic_ava_slowfast_tiny", "configs/Synthetic/AVA_SLOWFAST_TINY.yaml", "- (synthetic)",
              "tiny SlowFast detector", ""),
)


def row_by_name(name: str) -> ReportRow:
    """The row called `name`; ValueError listing the valid names otherwise."""
    for row in REPORT_ROWS:
        if row.name == name:
            return row
    raise ValueError(f"unknown row '{name}'; valid names: {', '.join(r.name for r in REPORT_ROWS)}")


def load_row_config(row: ReportRow):
    """The row's config, loaded for a single CPU process."""
    return load_config(os.path.join(ROOT, row.config), CPU_OPTS)


# ----------------------------------------------------------------------------------------------
# Model description: T x tau, views, GFLOPs (fvcore, cached), parameters
# ----------------------------------------------------------------------------------------------
def sampling(cfg) -> tuple[int, int]:
    """(T, tau) as the report writes it: Slow frames and stride for SlowFast, else the single pathway's."""
    t, tau = cfg.DATA.NUM_FRAMES, cfg.DATA.SAMPLING_RATE
    if num_pathways(cfg) == 2:
        return t // cfg.SLOWFAST.ALPHA, tau * cfg.SLOWFAST.ALPHA
    return t, tau


def test_views(cfg) -> int:
    """Views per video (classification) or per key frame (AVA: scales x flips) at test time."""
    from slowfast.engine.tasks import build_task

    return build_task(cfg).num_test_views()


def count_params_only(cfg) -> float:
    """Parameters in millions, from a model built on the meta device (no memory, no compute)."""
    from slowfast.models import build_model
    from slowfast.utils.complexity import count_params

    return count_params(build_model(cfg, device="meta")) / 1e6


def describe_row(row: ReportRow, cache: CostCache | None, flops: bool = True) -> dict:
    """T, tau, views and, unless `flops` is False, GFLOPs/params with where they came from."""
    cfg = load_row_config(row)
    t, tau = sampling(cfg)
    out = {"T": t, "tau": tau, "views": test_views(cfg), "size": cfg.DATA.TEST_CROP_SIZE, "flops_from": "skipped"}
    if not flops:
        out.update(gflops=None, params_m=count_params_only(cfg))
        return out
    key = cost_key(cfg, cfg.DATA.TEST_CROP_SIZE)
    hit = cache.get(key) if cache else None
    if hit:
        out.update(gflops=hit["gflops"], params_m=hit["params_m"], flops_from="cache")
        return out
    cost = compute_cost(cfg, cfg.DATA.TEST_CROP_SIZE)
    if cache is not None:
        cache.put(key, {**cost, "config": row.config, "size": cfg.DATA.TEST_CROP_SIZE})
    out.update(gflops=cost["gflops"], params_m=cost["params_m"], flops_from=f"fvcore {cost['seconds']}s")
    return out


# ----------------------------------------------------------------------------------------------
# Measured results
# ----------------------------------------------------------------------------------------------
def parse_results_arg(arg: str) -> tuple[str, str]:
    """'NAME=DIR' -> (NAME, DIR); a bare 'DIR' -> (basename of DIR, DIR). The name must be a row's."""
    name, sep, path = arg.partition("=")
    if not sep:
        path, name = arg, os.path.basename(os.path.normpath(arg))
    row_by_name(name)
    return name, path


def load_results(path: str) -> dict:
    """DIR/results.json (or a .json file itself); FileNotFoundError naming the path if absent."""
    file = path if path.endswith(".json") else os.path.join(path, "results.json")
    if not os.path.isfile(file):
        raise FileNotFoundError(f"no results file: {file} (expected OUTPUT_DIR/results.json written by the test)")
    try:
        results = json.loads(read_text(file))
    except json.JSONDecodeError as e:
        raise ValueError(f"{file} line {e.lineno}: not a results file (JSON: {e.msg})") from None
    if not isinstance(results, dict):
        raise ValueError(f"{file}: not a results file (a JSON object expected)")
    return results


def measured_metrics(row: ReportRow, results: dict) -> dict:
    """The row's metrics from a results.json, in percent (AVA's mAP is stored as a fraction)."""
    if row.task == "ava":
        return {"mAP": 100.0 * results["mAP"]} if "mAP" in results else {}
    return {k: float(results[k]) for k in KINETICS_METRICS if k in results}


# ----------------------------------------------------------------------------------------------
# Markdown
# ----------------------------------------------------------------------------------------------
def _num(v, fmt="{:.1f}") -> str:
    return "-" if v is None else fmt.format(v)


def format_gflops(v) -> str:
    """GFLOPs with one decimal, three significant digits below 1 (tiny models)."""
    if v is None:
        return "-"
    return f"{v:.1f}" if v >= 1 else f"{v:.3g}"


def _metric_cell(row: ReportRow, values: dict | None) -> str:
    names = AVA_METRICS if row.task == "ava" else KINETICS_METRICS
    if not values:
        return "-"
    return " / ".join(_num(values.get(n)) for n in names)


def markdown_table(entries: list[dict]) -> str:
    """Markdown: one line per entry {"row", "info", "measured"} (measured may be None)."""
    head = ("| model | config | source | T x tau | GFLOPs x views (fvcore) | params (M) | report GFLOPs x views "
            "| report: top-1 / top-5 / avg err or mAP | measured |")
    lines = [head, "|" + " --- |" * head.count(" | ") + " --- |"]
    for e in entries:
        row, info, meas = e["row"], e["info"], e["measured"]
        flops = f"{format_gflops(info['gflops'])} x {info['views']}"
        if info["flops_from"] == "cache":
            flops += " (cached)"
        published = f"{_num(row.gflops, '{:g}')} x {row.views}" if row.gflops else "-"
        src = f"{row.source}: {row.table}" if row.source else row.table
        lines.append(f"| {row.label} | `{row.config}` | {src} | {info['T']}x{info['tau']} | {flops} "
                     f"| {_num(info['params_m'])} | {published} | {_metric_cell(row, row.metrics)} "
                     f"| {_metric_cell(row, meas)} |")
    lines.append("")
    lines.append("Metrics in percent: Kinetics top-1 / top-5 accuracy / average of top-1 and top-5 error; AVA "
                 "val mAP. GFLOPs: fvcore (multiply-add = 1 flop, batch norm counted) for one view of "
                 "DATA.TEST_CROP_SIZE^2 (AVA: one box); \"(cached)\" rows come from the FLOPs cache file.")
    return "\n".join(lines)
