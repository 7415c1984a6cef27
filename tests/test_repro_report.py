"""tools/repro_report.py and slowfast.reports.repro: the report's numbers stay tied to the configs."""
import json
import os
import re

import pytest

from slowfast.reports import flops_cache, repro, repro_figure

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
    pts = repro_figure.figure_points([{"row": repro.row_by_name("k400_slowfast_8x8_r50"),
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


# ----------------------------------------------------------------------------------------------
# The FLOPs cache: keyed by what decides a count, so a fresh clone hits every committed row
# ----------------------------------------------------------------------------------------------
NO_COUNT = """
import os, sys
sys.path.insert(0, "tools")
import slowfast
from slowfast.reports import flops_cache, repro
assert slowfast.__file__.startswith(os.getcwd()), slowfast.__file__
def no_count(cfg, size):
    raise SystemExit(f"fvcore was run: {cfg.MODEL.MODEL_NAME} at {size} missed the cache")
flops_cache.compute_cost = repro.compute_cost = no_count
from slowfast.apps.repro_report import main
main(sys.argv[1:])
"""


def copy_of_the_repo(dest) -> str:
    """The checkout's files as a clone would have them (tracked and not ignored), in another folder."""
    import shutil
    import subprocess

    if not os.path.isdir(os.path.join(repro.ROOT, ".git")) and not os.path.isfile(os.path.join(repro.ROOT, ".git")):
        pytest.skip("not a git checkout")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=repro.ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = os.path.join(repro.ROOT, rel)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))
    return str(dest)


def test_a_copy_of_the_repo_in_another_folder_hits_every_row_and_leaves_the_cache_byte_unchanged(tmp_path):
    import subprocess
    import sys

    copy = copy_of_the_repo(tmp_path / "elsewhere" / "clone")
    cache = os.path.join(copy, "docs", "flops_cache.json")
    with open(os.path.join(copy, "slowfast", "models", "resnet.py"), "a") as f:
        f.write("\n# a comment changes no count\n")
    with open(os.path.join(copy, "slowfast", "models", "person_detector.py"), "a") as f:
        f.write("\n\ndef not_in_the_counted_model():\n    return 1\n")
    before = open(cache, "rb").read()
    md = tmp_path / "table.md"
    run = subprocess.run([sys.executable, "-c", NO_COUNT, "--markdown", str(md)], cwd=copy, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONPATH": copy})
    hint = "docs/flops_cache.json is stale: run `python tools/repro_report.py` and commit the file"
    assert run.returncode == 0, f"{hint}\n{run.stderr[-3000:]}"
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ") and "`configs/" in line]
    assert len(rows) == len(repro.REPORT_ROWS) and all("(cached)" in r for r in rows), hint
    assert open(cache, "rb").read() == before
    n = len(repro.REPORT_ROWS)
    assert f"[repro_report] 1/{n} rows" in run.stderr and "ETA" in run.stderr and f"{n}/{n} rows (100%)" in run.stderr
    assert f"done: {n} rows in" in run.stderr and f"({n} GFLOPs from the cache, 0 counted" in run.stderr
    assert f"FLOPs cache: {cache} (unchanged)" in run.stderr and f"table: {md}" in run.stderr


def test_cache_key_follows_the_model_keys_and_code_only():
    from slowfast.checkpoint.cfg_diff import ARCHITECTURE_KEYS

    files = {os.path.basename(p) for p in flops_cache.model_files()}
    assert {"build.py", "inputs.py", "video_net.py", "resnet.py", "heads.py", "norm.py"} <= files
    assert not files & {"person_detector.py", "features.py", "optimize.py", "__init__.py"}

    cfg = repro.load_row_config(repro.row_by_name("ava_slowfast_8x8"))
    key = flops_cache.cost_key(cfg, 256)
    keys = set(flops_cache.flops_keys(cfg))
    assert set(ARCHITECTURE_KEYS) | {"DATA.NUM_FRAMES", "DATA.INPUT_CHANNEL_NUM", "RESNET.DEPTH"} <= keys
    assert not keys & {"OUTPUT_DIR", "DATA.PATH_TO_DATA_DIR", "TRAIN.BATCH_SIZE", "BN.EPSILON", "DATA.MEAN"}
    other = cfg.clone()
    other.defrost()
    other.OUTPUT_DIR, other.DATA.PATH_TO_DATA_DIR, other.TRAIN.BATCH_SIZE = "/elsewhere/out", "/x/data", 3
    other.TRAIN.SOME_NEW_KEY = 7  # a key another feature adds: not the model's
    other.BN.EPSILON, other.DATA.MEAN = 1e-3, [0.5, 0.5, 0.5]
    assert flops_cache.cost_key(other, 256) == key
    assert flops_cache.cost_key(cfg, 224) != key
    for group, name, value in (("RESNET", "DEPTH", 50), ("DATA", "NUM_FRAMES", 16),
                               ("NONLOCAL", "INSTANTIATION", "softmax2")):
        changed = cfg.clone()
        changed.defrost()
        changed[group][name] = value
        assert flops_cache.cost_key(changed, 256) != key, f"{group}.{name}"


def test_code_tokens_ignore_comments_docstrings_and_blank_lines_but_not_code():
    from slowfast.reports.flops_cache import code_tokens

    a = 'def f(x):\n    """Doc."""\n    return x * 2  # twice\n'
    b = '# header\n\ndef f(x):\n    """Another doc,\n    two lines."""\n\n    return x * 2\n'
    c = 'def f(x):\n    """Doc."""\n    return x * 3\n'
    assert code_tokens(a) == code_tokens(b) != code_tokens(c)
    assert code_tokens('s = "one"\n') != code_tokens('s = "two"\n')  # a string in code is code


def test_a_miss_replaces_the_stale_entry_of_the_same_config_and_a_hit_writes_nothing(tmp_path):
    from slowfast.reports.flops_cache import CostCache

    path = tmp_path / "c.json"
    cache = CostCache(str(path))
    cache.put("old", {"gflops": 1.0, "config": "a.yaml", "size": 32})
    cache.put("other", {"gflops": 2.0, "config": "a.yaml", "size": 64})
    cache.save()
    cache = CostCache(str(path))
    cache.put("new", {"gflops": 1.5, "config": "a.yaml", "size": 32})
    assert set(cache.entries) == {"new", "other"}
    cache.save()
    mtime = path.stat().st_mtime_ns
    again = CostCache(str(path))
    assert again.get("new")["gflops"] == 1.5 and again.get("gone") is None and (again.hits, again.misses) == (1, 1)
    again.save()
    assert path.stat().st_mtime_ns == mtime


def test_figure_of_the_committed_rows_with_measured_quick_starts_is_readable(tmp_path):
    """Published rows (GFLOPs from the committed cache when it hits, else the published ones) plus measured
    quick-start results: each panel's GFLOPs axis spans under two decades, y stays within 0..105 %, and no
    two point labels or tick labels overlap."""
    import itertools

    from slowfast.reports.repro_figure import _overlap

    cache = flops_cache.CostCache(os.path.join(repro.ROOT, "docs", "flops_cache.json"))
    measured = {"synthetic_slowfast_tiny": {"top1_acc": 89.6}, "synthetic_ava_slowfast_tiny": {"mAP": 65.4},
                "k700_slowfast_8x8": {"top1_acc": 12.5}}
    entries = []
    for row in repro.REPORT_ROWS:
        cfg = repro.load_row_config(row)
        hit = cache.get(flops_cache.cost_key(cfg, cfg.DATA.TEST_CROP_SIZE))
        entries.append({"row": row, "info": {"gflops": hit["gflops"] if hit else None}, "results": None,
                        "measured": measured.get(row.name)})
    png = tmp_path / "fig.png"
    layout = repro_figure.write_figure(entries, str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"kinetics", "synthetic"} <= set(layout)
    for name, panel in layout.items():
        (x0, x1), (y0, y1) = panel["xlim"], panel["ylim"]
        assert 0 < x0 < x1 and x1 / x0 < 100, (name, x0, x1)
        assert 0 <= y0 < y1 <= 105, (name, y0, y1)
        assert len(panel["xticklabels"]) >= 2, name
        for boxes in (panel["labels"], panel["xticklabels"]):
            clashes = [(a, b) for a, b in itertools.combinations(boxes, 2) if _overlap(a, b) > 0]
            assert not clashes, (name, clashes)
    assert len(layout["synthetic"]["labels"]) == 2 and layout["synthetic"]["xlim"][1] < 1
