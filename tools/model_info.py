#!/usr/bin/env python3
"""Print a model's per-stage output shapes, GFLOPs per view and parameters.

    python tools/model_info.py --cfg configs/Kinetics/K700/SLOWFAST_8x8_R101_NL.yaml [--size 256] [--json] [KEY VALUE ...]

With --json the last line is {"gflops": G, "params_m": M}.
"""
import argparse
import json
import warnings

import _path  # noqa: F401

from slowfast.config import ConfigError, load_config
from slowfast.apps.cli_tools import resolved_num_classes
from slowfast.models import build_model
from slowfast.reports.model_info import describe, format_description


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", required=True, help="config YAML file")
    parser.add_argument("--size", type=int, default=0, help="input height/width (default DATA.TEST_CROP_SIZE)")
    parser.add_argument("--json", action="store_true", help="end with a JSON line of gflops and params_m")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    cfg = load_config(args.cfg, list(args.opts) + ["NUM_GPUS", "0", "NUM_PROCESSES", "1"])
    try:
        cfg = resolved_num_classes(cfg)  # MODEL.NUM_CLASSES 0: from the dataset, as run_net
    except ConfigError as e:
        parser.error(str(e))
    size = args.size or cfg.DATA.TEST_CROP_SIZE
    model = build_model(cfg, device="cpu")
    info = describe(model, cfg, size)
    print(format_description(info, size))
    if args.json:
        print(json.dumps({"gflops": round(info["gflops"], 3), "params_m": round(info["params_m"], 3)}))


if __name__ == "__main__":
    main()
