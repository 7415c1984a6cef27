"""Validation of a merged config: value ranges and consistency between keys, one `_check_<group>`
function per config group, run in turn by `validate`; the first problem found is raised as a
`ConfigError` naming the key. Add a group's checks as a new `_check_*` function listed in `_CHECKS`
(the training-data groups' checks live in `config.checks_data`; values derived from a config, such as
`world_size`, in `config.derived`).
"""
from __future__ import annotations

import math

from fvcore.common.config import CfgNode

from slowfast.config.checks_data import (check_aug, check_charades, check_iter_checkpoints, check_mixup, check_multigrid,
                                         check_shards)
from slowfast.config.defaults import get_cfg
from slowfast.config.derived import STAGE_DEPTHS, get_key, num_pathways, stage_depths, world_size
from slowfast.config.errors import ConfigError


def all_keys(node: CfgNode, prefix: str = "") -> list[str]:
    """Every key of `node`, dotted, groups included."""
    keys = []
    for k, v in node.items():
        full = prefix + k
        keys.append(full)
        if isinstance(v, CfgNode):
            keys.extend(all_keys(v, full + "."))
    return keys



# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------
_CHOICES = {
    "MODEL.ARCH": ("slowfast", "slow", "fast", "c2d", "i3d"),
    "MODEL.MODEL_NAME": ("SlowFast", "ResNet"),
    "MODEL.LOSS_FUNC": ("cross_entropy", "bce", "soft_cross_entropy"),
    "MODEL.HEAD_ACT": ("softmax", "sigmoid", "none"),
    "RESNET.TRANS_FUNC": ("bottleneck_transform", "basic_transform"),
    "NONLOCAL.INSTANTIATION": ("dot_product", "softmax"),
    "SOLVER.LR_POLICY": ("cosine", "steps_with_relative_lrs"),
    "SOLVER.OPTIMIZING_METHOD": ("sgd", "adamw"),
    "BN.NORM_TYPE": ("batchnorm", "sub_batchnorm", "sync_batchnorm"),
    "DATA.ENSEMBLE_METHOD": ("sum", "mean", "max"),
    "DATA.DECODING_BACKEND": ("pyav", "torchcodec"),
    "DATA.DECODING_DEVICE": ("cpu", "cuda"),
    "DATA.TEMPORAL_SAMPLING": ("pyslowfast", "timestamps"),
    "DATA.SLOW_PATHWAY_SAMPLING": ("linspace", "stride"),
    "DATA.VAL_VIEW": ("random", "fixed"),
    "DATA.FORMAT": ("auto", "files", "shards"),
    "MODEL.HEAD_POOLING": ("train_crop", "global"),
    "TRAIN.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "TEST.CHECKPOINT_TYPE": ("pytorch", "caffe2"),
    "AVA.EVAL_VERSION": ("2018", "2019", "2020"),
    "MODEL.MEMORY_FORMAT": ("auto", "channels_last_3d", "contiguous"),
    "DEMO.CROP": ("center", "full"),
    "DEMO.DETECTOR": ("", "torchvision"),
    "AVA.PREPROCESS": ("pyslowfast", "exact"),
    "TENSORBOARD.MODEL_VIS.GRAD_CAM.WEIGHTING": ("auto", "channel_mean", "per_position"),
    "TEST.PRECISION": ("fp32", "bf16", "fp16"),
    "TEST.RUNTIME": ("torch", "onnxruntime", "openvino"),
}


def validate(cfg: CfgNode, source: str = "config") -> None:
    """Raise ConfigError when values are out of range or inconsistent with each other: the checks of each
    config group in turn; the first problem found is raised."""

    def fail(msg: str) -> None:
        raise ConfigError(f"{source}: {msg}")

    for check in _CHECKS:
        check(cfg, fail)


def _check_numbers(cfg: CfgNode, fail) -> None:
    """Every float key finite (no .inf / .nan), counts that cannot be negative."""
    for key in all_keys(cfg):
        value = get_key(cfg, key)
        floats = value if isinstance(value, (list, tuple)) else [value]
        if any(isinstance(v, float) and not math.isfinite(v) for v in floats):
            fail(f"{key} must be a finite number, got {value}")
    if cfg.DATA_LOADER.NUM_WORKERS < 0:
        fail(f"DATA_LOADER.NUM_WORKERS must be >= 0 (0 = load in the main process), got {cfg.DATA_LOADER.NUM_WORKERS}")


def _check_choices(cfg: CfgNode, fail) -> None:
    """Keys that take one of a fixed set of values (_CHOICES)."""
    for key, choices in _CHOICES.items():
        if get_key(cfg, key) not in choices:
            fail(f"{key} is {get_key(cfg, key)!r}; choose one of {list(choices)}")


