"""Is training input-bound? The training loader's clips/s per decoding backend, data source and worker
count (`tools/benchmark.py --what loader --backend pyav|torchcodec --source files|shards`), the loader
cores an 8-GPU node needs at the GPUs' clip rate, and the fraction of training time a run spent waiting
for data, read from its log.txt (`--what data-wait RUN_DIR`).

The loader is the real one (`slowfast.datasets.build.build_loader(cfg, "train")`): the sampler, the
workers, the dataset's item (decode, jitter, crop, flip, pack) and collation. Its clips/s is the median of
`repeats` timed stretches of `clips` clips each, after a warm-up of one batch per worker (start-up is not
counted; an epoch that runs out is restarted, its warm-up again not counted). Clips/s per core = clips/s
/ max(1, workers): with 0 workers the main process decodes (1 torch thread), with W workers W processes
do and the main process only collates. Clips per CPU second = clips / the CPU time (user + system) the
process and its workers used in the stretch: the cost of a clip whatever else runs on the machine.
"""
from __future__ import annotations

import importlib.util
import os
import statistics
import subprocess
import sys
import time

from slowfast.visualization.training_log import TrainingLog, TrainingLogError, read_training_log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_SHARDS = os.path.join(ROOT, "tools", "make_shards.py")  # the shard writer (issue 23, part 1)
DEFAULT_CFG = os.path.join(ROOT, "configs", "Kinetics", "K400", "SLOWFAST_8x8_R50.yaml")
BACKENDS = ("pyav", "torchcodec")
SOURCES = ("files", "shards")

# The GPU side of GETTING_STARTED.md's Speed estimate: a training step costs 3x the forward FLOPs
# (SlowFast 8x8 R50 at 224^2: about 50 GFLOP forward, so 150 per clip), at an assumed 15 effective TFLOP/s
# per GPU (bf16): 100 clips/s per GPU.
STEP_GFLOP_8X8_R50 = 150.0
GPU_TFLOPS = 15.0
GPUS_PER_NODE = 8


def gpu_clips_per_s(step_gflop: float = STEP_GFLOP_8X8_R50, tflops: float = GPU_TFLOPS) -> float:
    """Training clips/s one GPU consumes: its effective FLOP/s over a step's FLOPs per clip."""
    return tflops * 1e3 / step_gflop


def loader_cores_per_node(clips_per_core: float, gpus: int = GPUS_PER_NODE,
                          gpu_clips_s: float | None = None) -> float:
    """CPU cores of loader work that keep `gpus` GPUs fed: the node's clip rate over one core's clips/s
    (default GPU rate: `gpu_clips_per_s()`, SlowFast 8x8 R50)."""
    if clips_per_core <= 0:
        raise ValueError(f"clips per core must be positive, got {clips_per_core}")
    rate = gpu_clips_per_s() if gpu_clips_s is None else gpu_clips_s
    return gpus * rate / clips_per_core


def missing_part(backend: str, source: str, cfg) -> str | None:
    """One line naming the part of `--backend` / `--source` this checkout or environment lacks, or None."""
    from slowfast.config.validation import _CHOICES

    if backend == "torchcodec":
        if "torchcodec" not in _CHOICES.get("DATA.DECODING_BACKEND", ()) or "DECODING_BACKEND" not in cfg.DATA:
            return ("--backend torchcodec: not available in this checkout (DATA.DECODING_BACKEND accepts "
                    f"{', '.join(_CHOICES.get('DATA.DECODING_BACKEND', ('pyav',)))} only: the TorchCodec backend "
                    "is not merged)")
        if importlib.util.find_spec("torchcodec") is None:
            return "--backend torchcodec: the torchcodec package is not installed (pip install -e .[torchcodec])"
    if source == "shards":
        if not os.path.isfile(MAKE_SHARDS):
            return (f"--source shards: {MAKE_SHARDS} is not available in this checkout "
                    "(the shard writer and reader are not merged)")
        if importlib.util.find_spec("webdataset") is None:
            return "--source shards: the webdataset package is not installed (pip install -e .[shards])"
    return None


MEDIA = ("kinetics-like", "discs")


def _list_rows(out_dir: str, split: str, names: list[str], rows: int) -> None:
    """`out_dir/<split>.csv` listing `names` in turn `rows` times (labels 0-3 in turn)."""
    with open(os.path.join(out_dir, f"{split}.csv"), "w", encoding="utf-8") as f:
        f.writelines(f"{names[i % len(names)]} {i % 4}\n" for i in range(max(rows, len(names))))


