"""The report's figure: Kinetics top-1 / AVA mAP vs GFLOPs per view, published ("o") and measured ("*").

Readable whatever rows are given: models without a published number (the synthetic quick starts, about
0.03-0.2 GFLOPs) get a panel of their own instead of stretching the published models' axis over five
decades; each panel's GFLOPs axis spans its own points (log scale, ticks 1-2-5 within two decades, else
one per decade), and every point's label is placed where it overlaps no other label or marker
(`_place_label` tries offsets around the point, then further out with a leader line).
"""
from __future__ import annotations

import math
import os

from slowfast.utils.io import atomic_write

SYNTHETIC = "synthetic"
PANELS = (  # (key, title, y label)
    ("kinetics", "Kinetics (published rows)", "top-1 accuracy (%)"),
    ("ava", "AVA (published rows)", "val mAP (%)"),
    (SYNTHETIC, "quick starts (synthetic data)", "top-1 accuracy or mAP (%)"),
)
# Label offsets tried in turn (points): beside the point, then further out with a leader line.
_OFFSETS = [(r * sx, r * sy) for r in (5, 12, 22, 34, 48) for sy in (1, -1) for sx in (1, -1, 0)]
_FONT = 7


def _x_of(entry: dict):
    """GFLOPs for the figure: computed now, else the published value, else the results file's."""
    measured_gflops = (entry.get("results") or {}).get("gflops_per_view")
    return entry["info"]["gflops"] or entry["row"].gflops or measured_gflops


def figure_points(entries: list[dict]) -> dict:
    """{"kinetics" | "ava" | "synthetic": [(label, gflops, value, "report" | "measured"), ...]}: rows without
    a published number go to "synthetic"; rows without x or y are left out."""
    points = {key: [] for key, _, _ in PANELS}
    for e in entries:
        row, x = e["row"], _x_of(e)
        metric = "mAP" if row.task == "ava" else "top1_acc"
        panel = row.task if row.source else SYNTHETIC
        short = row.name.replace("_", " ") + (f" ({'mAP' if row.task == 'ava' else 'top-1'})"
                                              if panel == SYNTHETIC else "")
        for kind, values in (("report", row.metrics), ("measured", e["measured"] or {})):
            if x and metric in values:
                points[panel].append((short, float(x), float(values[metric]), kind))
    return points


def axis_limits(pts: list) -> tuple[tuple[float, float], tuple[float, float]]:
    """(x limits, y limits) around the points: x a factor 1.8 beyond them (at least a factor 6 wide, log
    scale), y 12 % of the range (at least 6 points) beyond them, within 0..105 %."""
    xs, ys = [p[1] for p in pts], [p[2] for p in pts]
    lo, hi = min(xs) / 1.8, max(xs) * 1.8
    if hi / lo < 6:
        mid = math.sqrt(lo * hi)
        lo, hi = mid / math.sqrt(6), mid * math.sqrt(6)
    pad = max(0.12 * (max(ys) - min(ys)), 3.0)
    return (lo, hi), (max(0.0, min(ys) - pad), min(105.0, max(ys) + pad))


def _overlap(a, b) -> float:
    """Area shared by two display-space boxes (x0, y0, x1, y1)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def _box(bbox) -> tuple:
    return (bbox.x0, bbox.y0, bbox.x1, bbox.y1)


def _place_label(ax, renderer, label: str, xy: tuple, taken: list) -> tuple:
    """Annotate `xy` with `label` at the first offset whose text box stays inside the axes and overlaps
    nothing in `taken` (else the least overlapping one); returns the text's box, added to `taken`."""
    frame = _box(ax.get_window_extent(renderer))
    best = None
    for dx, dy in _OFFSETS:
        far = abs(dx) > 5
        text = ax.annotate(label, xy, xytext=(dx, dy), textcoords="offset points", fontsize=_FONT,
                           ha="left" if dx > 0 else "right" if dx < 0 else "center",
                           va="bottom" if dy > 0 else "top",
                           arrowprops=dict(arrowstyle="-", color="0.6", lw=0.6) if far else None)
        box = _box(text.get_window_extent(renderer))
        outside = (box[2] - box[0]) * (box[3] - box[1]) - _overlap(box, frame)
        cost = outside + sum(_overlap(box, t) for t in taken)
        if best is None or cost < best[0]:
            if best is not None:
                best[1].remove()
            best = (cost, text, box)
        else:
            text.remove()
        if cost == 0:
            break
    taken.append(best[2])
    return best[2]


def _log_axis(ax, lo: float, hi: float) -> None:
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.set_xlim(lo, hi)
    subs = (1.0, 2.0, 5.0) if hi / lo <= 100 else (1.0,)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def _setup_panel(ax, pts: list, title: str, ylabel: str) -> None:
    """One scatter panel: markers, limits, log GFLOPs axis, titles, legend (labels come after the layout)."""
    styles = {"report": dict(marker="o", color="tab:blue", s=30), "measured": dict(marker="*", color="tab:red", s=110)}
    for kind, style in styles.items():
        sel = [p for p in pts if p[3] == kind]
        if sel:
            ax.scatter([p[1] for p in sel], [p[2] for p in sel], label=kind, zorder=3, **style)
    (x0, x1), (y0, y1) = axis_limits(pts)
    _log_axis(ax, x0, x1)
    ax.set_ylim(y0, y1)
    ax.set(xlabel="GFLOPs per view (fvcore)", ylabel=ylabel, title=title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")


def _label_panel(ax, pts: list, renderer) -> dict:
    """Point labels placed off each other, the markers and the legend; returns the panel's limits and the
    display boxes of its point labels and tick labels."""
    taken = [_box(ax.get_legend().get_window_extent(renderer))]
    for _, x, y, _ in pts:
        px, py = ax.transData.transform((x, y))
        taken.append((px - 5, py - 5, px + 5, py + 5))
    labels = [_place_label(ax, renderer, label, (x, y), taken) for label, x, y, _ in pts]
    (x0, x1), ylim = ax.get_xlim(), ax.get_ylim()
    ticks = [_box(t.get_window_extent(renderer)) for t in ax.get_xticklabels()
             if t.get_text() and x0 <= t.get_position()[0] <= x1]
    return {"xlim": (x0, x1), "ylim": ylim, "labels": labels, "xticklabels": ticks,
            "frame": _box(ax.get_window_extent(renderer))}


def write_figure(entries: list[dict], path: str) -> dict:
    """PNG at `path` (written atomically): one panel per group of `figure_points` that has points (the
    two published panels always); returns {panel key: `_label_panel`'s limits and label boxes}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = figure_points(entries)
    keys = [k for k, _, _ in PANELS if pts[k] or k != SYNTHETIC]
    fig, axes = plt.subplots(1, len(keys), figsize=(5.8 * len(keys), 5.0), squeeze=False, dpi=90)
    for ax, key in zip(axes[0], keys):
        _, title, ylabel = next(p for p in PANELS if p[0] == key)
        if pts[key]:
            _setup_panel(ax, pts[key], title, ylabel)
        else:
            ax.set_title(title)
            ax.text(0.5, 0.5, "no numbers", ha="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    layout = {key: _label_panel(ax, pts[key], renderer) for ax, key in zip(axes[0], keys) if pts[key]}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=90))
    plt.close(fig)
    return layout
