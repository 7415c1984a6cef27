"""Command-line tools run from a checkout: model_info, benchmark."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_tool(*args):
    out = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_model_info_json_is_stdout_alone_and_the_table_goes_to_stderr():
    out = subprocess.run([sys.executable, "tools/model_info.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml",
                          "--size", "32", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    info = json.loads(out.stdout)  # the whole of stdout is one JSON document
    assert info["gflops"] > 0 and info["params_m"] > 0 and info["size"] == 32
    assert [s["name"] for s in info["stages"]][-1] == "s5" and info["stages"][0]["shapes"][0] == [3, 4, 32, 32]
    assert "GFLOPs per view" in out.stderr and "GFLOPs per view" not in out.stdout
    text = run_tool("tools/model_info.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml", "--size", "32")
    assert "s5" in text and "GFLOPs per view" in text and "{" not in text


def test_benchmark_reports_model_loader_and_training_loop_rates_as_json(tmp_path):
    """--what all on the tiny config: inference (eval vs optimised), training step (contiguous vs default
    memory format), one-process clip building, loader clips/s and worker RSS per worker count, training loop,
    and the Kinetics training clip from a given video with the decode limit of that video."""
    from slowfast.reports.benchmark_media import make_benchmark_video

    video = make_benchmark_video(str(tmp_path / "media" / "v.mp4"), seconds=2, width=64, height=48)
    out = run_tool("tools/benchmark.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml", "--what", "all",
                   "--iters", "2", "--batch", "2", "--workers", "0", "1", "--decode-clips", "2", "--threads", "1",
                   "--json", "--video", video,
                   "--flops-cache", str(tmp_path / "flops.json"), "DATA.PATH_TO_DATA_DIR", str(tmp_path / "data"),
                   "SYNTHETIC.NUM_TRAIN", "12", "SYNTHETIC.NUM_VAL", "2", "SYNTHETIC.NUM_TEST", "2",
                   "TRAIN.BATCH_SIZE", "4", "DATA_LOADER.NUM_WORKERS", "0")
    res = json.loads(out.strip().splitlines()[-1])
    inf, step = res["model"]["inference"], res["model"]["train_step"]
    assert inf["eval"]["clips_per_s"] > 0 and inf["optimized"]["clips_per_s"] > 0 and inf["speedup"] > 0
    assert inf["optimized"]["gflop_per_s"] == inf["optimized"]["clips_per_s"] * res["model"]["gflops_per_view"]["test"]
    assert step["default"]["memory_format"] == "channels_last_3d" and step["contiguous"]["clips_per_s"] > 0
    loader = res["loader"]
    assert loader["single_process"]["clips_per_s"] > 0 and loader["decode"]["whole_over_windowed"] > 0
    assert set(loader["workers"]) == {"0", "1"} and loader["workers"]["1"]["clips_per_s"] > 0
    assert 0 < loader["workers"]["1"]["worker_peak_rss_gib"] < 4
    assert res["train"]["clips_per_s"] > 0 and res["train"]["clips"] == 2 * 4
    assert json.load(open(tmp_path / "flops.json"))  # the FLOP count was cached
    assert "inference:" in out and "loader / step:" in out
    clip = res["clip"]["kinetics"]
    assert clip["video"] == video and clip["clips_per_s"] > 0 and clip["decode_limit_windows_per_s"] > 0
    assert clip["fraction_of_decode_limit"] == clip["clips_per_s"] / clip["decode_limit_windows_per_s"]
    assert "kinetics training clip:" in out


def test_ava_clip_loading_benchmark_reads_jpeg_frames_and_builds_train_and_test_views(tmp_path):
    from slowfast.config import load_config
    from slowfast.reports.benchmark_data import bench_clip
    from slowfast.reports.benchmark_media import make_benchmark_frames

    paths = make_benchmark_frames(str(tmp_path / "frames"), num_frames=12, width=64, height=48)
    assert [os.path.basename(p) for p in paths[:2]] == ["frame_000001.jpg", "frame_000002.jpg"]
    cfg = load_config(os.path.join(ROOT, "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"), ["NUM_GPUS", "0"])
    res = bench_clip(cfg, 2, frames=str(tmp_path / "frames"))["ava"]
    assert res["frames"] == cfg.DATA.NUM_FRAMES and res["frame_size"] == [48, 64]
    assert res["train"]["clips_per_s"] > 0 and res["test"]["clips_per_s"] > 0 and res["read_ms_per_clip"] > 0


def test_run_net_rejects_unknown_flags_and_bad_keys():
    bad_flag = subprocess.run([sys.executable, "tools/run_net.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml",
                               "--fast"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad_flag.returncode == 2 and "unrecognized arguments: --fast" in bad_flag.stderr
    bad_key = subprocess.run([sys.executable, "tools/run_net.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml",
                              "SOLVER.BASE_LRR", "0.1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad_key.returncode == 2 and "did you mean 'SOLVER.BASE_LR'" in bad_key.stderr


def test_slurm_submission_through_submitit_runs_the_job(tmp_path):
    """submitit's debug cluster runs the same pickled job in this process (SHARD_ID = node 0 of 1)."""
    from slowfast.datasets.synthetic import make_kinetics_synthetic
    from slowfast.engine.slurm import submit

    data = str(tmp_path / "data")
    make_kinetics_synthetic(data, num_classes=4, num_train=8, num_val=2, num_test=2, size=32, num_frames=40,
                            num_workers=1)
    opts = ["DATA.PATH_TO_DATA_DIR", data, "DATA.GENERATE_SYNTHETIC", "False", "OUTPUT_DIR", str(tmp_path / "out"),
            "DATA.NUM_FRAMES", "8", "TRAIN.BATCH_SIZE", "4", "TEST.BATCH_SIZE", "4", "SOLVER.MAX_EPOCH", "1",
            "TRAIN.EVAL_PERIOD", "0", "DATA_LOADER.NUM_WORKERS", "0", "TEST.NUM_ENSEMBLE_VIEWS", "1",
            "TEST.NUM_SPATIAL_CROPS", "1", "LOG_MODEL_INFO", "False"]
    job = submit("configs/Synthetic/SLOWFAST_TINY.yaml", opts, str(tmp_path / "jobs"), cluster="debug")
    results_path = job.result()
    results = json.load(open(results_path))
    assert results["num_videos"] == 2 and results["views"] == 1


