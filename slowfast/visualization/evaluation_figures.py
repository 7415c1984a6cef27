"""Figures of test results: the confusion matrix of a classification test and AVA precision-recall curves.

PNG files are written atomically (matplotlib, Agg backend). `confusion_figure` also feeds TensorBoard
(`TENSORBOARD.CONFUSION_MATRIX.ENABLE`).
"""
from __future__ import annotations

import os
import re

import numpy as np

from slowfast.utils.io import atomic_write

_ANNOTATE_UP_TO = 30  # classes; above that the cells are too small for their counts
_NAMES_UP_TO = 100  # classes; above that the axes show indices (results.json has the names)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_figure(counts, names: list[str], figsize=(8, 8), title: str = "Confusion matrix"):
    """A matplotlib Figure: rows = true class, columns = predicted class, colour = share of the row
    (so rare classes show as clearly as common ones), cells annotated with counts up to 30 classes, class
    names on the axes up to 100."""
    plt = _pyplot()
    counts = np.asarray(counts, dtype=np.int64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    fig, ax = plt.subplots(figsize=tuple(figsize))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    if len(names) <= _NAMES_UP_TO:
        ticks = np.arange(len(names))
        small = 8 if len(names) <= _ANNOTATE_UP_TO else 5
        ax.set_xticks(ticks, names, rotation=60, ha="right", fontsize=small)
        ax.set_yticks(ticks, names, fontsize=small)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    if len(names) <= _ANNOTATE_UP_TO:
        for (r, c), n in np.ndenumerate(counts):
            if n:
                ax.text(c, r, str(n), ha="center", va="center", fontsize=8,
                        color="white" if share[r, c] > 0.5 else "black")
    fig.tight_layout()
    return fig


def save_png(fig, path: str, dpi: int = 100) -> str:
    """Write `fig` to `path` as PNG (atomically), close it; -> `path`."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi), "wb")
    _pyplot().close(fig)
    return path


def write_confusion_png(counts, names: list[str], path: str, figsize=(8, 8), title: str = "Confusion matrix") -> str:
    return save_png(confusion_figure(counts, names, figsize, title), path)


def _file_name(class_id: int, name: str) -> str:
    return "pr_%03d_%s.png" % (class_id, re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:60] or "class")


def write_pr_curves(curves: list[tuple], out_dir: str) -> list[str]:
    """One PNG per class in `out_dir`, `pr_<id>_<name>.png`: its precision-recall curve down the ranked
    detections (precision as computed and made non-increasing, as AP integrates it). `curves`: (class id,
    name, AP, recall [n], precision [n]) tuples; classes without ground truth are skipped. -> paths written."""
    plt = _pyplot()
    written = []
    for class_id, name, ap, recall, precision in curves:
        if recall.size == 0 and (ap is None or ap != ap):
            continue
        fig, ax = plt.subplots(figsize=(4.5, 4))
        if recall.size:
            envelope = np.maximum.accumulate(precision[::-1])[::-1]
            ax.plot(recall, precision, color="0.7", lw=1, label="precision")
            ax.step(recall, envelope, where="post", color="C0", lw=1.5, label="interpolated")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title("%s (id %d): AP %.3f" % (name, class_id, 0.0 if ap is None or ap != ap else ap), fontsize=9)
        ax.legend(loc="lower left", fontsize=7)
        fig.tight_layout()
        written.append(save_png(fig, os.path.join(out_dir, _file_name(class_id, name))))
    return written
