"""Config checks of the training-data groups (MIXUP, AUG, MULTIGRID, Charades frame lists, shards,
mid-epoch checkpoints): one `check_<group>(cfg, fail)` each, listed in `validation._CHECKS`."""
from __future__ import annotations

from fvcore.common.config import CfgNode

from slowfast.config.derived import get_key, num_pathways, world_size
from slowfast.config.rand_augment_spec import parse_aa_type


def check_mixup(cfg: CfgNode, fail) -> None:
    """MIXUP: alphas, probabilities, smoothing; refused for detection (the rule: no mixing of AVA key frames)."""
    m = cfg.MIXUP
    if not m.ENABLE:
        return
    if cfg.DETECTION.ENABLE:
        fail("MIXUP.ENABLE True is refused for detection (DETECTION.ENABLE True): mixing two key frames would mix "
             "their person boxes' labels, so mixup and CutMix are classification only")
    if m.ALPHA < 0 or m.CUTMIX_ALPHA < 0 or m.ALPHA == m.CUTMIX_ALPHA == 0:
        fail(f"MIXUP.ALPHA and MIXUP.CUTMIX_ALPHA must be >= 0 and not both 0, got {m.ALPHA}, {m.CUTMIX_ALPHA}")
    for key in ("MIXUP.PROB", "MIXUP.SWITCH_PROB"):
        if not 0.0 <= get_key(cfg, key) <= 1.0:
            fail(f"{key} must be in [0, 1], got {get_key(cfg, key)}")
    if not 0.0 <= m.LABEL_SMOOTH_VALUE < 1.0:
        fail(f"MIXUP.LABEL_SMOOTH_VALUE must be in [0, 1), got {m.LABEL_SMOOTH_VALUE}")


def check_aug(cfg: CfgNode, fail) -> None:
    """AUG: RandAugment's policy string, repeated augmentation; Kinetics-format classification only."""
    if cfg.AUG.NUM_SAMPLE < 1:
        fail(f"AUG.NUM_SAMPLE must be >= 1, got {cfg.AUG.NUM_SAMPLE}")
    if (cfg.AUG.ENABLE or cfg.AUG.NUM_SAMPLE > 1) and cfg.DETECTION.ENABLE:
        fail("AUG.ENABLE and AUG.NUM_SAMPLE > 1 are for classification (Kinetics-format training); "
             "DETECTION.ENABLE True has neither")
    if cfg.AUG.ENABLE:
        try:
            parse_aa_type(cfg.AUG.AA_TYPE)
        except ValueError as e:
            fail(f"AUG.AA_TYPE {e}")


def check_multigrid(cfg: CfgNode, fail) -> None:
    """MULTIGRID: factors, Kinetics-format classification only, global head pooling, and every long-cycle
    phase's frames (a Slow pathway frame at least) and batch (split over processes and BN.NUM_SPLITS)."""
    mg = cfg.MULTIGRID
    if not (mg.LONG_CYCLE or mg.SHORT_CYCLE):
        return
    if cfg.DETECTION.ENABLE:
        fail("MULTIGRID.LONG_CYCLE / SHORT_CYCLE train Kinetics-format classification; "
             "refused with DETECTION.ENABLE True")
    if cfg.MODEL.HEAD_POOLING != "global":
        fail("MULTIGRID.LONG_CYCLE / SHORT_CYCLE change the clip size: set MODEL.HEAD_POOLING global")
    if cfg.TRAIN.DATASET.lower() != "kinetics":
        fail(f"MULTIGRID.LONG_CYCLE / SHORT_CYCLE need TRAIN.DATASET kinetics (its clips follow the schedule's "
             f"shapes), got {cfg.TRAIN.DATASET!r}")
    for key in ("EPOCH_FACTOR", "BN_BASE_SIZE", "EVAL_FREQ"):
        if not getattr(mg, key) > 0:
            fail(f"MULTIGRID.{key} must be > 0, got {getattr(mg, key)}")
    if min(mg.LONG_CYCLE_SAMPLING_RATE, mg.DEFAULT_B, mg.DEFAULT_T, mg.DEFAULT_S) < 0:
        fail("MULTIGRID.LONG_CYCLE_SAMPLING_RATE and MULTIGRID.DEFAULT_B/T/S must be >= 0 (0 = automatic)")
    if len(mg.SHORT_CYCLE_FACTORS) != 2 or not all(0 < f <= 1 for f in mg.SHORT_CYCLE_FACTORS):
        fail(f"MULTIGRID.SHORT_CYCLE_FACTORS must be 2 factors in (0, 1], got {list(mg.SHORT_CYCLE_FACTORS)}")
    pairs = mg.LONG_CYCLE_FACTORS
    if not pairs or not all(len(p) == 2 and 0 < p[0] <= 1 and 0 < p[1] <= 1 for p in pairs):
        fail(f"MULTIGRID.LONG_CYCLE_FACTORS must be (t, s) pairs in (0, 1], got {list(pairs)}")
    b0, t0 = mg.DEFAULT_B or cfg.TRAIN.BATCH_SIZE, mg.DEFAULT_T or cfg.DATA.NUM_FRAMES
    s0 = mg.DEFAULT_S or cfg.DATA.TRAIN_CROP_SIZE
    alpha, world = cfg.SLOWFAST.ALPHA if num_pathways(cfg) == 2 else 1, world_size(cfg)
    for t_f, s_f in pairs if mg.LONG_CYCLE else [(1, 1)]:
        t, s = int(round(t0 * t_f)), s0 * s_f
        if t < alpha or t % alpha:
            fail(f"MULTIGRID.LONG_CYCLE_FACTORS ({t_f:g}, {s_f:g}) gives {t} frames from {t0}: not a positive "
                 f"multiple of SLOWFAST.ALPHA {alpha}; raise DATA.NUM_FRAMES or the factor")
        batch = b0 * int(round(t0 * s0 * s0 / (t * s * s)))
        short = [max(1, int(round((s / (s0 * f)) ** 2))) for f in mg.SHORT_CYCLE_FACTORS] if mg.SHORT_CYCLE else []
        for f in [1] + short:
            splits = cfg.BN.NUM_SPLITS if cfg.BN.NORM_TYPE == "sub_batchnorm" else 1
            if (batch * f) % (world * splits):
                fail(f"MULTIGRID: the batch of {batch * f} clips at {t} frames x {s:.0f}^2 (from TRAIN.BATCH_SIZE / "
                     f"MULTIGRID.DEFAULT_B {b0}) cannot be divided over {world} process(es) x BN.NUM_SPLITS {splits}")


