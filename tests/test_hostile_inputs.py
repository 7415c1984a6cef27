"""Command-line tools fed hostile inputs (an empty file, binary garbage as a config / CSV / checkpoint, a
directory where a file is expected, a missing file, a key typo, config bombs) as subprocesses: exit
status 2, one line on stderr naming the culprit (tools/run_net.py adds its one hint line), the inputs
unchanged, and no traceback (no --debug)."""
import hashlib
import os
import subprocess
import sys

import pytest

from test_config_limits import alias_bomb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
GARBAGE = bytes(range(256)) * 8 + b"\xff\xfe\x00garbage"


def files(tmp):
    """Hostile inputs by name; each is created under `tmp` (a missing one is not)."""
    made = {
        "empty.yaml": b"",
        "garbage.yaml": GARBAGE,
        "garbage.csv": GARBAGE,
        "garbage.pyth": GARBAGE,
        "bomb.yaml": alias_bomb().encode(),
        "deep.yaml": ("TRAIN:\n  X: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
        "labels.pbtxt": b'item {\n  name: "talk"\n  id: 1\n}\n',
    }
    for name, data in made.items():
        (tmp / name).write_bytes(data)
    (tmp / "a_directory").mkdir()
    return {name: str(tmp / name) for name in list(made) + ["a_directory", "missing.yaml"]}


# (tool, arguments with {name} for a hostile input, text the error line must contain)
CASES = [
    ("run_net", ["--cfg", "{empty.yaml}"], "empty.yaml"),
    ("run_net", ["--cfg", "{garbage.yaml}"], "garbage.yaml"),
    ("run_net", ["--cfg", "{a_directory}"], "a_directory"),
    ("run_net", ["--cfg", "{missing.yaml}"], "missing.yaml"),
    ("run_net", ["--cfg", TINY, "SOLVER.BASE_LRR", "0.1"], "SOLVER.BASE_LRR"),
    ("run_net", ["--cfg", "{bomb.yaml}"], "bomb.yaml"),
    ("run_net", ["--cfg", "{deep.yaml}"], "deep.yaml"),
    ("run_net", ["--cfg", TINY, "NUM_SHARDS", "2", "TRAIN.BATCH_SIZE", "32", "TEST.BATCH_SIZE", "32"], "--init_method"),
    ("run_net", ["--cfg", TINY, "SOLVER.BASE_LR", ".inf"], "SOLVER.BASE_LR"),
    ("model_info", ["--cfg", "{garbage.yaml}"], "garbage.yaml"),
    ("check_dataset", ["--cfg", "{bomb.yaml}"], "bomb.yaml"),
    ("eval_ava", ["-l", "{labels.pbtxt}", "-g", "{garbage.csv}", "-d", "{garbage.csv}"], "garbage.csv"),
    ("eval_ava", ["-l", "{a_directory}", "-g", "{garbage.csv}", "-d", "{garbage.csv}"], "a_directory"),
    ("convert_checkpoint", ["--input", "{garbage.pyth}", "--output", "{tmp}/out.pyth", "--to", "pytorch"], "garbage.pyth"),
    ("convert_checkpoint", ["--input", "{a_directory}", "--output", "{tmp}/out.pyth", "--to", "pytorch"], "a_directory"),
    ("demo", ["--cfg", TINY, "--input", "{missing.yaml}", "--output", "{tmp}/out.mp4"], "missing.yaml"),
    ("make_proposals", ["--frames", "{a_directory}", "--out", "{tmp}/p.csv", "--weights", "{garbage.pyth}"], "garbage.pyth"),
    ("make_proposals", ["--frames", "{a_directory}", "--out", "{tmp}/p.csv", "--weights", "{tmp}/nope.pth"], "nope.pth"),
    ("make_proposals", ["--frames", "{a_directory}", "--out", "{tmp}/p.csv"], "a_directory"),
    ("make_proposals", ["--frames", "{missing.yaml}", "--out", "{tmp}/p.csv"], "missing.yaml"),
    ("prepare_kinetics", ["--src", "{missing.yaml}", "--out", "{tmp}/k"], "missing.yaml"),
    ("prepare_kinetics", ["--src", "{a_directory}", "--out", "{tmp}/k", "--annotations", "{garbage.csv}"], "garbage.csv"),
    ("prepare_ava", ["--videos", "{missing.yaml}", "--out", "{tmp}/a"], "missing.yaml"),
    ("prepare_ava", ["--videos", "{a_directory}", "--out", "{tmp}/a", "--split-file", "{garbage.csv}"], "garbage.csv"),
    ("ensemble", ["--mode", "ava", "--inputs", "{garbage.csv}", "--output", "{tmp}/e.csv"], "garbage.csv"),
    ("ensemble", ["--mode", "kinetics", "--inputs", "{garbage.pyth}", "--output", "{tmp}/e.npz"], "garbage.pyth"),
    ("extract_features", ["--cfg", TINY, "--input", "{garbage.csv}", "--output", "{tmp}/f"], "garbage.csv"),
    ("extract_features", ["--cfg", TINY, "--input", "{labels.pbtxt}", "--output", "{tmp}/f",
                          "TEST.CHECKPOINT_FILE_PATH", "{garbage.pyth}"], "garbage.pyth"),
    ("repro_report", ["--results", "synthetic_slowfast_tiny={a_directory}", "--markdown", "{tmp}/r.md"], "a_directory"),
    ("repro_report", ["--results", "synthetic_slowfast_tiny={garbage.csv}", "--markdown", "{tmp}/r.md"], "garbage.csv"),
    ("repro_report", ["--cache", "{garbage.csv}", "--rows", "synthetic_slowfast_tiny"], "garbage.csv"),
    ("repro_report", ["--cache", "{labels.pbtxt}", "--rows", "synthetic_slowfast_tiny"], "labels.pbtxt"),
]


def digest(paths):
    out = {}
    for p in paths:
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


# Exit status of an input error where a tool documents another than 2 (none today: every tool exits 2).
EXIT_STATUS: dict = {}


@pytest.mark.parametrize("tool,args,culprit", CASES)
def test_a_hostile_input_is_one_line_and_exit_2(tmp_path, tool, args, culprit):
    paths = files(tmp_path)
    argv = [paths[a[1:-1]] if a.startswith("{") and a[1:-1] in paths else a for a in args]
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = digest(paths.values())
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("SLOWFAST_DEBUG", None)
    if tool == "run_net":
        argv += ["OUTPUT_DIR", str(tmp_path / "out")] if "--cfg" in argv and TINY in argv else []
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", f"{tool}.py"), *argv], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == EXIT_STATUS.get(tool, 2), proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    hint = [ln for ln in lines[1:] if ln.startswith("  (") and "--debug" in ln] if tool == "run_net" else []
    assert len(lines) - len(hint) == 1, proc.stderr
    assert culprit in lines[0], lines[0]
    assert digest(paths.values()) == before