def _check_backbone(cfg: CfgNode, fail) -> None:
    """MODEL, RESNET, NONLOCAL: depth, architecture, per-stage lists with one entry per pathway, block
    indices inside their stage, DATA.INPUT_CHANNEL_NUM per pathway, dropout and class count."""
    if cfg.RESNET.DEPTH != 0 and cfg.RESNET.DEPTH not in STAGE_DEPTHS:
        fail(f"RESNET.DEPTH is {cfg.RESNET.DEPTH}; choose one of {sorted(STAGE_DEPTHS)} or 0 (use RESNET.STAGE_DEPTHS)")
    depths = stage_depths(cfg)
    if len(depths) != 4 or any(d < 1 for d in depths):
        fail(f"RESNET.STAGE_DEPTHS must be 4 positive block counts (res2..res5), got {list(depths)}")

    npath = num_pathways(cfg)
    if cfg.MODEL.MODEL_NAME == "SlowFast" and cfg.MODEL.ARCH != "slowfast":
        fail(f"MODEL.MODEL_NAME SlowFast needs MODEL.ARCH slowfast, got {cfg.MODEL.ARCH!r}")
    if cfg.MODEL.MODEL_NAME == "ResNet" and cfg.MODEL.ARCH == "slowfast":
        fail("MODEL.ARCH slowfast needs MODEL.MODEL_NAME SlowFast (ResNet builds one pathway)")
    per_stage = {
        "RESNET.NUM_BLOCK_TEMP_KERNEL": cfg.RESNET.NUM_BLOCK_TEMP_KERNEL,
        "RESNET.SPATIAL_STRIDES": cfg.RESNET.SPATIAL_STRIDES,
        "RESNET.SPATIAL_DILATIONS": cfg.RESNET.SPATIAL_DILATIONS,
        "NONLOCAL.LOCATION": cfg.NONLOCAL.LOCATION,
        "NONLOCAL.GROUP": cfg.NONLOCAL.GROUP,
        "NONLOCAL.POOL": cfg.NONLOCAL.POOL,
    }
    defaults = get_cfg()
    for key, value in per_stage.items():
        if len(value) != 4 or any(not isinstance(s, (list, tuple)) or len(s) < npath for s in value):
            fail(f"{key} must list res2..res5 (4 entries) with one value per pathway ({npath}), got {value}")
        # Longer lists would be ignored silently; the (two-pathway) defaults are left alone.
        if any(len(s) > npath for s in value) and list(value) != list(get_key(defaults, key)):
            fail(f"{key} has more entries per stage than the model has pathways ({npath}, MODEL.MODEL_NAME "
                 f"{cfg.MODEL.MODEL_NAME}), got {value}")
    for s, depth in enumerate(depths):
        for p in range(npath):
            n = cfg.RESNET.NUM_BLOCK_TEMP_KERNEL[s][p]
            if not 0 <= n <= depth:
                fail(f"RESNET.NUM_BLOCK_TEMP_KERNEL[{s}][{p}] = {n} but res{s + 2} has {depth} blocks")
            for idx in cfg.NONLOCAL.LOCATION[s][p]:
                if not 0 <= idx < depth:
                    fail(f"NONLOCAL.LOCATION[{s}][{p}] has block {idx} but res{s + 2} has {depth} blocks")
    channels = list(cfg.DATA.INPUT_CHANNEL_NUM)
    if channels and (len(channels) < npath or (len(channels) > npath and channels != list(defaults.DATA.INPUT_CHANNEL_NUM))):
        fail(f"DATA.INPUT_CHANNEL_NUM needs one entry per pathway ({npath}), got {cfg.DATA.INPUT_CHANNEL_NUM}")
    if not 0.0 <= cfg.MODEL.DROPOUT_RATE < 1.0:
        fail(f"MODEL.DROPOUT_RATE must be in [0, 1), got {cfg.MODEL.DROPOUT_RATE}")
    if cfg.MODEL.NUM_CLASSES < 0:
        fail(f"MODEL.NUM_CLASSES must be >= 1, or 0 to take it from the dataset, got {cfg.MODEL.NUM_CLASSES}")


