"""Issue 18, class 1: an output path that names an input (the same path, a symlink to it, or another
spelling of it) is refused before anything is written: exit status 2, one line on stderr naming the path,
the input byte-identical."""
import hashlib
import os
import subprocess
import sys

import pytest
import torch

from slowfast.apps.cli_tools import demo_main, extract_features_main
from slowfast.apps.convert_checkpoint import main as convert_main
from slowfast.apps.ensemble import main as ensemble_main
from slowfast.apps.repro_report import main as repro_main
from slowfast.data_prep.ava import main as prepare_ava_main
from slowfast.data_prep.kinetics import main as prepare_kinetics_main
from slowfast.data_prep.proposals import main as proposals_main
from slowfast.evaluation.ava.__main__ import main as eval_ava_main
from slowfast.utils.io import OutputIsInputError, refuse_overwriting_inputs

KINETICS_TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
SPELLINGS = ["same", "symlink", "spelling"]
DETECTIONS = "vid,0902,0.1,0.1,0.5,0.5,1,0.9\nvid,0902,0.2,0.2,0.6,0.6,2,0.8\n"


def digest(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def spelled(path, how: str) -> str:
    """`path` itself, a symlink to it beside it, or ``DIR/../DIR/./NAME``."""
    path = str(path)
    folder, name = os.path.split(path)
    if how == "symlink":
        link = os.path.join(folder, "link_to_" + name)
        if not os.path.lexists(link):
            os.symlink(path, link)
        return link
    if how == "spelling":
        return os.path.join(folder, "..", os.path.basename(folder), ".", name)
    return path


def make(path, text="precious input\n") -> str:
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return str(path)


def assert_refused(capsys, call, target, named):
    """`call()` returns (or exits with) 2, prints one stderr line naming `named`; `target` is unchanged."""
    before = digest(target)
    try:
        code = call()
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.count("\n") == 0 and named in err, err
    assert digest(target) == before


# --------------------------------------------------------------------------- the mechanism


def test_refuse_overwriting_inputs_compares_real_paths(tmp_path):
    src = make(tmp_path / "a" / "x.csv")
    for how in SPELLINGS:
        with pytest.raises(OutputIsInputError, match="--out .* is the --in file"):
            refuse_overwriting_inputs({"--out": spelled(src, how)}, {"--in": src})
    refuse_overwriting_inputs({"--out": str(tmp_path / "a" / "y.csv")}, {"--in": src, "--none": None})
    with pytest.raises(OutputIsInputError, match="holds the --in"):
        refuse_overwriting_inputs({}, {"--in": src}, {"--out": spelled(tmp_path / "a", "spelling")})
    refuse_overwriting_inputs({}, {"--in": src}, {"--out": str(tmp_path / "ab")})  # a prefix is not a parent


# --------------------------------------------------------------------------- each tool


@pytest.mark.parametrize("how", SPELLINGS)
def test_demo_refuses_json_csv_output_over_its_inputs(tmp_path, capsys, how):
    video = make(tmp_path / "in" / "clip.mp4", "not really a video, but precious")
    boxes = make(tmp_path / "in" / "boxes.csv", "clip,1,0,0,1,1,,0.9\n")
    common = ["--cfg", KINETICS_TINY, "--input", video]
    out = str(tmp_path / "out.mp4")
    target = spelled(video, how)
    assert_refused(capsys, lambda: demo_main(common + ["--output", out, "--json", target, "NUM_GPUS", "0"]),
                   video, target)
    assert_refused(capsys, lambda: demo_main(common + ["--output", target, "NUM_GPUS", "0"]), video, target)
    target = spelled(boxes, how)
    assert_refused(capsys, lambda: demo_main(common + ["--output", out, "--boxes", boxes, "--csv", target,
                                                       "NUM_GPUS", "0"]), boxes, target)
    assert not os.path.exists(out)


def test_demo_refuses_json_over_its_config(tmp_path, capsys):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"_BASE_: {os.path.abspath(KINETICS_TINY)}\n")
    video = make(tmp_path / "clip.mp4")
    assert_refused(capsys, lambda: demo_main(["--cfg", str(cfg), "--input", video, "--output", str(tmp_path / "o.mp4"),
                                              "--json", spelled(cfg, "spelling"), "NUM_GPUS", "0"]), cfg, "--cfg")


@pytest.mark.parametrize("how", SPELLINGS)
def test_extract_features_refuses_an_output_folder_whose_index_is_the_input_list(tmp_path, capsys, how):
    listed = make(tmp_path / "feats" / "index.csv", "a.mp4\n")
    folder = spelled(tmp_path / "feats", how) if how != "symlink" else str(tmp_path / "feats_link")
    if how == "symlink":
        os.symlink(tmp_path / "feats", folder)
    assert_refused(capsys, lambda: extract_features_main(["--cfg", KINETICS_TINY, "--input", listed, "--output",
                                                          folder, "NUM_GPUS", "0"]), listed, listed)


@pytest.mark.parametrize("how", SPELLINGS)
def test_eval_ava_refuses_output_over_the_detections(tmp_path, capsys, how):
    det = make(tmp_path / "d" / "det.csv", DETECTIONS)
    gt = make(tmp_path / "gt.csv", DETECTIONS)
    labelmap = make(tmp_path / "l.pbtxt", 'item { name: "a" id: 1 }\nitem { name: "b" id: 2 }\n')
    args = ["-l", labelmap, "-g", gt, "-d", det]
    assert_refused(capsys, lambda: eval_ava_main(args + ["-o", spelled(det, how)]), det, spelled(det, how))
    assert_refused(capsys, lambda: eval_ava_main(args + ["--plot", spelled(labelmap, how)]), labelmap, "--labelmap")


