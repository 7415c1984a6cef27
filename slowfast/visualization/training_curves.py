"""Training curves drawn from the stats lines of log.txt (`training_log`): one PNG per quantity, x = epochs.

    loss.png      training loss: the epoch's mean (points) and the smoothed value at each log line (thin)
    lr.png        learning rate at each log line (at each epoch's end where the log has no iteration lines)
    top1_err.png  top-1 error (%) of the epoch's training clips and of the validation (classification)
    mAP.png       validation frame mAP (AVA detection)
    time.png      seconds per iteration spent waiting for data (dt_data) and computing (dt_net), epoch means
    curves.png    all of the above, three to a row

Training draws them into OUTPUT_DIR/plots/ at each evaluation and after the last epoch
(`update_run_plots`); tools/plot_logs.py overlays several runs (`plot_runs`).
"""
from __future__ import annotations

import io
import logging
import math
import os

from slowfast.utils.io import atomic_write
from slowfast.visualization.training_log import TrainingLog, read_training_log

logger = logging.getLogger(__name__)

# (file stem, y-axis label) of each panel, in the order of curves.png.
PANELS = (("loss", "training loss"), ("lr", "learning rate"), ("top1_err", "top-1 error (%)"),
          ("mAP", "validation mAP"), ("time", "seconds per iteration"))


def _finite(points) -> tuple[list, list]:
    pts = sorted((x, y) for x, y in points if isinstance(y, (int, float)) and not isinstance(y, bool)
                 and math.isfinite(y))
    return [x for x, _ in pts], [y for _, y in pts]


def _by_epoch(table: dict, key: str) -> tuple[list, list]:
    return _finite((e, s.get(key)) for e, s in table.items())


def panel_series(log: TrainingLog) -> dict:
    """{panel: [(what, xs, ys, style), ...]} for the panels the log has data for; style is "epoch"
    (points joined by a line), "val" (the same, dashed) or "iter" (a thin line)."""
    iter_x = sorted(log.iters)
    out = {
        "loss": [("train, log lines", *_finite((x, log.iters[x].get("loss")) for x in iter_x), "iter"),
                 ("train, epoch mean", *_by_epoch(log.train, "loss"), "epoch")],
        "lr": ([("lr", *_finite((x, log.iters[x].get("lr")) for x in iter_x), "iter")] if iter_x
               else [("lr", *_by_epoch(log.train, "lr"), "epoch")]),
        "top1_err": [("train", *_by_epoch(log.train, "top1_err"), "epoch"),
                     ("val", *_by_epoch(log.val, "top1_err"), "val")],
        "mAP": [("val", *_by_epoch(log.val, "mAP"), "val")],
        "time": [("data wait (dt_data)", *_by_epoch(log.train, "dt_data"), "epoch"),
                 ("compute (dt_net)", *_by_epoch(log.train, "dt_net"), "val")],
    }
    return {name: [s for s in series if s[1]] for name, series in out.items() if any(s[1] for s in series)}


def _draw(ax, runs: list, name: str, ylabel: str) -> None:
    """Draw panel `name` of every run `(label, series)` on `ax`; one colour per run."""
    several = len(runs) > 1
    for i, (label, series) in enumerate(runs):
        color = f"C{i % 10}"
        for what, xs, ys, style in series.get(name, []):
            text = f"{label}: {what}" if several else what
            if style == "iter":
                ax.plot(xs, ys, color=color, linewidth=0.8, alpha=0.45 if name == "loss" else 1.0, label=text)
            else:
                ax.plot(xs, ys, color=color, marker="o", markersize=3.5, linestyle="--" if style == "val" else "-",
                        label=text)
    if name == "lr":
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(ax.get_lines()) > 1:
        ax.legend(fontsize=7)


def _save(fig, path: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def plot_runs(runs: list, out_dir: str) -> list[str]:
    """Write the panels of `runs` (a list of `(label, TrainingLog)`) as PNGs into `out_dir`, each run
    in its own colour; returns the paths written (curves.png last)."""
    from matplotlib.figure import Figure

    series = [(label, panel_series(log)) for label, log in runs]
    names = [(n, y) for n, y in PANELS if any(n in s for _, s in series)]
    written = []
    for name, ylabel in names:
        fig = Figure(figsize=(5.5, 3.6), layout="constrained")
        _draw(fig.add_subplot(), series, name, ylabel)
        path = os.path.join(out_dir, f"{name}.png")
        _save(fig, path)
        written.append(path)
    if names:
        cols = min(3, len(names))
        rows = -(-len(names) // cols)
        fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
        for i, (name, ylabel) in enumerate(names):
            _draw(fig.add_subplot(rows, cols, i + 1), series, name, ylabel)
        path = os.path.join(out_dir, "curves.png")
        _save(fig, path)
        written.append(path)
    return written


def update_run_plots(output_dir: str) -> list[str]:
    """Redraw OUTPUT_DIR/plots/ from OUTPUT_DIR/log.txt (the training loop calls this, master process). A
    failure is logged as a warning and drawing is given up: curves are not worth stopping a training for."""
    try:
        paths = plot_runs([("run", read_training_log(output_dir))], os.path.join(output_dir, "plots"))
    except Exception as e:  # noqa: BLE001 - see the docstring
        logger.warning("training curves not drawn: %s: %s", type(e).__name__, e)
        return []
    logger.info("training curves: %s", ", ".join(os.path.relpath(p, output_dir) for p in paths))
    return paths
