"""`tools/gpu_check.py`: every GPU path of the project exercised in one call on a CUDA machine, then a speed
table. Budget: under 5 minutes on one H100 (each part is skipped, and says so, once the budget is spent).

Checks (each prints ok / FAILED with the reason, and its seconds):
- NCCL: a process group of world size 1 on GPU 0 and an all_reduce;
- the synthetic Kinetics quick start trained 1 short epoch and tested on GPU (run_net: channels_last_3d,
  pinned memory, uint8 clips with non-blocking copies and normalisation on the device, TRAIN.MIXED_PRECISION:
  bf16 where the GPU has it), then the same test at TEST.PRECISION bf16 and fp16;
- a float16 + GradScaler training step and a bf16 one (AMP);
- MODEL.COMPILE: a short training run of the quick start with torch.compile;
- the synthetic AVA quick start (detector with RoIAlign) trained and tested on GPU;
- the table: clips/s and peak memory of SlowFast 8x8 R50, 8x8 R101+NL, 16x8 R101+NL, inference (test crop,
  fp32 and bf16) and training step (train crop, AMP), random inputs, batch --batch.

On a machine without CUDA it prints one line saying so and exits with status 3 (nothing ran).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
import traceback

import torch

NO_CUDA_EXIT = 3
KINETICS_TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"
AVA_TINY = "configs/Synthetic/AVA_SLOWFAST_TINY.yaml"
TABLE_CONFIGS = ("configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml", "configs/Kinetics/K400/SLOWFAST_8x8_R101_NL.yaml",
                 "configs/Kinetics/K400/SLOWFAST_16x8_R101_NL.yaml")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Budget:
    """Seconds left of the run's budget; `check(name, fn)` runs and reports one check unless spent."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds
        self.failed = 0

    def left(self) -> float:
        return self.end - time.perf_counter()

    def check(self, name: str, fn, need_s: float = 10.0):
        if self.left() < need_s:
            print(f"[skip] {name}: time budget spent", flush=True)
            return None
        t = time.perf_counter()
        try:
            result = fn()
            print(f"[ok]   {name} ({time.perf_counter() - t:.1f} s){'' if result is None else f': {result}'}", flush=True)
            return result
        except Exception as e:  # noqa: BLE001 - a check that fails is reported, the others still run
            self.failed += 1
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            print(f"[FAIL] {name} ({time.perf_counter() - t:.1f} s): {last}", flush=True)
            return None


def check_nccl() -> str:
    import torch.distributed as dist

    dist.init_process_group("nccl", init_method="tcp://127.0.0.1:29533", world_size=1, rank=0)
    try:
        x = torch.ones(4, device="cuda")
        dist.all_reduce(x)
        torch.cuda.synchronize()
        assert x.sum().item() == 4
        return f"world size {dist.get_world_size()}"
    finally:
        dist.destroy_process_group()


def run_net(cfg_file: str, out: str, data: str, *opts: str) -> dict:
    """tools/run_net.py in this process on GPU 0; -> results.json."""
    import json

    from slowfast.apps.run_net import main

    argv = ["--cfg", os.path.join(ROOT, cfg_file), "NUM_GPUS", "1", "OUTPUT_DIR", out, "DATA.PATH_TO_DATA_DIR", data,
            "LOG_MODEL_INFO", "False", "DATA_LOADER.NUM_WORKERS", "2", "DATA_LOADER.PIN_MEMORY", "True", *opts]
    if main(argv) != 0:
        raise RuntimeError(f"run_net {' '.join(argv[1:])} failed (see {out}/log.txt)")
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        return json.load(f)


KINETICS_SMALL = ["SYNTHETIC.NUM_TRAIN", "64", "SYNTHETIC.NUM_VAL", "16", "SYNTHETIC.NUM_TEST", "16",
                  "SOLVER.MAX_EPOCH", "1", "TRAIN.EVAL_PERIOD", "1", "TEST.NUM_ENSEMBLE_VIEWS", "1"]
AVA_SMALL = ["SYNTHETIC.AVA_TRAIN_VIDEOS", "2", "SYNTHETIC.AVA_VAL_VIDEOS", "1", "SYNTHETIC.AVA_KEYFRAMES", "3",
             "SOLVER.MAX_EPOCH", "1", "TRAIN.EVAL_PERIOD", "1", "TRAIN.BATCH_SIZE", "2"]


def amp_step(dtype: torch.dtype) -> str:
    """A few training steps of the tiny model under autocast `dtype` (float16 with a GradScaler)."""
    from slowfast.config import load_config
    from slowfast.engine.tasks import compute_loss
    from slowfast.models import build_model
    from slowfast.solver import build_optimizer

    cfg = load_config(os.path.join(ROOT, KINETICS_TINY), ["NUM_GPUS", "1"])
    model = build_model(cfg, device="cuda").train()
    optimizer = build_optimizer(cfg, model)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    fast = torch.randn(8, 3, 16, 32, 32, device="cuda")
    losses = []
    for _ in range(3):
        with torch.autocast("cuda", dtype=dtype):
            loss = compute_loss(cfg, model([fast[:, :, ::4], fast]), torch.arange(8, device="cuda") % 4)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(round(loss.item(), 4))
    assert all(torch.isfinite(torch.tensor(losses))), losses
    return f"losses {losses}, scale {scaler.get_scale() if scaler.is_enabled() else 'off'}"