# The groups' checks, in the order they run (one per line: add yours at the end).
def check_charades(cfg: CfgNode, fail) -> None:
    """TRAIN.DATASET / TEST.DATASET charades (PySlowFast frame lists) is a multi-label dataset."""
    for key, node in (("TRAIN.DATASET", cfg.TRAIN), ("TEST.DATASET", cfg.TEST)):
        if node.ENABLE and node.DATASET.lower() == "charades" and not cfg.DATA.MULTI_LABEL:
            fail(f"{key} charades is a multi-label dataset: set DATA.MULTI_LABEL True (with MODEL.LOSS_FUNC bce and "
                 "MODEL.HEAD_ACT sigmoid)")


def check_shards(cfg: CfgNode, fail) -> None:
    """DATA.FORMAT shards / DATA.SHUFFLE_BUFFER: shards hold Kinetics-format datasets, streamed in order
    (no multigrid batch sampler)."""
    if cfg.DATA.SHUFFLE_BUFFER < 0:
        fail(f"DATA.SHUFFLE_BUFFER must be >= 0 (0 = no shuffling inside a stream), got {cfg.DATA.SHUFFLE_BUFFER}")
    if cfg.DATA.FORMAT != "shards":
        return
    for key, node in (("TRAIN.DATASET", cfg.TRAIN), ("TEST.DATASET", cfg.TEST)):
        if node.ENABLE and node.DATASET.lower() != "kinetics":
            fail(f"DATA.FORMAT shards reads Kinetics-format shards (tools/make_shards.py), but {key} is {node.DATASET!r}")
    if cfg.TRAIN.ENABLE and (cfg.MULTIGRID.LONG_CYCLE or cfg.MULTIGRID.SHORT_CYCLE):
        fail("DATA.FORMAT shards streams the videos in order; MULTIGRID needs random access: use DATA.FORMAT files")
def check_iter_checkpoints(cfg: CfgNode, fail) -> None:
    """TRAIN.CHECKPOINT_ITER_PERIOD: >= 0, whole accumulation groups, not with multigrid's varying batches."""
    period = cfg.TRAIN.CHECKPOINT_ITER_PERIOD
    if isinstance(period, bool) or not isinstance(period, int) or period < 0:
        fail(f"TRAIN.CHECKPOINT_ITER_PERIOD must be an integer >= 0 (0 = epoch checkpoints only), got {period!r}")
    if period % max(1, cfg.TRAIN.GRAD_ACCUM_STEPS):
        fail(f"TRAIN.CHECKPOINT_ITER_PERIOD {period} must be a multiple of TRAIN.GRAD_ACCUM_STEPS "
             f"{cfg.TRAIN.GRAD_ACCUM_STEPS} (checkpoints are saved between optimizer steps)")
    if period and (cfg.MULTIGRID.LONG_CYCLE or cfg.MULTIGRID.SHORT_CYCLE):
        fail("TRAIN.CHECKPOINT_ITER_PERIOD is not supported with MULTIGRID.LONG_CYCLE / SHORT_CYCLE (their batches "
             "change size within an epoch); set it to 0")
