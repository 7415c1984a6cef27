"""Model inputs made up from the config: one view of zeros in the shape the built model takes (the
pathway list, and a whole-frame box per clip for detection models), for FLOP counts, summaries and
benchmarks."""
from __future__ import annotations

import torch

from slowfast.config.validation import num_pathways
from slowfast.models.build import detection_spec


def dummy_inputs(cfg, size: int, batch: int = 1, device: str | torch.device = "cpu") -> tuple:
    """Inputs for one view of `size x size` pixels: `(pathways,)`, or `(pathways, boxes)` when the
    config's model is a detection model (its spec has a RoI head).

    The widest pathway gets DATA.NUM_FRAMES frames; the Slow pathway NUM_FRAMES / alpha.
    """
    t = cfg.DATA.NUM_FRAMES
    if num_pathways(cfg) == 2:
        frames = [t // cfg.SLOWFAST.ALPHA, t]
    else:
        frames = [t]
    xs = [torch.zeros(batch, cfg.DATA.INPUT_CHANNEL_NUM[p], n, size, size, device=device) for p, n in enumerate(frames)]
    if detection_spec(cfg) is not None:
        boxes = torch.tensor([[b, 0.0, 0.0, size - 1.0, size - 1.0] for b in range(batch)], device=device)
        return (xs, boxes)
    return (xs,)
