"""tools/repro_report.py and slowfast.reports.repro: the report's numbers stay tied to the configs."""
import json
import os
import re

import pytest

from slowfast.reports import repro

TOOLS = os.path.join(repro.ROOT, "tools")


def header(path: str) -> str:
    """The leading comment block of a YAML config."""
    lines = []
    with open(os.path.join(repro.ROOT, path)) as f:
        for line in f:
            if not line.startswith("#"):
                break
            lines.append(line)
    return "".join(lines)


def numbers_in(text: str) -> set:
    return {float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)}


@pytest.mark.parametrize("row", repro.REPORT_ROWS, ids=lambda r: r.name)
def test_row_config_exists_and_loads(row):
    assert os.path.isfile(os.path.join(repro.ROOT, row.config)), row.config
    cfg = repro.load_row_config(row)
    assert cfg.DETECTION.ENABLE == (row.task == "ava")


@pytest.mark.parametrize("row", repro.REPORT_ROWS, ids=lambda r: r.name)
def test_header_comment_carries_the_published_numbers(row):
    found = numbers_in(header(row.config))
    published = list(row.metrics.values()) + ([row.gflops] if row.gflops else [])
    missing = [v for v in published if float(v) not in found]
    assert not missing, f"{row.config}: header comment lacks {missing}"


def test_row_names_are_unique_and_every_table_row_is_covered():
    names = [r.name for r in repro.REPORT_ROWS]
    assert len(names) == len(set(names))
    configs = {r.config for r in repro.REPORT_ROWS}
    for sub in ("configs/Kinetics/K700/", "configs/AVA/"):
        for f in os.listdir(os.path.join(repro.ROOT, sub)):
            if f.endswith(".yaml") and f != "ENSEMBLE.yaml":
                assert sub + f in configs


def test_t_tau_and_views():
    cfg = repro.load_row_config(repro.row_by_name("k700_slowfast_16x8"))
    assert repro.sampling(cfg) == (16, 8) and repro.test_views(cfg) == 30
    cfg = repro.load_row_config(repro.row_by_name("ava_fast_32x2"))
    assert repro.sampling(cfg) == (32, 2)
    cfg = repro.load_row_config(repro.row_by_name("ava_slowfast_16x8_plusplus"))
    assert repro.test_views(cfg) == 6


def write_results(tmp_path, name, obj):
    d = tmp_path / name
    d.mkdir()
    (d / "results.json").write_text(json.dumps(obj))
    return str(d)


def run_tool(capsys, *argv):
    import importlib.util

    spec = importlib.util.spec_from_file_location("repro_report_tool", os.path.join(TOOLS, "repro_report.py"))
    module = importlib.util.module_from_spec(spec)
    import sys

    sys.path.insert(0, TOOLS)
    try:
        spec.loader.exec_module(module)
        module.main(list(argv))
    finally:
        sys.path.remove(TOOLS)
    return capsys.readouterr().out


def table_line(out: str, config: str) -> str:
    return next(line for line in out.splitlines() if f"`{config}`" in line)


def test_results_appear_beside_the_report_number(tmp_path, capsys):
    k = write_results(tmp_path, "k", {"top1_acc": 12.5, "top5_acc": 40.0, "avg_err": 73.75, "gflops_per_view": 115})
    a = write_results(tmp_path, "a", {"mAP": 0.123, "per_class": {}, "random_mAP": 0.01})
    md = tmp_path / "table.md"
    out = run_tool(capsys, "--fast", "--rows", "k700_slowfast_8x8,ava_slowfast_8x8",
                   "--results", f"k700_slowfast_8x8={k}", "--results", f"ava_slowfast_8x8={a}", "--markdown", str(md))
    line = table_line(out, "configs/Kinetics/K700/SLOWFAST_8x8_R101_NL.yaml")
    assert "| 70.6 / 89.7 / 19.9 | 12.5 / 40.0 / 73.8 |" in line
    assert "| 29.0 | 12.3 |" in table_line(out, "configs/AVA/SLOWFAST_8x8.yaml")
    assert md.read_text().strip() == out.strip()


def test_bare_dir_uses_its_name_and_unknown_names_or_missing_files_are_clear(tmp_path):
    assert repro.parse_results_arg(str(tmp_path / "k700_fast_32x2")) == ("k700_fast_32x2", str(tmp_path / "k700_fast_32x2"))
    with pytest.raises(ValueError, match="unknown row 'nope'.*k700_slowfast_8x8"):
        repro.parse_results_arg(f"nope={tmp_path}")
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "results.json"))):
        repro.load_results(str(tmp_path))


def test_figure_is_a_png(tmp_path, capsys):
    k = write_results(tmp_path, "k", {"top1_acc": 60.0, "top5_acc": 80.0, "avg_err": 30.0})
    png = tmp_path / "fig.png"
    run_tool(capsys, "--fast", "--rows", "k400_slowfast_8x8_r50,ava_slowfast_8x8",
             "--results", f"k400_slowfast_8x8_r50={k}", "--figure", str(png))
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    pts = repro.figure_points([{"row": repro.row_by_name("k400_slowfast_8x8_r50"),
                                "info": {"gflops": None}, "measured": {"top1_acc": 60.0}, "results": {}}])
    assert {p[3] for p in pts["kinetics"]} == {"report", "measured"}


def test_table_flops_equal_count_flops_for_the_tiny_config(tmp_path, capsys):
    from slowfast.models import build_model
    from slowfast.models.inputs import dummy_inputs
    from slowfast.utils.complexity import count_flops

    row = repro.row_by_name("synthetic_slowfast_tiny")
    cfg = repro.load_row_config(row)
    expected = count_flops(build_model(cfg), dummy_inputs(cfg, cfg.DATA.TEST_CROP_SIZE))
    cache_file = tmp_path / "cache.json"
    out = run_tool(capsys, "--rows", row.name, "--cache", str(cache_file))
    assert f"| {repro.format_gflops(expected)} x 6 |" in table_line(out, row.config)
    entry = next(iter(json.loads(cache_file.read_text()).values()))
    assert entry["gflops"] == pytest.approx(expected, rel=1e-9)
    again = run_tool(capsys, "--rows", row.name, "--cache", str(cache_file))
    assert "(cached)" in table_line(again, row.config)
    fresh = run_tool(capsys, "--rows", row.name, "--cache", str(cache_file), "--no-cache")
    assert "(cached)" not in table_line(fresh, row.config)
