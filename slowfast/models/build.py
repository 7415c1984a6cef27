"""Model registry and `build_model(cfg)`: the one place where the model config is read."""
from __future__ import annotations

import torch
import torch.nn as nn
from fvcore.common.registry import Registry

from slowfast.config.validation import stage_depths
from slowfast.models.conv import apply_memory_format, preferred_memory_format
from slowfast.models.freeze import detach_final_fc, freeze_stages
from slowfast.models.init import init_weights
from slowfast.models.video_net import DetectionSpec, VideoNet, VideoNetSpec

MODEL_REGISTRY = Registry("MODEL")
MODEL_REGISTRY.__doc__ = "Video models by MODEL.MODEL_NAME; each entry maps a config to an nn.Module."

# Temporal kernel sizes per architecture: [conv1, res2, res3, res4, res5] x pathway (Table 1 for
# "slowfast": Slow 1-1-1-3-3, Fast 5-3-3-3-3). A stage entry is cycled over its blocks; only the first
# RESNET.NUM_BLOCK_TEMP_KERNEL blocks of a stage use it, the others use 1.
TEMPORAL_KERNEL_BASIS = {
    "slowfast": [[[1], [5]], [[1], [3]], [[1], [3]], [[3], [3]], [[3], [3]]],
    "slow": [[[1]], [[1]], [[1]], [[3]], [[3]]],
    "fast": [[[5]], [[3]], [[3]], [[3]], [[3]]],
    "c2d": [[[1]], [[1]], [[1]], [[1]], [[1]]],
    "i3d": [[[5]], [[3]], [[3, 1]], [[3, 1]], [[1, 3]]],
}


def block_temporal_kernels(basis: list[int], num_blocks: int, num_temp_blocks: int) -> list[int]:
    """Per-block temporal kernels of a stage: the basis cycled over the first `num_temp_blocks`, then 1s."""
    cycled = (basis * num_blocks)[:num_blocks]
    return cycled[:num_temp_blocks] + [1] * (num_blocks - num_temp_blocks)


def temporal_kernels_from_cfg(cfg) -> list:
    basis = TEMPORAL_KERNEL_BASIS[cfg.MODEL.ARCH]
    npath = len(basis[0])
    depths = stage_depths(cfg)
    kernels = [[basis[0][p][0] for p in range(npath)]]
    for s in range(4):
        kernels.append([
            block_temporal_kernels(basis[s + 1][p], depths[s], cfg.RESNET.NUM_BLOCK_TEMP_KERNEL[s][p])
            for p in range(npath)
        ])
    return kernels