def make_benchmark_data(out_dir: str, media: str = "kinetics-like", rows: int = 64, size: int = 128,
                        seconds: float = 10.0, videos: int = 4) -> str:
    """A Kinetics-format set in `out_dir` whose train.csv lists `videos` videos in turn, `rows` lines (the page
    cache holds them, as it would a hot shard); val.csv / test.csv list the first. "kinetics-like": the
    340x256 H.264 benchmark video of slowfast.reports.benchmark_media (decodes like a Kinetics video), one
    per seed, 10 s like a Kinetics clip (a random window then decodes from the key frame before it, as in
    Kinetics); "discs": the synthetic Kinetics set's moving-disc videos of `size`^2 pixels (they compress
    far better than real video, so decode faster)."""
    from slowfast.reports.benchmark_media import make_benchmark_video

    os.makedirs(os.path.join(out_dir, "videos"), exist_ok=True)
    if media == "discs":
        from slowfast.datasets.synthetic import make_kinetics_synthetic

        make_kinetics_synthetic(out_dir, num_classes=4, num_train=videos, num_val=1, num_test=1, size=size,
                                num_frames=int(round(seconds * 30)), fps=30, seed=0,
                                num_workers=1 if size <= 64 else None)  # tiny videos: no process pool start-up
        with open(os.path.join(out_dir, "train.csv"), encoding="utf-8") as f:
            names = [line.split()[0] for line in f if line.strip()]
    elif media == "kinetics-like":
        names = [f"videos/v{i}.mp4" for i in range(videos)]
        for i, name in enumerate(names):
            make_benchmark_video(os.path.join(out_dir, name), seconds=seconds, seed=i)
    else:
        raise ValueError(f"media {media!r}: choose one of {MEDIA}")
    _list_rows(out_dir, "train", names, rows)
    for split in ("val", "test"):
        _list_rows(out_dir, split, names[:1], 1)
    return out_dir


class ShardPackingError(RuntimeError):
    """tools/make_shards.py failed on the benchmark's data; the message ends with its last line."""