def test_eval_ava_and_ensemble_still_write(tmp_path, capsys):
    det = make(tmp_path / "det.csv", DETECTIONS)
    labelmap = make(tmp_path / "l.pbtxt", 'item { name: "a" id: 1 }\nitem { name: "b" id: 2 }\n')
    assert eval_ava_main(["-l", labelmap, "-g", det, "-d", det, "-o", str(tmp_path / "r.json"), "--version", "2020"]) == 0
    assert os.path.getsize(tmp_path / "r.json") > 0
    other = make(tmp_path / "det2.csv", DETECTIONS)
    assert ensemble_main(["--inputs", det, other, "--output", str(tmp_path / "e.csv")]) == 0
    assert os.path.getsize(tmp_path / "e.csv") > 0


@pytest.mark.parametrize("how", SPELLINGS)
def test_ensemble_refuses_output_over_a_member(tmp_path, capsys, how):
    a, b = make(tmp_path / "a.csv", DETECTIONS), make(tmp_path / "b.csv", DETECTIONS)
    assert_refused(capsys, lambda: ensemble_main(["--inputs", a, b, "--output", spelled(b, how)]), b, spelled(b, how))


@pytest.mark.parametrize("how", SPELLINGS)
def test_convert_checkpoint_refuses_output_over_input_and_still_writes(tmp_path, capsys, how):
    src = str(tmp_path / "w.pt")
    torch.save({"a": torch.ones(2)}, src)
    assert_refused(capsys, lambda: convert_main(["--input", src, "--output", spelled(src, how), "--to", "state_dict"]),
                   src, spelled(src, how))
    assert convert_main(["--input", src, "--output", str(tmp_path / "o.pt"), "--to", "state_dict"]) == 0
    assert os.path.isfile(tmp_path / "o.pt")


@pytest.mark.parametrize("how", SPELLINGS)
def test_make_proposals_refuses_out_over_weights_or_a_frame(tmp_path, capsys, how):
    weights = make(tmp_path / "det.pth")
    frame = make(tmp_path / "frames" / "vid" / "vid_000001.jpg")
    common = ["--frames", str(tmp_path / "frames")]
    assert_refused(capsys, lambda: proposals_main(common + ["--out", spelled(weights, how), "--weights", weights]),
                   weights, spelled(weights, how))
    assert_refused(capsys, lambda: proposals_main(common + ["--out", spelled(frame, how)]), frame, "--frames")


@pytest.mark.parametrize("how", SPELLINGS)
def test_prepare_kinetics_refuses_outputs_over_annotations_or_sources(tmp_path, capsys, how):
    out = tmp_path / "out"
    ann = make(out / "train.csv", "label,youtube_id,time_start,time_end,split\n")
    out_spelled = spelled(out, how) if how != "symlink" else str(tmp_path / "out_link")
    if how == "symlink":
        os.symlink(out, out_spelled)
    assert_refused(capsys, lambda: prepare_kinetics_main(["--annotations", ann, "--src", str(tmp_path), "--out",
                                                          out_spelled]), ann, ann)
    clip = make(out / "videos" / "train" / "a" / "x.mp4")
    assert_refused(capsys, lambda: prepare_kinetics_main(["--src", str(out / "videos"), "--out", out_spelled,
                                                          "--short-side", "32"]), clip, "--src")


@pytest.mark.parametrize("how", SPELLINGS)
def test_prepare_ava_refuses_an_out_folder_holding_its_inputs(tmp_path, capsys, how):
    out = tmp_path / "out"
    split = make(out / "frame_lists" / "train.csv", "vid train\n")
    out_spelled = spelled(out, how) if how != "symlink" else str(tmp_path / "out_link")
    if how == "symlink":
        os.symlink(out, out_spelled)
    assert_refused(capsys, lambda: prepare_ava_main(["--videos", str(tmp_path), "--out", out_spelled,
                                                     "--split-file", split]), split, split)


@pytest.mark.parametrize("how", SPELLINGS)
def test_repro_report_refuses_markdown_or_figure_over_its_inputs(tmp_path, capsys, how):
    results = make(tmp_path / "run" / "results.json", "{}\n")
    cache = make(tmp_path / "cache.json", "{}\n")
    arg = ["--results", "synthetic_slowfast_tiny=" + str(tmp_path / "run"), "--cache", cache, "--fast"]
    assert_refused(capsys, lambda: repro_main(arg + ["--markdown", spelled(results, how)]), results,
                   spelled(results, how))
    assert_refused(capsys, lambda: repro_main(arg + ["--figure", spelled(cache, how)]), cache, spelled(cache, how))


def test_tools_eval_ava_refuses_in_one_line(tmp_path):
    det = make(tmp_path / "det.csv", DETECTIONS)
    before = digest(det)
    run = subprocess.run([sys.executable, "tools/eval_ava.py", "-l", det, "-g", det, "-d", det, "-o",
                          spelled(det, "spelling")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and det in run.stderr, run.stderr
    assert digest(det) == before
