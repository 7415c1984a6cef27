"""Convert a checkpoint between PySlowFast `.pyth`, a plain PyTorch state dict and a Caffe2 `.pkl`.

    python tools/convert_checkpoint.py --input X.pyth --output Y.pkl --to caffe2
    python tools/convert_checkpoint.py --input X.pkl --output Y.pyth --to pytorch --cfg CFG.yaml
    python tools/convert_checkpoint.py --input X.pyth --output Y.pt --to state_dict

The input format is taken from --from, else from the extension (`.pkl` = caffe2, anything else =
pytorch, which also accepts a bare state dict). Caffe2 names follow the table in
slowfast/checkpoint/caffe2.py; tensors are copied bit for bit, so a round trip gives identical tensors.
With --cfg the result is checked against the model of that config (built without allocating
weights) and the key differences are printed; the tool then fails on any difference unless
--allow-partial is given.

Reading never runs code from the input (see SECURITY.md): files that need more than tensors, numpy
arrays and a config node are refused unless --allow-unsafe-pickle is given for a file you trust.
"""
import argparse
import sys
import warnings

from slowfast.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    compare_state_dicts,
    format_key_report,
    read_any_checkpoint,
    strip_wrapper_prefix,
)
from slowfast.checkpoint.caffe2 import save_caffe2_checkpoint
from slowfast.utils.io import OutputIsInputError, refuse_overwriting_inputs

FORMATS = ("pytorch", "caffe2", "state_dict")


def input_format(path: str, given: str | None) -> str:
    """The checkpoint_type of the input: --from when given, else by extension."""
    return given or ("caffe2" if path.endswith(".pkl") else "pytorch")


def convert(args) -> int:
    """Read, optionally check against a config's model, write; returns the exit status."""
    cfg, model_state = None, None
    if args.cfg:  # imported here: the model code (torchvision) is only needed with --cfg
        from slowfast.config import load_config
        from slowfast.models import build_model

        cfg = load_config(args.cfg, list(args.opts) + ["NUM_GPUS", "0", "NUM_PROCESSES", "1"])
        model_state = build_model(cfg, device="meta").state_dict()
    data = read_any_checkpoint(args.input, input_format(args.input, args.src), model_state, args.allow_unsafe_pickle)
    state = strip_wrapper_prefix(data["model_state"])
    status = 0
    if model_state is not None:
        report = compare_state_dicts(model_state, state)
        if report["missing"] or report["unexpected"] or report["mismatched"]:
            print(format_key_report(report, args.input), file=sys.stderr)
            status = 0 if args.allow_partial else 1
    if status:
        print(f"not written: {args.input} does not fit the model of {args.cfg} (use --allow-partial)", file=sys.stderr)
        return status
    if args.to == "caffe2":
        save_caffe2_checkpoint(args.output, state)
    elif args.to == "state_dict":
        atomic_torch_save(state, args.output)
    else:
        atomic_torch_save({
            "model_state": state,
            "optimizer_state": data.get("optimizer_state"),
            "epoch": int(data.get("epoch") or 0),
            "cfg": cfg.dump() if cfg is not None else data.get("cfg"),
        }, args.output)
    print(f"wrote {len(state)} tensors from {args.input} to {args.output} ({args.to})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="checkpoint to read (.pyth, .pt or .pkl)")
    parser.add_argument("--output", required=True, help="file to write")
    parser.add_argument("--to", required=True, choices=FORMATS, help="output format")
    parser.add_argument("--from", dest="src", choices=("pytorch", "caffe2"), help="input format (default: by extension)")
    parser.add_argument("--cfg", help="config YAML whose model the checkpoint must fit")
    parser.add_argument("--allow-partial", action="store_true", help="write even when keys differ from the model")
    parser.add_argument("--allow-unsafe-pickle", action="store_true",
                        help="fully unpickle an input the restricted reader refuses (runs code in it: trusted files only)")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides (with --cfg)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        refuse_overwriting_inputs({"--output": args.output}, {"--input": args.input, "--cfg": args.cfg})
        return convert(args)
    except (CheckpointError, KeyError, OutputIsInputError) as e:
        hint = " (in this tool: --allow-unsafe-pickle)" if "CHECKPOINT_ALLOW_UNSAFE_PICKLE" in str(e) else ""
        print(f"error: {e}{hint}", file=sys.stderr)
        return 2

