"""Mixup, CutMix and label smoothing of a training batch (MIXUP.*, PySlowFast's keys and defaults).

Applied by the classification task to each training batch once it is on its device (`engine.tasks`), after
uint8 -> float: uint8 clips (DATA.NORMALIZE_ON_DEVICE) are normalised here with the model's own statistics
(`models.build.clip_channel_stats`), so the model receives normalised floats as from the float pipeline.
Mixing normalised pixels equals normalising mixed pixels, the weights summing to 1.

The rule, per batch (one draw for the whole batch, as PySlowFast's default "batch" mode):
- with probability MIXUP.PROB the batch is mixed, else only the labels are smoothed (weight 1);
- CutMix (probability MIXUP.SWITCH_PROB when both alphas are > 0) or mixup; the weight `lam` is drawn from
  Beta(CUTMIX_ALPHA) or Beta(ALPHA);
- item i is mixed with item B-1-i (the batch reversed): mixup `lam * x_i + (1 - lam) * x_{B-1-i}`; CutMix
  pastes a box of x_{B-1-i} of about (1 - lam) of the frame area into x_i, the box cut to the frame, and
  `lam` becomes the area actually kept, `1 - box area / frame area`;
- every pathway and every frame of a clip gets the same weight or the same box (pathways share H x W);
- targets: `lam * smooth(y_i) + (1 - lam) * smooth(y_{B-1-i})` with `smooth(y) = y (1 - v) + v / C`
  (v = MIXUP.LABEL_SMOOTH_VALUE, C classes): a distribution over classes that sums to 1 for one-label
  data, per-class values for multi-label (DATA.MULTI_LABEL) multi-hot targets.
Detection configs refuse MIXUP.ENABLE at load time (`config.validation._check_mixup`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch

from slowfast.models.build import clip_channel_stats
from slowfast.utils.pixels import normalize_pixels


def smooth_targets(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """Class indices (B) or multi-hot (B x C) -> float targets `y (1 - v) + v / C`."""
    if labels.dim() == 1:
        labels = torch.nn.functional.one_hot(labels.long(), num_classes)
    labels = labels.float()
    return labels * (1.0 - smoothing) + smoothing / num_classes


def cutmix_box(height: int, width: int, lam: float, rng) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a box of about `(1 - lam)` of the `height x width` area, its centre uniform over
    the frame and the box cut to the frame."""
    ratio = float(np.sqrt(1.0 - lam))
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    y0, y1 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
    x0, x1 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
    return int(y0), int(y1), int(x0), int(x1)


class Mixup:
    """`mixup(inputs, labels) -> (inputs, targets)` on one batch; `last` holds the last draw
    (`lam`, `box` or None, `mixed`) for the logs and tests."""

    def __init__(self, num_classes: int, alpha: float = 0.8, cutmix_alpha: float = 1.0, prob: float = 1.0,
                 switch_prob: float = 0.5, smoothing: float = 0.1, pixel_mean: Optional[Sequence[float]] = None,
                 pixel_std: Optional[Sequence[float]] = None, rng: Optional[np.random.Generator] = None):
        self.num_classes, self.alpha, self.cutmix_alpha = num_classes, alpha, cutmix_alpha
        self.prob, self.switch_prob, self.smoothing = prob, switch_prob, smoothing
        self.pixel_mean, self.pixel_std = pixel_mean, pixel_std
        self.rng = rng  # None: numpy's global generator, seeded per epoch by the training loop
        self.last: dict = {}

    @classmethod
    def from_cfg(cls, cfg) -> Optional["Mixup"]:
        """The MIXUP.* mixer of a run, or None when MIXUP.ENABLE is False."""
        if not cfg.MIXUP.ENABLE:
            return None
        mean, std = clip_channel_stats(cfg)
        m = cfg.MIXUP
        return cls(cfg.MODEL.NUM_CLASSES, m.ALPHA, m.CUTMIX_ALPHA, m.PROB, m.SWITCH_PROB, m.LABEL_SMOOTH_VALUE,
                   mean, std)

    def _rng(self):
        return self.rng if self.rng is not None else np.random.default_rng(np.random.randint(2**31))

    def draw(self, height: int, width: int) -> dict:
        """This batch's `lam`, CutMix `box` (y0, y1, x0, x1) or None, and whether it is mixed at all."""
        rng = self._rng()
        if rng.random() >= self.prob:
            return {"lam": 1.0, "box": None, "mixed": False}
        use_cutmix = self.cutmix_alpha > 0 and (self.alpha <= 0 or rng.random() < self.switch_prob)
        if not use_cutmix:
            return {"lam": float(rng.beta(self.alpha, self.alpha)), "box": None, "mixed": True}
        box = cutmix_box(height, width, float(rng.beta(self.cutmix_alpha, self.cutmix_alpha)), rng)
        y0, y1, x0, x1 = box
        return {"lam": 1.0 - (y1 - y0) * (x1 - x0) / float(height * width), "box": box, "mixed": True}

    def to_float(self, x: torch.Tensor) -> torch.Tensor:
        """A pathway as normalised float (uint8 pixels normalised with the model's statistics)."""
        if x.dtype != torch.uint8:
            return x
        if self.pixel_mean is None:
            raise ValueError("mixup of uint8 clips needs the pixel mean and std to normalise them")
        return normalize_pixels(x, self.pixel_mean, self.pixel_std)

    def __call__(self, inputs: list[torch.Tensor], labels: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Pathways `B x C x T x H x W` and labels (B indices or B x C multi-hot) -> mixed float pathways
        and `B x C` float targets."""
        inputs = [self.to_float(x) for x in inputs]
        height, width = inputs[0].shape[-2:]
        draw = self.draw(height, width)
        self.last = draw
        targets = smooth_targets(labels, self.num_classes, self.smoothing).to(inputs[0].device)
        lam = draw["lam"]
        if not draw["mixed"]:
            return inputs, targets
        if draw["box"] is None:
            inputs = [x.mul(lam).add_(x.flip(0), alpha=1.0 - lam) for x in inputs]
        else:
            y0, y1, x0, x1 = draw["box"]
            out = []
            for x in inputs:
                if x.shape[-2:] != (height, width):
                    raise ValueError("CutMix needs every pathway at the same height and width")
                x = x.clone()
                x[..., y0:y1, x0:x1] = x.flip(0)[..., y0:y1, x0:x1]
                out.append(x)
            inputs = out
        return inputs, targets * lam + targets.flip(0) * (1.0 - lam)
