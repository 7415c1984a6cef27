"""``tools/visualize.py ablate``: per-class AVA AP of the full model beside the model with the Fast pathway's
input zeroed, with the lateral connections zeroed, and with the Slow pathway's input zeroed
(:mod:`slowfast.visualization.ablation`): which classes live in which pathway.

Each variant runs the AVA test loop (:func:`slowfast.engine.ava_inference.run_ava_inference`: the test split,
its views, proposals and evaluator; nothing is written to OUTPUT_DIR) on the same model (prepared once as
the test loop does, ``TEST.OPTIMIZE_MODEL``). Prints a table (AP per class and variant, and the change from
the full model), ``--json FILE`` writes it as JSON, ``--out DIR`` adds ``DIR/pathway_ablation.png`` (bars per
class) and ``DIR/pathway_ablation.json``.
"""
from __future__ import annotations

import io
import logging
import math
import os
from typing import Dict, List, Optional, Sequence

from slowfast.apps.cli import config_parser, parse_with_overrides, run_with_config
from slowfast.apps.demo import DemoError
from slowfast.apps.eval_model import load_eval_model
from slowfast.datasets.ava import annotation_path
from slowfast.engine.ava_inference import run_ava_inference
from slowfast.engine.tasks import build_task
from slowfast.formats.ava_labels import read_label_map
from slowfast.utils.io import atomic_write, refuse_overwriting_inputs, write_json_atomic
from slowfast.utils.progress import Progress
from slowfast.visualization.ablation import TITLES, VARIANTS, ablated

logger = logging.getLogger(__name__)


def run_ablation(cfg, variants: Sequence[str] = VARIANTS, split: str = "test") -> dict:
    """``{checkpoint, split, classes: {id: name}, variants: {variant: {title, mAP, per_class: {name: AP}}}}`` on
    ``split`` (AP None for a class without ground truth there)."""
    if not build_task(cfg).is_detection:
        raise DemoError("ablate needs an AVA (detection) config: DETECTION.ENABLE True")
    if cfg.MODEL.ARCH != "slowfast":
        raise DemoError(f"ablate needs a two-pathway model (MODEL.ARCH slowfast), not {cfg.MODEL.ARCH!r}")
    model, checkpoint, _ = load_eval_model(cfg)  # optimised once here ...
    run_cfg = cfg.clone()
    run_cfg.defrost()
    run_cfg.TEST.OPTIMIZE_MODEL = False  # ... so that the test loop calls this very model, hooks included
    run_cfg.freeze()
    names = read_label_map(annotation_path(cfg, cfg.AVA.LABEL_MAP_FILE))
    progress = Progress("ablate", len(variants), "variants", logger, period=0.0)
    out: Dict[str, dict] = {}
    for variant in variants:
        with ablated(model, variant):
            result = run_ava_inference(run_cfg, model, split, write=False)
        per_class = {k: None if v is None or math.isnan(v) else v for k, v in result["per_class"].items()}
        out[variant] = dict(title=TITLES[variant], mAP=result["mAP"], per_class=per_class)  # None: no ground truth
        logger.info("ablate: %s: mAP %s", TITLES[variant], result["mAP"])
        progress.step()
    return dict(checkpoint=checkpoint, split=split, classes={str(k): v for k, v in names.items()}, variants=out)


def _fmt(value: Optional[float]) -> str:
    return "   -  " if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:6.3f}"


def format_table(report: dict) -> str:
    """AP per class (rows) and variant (columns; after the full model, the change from it in brackets)."""
    variants = list(report["variants"])
    ids = list(next(iter(report["variants"].values()))["per_class"])
    width = min(max([len("class")] + [len(i) for i in ids]), 40)
    head = f"{'class':<{width}}" + "".join(f" | {report['variants'][v]['title']:>20}" for v in variants)
    lines = [head, "-" * len(head)]

    def cells(get) -> str:
        row = ""
        for v in variants:
            value, base = get(v), get("full") if "full" in variants else None
            delta = "" if v == "full" or value is None or base is None else f" ({value - base:+.3f})"
            row += f" | {_fmt(value) + delta:>20}"
        return row

    for i in ids:
        lines.append(f"{i[:width]:<{width}}" + cells(lambda v, i=i: report["variants"][v]["per_class"].get(i)))
    lines.append("-" * len(head))
    lines.append(f"{'mAP':<{width}}" + cells(lambda v: report["variants"][v]["mAP"]))
    return "\n".join(lines)


def plot(report: dict, path: str) -> str:
    """Grouped bars: AP per class, one bar per variant; written atomically as PNG."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    variants = list(report["variants"])
    ids = list(report["variants"][variants[0]]["per_class"])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(ids) + 2), 3.6), dpi=100)
    step = 0.8 / len(variants)
    for k, v in enumerate(variants):
        values = [report["variants"][v]["per_class"].get(i) or 0.0 for i in ids]
        ax.bar([x + (k - (len(variants) - 1) / 2) * step for x in range(len(ids))], values, step,
               label=report["variants"][v]["title"])
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels([i[:18] for i in ids], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("AP")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=len(variants))
    ax.set_title("Per-class AP with pathways ablated")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
    return path


def ablate_main(argv=None) -> int:
    parser = config_parser("Per-class AVA AP with pathways ablated (slowfast/apps/pathway_ablation.py).")
    parser.add_argument("--out", default=None, help="folder for pathway_ablation.png and pathway_ablation.json")
    parser.add_argument("--json", default=None, help="write the table as JSON here")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of {','.join(VARIANTS)} (default: all)")
    args = parse_with_overrides(parser, argv)
    variants: List[str] = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        parser.error(f"--variants: unknown {bad}; choose from {','.join(VARIANTS)}")

    def job(cfg) -> int:
        refuse_overwriting_inputs({"--json": args.json}, {"--cfg": args.cfg_file}, {"--out": args.out})
        report = run_ablation(cfg, variants)
        print(format_table(report))
        if args.json:
            write_json_atomic(args.json, report)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            write_json_atomic(os.path.join(args.out, "pathway_ablation.json"), report)
            print(f"bar chart: {plot(report, os.path.join(args.out, 'pathway_ablation.png'))}")
        return 0

    return run_with_config(args, job)