def pack_shards(data_dir: str, out_dir: str) -> str:
    """`tools/make_shards.py --data data_dir --out out_dir` in a subprocess; ShardPackingError with its last line."""
    done = subprocess.run([sys.executable, MAKE_SHARDS, "--data", data_dir, "--out", out_dir],
                          capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ShardPackingError(f"{MAKE_SHARDS} failed (exit {done.returncode}): {said[-1] if said else ''}")
    return out_dir


def loader_cfg(cfg, data_dir: str, backend: str, source: str, workers: int, batch: int | None = None):
    """`cfg` whose training loader reads `data_dir` (files, or the shards there) with `backend` and `workers`."""
    cfg = cfg.clone()
    cfg.defrost()
    cfg.DATA.PATH_TO_DATA_DIR = data_dir
    cfg.DATA.GENERATE_SYNTHETIC = False
    cfg.DATA.DECODING_BACKEND = backend
    if source == "shards" and "FORMAT" in cfg.DATA:
        cfg.DATA.FORMAT = "shards"
    cfg.DATA_LOADER.NUM_WORKERS = workers
    if batch:
        cfg.TRAIN.BATCH_SIZE = batch
    cfg.freeze()
    return cfg


def cpu_seconds() -> dict[int, float]:
    """CPU time (user + system, s) of this process and of each live child (the loader's workers) by pid."""
    out, me, tick = {}, os.getpid(), os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(pid) == me or int(fields[1]) == me:  # fields after the name: state, ppid, ..., utime (12), stime (13)
            out[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _cpu_used(before: dict[int, float]) -> float:
    """CPU seconds this process and its children used since `before` (children that exited since: not counted)."""
    return sum(t - before.get(pid, 0.0) for pid, t in cpu_seconds().items())


def _loader_rates(cfg, clips: int, repeats: int) -> list[tuple[float, float]]:
    """(clips/s, clips per CPU second) of `repeats` stretches of at least `clips` clips from the training
    loader (module docstring)."""
    from slowfast.datasets.build import build_loader, shuffle_loader

    loader = build_loader(cfg, "train")
    warm = max(1, cfg.DATA_LOADER.NUM_WORKERS)
    epoch, it = -1, None

    def restart():
        nonlocal epoch, it
        epoch += 1
        shuffle_loader(loader, epoch, cfg.RNG_SEED)
        it = iter(loader)
        for _ in range(warm):
            next(it)

    restart()
    rates = []
    for _ in range(repeats):
        n, seconds, cpu = 0, 0.0, cpu_seconds()
        while n < clips:
            t = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                restart()
                continue
            seconds += time.perf_counter() - t
            n += len(batch[1])
        rates.append((n / max(seconds, 1e-9), n / max(_cpu_used(cpu), 1e-9)))
    del it
    return rates


def bench_loader_row(cfg, backend: str, source: str, workers: int, clips: int, repeats: int) -> dict:
    """One JSON row: the median clips/s of the training loader of `cfg` with `workers` workers."""
    from slowfast.reports.benchmark_data import one_torch_thread

    with one_torch_thread():
        measured = _loader_rates(cfg, clips, repeats)
    rates = [r for r, _ in measured]
    rate, cores = statistics.median(rates), max(1, workers)
    return {"what": "loader", "backend": backend, "source": source, "workers": workers, "cores": cores,
            "clips_s": rate, "clips_s_per_core": rate / cores,
            "clips_per_cpu_s": statistics.median(c for _, c in measured), "repeats": [round(r, 3) for r in rates],
            "clips_per_repeat": clips, "batch": cfg.TRAIN.BATCH_SIZE, "num_frames": cfg.DATA.NUM_FRAMES,
            "sampling_rate": cfg.DATA.SAMPLING_RATE, "crop": cfg.DATA.TRAIN_CROP_SIZE}


def cores_row(rows: list[dict]) -> dict:
    """The derived row: loader cores per 8-GPU node for SlowFast 8x8 R50 at the best measured clips/s per core
    ("cores"), and at the best clips per CPU second ("cores_by_cpu_time": the figure to trust when other
    processes share the cores, which slows the wall clock but not the CPU time a clip costs)."""
    per_core = max(r["clips_s_per_core"] for r in rows)
    per_cpu_s = max(r["clips_per_cpu_s"] for r in rows)
    return {"what": "loader_cores_per_node", "model": "SlowFast 8x8 R50", "gpus": GPUS_PER_NODE,
            "gpu_clips_s": gpu_clips_per_s(), "clips_s_per_core": per_core, "cores": loader_cores_per_node(per_core),
            "clips_per_cpu_s": per_cpu_s, "cores_by_cpu_time": loader_cores_per_node(per_cpu_s)}


def loader_lines(rows: list[dict]) -> list[str]:
    """Human-readable lines of the loader rows and the derived row."""
    lines = []
    for r in rows:
        if r["what"] == "loader":
            lines.append(f"loader {r['backend']}/{r['source']}, {r['workers']} worker(s): {r['clips_s']:.2f} clips/s, "
                         f"{r['clips_s_per_core']:.2f} clips/s per core (cores = max(1, workers) = {r['cores']}), "
                         f"{r['clips_per_cpu_s']:.2f} clips per CPU second ("
                         f"median of {len(r['repeats'])} x {r['clips_per_repeat']} clips, {r['num_frames']} frames "
                         f"x {r['sampling_rate']}, crop {r['crop']})")
        elif r["what"] == "loader_cores_per_node":
            lines.append(f"{r['model']} on {r['gpus']} GPUs at {r['gpu_clips_s']:.0f} clips/s each needs about "
                         f"{r['cores']:.0f} loader cores per node at {r['clips_s_per_core']:.2f} clips/s per core, "
                         f"{r['cores_by_cpu_time']:.0f} at {r['clips_per_cpu_s']:.2f} clips per CPU second")
    return lines


# ------------------------------------------------------------------ data wait of a run (log.txt)


def epoch_data_wait(stats: dict) -> float | None:
    """An epoch's fraction of time spent waiting for data: `data_wait_frac`, or dt_data / dt in older logs
    (the same number: both are means over the same iterations)."""
    if isinstance(stats.get("data_wait_frac"), (int, float)):
        return float(stats["data_wait_frac"])
    if stats.get("dt") and isinstance(stats.get("dt_data"), (int, float)):
        return stats["dt_data"] / stats["dt"]
    return None


def run_data_wait(log: TrainingLog) -> dict | None:
    """{"data_wait_frac", "epochs", "per_epoch"} of a run's training epochs, None when none has timings.
    The run's fraction weights each epoch by its mean iteration time `dt` (exact when epochs have the same
    number of iterations, i.e. without multigrid)."""
    per_epoch = {e: epoch_data_wait(s) for e, s in sorted(log.train.items())}
    timed = {e: (f, log.train[e].get("dt") or 0.0) for e, f in per_epoch.items() if f is not None}
    if not timed:
        return None
    weight = sum(dt for _, dt in timed.values())
    frac = (sum(f * dt for f, dt in timed.values()) / weight if weight > 0
            else statistics.fmean(f for f, _ in timed.values()))
    return {"data_wait_frac": frac, "epochs": len(timed), "per_epoch": {e: f for e, (f, _) in timed.items()}}


def logged_data_wait(run_dir: str) -> dict | None:
    """`run_data_wait` of RUN_DIR/log.txt; None without a log, training stats or timings in it."""
    try:
        return run_data_wait(read_training_log(run_dir))
    except TrainingLogError:
        return None


def data_wait_line(wait: dict) -> str:
    """"waited for data X % of training time" with the epochs it covers."""
    per = ", ".join(f"{100 * f:.0f}" for f in wait["per_epoch"].values())
    return (f"waited for data {100 * wait['data_wait_frac']:.1f} % of training time "
            f"({wait['epochs']} epoch(s); per epoch, %: {per})")
