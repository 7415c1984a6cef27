"""Train and/or test a model as a config says.

    python tools/run_net.py --cfg configs/Synthetic/SLOWFAST_TINY.yaml [--init_method tcp://HOST:PORT] [KEY VALUE ...]

TRAIN.ENABLE runs training, TEST.ENABLE testing (after training when both are set). Processes:
NUM_GPUS per machine (NCCL) or NUM_PROCESSES on CPU (gloo); NUM_SHARDS machines, this one SHARD_ID;
torchrun's environment variables are honoured.
"""
import argparse
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

from slowfast.config import ConfigError, load_config  # noqa: E402
from slowfast.datasets.prepare import prepare_data  # noqa: E402
from slowfast.engine.launch import launch_job  # noqa: E402
from slowfast.engine.test import test  # noqa: E402
from slowfast.engine.train import train  # noqa: E402
from slowfast.utils.logging import setup_logging  # noqa: E402


def config_parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the `--cfg` option every tool taking a config has."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="config YAML file")
    return parser


def parse_with_overrides(parser: argparse.ArgumentParser, argv=None):
    """Add the trailing `KEY VALUE` overrides (`args.opts`) and parse; a --flag among them is an error."""
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    flags = [o for o in args.opts[0::2] if o.startswith("-")]
    if flags:
        parser.error(f"unrecognized arguments: {' '.join(flags)} (overrides are KEY VALUE pairs, e.g. NUM_GPUS 0)")
    return args


def parse_args(argv=None):
    parser = config_parser(__doc__)
    parser.add_argument("--init_method", default=None, help="torch.distributed init method, e.g. tcp://HOST:PORT")
    return parse_with_overrides(parser, argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.cfg_file, args.opts)
    except ConfigError as e:
        print(f"config error: {e}", file=sys.stderr)
        return 2
    setup_logging()
    prepare_data(cfg)
    if cfg.TRAIN.ENABLE:
        launch_job(cfg, train, args.init_method)
    if cfg.TEST.ENABLE:
        launch_job(cfg, test, args.init_method)
    return 0