def _check_slowfast(cfg: CfgNode, fail) -> None:
    """SLOWFAST (two pathways only): alpha divides the clip's frames, beta_inv the width."""
    if cfg.MODEL.MODEL_NAME != "SlowFast":
        return
    alpha = cfg.SLOWFAST.ALPHA
    if alpha < 1:
        fail(f"SLOWFAST.ALPHA must be >= 1, got {alpha}")
    if cfg.DATA.NUM_FRAMES % alpha:
        fail(
            f"SLOWFAST.ALPHA = {alpha} does not divide DATA.NUM_FRAMES = {cfg.DATA.NUM_FRAMES} "
            "(the Slow pathway takes every alpha-th frame of the Fast pathway)"
        )
    if cfg.SLOWFAST.BETA_INV < 1 or cfg.RESNET.WIDTH_PER_GROUP % cfg.SLOWFAST.BETA_INV:
        fail(
            f"SLOWFAST.BETA_INV = {cfg.SLOWFAST.BETA_INV} must divide RESNET.WIDTH_PER_GROUP = "
            f"{cfg.RESNET.WIDTH_PER_GROUP}"
        )


def _check_data(cfg: CfgNode, fail) -> None:
    """DATA: clip length, jitter scales and crop, normalisation statistics, labels, decode retries."""
    if cfg.DATA.NUM_FRAMES < 1 or cfg.DATA.SAMPLING_RATE < 1:
        fail("DATA.NUM_FRAMES and DATA.SAMPLING_RATE must be >= 1")
    lo, hi = (list(cfg.DATA.TRAIN_JITTER_SCALES) + [0, 0])[:2]
    if len(cfg.DATA.TRAIN_JITTER_SCALES) != 2 or lo > hi or lo < 1:
        fail(f"DATA.TRAIN_JITTER_SCALES must be [min, max] with 1 <= min <= max, got {cfg.DATA.TRAIN_JITTER_SCALES}")
    if cfg.DATA.TRAIN_CROP_SIZE > lo:
        fail(f"DATA.TRAIN_CROP_SIZE = {cfg.DATA.TRAIN_CROP_SIZE} exceeds the smallest jitter scale {lo}")
    if len(cfg.DATA.MEAN) != 3 or len(cfg.DATA.STD) != 3 or min(cfg.DATA.STD) <= 0:
        fail("DATA.MEAN and DATA.STD need 3 values each, STD > 0")
    if cfg.AVA.MAX_REPLACED_KEYFRAMES < -1 or cfg.DATA.MAX_DECODE_RETRIES < 0:
        fail("AVA.MAX_REPLACED_KEYFRAMES must be >= -1 (-1 = no limit) and DATA.MAX_DECODE_RETRIES >= 0")


def _check_processes(cfg: CfgNode, fail) -> None:
    """Machines and processes, TRAIN / TEST batch sizes split over them, test views, and the BN variants
    that depend on the per-process batch (BN.NUM_SPLITS) or on the processes (BN.NUM_SYNC_DEVICES)."""
    if cfg.NUM_SHARDS < 1 or not 0 <= cfg.SHARD_ID < cfg.NUM_SHARDS:
        fail(f"SHARD_ID = {cfg.SHARD_ID} must be in [0, NUM_SHARDS = {cfg.NUM_SHARDS})")
    if cfg.DIST_INIT_TIMEOUT_SEC < 1:
        fail(f"DIST_INIT_TIMEOUT_SEC must be >= 1 second, got {cfg.DIST_INIT_TIMEOUT_SEC}")
    if cfg.NUM_GPUS < 0 or cfg.NUM_PROCESSES < 1:
        fail("NUM_GPUS must be >= 0 and NUM_PROCESSES >= 1")
    world = world_size(cfg)
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        bs = get_key(cfg, key)
        if bs < 1 or bs % world:
            fail(f"{key} = {bs} is not divisible by the number of processes ({world})")
    if cfg.TEST.NUM_ENSEMBLE_VIEWS < 1 or cfg.TEST.NUM_SPATIAL_CROPS not in (1, 3):
        fail("TEST.NUM_ENSEMBLE_VIEWS must be >= 1 and TEST.NUM_SPATIAL_CROPS 1 or 3")
    if cfg.BN.NORM_TYPE == "sub_batchnorm":
        per_proc = cfg.TRAIN.BATCH_SIZE // world
        if cfg.BN.NUM_SPLITS < 1 or per_proc % cfg.BN.NUM_SPLITS:
            fail(
                f"BN.NUM_SPLITS = {cfg.BN.NUM_SPLITS} must divide the per-process batch "
                f"TRAIN.BATCH_SIZE / processes = {per_proc}"
            )
    if cfg.BN.NORM_TYPE == "sync_batchnorm" and cfg.BN.NUM_SYNC_DEVICES and world % cfg.BN.NUM_SYNC_DEVICES:
        fail(f"BN.NUM_SYNC_DEVICES = {cfg.BN.NUM_SYNC_DEVICES} must divide the number of processes ({world})")