def test_loader_and_model_parts_of_a_stock_config_without_its_dataset(tmp_path):
    """--video V: the loader is timed on a Kinetics split made of V (a stock config needs no data);
    --model-parts inference: only the inference half of --what model."""
    from slowfast.config import load_config
    from slowfast.reports.benchmark import run_benchmark, summary_lines
    from slowfast.reports.benchmark_media import make_benchmark_video

    video = make_benchmark_video(str(tmp_path / "v.mp4"), seconds=2, width=64, height=48)
    cfg = load_config(os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml"),
                      ["NUM_GPUS", "0", "DATA.PATH_TO_DATA_DIR", str(tmp_path / "absent"), "TRAIN.BATCH_SIZE", "2"])
    res = run_benchmark(cfg, "loader", iters=2, workers=(0,), decode_clips=1, video=video)
    assert res["loader_video"] == video and not os.path.exists(tmp_path / "absent")
    assert res["loader"]["single_process"]["clips_per_s"] > 0 and res["loader"]["workers"]["0"]["clips_per_s"] > 0
    res = run_benchmark(cfg, "model", iters=1, batch=1, flops_cache=str(tmp_path / "f.json"),
                        model_parts=("inference",))
    assert set(res["model"]) == {"gflops_per_view", "inference"}
    assert any(line.startswith("inference:") for line in summary_lines(res))


def test_side_by_side_benchmark_names_a_folder_that_is_not_a_pyslowfast_checkout(tmp_path):
    out = subprocess.run([sys.executable, "tools/benchmark_vs_pyslowfast.py", "--pyslowfast", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and f"--pyslowfast {tmp_path}: no slowfast/ package in it" in out.stderr


def test_model_num_classes_0_is_taken_from_the_dataset_or_named_as_the_problem(tmp_path):
    """MODEL.NUM_CLASSES 0 ("from the dataset"): model_info and benchmark resolve it as run_net does (here
    from classnames.json), and say which file they need when there is none (one line, exit 2)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "classnames.json").write_text(json.dumps({"a": 0, "b": 1, "c": 2}))
    out = run_tool("tools/model_info.py", "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml", "--size", "32",
                   "MODEL.NUM_CLASSES", "0", "DATA.PATH_TO_DATA_DIR", str(data))
    assert "GFLOPs per view" in out
    for tool in ("tools/model_info.py", "tools/benchmark.py"):
        bad = subprocess.run([sys.executable, tool, "--cfg", "configs/Synthetic/SLOWFAST_TINY.yaml",
                              "MODEL.NUM_CLASSES", "0", "DATA.PATH_TO_DATA_DIR", str(tmp_path / "none")],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert bad.returncode == 2 and "MODEL.NUM_CLASSES 0 needs" in bad.stderr and "Traceback" not in bad.stderr
    from slowfast.config import load_config
    from slowfast.models import build_model

    with pytest.raises(ValueError, match="MODEL.NUM_CLASSES is 0"):
        build_model(load_config(os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml"), ["MODEL.NUM_CLASSES", "0"]))
