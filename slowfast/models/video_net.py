"""Assemble pathways into a network: stem -> res2 -> res3 -> res4 -> res5 -> head, with Fast->Slow
lateral connections after pool1, res2, res3 and res4 when there are two pathways.

`VideoNet` covers the SlowFast model (two pathways) and single-pathway ResNets (Slow-only, Fast-only,
C2D, I3D). Every argument is explicit; `slowfast.models.build` translates a config into them.
Submodule names (`s1`, `s1_fuse`, `s2`, ..., `head`) follow PySlowFast so its checkpoints load.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn as nn

from slowfast.models.act_checkpoint import run_checkpointed
from slowfast.models.fusion import FuseFastToSlow
from slowfast.models.heads import ResNetBasicHead, ResNetRoIHead
from slowfast.models.norm import get_norm, is_batch_norm, relu_factory
from slowfast.models.resnet import ResStage, StageSpec, TRANSFORMS
from slowfast.models.stem import VideoStem
from slowfast.utils.pixels import normalize_pixels


@dataclass
class DetectionSpec:
    """RoI head settings (AVA): RoIAlign resolution, feature stride, aligned flag, context branch."""

    resolution: int = 7
    scale_factor: int = 16
    aligned: bool = True
    context_branch: bool = False


@dataclass
class VideoNetSpec:
    """Everything that defines a VideoNet. Per-pathway lists are indexed [pathway]; per-stage lists
    [stage] for res2..res5. `temporal_kernels[0]` holds conv1's kernel (an int) per pathway, and
    `temporal_kernels[s + 1][p]` the list of per-block temporal kernels of stage s, pathway p."""

    num_classes: int
    stage_depths: Sequence[int]
    temporal_kernels: Sequence[Sequence]
    input_channels: Sequence[int] = (3, 3)
    width_per_group: int = 64
    num_groups: int = 1
    stem_dim: int = 64
    beta_inv: int = 8  # two pathways only: the Fast pathway has 1/beta_inv of the channels
    alpha: int = 4  # two pathways only: frame-rate ratio (stride of the lateral convs)
    fusion_conv_channel_ratio: int = 2
    fusion_kernel: int = 5
    spatial_strides: Sequence[Sequence[int]] = ((1, 1), (2, 2), (2, 2), (2, 2))
    spatial_dilations: Sequence[Sequence[int]] = ((1, 1), (1, 1), (1, 1), (1, 1))
    nonlocal_locations: Sequence[Sequence[Sequence[int]]] = (((), ()),) * 4
    nonlocal_pool: Sequence[Sequence[Sequence[int]]] = (((1, 2, 2), (1, 2, 2)),) * 4
    nonlocal_group: Sequence[Sequence[int]] = ((1, 1),) * 4
    nonlocal_instantiation: str = "dot_product"
    trans_func: str = "bottleneck_transform"
    stride_1x1: bool = False
    inplace_relu: bool = True
    dropout_rate: float = 0.5
    head_act: str = "softmax"
    num_pathways: int = 2
    pathway_width_ratio: Optional[Sequence[float]] = None  # default: [1, 1/beta_inv] or [1]
    detection: Optional[DetectionSpec] = None
    head_pool_sizes: Optional[Sequence[Optional[Sequence[int]]]] = None  # per pathway (t, h, w); None: global
    # Every normalization layer (stem, lateral, residual and non-local BNs): `slowfast.models.norm.get_norm`.
    bn_type: str = "batchnorm"  # or "sub_batchnorm" (bn_num_splits sub-batches), "sync_batchnorm"
    bn_num_splits: int = 1
    bn_eps: float = 1e-5
    bn_momentum: float = 0.1
    # uint8 inputs are normalised to (x / 255 - pixel_mean[c]) / pixel_std[c] per input channel (in the
    # inputs' channel order); None: uint8 inputs are refused. Float inputs are taken as normalised.
    pixel_mean: Optional[Sequence[float]] = None
    pixel_std: Optional[Sequence[float]] = None


class VideoNet(nn.Module):
    """A one- or two-pathway 3D ResNet.

    forward(xs) with xs = `[slow B x 3 x T x H x W, fast B x 3 x alpha*T x H x W]` (or `[clip]` for one
    pathway) returns `B x num_classes`; the detection variant takes `forward(xs, boxes)` with boxes
    `N x 5` (batch index, x1, y1, x2, y2 in input pixels) and returns `N x num_classes`. Pathways may be
    normalised float clips or uint8 pixels (the training loader's, DATA.NORMALIZE_ON_DEVICE), which the
    model normalises first on its own device (:meth:`normalize_inputs`, spec.pixel_mean / pixel_std).
    """

    def __init__(self, spec: VideoNetSpec):
        super().__init__()
        self.spec = spec
        # Training controls, set by `slowfast.models.build.prepare_for_training` (all off by default).
        self.frozen_modules: tuple[str, ...] = ()  # MODEL.FROZEN_STAGES: their BNs stay in eval mode
        self.detach_features = False  # MODEL.DETACH_FINAL_FC
        self.act_checkpoint = False  # MODEL.ACT_CHECKPOINT
        npath = spec.num_pathways
        ratios = list(spec.pathway_width_ratio or ([1.0, 1.0 / spec.beta_inv] if npath == 2 else [1.0]))
        width = spec.num_groups * spec.width_per_group
        norm = get_norm(spec.bn_type, spec.bn_num_splits, spec.bn_eps, spec.bn_momentum)
        relu = relu_factory(spec.inplace_relu)
        fusing = npath == 2

        def scaled(c: int) -> tuple[int, ...]:
            return tuple(int(round(c * r)) for r in ratios)

        stats = (spec.pixel_mean, spec.pixel_std)
        if (stats[0] is None) != (stats[1] is None):
            raise ValueError("VideoNetSpec: give both pixel_mean and pixel_std, or neither")
        for name, values in zip(("pixel_mean", "pixel_std"), stats):  # not in the state dict (checkpoints)
            self.register_buffer(name, None if values is None else torch.tensor(values, dtype=torch.float32),
                                 persistent=False)
        stem_out = scaled(spec.stem_dim)
        self.s1 = VideoStem(spec.input_channels[:npath], stem_out, list(spec.temporal_kernels[0][:npath]), norm, relu)
        dim_in = stem_out
        out_mult = 4 if spec.trans_func == "bottleneck_transform" else 1
        for s in range(4):
            if fusing:
                self.add_module(f"s{s + 1}_fuse", FuseFastToSlow(
                    dim_in[1], spec.fusion_conv_channel_ratio, spec.fusion_kernel, spec.alpha, norm, relu))
                dim_in = (dim_in[0] + dim_in[1] * spec.fusion_conv_channel_ratio, dim_in[1])
            stage = StageSpec(
                dim_in=dim_in,
                dim_out=scaled(spec.width_per_group * out_mult * 2**s),
                dim_inner=scaled(width * 2**s),
                temporal_kernels=tuple(tuple(spec.temporal_kernels[s + 1][p]) for p in range(npath)),
                stride=tuple(spec.spatial_strides[s])[:npath],
                num_blocks=spec.stage_depths[s],
                dilation=tuple(spec.spatial_dilations[s])[:npath],
                nonlocal_inds=tuple(tuple(spec.nonlocal_locations[s][p]) for p in range(npath)),
                nonlocal_pool=tuple(tuple(spec.nonlocal_pool[s][p]) for p in range(npath)),
                nonlocal_group=tuple(spec.nonlocal_group[s])[:npath],
                nonlocal_instantiation=spec.nonlocal_instantiation,
                trans_func=TRANSFORMS[spec.trans_func],
                num_groups=spec.num_groups,
                stride_1x1=spec.stride_1x1,
            )
            self.add_module(f"s{s + 2}", ResStage(stage, norm, relu))
            dim_in = stage.dim_out
        self.out_dims = list(dim_in)
        if spec.detection is not None:
            d = spec.detection
            self.head = ResNetRoIHead(dim_in, spec.num_classes, d.resolution, d.scale_factor, spec.dropout_rate,
                                      spec.head_act, d.aligned, d.context_branch)
        else:
            self.head = ResNetBasicHead(dim_in, spec.num_classes, spec.dropout_rate, spec.head_act, spec.head_pool_sizes)

    @property
    def num_pathways(self) -> int:
        return self.spec.num_pathways

    @property
    def is_detection(self) -> bool:
        return self.spec.detection is not None

    def stages(self) -> list[tuple[str, nn.Module]]:
        """The backbone modules in forward order, as (name, module) pairs."""
        names = ["s1"]
        for s in range(2, 6):
            if hasattr(self, f"s{s - 1}_fuse"):
                names.append(f"s{s - 1}_fuse")
            names.append(f"s{s}")
        return [(n, getattr(self, n)) for n in names]

    def train(self, mode: bool = True) -> "VideoNet":
        """nn.Module.train, except that the BN layers of frozen stages (`frozen_modules`) stay in eval mode."""
        super().train(mode)
        for name in self.frozen_modules if mode else ():
            for m in getattr(self, name).modules():
                if is_batch_norm(m):
                    m.eval()
        return self

    def normalize_inputs(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """uint8 pathways -> float `(x / 255 - pixel_mean) / pixel_std` (the loader's own formula, so the
        same floats); float pathways unchanged."""
        out = []
        for x in xs:
            if x.dtype == torch.uint8:
                if self.pixel_mean is None:
                    raise ValueError("uint8 input clips: this model has no pixel_mean / pixel_std to normalise them")
                x = normalize_pixels(x, self.pixel_mean, self.pixel_std)
            out.append(x)
        return out

    def forward_features(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Backbone only: list of per-pathway res5 features `B x C_p x T_p x H' x W'`."""
        xs = self.normalize_inputs(xs)
        for name, module in self.stages():  # MODEL.ACT_CHECKPOINT: trained stages recompute in backward
            recompute = self.act_checkpoint and self.training and name not in self.frozen_modules
            xs = run_checkpointed(module, xs) if recompute else module(xs)
        return xs

    def forward(self, xs: list[torch.Tensor], boxes: torch.Tensor | None = None) -> torch.Tensor:
        feats = self.forward_features(xs)
        if self.detach_features:
            feats = [f.detach() for f in feats]
        if self.is_detection:
            if boxes is None:
                raise ValueError("a detection model needs boxes: forward(inputs, boxes) with boxes N x 5")
            return self.head(feats, boxes)
        return self.head(feats)