def _check_solver(cfg: CfgNode, fail) -> None:
    """SOLVER: the step schedule, learning rate, epochs and warm-up."""
    if cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs":
        steps, lrs = cfg.SOLVER.STEPS, cfg.SOLVER.LRS
        if not steps or len(steps) != len(lrs) or steps[0] != 0 or list(steps) != sorted(steps):
            fail(
                "SOLVER.STEPS must start at 0, increase, and have one SOLVER.LRS entry each; "
                f"got STEPS {steps}, LRS {lrs}"
            )
    if not cfg.SOLVER.BASE_LR > 0:
        fail(f"SOLVER.BASE_LR must be > 0, got {cfg.SOLVER.BASE_LR}")
    if cfg.SOLVER.MAX_EPOCH < 1:
        fail(f"SOLVER.MAX_EPOCH must be >= 1, got {cfg.SOLVER.MAX_EPOCH}")
    if cfg.SOLVER.WARMUP_EPOCHS > cfg.SOLVER.MAX_EPOCH:
        fail(f"SOLVER.WARMUP_EPOCHS = {cfg.SOLVER.WARMUP_EPOCHS} exceeds SOLVER.MAX_EPOCH = {cfg.SOLVER.MAX_EPOCH}")


def _check_detection(cfg: CfgNode, fail) -> None:
    """DETECTION and AVA: the RoI head's settings, the key-frame timeline."""
    if cfg.DETECTION.ENABLE and cfg.DETECTION.SPATIAL_SCALE_FACTOR < 1:
        fail("DETECTION.SPATIAL_SCALE_FACTOR must be >= 1")
    if cfg.DETECTION.CONTEXT_BRANCH and not cfg.DETECTION.ENABLE:
        fail("DETECTION.CONTEXT_BRANCH needs DETECTION.ENABLE True")
    if cfg.AVA.FPS < 1 or not cfg.AVA.START_SEC <= cfg.AVA.KEYFRAME_START_SEC <= cfg.AVA.KEYFRAME_END_SEC:
        fail(f"AVA.FPS must be >= 1 and AVA.START_SEC <= AVA.KEYFRAME_START_SEC <= AVA.KEYFRAME_END_SEC, got "
             f"{cfg.AVA.FPS}, {cfg.AVA.START_SEC}, {cfg.AVA.KEYFRAME_START_SEC}, {cfg.AVA.KEYFRAME_END_SEC}")


def _check_demo(cfg: CfgNode, fail) -> None:
    """DEMO: stride (whole seconds for detection), top-k, thresholds."""
    if cfg.DEMO.STRIDE_SEC <= 0:
        fail(f"DEMO.STRIDE_SEC must be > 0 seconds, got {cfg.DEMO.STRIDE_SEC}")
    if cfg.DETECTION.ENABLE and cfg.DEMO.STRIDE_SEC != int(cfg.DEMO.STRIDE_SEC):
        fail(f"DEMO.STRIDE_SEC must be a whole number of seconds for detection (AVA key frames), got {cfg.DEMO.STRIDE_SEC}")
    if cfg.DEMO.TOP_K < 1:
        fail(f"DEMO.TOP_K must be >= 1, got {cfg.DEMO.TOP_K}")
    for key in ("DEMO.DETECTOR_THRESH", "DEMO.ACTION_THRESH"):
        if not 0.0 <= get_key(cfg, key) <= 1.0:
            fail(f"{key} must be in [0, 1], got {get_key(cfg, key)}")


def _check_bootstrap_and_figures(cfg: CfgNode, fail) -> None:
    """TEST.BOOTSTRAP_SAMPLES (0 or more) and TENSORBOARD.CONFUSION_MATRIX.FIGSIZE (two sizes > 0)."""
    if cfg.TEST.BOOTSTRAP_SAMPLES < 0:
        fail(f"TEST.BOOTSTRAP_SAMPLES must be >= 0 (0 = no intervals), got {cfg.TEST.BOOTSTRAP_SAMPLES}")
    size = cfg.TENSORBOARD.CONFUSION_MATRIX.FIGSIZE
    if len(size) != 2 or any(not isinstance(v, (int, float)) or v <= 0 for v in size):
        fail(f"TENSORBOARD.CONFUSION_MATRIX.FIGSIZE must be two sizes > 0 (inches: width, height), got {list(size)}")


def _check_first_hour(cfg: CfgNode, fail) -> None:
    """TRAIN.CHECKPOINT_KEEP and DEMO.DISPLAY_SIZE: counts that cannot be negative."""
    for key in ("TRAIN.CHECKPOINT_KEEP", "DEMO.DISPLAY_SIZE"):
        if get_key(cfg, key) < 0:
            fail(f"{key} must be >= 0 (0 = {'keep all' if key.startswith('TRAIN') else 'the input size'}), "
                 f"got {get_key(cfg, key)}")