def last_checkpoint(output_dir: str) -> str:
    folder = os.path.join(output_dir, "checkpoints")
    names = sorted(n for n in os.listdir(folder) if n.endswith(".pyth")) if os.path.isdir(folder) else []
    if not names:
        raise RuntimeError(f"no checkpoint in {folder} (the training check failed)")
    return os.path.join(folder, names[-1])


def quick_starts(budget: Budget, tmp: str) -> None:
    kin, ava = os.path.join(tmp, "kinetics"), os.path.join(tmp, "ava")
    base = os.path.join(tmp, "k_amp")

    def kinetics_amp():
        r = run_net(KINETICS_TINY, base, kin, "TRAIN.MIXED_PRECISION", "True", *KINETICS_SMALL)
        return f"top-1 {r['top1_acc']:.1f}% over {r['num_videos']} videos"

    budget.check("synthetic Kinetics: train + test on GPU, AMP, channels_last_3d, pinned uint8 clips", kinetics_amp, 60)
    for prec in ("bf16", "fp16"):
        budget.check(f"synthetic Kinetics: test at TEST.PRECISION {prec}", lambda p=prec: "top-1 {:.1f}%".format(run_net(
            KINETICS_TINY, os.path.join(tmp, f"k_{p}"), kin, "TRAIN.ENABLE", "False", "TEST.PRECISION", p,
            "TEST.CHECKPOINT_FILE_PATH", last_checkpoint(base), *KINETICS_SMALL)["top1_acc"]), 30)
    budget.check("AMP float16 + GradScaler training steps", lambda: amp_step(torch.float16), 10)
    budget.check("AMP bfloat16 training steps", lambda: amp_step(torch.bfloat16), 10)
    budget.check("MODEL.COMPILE: train + test", lambda: "top-1 {:.1f}%".format(run_net(
        KINETICS_TINY, os.path.join(tmp, "k_compile"), kin, "MODEL.COMPILE", "True", *KINETICS_SMALL)["top1_acc"]), 90)
    budget.check("synthetic AVA detector: train + test on GPU", lambda: "mAP {}".format(run_net(
        AVA_TINY, os.path.join(tmp, "ava_run"), ava, "TRAIN.MIXED_PRECISION", "True", *AVA_SMALL)["mAP"]), 45)


def speed_row(cfg_file: str, batch: int, iters: int) -> list[str]:
    """Table rows of one config: inference fp32 / bf16 at the test crop, AMP training step at the train crop."""
    from slowfast.config import load_config
    from slowfast.reports.benchmark import _random_batch, _rate, bench_train_step
    from slowfast.reports.benchmark_deploy import bench_runtimes

    cfg = load_config(os.path.join(ROOT, cfg_file), ["NUM_GPUS", "1", "TRAIN.MIXED_PRECISION", "True"])
    name = os.path.basename(cfg_file)[:-5]
    rows = []
    torch.cuda.reset_peak_memory_stats()  # inference rows: the peak over fp32, bf16 and fp16
    for r in bench_runtimes(cfg, iters, batch, cfg.DATA.TEST_CROP_SIZE, torch.device("cuda"), _rate, _random_batch):
        if r["clips_s"] is not None:
            rows.append(f"| {name} | inference {r['precision']} | {r['size']} | {batch} | {r['clips_s']:.1f} | "
                        f"{torch.cuda.max_memory_allocated() / 2**30:.2f} |")
    step = bench_train_step(cfg, iters, batch, cfg.DATA.TRAIN_CROP_SIZE, 0.0)["default"]
    rows.append(f"| {name} | train step AMP | {cfg.DATA.TRAIN_CROP_SIZE} | {batch} | {step['clips_per_s']:.1f} | "
                f"{step.get('peak_mem_gib', 0):.2f} |")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-s", type=float, default=280, help="stop starting new checks after this long")
    parser.add_argument("--batch", type=int, default=8, help="batch of the speed table")
    parser.add_argument("--iters", type=int, default=5, help="timed iterations per speed-table entry")
    parser.add_argument("--no-table", action="store_true", help="run the checks only")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print(f"gpu_check: no CUDA device here (torch {torch.__version__}, torch.cuda.is_available() is False); "
              f"nothing was run (exit status {NO_CUDA_EXIT})")
        return NO_CUDA_EXIT
    budget = Budget(args.budget_s)
    print(f"gpu_check on {torch.cuda.get_device_name(0)} (torch {torch.__version__}, CUDA {torch.version.cuda}, "
          f"bf16: {torch.cuda.is_bf16_supported()}), budget {args.budget_s:.0f} s", flush=True)
    budget.check("NCCL process group, world size 1", check_nccl, 5)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        quick_starts(budget, tmp)
    if not args.no_table:
        print("| config | what | size | batch | clips/s | peak GiB |\n| --- | --- | --- | --- | --- | --- |", flush=True)
        for cfg_file in TABLE_CONFIGS:
            rows = budget.check(f"speed {os.path.basename(cfg_file)}", lambda c=cfg_file: speed_row(
                c, args.batch, args.iters), 20)
            for row in rows or []:
                print(row, flush=True)
    print(f"gpu_check: {budget.failed} check(s) failed", flush=True)
    return 1 if budget.failed else 0
