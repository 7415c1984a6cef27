"""Train and/or test a model as a config says.

    python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml [--init_method tcp://HOST:PORT] [--debug] [KEY VALUE ...]

TRAIN.ENABLE runs training, TEST.ENABLE testing (after training when both are set). Processes:
NUM_GPUS per machine (NCCL) or NUM_PROCESSES on CPU (gloo); NUM_SHARDS machines, this one SHARD_ID;
torchrun's environment variables are honoured.

Errors of the user's making (a config error, a malformed or missing data file, an unreadable or refused
checkpoint, a GPU requested on a machine without one) print one line naming the culprit and exit with
status 2; the traceback goes to OUTPUT_DIR/log.txt, and to the terminal with --debug (or the environment
variable SLOWFAST_DEBUG=1). Other exceptions (bugs) keep their traceback.
"""
import argparse
import os
import sys
import traceback
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

from slowfast.config import ConfigError, load_config  # noqa: E402
from slowfast.data_prep.check import run_preflight  # noqa: E402
from slowfast.formats.problems import AvaFormatError  # noqa: E402
from slowfast.datasets.kinetics import DatasetFormatError  # noqa: E402
from slowfast.datasets.prepare import prepare_data  # noqa: E402
from slowfast.datasets.validation import UnreadableDataError  # noqa: E402
from slowfast.engine.launch import DeviceUnavailableError, check_devices, launch_job  # noqa: E402
from slowfast.engine.test import test  # noqa: E402
from slowfast.engine.train import train  # noqa: E402
from slowfast.checkpoint.store import CheckpointError  # noqa: E402
from slowfast.utils.logging import setup_logging  # noqa: E402

DEBUG_ENV = "SLOWFAST_DEBUG"
# Exceptions that describe a problem with the user's input, not with the code.
USER_ERRORS = (ConfigError, DatasetFormatError, AvaFormatError, UnreadableDataError, CheckpointError,
               DeviceUnavailableError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def config_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the `--cfg` option every tool taking a config has."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="config YAML file")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the full traceback of input errors (also: {DEBUG_ENV}=1)")
    return parser


def parse_with_overrides(parser: argparse.ArgumentParser, argv=None):
    """Add the trailing `KEY VALUE` overrides (`args.opts`) and parse; a --flag among them is an error
    (except --debug, accepted after the overrides too)."""
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    if "--debug" in args.opts:  # given after the overrides
        args.opts.remove("--debug")
        args.debug = True
    flags = [o for o in args.opts[0::2] if o.startswith("-")]
    if flags:
        parser.error(f"unrecognized arguments: {' '.join(flags)} (overrides are KEY VALUE pairs, e.g. NUM_GPUS 0)")
    return args


def _raised_elsewhere(text: str) -> tuple[str, str]:
    """``(class name, message)`` of the last line, ``module.ErrorClass: message``, of a traceback text."""
    last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
    name, _, message = last.partition(": ")
    return name.rpartition(".")[2], message


def user_error_line(error: BaseException) -> str | None:
    """The one line to print for an input error, None for anything else. An error raised in a spawned
    process arrives as text ending in `module.ErrorClass: message`; its class is looked up by name. One
    raised in a DataLoader worker is re-raised with its class but with the worker's traceback as the
    message (`Caught ErrorClass in DataLoader worker process N. Original Traceback ...`); its last line
    is the original message."""
    if isinstance(error, USER_ERRORS):
        text = str(error)
        if text.startswith(f"Caught {type(error).__name__} in DataLoader worker"):
            name, message = _raised_elsewhere(text)
            if name == type(error).__name__:
                text = message
        return f"{'config error' if isinstance(error, ConfigError) else 'error'}: {text}"
    if type(error).__name__ == "ProcessRaisedException":
        name, message = _raised_elsewhere(str(error))
        if name in {cls.__name__ for cls in USER_ERRORS}:
            return f"error: {message}"
    return None


def _append_traceback_to_log(output_dir: str | None, error: BaseException) -> bool:
    log = os.path.join(output_dir, "log.txt") if output_dir else None
    if not log or not os.path.isfile(log):
        return False
    with open(log, "a", encoding="utf-8") as f:
        f.write("".join(traceback.format_exception(error)))
    return True


def parse_args(argv=None):
    parser = config_parser(__doc__)
    parser.add_argument("--init_method", default=None, help="torch.distributed init method, e.g. tcp://HOST:PORT")
    return parse_with_overrides(parser, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    cfg = None
    try:
        cfg = load_config(args.cfg_file, args.opts)
        setup_logging()
        check_devices(cfg)
        prepare_data(cfg)
        cfg = run_preflight(cfg)  # fails at once on what would stop the run later
        if cfg is None:
            return 2
        if cfg.TRAIN.ENABLE:
            launch_job(cfg, train, args.init_method)
        if cfg.TEST.ENABLE:
            launch_job(cfg, test, args.init_method)
    except Exception as e:  # noqa: BLE001 - sorted into input errors (one line) and bugs (re-raised)
        line = user_error_line(e)
        if line is None or debug:
            raise
        logged = _append_traceback_to_log(cfg.OUTPUT_DIR if cfg is not None else None, e)
        where = "the traceback is in OUTPUT_DIR/log.txt; " if logged else ""
        print(f"{line}\n  ({where}run with --debug or {DEBUG_ENV}=1 to see it here)", file=sys.stderr)
        return 2
    return 0
