"""RandAugment for video clips (AUG.ENABLE, AUG.AA_TYPE in PySlowFast's / timm's ``rand-m9-mstd0.5-inc1``
grammar, parsed by `config.rand_augment_spec`), applied consistently to every frame of a clip.

Per clip, `n` operations are drawn uniformly (with replacement) from the list below; each is applied with
probability 0.5 (timm's RandAugment default) at a magnitude drawn once per operation, `m` plus Gaussian noise
of std `mstd`, cut to 0..10, and a random sign for the signed operations. All T frames get the same
operations with the same magnitudes and signs:
- the geometric operations (Rotate up to 30 degrees, ShearX/Y up to 0.3, TranslateX/YRel up to 45 % of the
  side; the uncovered area grey 128) and Sharpness transform every frame with the same matrix / kernel;
- the colour operations whose effect depends on image statistics (AutoContrast's range, Equalize's
  histogram, Contrast's mean grey) take them over the whole clip, not per frame (AutoContrast and Contrast
  see the clip as one tall image `C x (T*H) x W`; Equalize maps each channel by the clip's cumulative
  histogram). So a clip of T identical frames gives T identical frames, each what the frame alone gives.
Operations (`inc1`: the "increasing" variants, where a larger magnitude is always a stronger change):
AutoContrast, Equalize, Invert, Rotate, Posterize, Solarize, SolarizeAdd, Color, Contrast, Brightness,
Sharpness, ShearX, ShearY, TranslateXRel, TranslateYRel.

torchvision's own `transforms.v2.RandAugment` also treats a `T x C x H x W` tensor as one batch with one op,
but has a fixed magnitude (no `mstd`), no per-operation probability, another operation set and per-frame
statistics, so it does not fit the grammar; the operations here are `transforms.v2.functional`'s.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
import torchvision.transforms.v2.functional as F

from slowfast.config.rand_augment_spec import MAX_MAGNITUDE, RandAugmentSpec, parse_aa_type

FILL = [128.0, 128.0, 128.0]
OP_PROB = 0.5


def _as_image(clip: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply an image op to `T x C x H x W` as one `C x (T*H) x W` image (statistics over the clip)."""
    t, c, h, w = clip.shape
    tall = clip.permute(1, 0, 2, 3).reshape(c, t * h, w)
    return fn(tall).reshape(c, t, h, w).permute(1, 0, 2, 3)


def _equalize(clip: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per channel over the whole clip: value v -> round(255 (cdf(v) - cdf_min) /
    (n - cdf_min)), the cdf counted over all T frames (so repeating the frames changes nothing)."""
    out = torch.empty_like(clip)
    for c in range(clip.shape[1]):
        values = clip[:, c].reshape(-1).long()
        cdf = torch.bincount(values, minlength=256).cumsum(0).double()
        low = cdf[values.min()]
        if cdf[-1] == low:  # one grey level: nothing to spread
            out[:, c] = clip[:, c]
            continue
        lut = ((cdf - low) / (cdf[-1] - low) * 255.0).round().clamp(0, 255).to(torch.uint8)
        out[:, c] = lut[clip[:, c].long()]
    return out


def _solarize_add(clip: torch.Tensor, add: float) -> torch.Tensor:
    shifted = (clip.to(torch.int16) + int(add)).clamp_(0, 255).to(torch.uint8)
    return torch.where(clip < 128, shifted, clip)


def _enhance_factor(level: float, sign: float, increasing: bool) -> float:
    """Colour / contrast / brightness / sharpness factor: 1 +- 0.9 level/10 (inc1) or 0.1 + 1.8 level/10."""
    return 1.0 + sign * 0.9 * level / MAX_MAGNITUDE if increasing else 0.1 + 1.8 * level / MAX_MAGNITUDE


def apply_op(clip: torch.Tensor, name: str, level: float, sign: float = 1.0, increasing: bool = True) -> torch.Tensor:
    """Operation `name` at magnitude `level` (0..10) and `sign` (+1 / -1) on a `T x C x H x W` uint8 clip."""
    frac = level / MAX_MAGNITUDE
    h, w = clip.shape[-2:]
    if name == "AutoContrast":
        return _as_image(clip, F.autocontrast)
    if name == "Equalize":
        return _equalize(clip)
    if name == "Invert":
        return F.invert(clip)
    if name == "Rotate":
        return F.rotate(clip, sign * 30.0 * frac, fill=FILL)
    if name == "Posterize":
        bits = 4 - int(4 * frac) if increasing else 4 + int(4 * frac)
        return F.posterize(clip, max(1, bits))
    if name == "Solarize":
        threshold = 256.0 * (1.0 - frac) if increasing else 256.0 * frac
        return clip if threshold >= 256 else F.solarize(clip, threshold)
    if name == "SolarizeAdd":
        return _solarize_add(clip, 110.0 * frac)
    factor = _enhance_factor(level, sign, increasing)
    if name == "Color":
        return F.adjust_saturation(clip, factor)
    if name == "Contrast":
        return _as_image(clip, lambda img: F.adjust_contrast(img, factor))
    if name == "Brightness":
        return F.adjust_brightness(clip, factor)
    if name == "Sharpness":
        return F.adjust_sharpness(clip, factor)
    if name in ("ShearX", "ShearY"):
        deg = math.degrees(math.atan(sign * 0.3 * frac))
        return F.affine(clip, angle=0.0, translate=[0, 0], scale=1.0, shear=[deg, 0.0] if name == "ShearX" else [0.0, deg],
                        fill=FILL)
    if name in ("TranslateXRel", "TranslateYRel"):
        shift = [round(sign * 0.45 * frac * w), 0] if name == "TranslateXRel" else [0, round(sign * 0.45 * frac * h)]
        return F.affine(clip, angle=0.0, translate=shift, scale=1.0, shear=[0.0, 0.0], fill=FILL)
    raise ValueError(f"unknown RandAugment operation {name!r}")


OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "SolarizeAdd", "Color", "Contrast",
       "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateXRel", "TranslateYRel")


class RandAugment:
    """`aug(frames)`: `T x H x W x C` uint8 frames (the decoder's) -> the same, augmented; `sample()` draws
    one clip's operations as `(name, level, sign)` (applied ones only)."""

    def __init__(self, spec: RandAugmentSpec | str, generator: Optional[torch.Generator] = None):
        self.spec = parse_aa_type(spec) if isinstance(spec, str) else spec
        self.generator = generator  # None: torch's global generator (the loader seeds it per worker and epoch)

    def _rand(self) -> float:
        return float(torch.rand((), generator=self.generator))

    def sample(self) -> list[tuple[str, float, float]]:
        ops = []
        for _ in range(self.spec.num_ops):
            name = OPS[int(torch.randint(len(OPS), (), generator=self.generator))]
            if self._rand() >= OP_PROB:
                continue
            level = self.spec.magnitude
            if self.spec.magnitude_std > 0:
                level += self.spec.magnitude_std * float(torch.randn((), generator=self.generator))
            level = min(MAX_MAGNITUDE, max(0.0, level))
            ops.append((name, level, 1.0 if self._rand() < 0.5 else -1.0))
        return ops

    def apply(self, clip: torch.Tensor, ops: list[tuple[str, float, float]]) -> torch.Tensor:
        """`ops` on a `T x C x H x W` uint8 clip."""
        for name, level, sign in ops:
            clip = apply_op(clip, name, level, sign, self.spec.increasing)
        return clip

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        clip = frames.permute(0, 3, 1, 2)
        return self.apply(clip, self.sample()).permute(0, 2, 3, 1).contiguous()
