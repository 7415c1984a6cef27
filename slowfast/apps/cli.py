"""The command-line convention every tool follows: ``--cfg FILE`` plus trailing ``KEY VALUE`` overrides
(``--debug`` for full tracebacks), and errors of the user's making (a config error, a malformed or missing
file, an unreadable video or checkpoint, a GPU requested on a machine without one) printed as one line
naming the culprit, exit status 2. Anything else is a bug and keeps its traceback.

:func:`run_with_config` runs a tool's job under that convention; ``tools/*.py`` are thin wrappers over
functions of this package.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import warnings

from slowfast.apps.demo import DemoError
from slowfast.checkpoint import CheckpointError
from slowfast.config import ConfigError, load_config
from slowfast.data_prep.check import resolve_num_classes
from slowfast.datasets.class_names import LabelFileError
from slowfast.datasets.kinetics import DatasetFormatError
from slowfast.datasets.validation import UnreadableDataError
from slowfast.datasets.video_container import VideoDecodeError
from slowfast.engine.launch import DeviceUnavailableError
from slowfast.formats.problems import AvaFormatError
from slowfast.formats.shards import ShardIndexError
from slowfast.models.person_detector import DetectorError
from slowfast.utils.io import OutputIsInputError, OutputWriteError, TextFileError
from slowfast.utils.logging import setup_logging
from slowfast.utils.run_lock import RunLockedError

DEBUG_ENV = "SLOWFAST_DEBUG"
# Exceptions that describe a problem with the user's input, not with the code.
USER_ERRORS = (ConfigError, DatasetFormatError, AvaFormatError, UnreadableDataError, CheckpointError,
               DeviceUnavailableError, VideoDecodeError, LabelFileError, DemoError, DetectorError,
               OutputIsInputError, OutputWriteError, RunLockedError, TextFileError, FileNotFoundError,
               PermissionError, IsADirectoryError, NotADirectoryError, ShardIndexError)


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
        if name == "RuntimeError" and WORKER_DIED.search(message):
            return worker_died_line(message)
    if isinstance(error, RuntimeError) and WORKER_DIED.search(str(error)):
        return worker_died_line(str(error))
    return None


# How torch's DataLoader reports a worker process that was killed (the OOM killer, `kill -9`) or exited.
WORKER_DIED = re.compile(r"DataLoader worker \(pid(?:\(s\))? [^)]*\) (is killed by signal|exited unexpectedly)")


def worker_died_line(message: str) -> str:
    """One line for a data-loading worker that died: what torch said, the usual cause and what to do."""
    said = WORKER_DIED.search(message)
    text = message[said.start():].splitlines()[0].rstrip(". ") if said else message.strip().splitlines()[0]
    return (f"error: a data-loading worker died ({text}); usually the machine ran out of memory (see `dmesg`): "
            "lower DATA_LOADER.NUM_WORKERS or the batch size, then rerun the same command (training resumes "
            "from the last checkpoint in OUTPUT_DIR/checkpoints, which is intact)")


def resolved_num_classes(cfg):
    """`cfg` with MODEL.NUM_CLASSES 0 taken from the dataset as tools/run_net.py does; a ConfigError (one
    line) naming the file it needs when that is impossible."""
    try:
        return resolve_num_classes(cfg)
    except ValueError as e:
        raise ConfigError(str(e)) from e


def run_with_config(args, job, extra_opts=(), resolve_classes: bool = True) -> int:
    """Load ``args.cfg_file`` with ``args.opts`` (+ ``extra_opts``), resolve MODEL.NUM_CLASSES 0 from the
    dataset, set up logging unless the caller has, and return ``job(cfg)``; an input error prints its one
    line (``error: ...`` / ``config error: ...``) and returns 2 (``args.debug``: raise it instead)."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        cfg = load_config(args.cfg_file, list(args.opts) + list(extra_opts))
        if resolve_classes:
            cfg = resolved_num_classes(cfg)
        if not logging.getLogger().handlers:  # keep a caller's logging set-up (tests, notebooks)
            setup_logging()
        return job(cfg)
    except Exception as e:  # noqa: BLE001 - sorted into input errors (one line) and bugs (re-raised)
        line = user_error_line(e)
        if line is None or getattr(args, "debug", False) or os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        print(line.splitlines()[0], file=sys.stderr)
        return 2