def head_pool_sizes(cfg) -> list | None:
    """Classification-head pooling kernels per pathway, PySlowFast's (`video_model_builder.py`): the
    training clip's feature map, `[frames of the pathway, TRAIN_CROP_SIZE // 32, TRAIN_CROP_SIZE // 32]`
    (Slow pathway: DATA.NUM_FRAMES // SLOWFAST.ALPHA frames); None (global) for MODEL.HEAD_POOLING global."""
    if cfg.MODEL.HEAD_POOLING == "global":
        return None
    side = max(1, cfg.DATA.TRAIN_CROP_SIZE // 32)
    if cfg.MODEL.MODEL_NAME != "SlowFast":
        return [[cfg.DATA.NUM_FRAMES, side, side]]
    return [[cfg.DATA.NUM_FRAMES // cfg.SLOWFAST.ALPHA, side, side], [cfg.DATA.NUM_FRAMES, side, side]]


def detection_spec(cfg) -> DetectionSpec | None:
    """The RoI head of a detection config (DETECTION.*), None for classification: the one place where the
    model side reads which task the config is for."""
    if not cfg.DETECTION.ENABLE:
        return None
    return DetectionSpec(
        resolution=cfg.DETECTION.ROI_XFORM_RESOLUTION,
        scale_factor=cfg.DETECTION.SPATIAL_SCALE_FACTOR,
        aligned=cfg.DETECTION.ALIGNED,
        context_branch=cfg.DETECTION.CONTEXT_BRANCH,
    )


def spec_from_cfg(cfg) -> VideoNetSpec:
    """Translate the config into the explicit arguments of VideoNet."""
    two = cfg.MODEL.MODEL_NAME == "SlowFast"
    npath = 2 if two else 1
    per_stage = lambda v: [list(x)[:npath] for x in v]  # noqa: E731
    return VideoNetSpec(
        num_classes=cfg.MODEL.NUM_CLASSES,
        stage_depths=stage_depths(cfg),
        temporal_kernels=temporal_kernels_from_cfg(cfg),
        input_channels=list(cfg.DATA.INPUT_CHANNEL_NUM)[:npath],
        width_per_group=cfg.RESNET.WIDTH_PER_GROUP,
        num_groups=cfg.RESNET.NUM_GROUPS,
        stem_dim=cfg.MODEL.STEM_DIM,
        beta_inv=cfg.SLOWFAST.BETA_INV,
        alpha=cfg.SLOWFAST.ALPHA,
        fusion_conv_channel_ratio=cfg.SLOWFAST.FUSION_CONV_CHANNEL_RATIO,
        fusion_kernel=cfg.SLOWFAST.FUSION_KERNEL_SZ,
        spatial_strides=per_stage(cfg.RESNET.SPATIAL_STRIDES),
        spatial_dilations=per_stage(cfg.RESNET.SPATIAL_DILATIONS),
        nonlocal_locations=per_stage(cfg.NONLOCAL.LOCATION),
        nonlocal_pool=per_stage(cfg.NONLOCAL.POOL),
        nonlocal_group=per_stage(cfg.NONLOCAL.GROUP),
        nonlocal_instantiation=cfg.NONLOCAL.INSTANTIATION,
        trans_func=cfg.RESNET.TRANS_FUNC,
        stride_1x1=cfg.RESNET.STRIDE_1X1,
        inplace_relu=cfg.RESNET.INPLACE_RELU,
        dropout_rate=cfg.MODEL.DROPOUT_RATE,
        head_act=cfg.MODEL.HEAD_ACT,
        num_pathways=npath,
        detection=detection_spec(cfg),
        head_pool_sizes=head_pool_sizes(cfg),
        bn_type=cfg.BN.NORM_TYPE,
        bn_num_splits=cfg.BN.NUM_SPLITS,
        bn_eps=cfg.BN.EPSILON,
        bn_momentum=cfg.BN.MOMENTUM,
        pixel_mean=clip_channel_stats(cfg)[0],
        pixel_std=clip_channel_stats(cfg)[1],
    )


def clip_channel_stats(cfg) -> tuple[list[float], list[float]]:
    """DATA.MEAN / DATA.STD in the channel order of the clips the model receives. The loaders normalise in
    the order they read (Kinetics: RGB; AVA "pyslowfast": OpenCV's BGR, then reversed to RGB unless
    AVA.BGR), and DATA.REVERSE_INPUT_CHANNEL reverses once more; an odd number of reversals reverses
    the statistics."""
    flips = int(cfg.DATA.REVERSE_INPUT_CHANNEL)
    if detection_spec(cfg) is not None and cfg.AVA.PREPROCESS == "pyslowfast" and not cfg.AVA.BGR:
        flips += 1
    order = slice(None, None, -1) if flips % 2 else slice(None)
    return list(cfg.DATA.MEAN)[order], list(cfg.DATA.STD)[order]


def _video_net(cfg) -> nn.Module:
    model = VideoNet(spec_from_cfg(cfg))
    init_weights(model, cfg.MODEL.FC_INIT_STD, cfg.RESNET.ZERO_INIT_FINAL_BN)
    return model


@MODEL_REGISTRY.register()
def SlowFast(cfg) -> nn.Module:  # noqa: N802 (registry name = MODEL.MODEL_NAME)
    """Two pathways (Slow + Fast) with lateral connections."""
    return _video_net(cfg)


@MODEL_REGISTRY.register()
def ResNet(cfg) -> nn.Module:  # noqa: N802
    """One pathway: Slow-only, Fast-only (e.g. Fast beta=1 32x2), C2D or I3D by MODEL.ARCH."""
    return _video_net(cfg)


def memory_format_for(cfg, device: torch.device | str) -> torch.memory_format:
    """MODEL.MEMORY_FORMAT: "auto" = the device's preferred format (channels_last_3d on CPU and CUDA),
    "channels_last_3d" or "contiguous"."""
    choice = cfg.MODEL.MEMORY_FORMAT
    if choice == "auto":
        return preferred_memory_format(device)
    return torch.channels_last_3d if choice == "channels_last_3d" else torch.contiguous_format


def build_model(cfg, device: torch.device | str | None = None) -> nn.Module:
    """Build MODEL.MODEL_NAME from the registry and move it to `device` (default: the current GPU when
    NUM_GPUS > 0, else CPU), in the memory format of MODEL.MEMORY_FORMAT for that device (on CPU with
    channels_last_3d, the convolutions run as 2-D ones: `slowfast.models.conv`; same results, same
    state-dict keys; inputs may be contiguous). Pass device="meta" to build without allocating weights."""
    if cfg.MODEL.NUM_CLASSES < 1:
        raise ValueError(f"build_model: MODEL.NUM_CLASSES is {cfg.MODEL.NUM_CLASSES}; 0 means 'from the dataset' and "
                         "is resolved by slowfast.data_prep.check.resolve_num_classes (tools/run_net.py does it)")
    name = cfg.MODEL.MODEL_NAME
    try:
        builder = MODEL_REGISTRY.get(name)
    except KeyError as e:
        raise KeyError(f"MODEL.MODEL_NAME {name!r} is not registered; known: {sorted(MODEL_REGISTRY._obj_map)}") from e
    if device == "meta":
        with torch.device("meta"):
            return builder(cfg)
    model = builder(cfg)
    if device is None:
        device = torch.device("cuda", torch.cuda.current_device()) if cfg.NUM_GPUS > 0 and torch.cuda.is_available() \
            else torch.device("cpu")
    model = model.to(device)
    apply_memory_format(model, memory_format_for(cfg, device), device)
    return model


def prepare_for_training(cfg, model: nn.Module) -> list[str]:
    """The training-only model controls: MODEL.FROZEN_STAGES, MODEL.DETACH_FINAL_FC, MODEL.ACT_CHECKPOINT
    (`slowfast.models.freeze`, `slowfast.models.act_checkpoint`). Call before building the optimizer (frozen
    parameters are left out of it). Returns one log line per control that is on."""
    notes = []
    if cfg.MODEL.FROZEN_STAGES:
        names = freeze_stages(model, cfg.MODEL.FROZEN_STAGES)
        notes.append(f"MODEL.FROZEN_STAGES {cfg.MODEL.FROZEN_STAGES}: frozen {', '.join(names)} "
                     "(requires_grad False, BN statistics kept)")
    if cfg.MODEL.DETACH_FINAL_FC:
        n = detach_final_fc(model)
        notes.append(f"MODEL.DETACH_FINAL_FC: linear probe, {n} head parameters train")
    if cfg.MODEL.ACT_CHECKPOINT:
        model.act_checkpoint = True
        notes.append("MODEL.ACT_CHECKPOINT: backbone stages recomputed in the backward pass")
    return notes