def _check_fine_tuning(cfg: CfgNode, fail) -> None:
    """MODEL.FROZEN_STAGES, SOLVER.HEAD_LR_MULT, TRAIN.GRAD_ACCUM_STEPS, SOLVER.CLIP_GRAD_*: ranges."""
    n = cfg.MODEL.FROZEN_STAGES
    if not isinstance(n, int) or not 0 <= n <= 5:
        fail(f"MODEL.FROZEN_STAGES is {n!r}; the model has 5 stages (s1 = stem, s2..s5 = res2..res5): choose 0..5")
    if not cfg.SOLVER.HEAD_LR_MULT > 0:
        fail(f"SOLVER.HEAD_LR_MULT must be > 0, got {cfg.SOLVER.HEAD_LR_MULT}")
    if not isinstance(cfg.TRAIN.GRAD_ACCUM_STEPS, int) or cfg.TRAIN.GRAD_ACCUM_STEPS < 1:
        fail(f"TRAIN.GRAD_ACCUM_STEPS must be an integer >= 1 (1 = no accumulation), got {cfg.TRAIN.GRAD_ACCUM_STEPS!r}")
    for key in ("SOLVER.CLIP_GRAD_VAL", "SOLVER.CLIP_GRAD_L2NORM"):
        value = get_key(cfg, key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value) or value < 0):
            fail(f"{key} must be None (off) or a number >= 0 (0 = off), got {value!r}")


def _matplotlib_colormaps():
    import matplotlib  # noqa: PLC0415 - imported only for a colormap other than the default

    return matplotlib.colormaps


def _check_model_vis(cfg: CfgNode, fail) -> None:
    """TENSORBOARD.MODEL_VIS.GRAD_CAM: a known matplotlib colormap, layer names as strings."""
    gc = cfg.TENSORBOARD.MODEL_VIS.GRAD_CAM
    if gc.COLORMAP != "viridis" and gc.COLORMAP not in _matplotlib_colormaps():
        fail(f"TENSORBOARD.MODEL_VIS.GRAD_CAM.COLORMAP is {gc.COLORMAP!r}, not a matplotlib colormap "
             "(e.g. viridis, jet, inferno, magma)")
    if not all(isinstance(n, str) and n for n in gc.LAYER_LIST):
        fail(f"TENSORBOARD.MODEL_VIS.GRAD_CAM.LAYER_LIST must be layer names like 's5/pathway0_res0', got {gc.LAYER_LIST}")


def _check_test_runtime(cfg: CfgNode, fail) -> None:
    """TEST.RUNTIME / TEST.PRECISION: exported runtimes run the float32 export (their own precision hints aside)."""
    if cfg.TEST.RUNTIME != "torch" and cfg.TEST.PRECISION != "fp32":
        fail(f"TEST.PRECISION {cfg.TEST.PRECISION} applies to TEST.RUNTIME torch only (the {cfg.TEST.RUNTIME} "
             "runtime runs the float32 export); set TEST.PRECISION fp32 or TEST.RUNTIME torch")


def _check_multi_label(cfg: CfgNode, fail) -> None:
    """DATA.MULTI_LABEL: classification only, with sigmoid scores and the BCE loss."""
    if not cfg.DATA.MULTI_LABEL:
        return
    if cfg.DETECTION.ENABLE:
        fail("DATA.MULTI_LABEL True is for video classification (Charades-style CSVs); AVA detection is multi-label "
             "already: set DATA.MULTI_LABEL False")
    if cfg.MODEL.LOSS_FUNC != "bce" or cfg.MODEL.HEAD_ACT != "sigmoid":
        fail(f"DATA.MULTI_LABEL True needs MODEL.LOSS_FUNC bce and MODEL.HEAD_ACT sigmoid, got "
             f"{cfg.MODEL.LOSS_FUNC} and {cfg.MODEL.HEAD_ACT}")


_CHECKS = (
    _check_numbers,
    _check_choices,
    _check_backbone,
    _check_slowfast,
    _check_data,
    _check_processes,
    _check_solver,
    _check_detection,
    _check_demo,
    _check_bootstrap_and_figures,
    _check_first_hour,
    _check_fine_tuning,
    _check_model_vis,
    _check_test_runtime,
    _check_multi_label,
    check_mixup,
    check_aug,
    check_charades,
    check_multigrid,
    check_shards,
    check_iter_checkpoints,
)

