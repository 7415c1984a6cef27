"""TensorBoard scalars and figures (TENSORBOARD.ENABLE), written by the master process only."""
from __future__ import annotations

import os


class TensorboardWriter:
    """Thin wrapper over torch.utils.tensorboard.SummaryWriter; a no-op when disabled."""

    def __init__(self, cfg, enabled: bool | None = None):
        enabled = cfg.TENSORBOARD.ENABLE if enabled is None else enabled
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            log_dir = cfg.TENSORBOARD.LOG_DIR or os.path.join(cfg.OUTPUT_DIR, "runs")
            self.writer = SummaryWriter(log_dir=log_dir)

    def add_scalars(self, values: dict, step: int, prefix: str = "") -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self.writer.add_scalar(f"{prefix}{k}", v, step)

    def add_figure(self, tag: str, figure, step: int = 0) -> None:
        """A matplotlib figure as an image (closed afterwards)."""
        if self.writer is not None:
            self.writer.add_figure(tag, figure, step, close=True)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()
