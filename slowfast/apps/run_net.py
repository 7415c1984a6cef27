"""Train and/or test a model as a config says.

    python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml [--init_method tcp://HOST:PORT] [--debug] [KEY VALUE ...]

TRAIN.ENABLE runs training, TEST.ENABLE testing (after training when both are set). Processes:
NUM_GPUS per machine (NCCL) or NUM_PROCESSES on CPU (gloo); NUM_SHARDS machines, this one SHARD_ID;
torchrun's environment variables are honoured.

Errors of the user's making (a config error, a malformed or missing data file, an unreadable or refused
checkpoint, a GPU requested on a machine without one) print one line naming the culprit and exit with
status 2; the traceback goes to OUTPUT_DIR/log.txt, and to the terminal with --debug (or the environment
variable SLOWFAST_DEBUG=1). Other exceptions (bugs) keep their traceback.

The resolved config (file, `_BASE_`s, overrides and what the pre-flight checks filled in, e.g.
MODEL.NUM_CLASSES 0) is saved as OUTPUT_DIR/config.yaml before the run starts; `--cfg OUTPUT_DIR/config.yaml`
runs the same config again (the file is left as it is when it is the run's own --cfg).

One run per OUTPUT_DIR: the run holds OUTPUT_DIR/.run.lock (slowfast/utils/run_lock.py) from before the
training / testing start to its end; a second run into an OUTPUT_DIR that a live run holds exits 2 with one line.
"""
import contextlib
import os
import sys
import time
import traceback
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

from slowfast.apps.cli import DEBUG_ENV, config_parser, parse_with_overrides, user_error_line  # noqa: E402
from slowfast.apps.run_summary import run_summary  # noqa: E402
from slowfast.config import load_config  # noqa: E402
from slowfast.data_prep.check import run_preflight  # noqa: E402
from slowfast.datasets.decoding import check_decoding  # noqa: E402
from slowfast.datasets.prepare import prepare_data  # noqa: E402
from slowfast.engine.launch import check_devices, check_init_method, launch_job, torchrun_overrides  # noqa: E402
from slowfast.engine.acceleration import inference_dtype  # noqa: E402
from slowfast.engine.common import device_for  # noqa: E402
from slowfast.engine.test import test  # noqa: E402
from slowfast.engine.train import train  # noqa: E402
from slowfast.utils.io import write_text_atomic  # noqa: E402
from slowfast.utils.logging import setup_logging  # noqa: E402
from slowfast.utils.run_lock import RunLock, RunLockedError  # noqa: E402


def _append_traceback_to_log(output_dir: str | None, error: BaseException) -> bool:
    log = os.path.join(output_dir, "log.txt") if output_dir else None
    if not log or not os.path.isfile(log):
        return False
    with open(log, "a", encoding="utf-8") as f:
        f.write("".join(traceback.format_exception(error)))
    return True


def _first_launcher(cfg) -> bool:
    """True in this process, which spawns this machine's workers, unless it is one of torchrun's processes
    other than global rank 0, or a machine other than SHARD_ID 0 (machines of one run share OUTPUT_DIR)."""
    torchrun_worker = "RANK" in os.environ and int(os.environ.get("WORLD_SIZE", 1)) > 1 and int(os.environ["RANK"]) != 0
    return not torchrun_worker and cfg.SHARD_ID == 0


def run_lock_for(cfg):
    """OUTPUT_DIR/.run.lock for the run, taken once (`_first_launcher`); the other processes get a no-op context."""
    return RunLock(cfg.OUTPUT_DIR) if _first_launcher(cfg) else contextlib.nullcontext()


CONFIG_HEADER = ("# The resolved config of the run in this folder, saved by tools/run_net.py at its start.\n"
                 "# Run it again with: python tools/run_net.py --cfg THIS_FILE [KEY VALUE ...]\n")


def save_run_config(cfg, cfg_file: str | None) -> str | None:
    """Write `cfg` to OUTPUT_DIR/config.yaml (atomically; first launching process only); returns the path
    written, None when nothing was. The run's own --cfg is never overwritten: when it is that file and
    `cfg` differs from it (overrides were given), it is left as it is, with a warning."""
    if not _first_launcher(cfg):
        return None
    path = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    text = CONFIG_HEADER + cfg.dump()
    if cfg_file and os.path.isfile(path) and os.path.samefile(path, cfg_file):
        with open(path, encoding="utf-8", errors="replace") as f:
            if f.read() != text:
                print(f"warning: {path} is this run's --cfg: left as it is, without this run's overrides",
                      file=sys.stderr)
        return None
    write_text_atomic(path, text)
    return path


def parse_args(argv=None):
    parser = config_parser(__doc__)
    parser.add_argument("--init_method", default=None, help="torch.distributed init method, e.g. tcp://HOST:PORT")
    return parse_with_overrides(parser, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    cfg, start = None, time.monotonic()
    try:
        cfg = load_config(args.cfg_file, args.opts)
        if torchrun_overrides(cfg):  # torchrun's processes per machine and machines (TRAIN.BATCH_SIZE: their total)
            cfg = load_config(args.cfg_file, [*args.opts, *torchrun_overrides(cfg)])
        setup_logging()
        check_devices(cfg)
        check_decoding(cfg)  # DATA.DECODING_BACKEND / DECODING_DEVICE usable here (TorchCodec, FFmpeg, CUDA)
        if cfg.TEST.ENABLE:  # TEST.PRECISION the device lacks: one line now, not after training
            inference_dtype(cfg, device_for(cfg))
        check_init_method(cfg, args.init_method)
        prepare_data(cfg)
        cfg = run_preflight(cfg)  # fails at once on what would stop the run later (an unwritable OUTPUT_DIR too)
        if cfg is None:
            return 2
        with run_lock_for(cfg):
            save_run_config(cfg, args.cfg_file)
            if cfg.TRAIN.ENABLE:
                launch_job(cfg, train, args.init_method)
            if cfg.TEST.ENABLE:
                launch_job(cfg, test, args.init_method)
        print(run_summary(cfg, time.monotonic() - start), flush=True)  # where the outputs are, the headline metric
    except Exception as e:  # noqa: BLE001 - sorted into input errors (one line) and bugs (re-raised)
        line = user_error_line(e)
        if line is None or debug:
            raise
        if isinstance(e, RunLockedError):  # nothing to add; OUTPUT_DIR/log.txt is the other run's
            print(line, file=sys.stderr)
            return 2
        logged = _append_traceback_to_log(cfg.OUTPUT_DIR if cfg is not None else None, e)
        where = f"the traceback is in {os.path.join(cfg.OUTPUT_DIR, 'log.txt')}; " if logged else ""
        print(f"{line}\n  ({where}run with --debug or {DEBUG_ENV}=1 to print the traceback here)", file=sys.stderr)
        return 2
    return 0
