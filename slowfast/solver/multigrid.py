"""Multigrid training schedule (Wu et al., "A Multigrid Method for Efficiently Training Video Models",
CVPR 2020), with PySlowFast's MULTIGRID.* keys and its way of laying out the phases. Pure: config in,
phases out; the loader (`datasets.multigrid`) and the training loop apply them.

Long cycle (MULTIGRID.LONG_CYCLE): each (t, s) in LONG_CYCLE_FACTORS is a phase training on clips of
T = round(NUM_FRAMES x t) frames cropped to S = round(TRAIN_CROP_SIZE x s), with the batch scaled so that
T x S x S x B stays that of the base shape (factor round(T0 S0^2 / (T S^2))) and the learning rate scaled
by the same factor (linear scaling with the batch, as PySlowFast does). The cycle repeats within every lr
step of SOLVER.STEPS (a cosine schedule is one step); each phase gets epochs in proportion to its average
batch factor, so every phase runs about the same number of iterations; a last phase at the base shape
fine-tunes over the epochs after the last step (as many fewer iterations as the rest saves). The epochs
are then scaled to total SOLVER.MAX_EPOCH x EPOCH_FACTOR and rounded at the phase ends (phases that round
to no epoch are dropped).

Short cycle (MULTIGRID.SHORT_CYCLE): iterations cycle through crops of DEFAULT_S x SHORT_CYCLE_FACTORS
and the phase's own crop, with batches x round((S / crop)^2), x round((S / crop)^2) and x 1.

The lr of a phase follows the configured policy (warm-up, cosine or steps) over the original epochs the
phase stands for, stretched over its multigrid epochs, times the phase's lr scale.
"""
from __future__ import annotations

from dataclasses import dataclass

from slowfast.solver.schedules import lr_at


@dataclass(frozen=True)
class Phase:
    """One long-cycle phase: clips of `frames` x `crop`^2, `batch` videos per iteration (before the
    short cycle multiplies it), lr x `lr_scale`, multigrid epochs [start, end); `orig` the original
    epochs (of SOLVER.MAX_EPOCH) it stands for, for the lr policy."""
    frames: int
    crop: int
    batch: int
    lr_scale: float
    start: int
    end: int
    orig: tuple[float, float]


def base_shape(cfg) -> tuple[int, int, int]:
    """(B, T, S) of the base shape: MULTIGRID.DEFAULT_B/T/S, 0 = TRAIN.BATCH_SIZE / NUM_FRAMES / TRAIN_CROP_SIZE."""
    mg = cfg.MULTIGRID
    return (mg.DEFAULT_B or cfg.TRAIN.BATCH_SIZE, mg.DEFAULT_T or cfg.DATA.NUM_FRAMES,
            mg.DEFAULT_S or cfg.DATA.TRAIN_CROP_SIZE)


def short_cycle_crops(cfg, phase_crop: int) -> list[tuple[int, int]]:
    """[(crop, batch factor), ...] of one short cycle in a phase of crop `phase_crop`: the
    SHORT_CYCLE_FACTORS crops of DEFAULT_S, then the phase's own; [(phase_crop, 1)] without short cycle."""
    if not cfg.MULTIGRID.SHORT_CYCLE:
        return [(phase_crop, 1)]
    default_s = base_shape(cfg)[2]
    out = []
    for f in cfg.MULTIGRID.SHORT_CYCLE_FACTORS:
        crop = int(round(default_s * f))
        out.append((crop, max(1, int(round((phase_crop / (default_s * f)) ** 2)))))
    return out + [(phase_crop, 1)]


def _cycle_shapes(cfg) -> list[list[tuple[float, int, float]]]:
    """Per long-cycle phase, its shapes (batch factor, T, S): the short cycle's then the phase's own."""
    _, t0, s0 = base_shape(cfg)
    size = float(t0 * s0 * s0)
    cycles = []
    for tf, sf in cfg.MULTIGRID.LONG_CYCLE_FACTORS:
        t, s = int(round(t0 * tf)), int(round(s0 * sf))
        shapes = [(t, s0 * f) for f in cfg.MULTIGRID.SHORT_CYCLE_FACTORS] if cfg.MULTIGRID.SHORT_CYCLE else []
        shapes.append((t, s))
        cycles.append([(int(round(size / (tt * ss * ss))), tt, ss) for tt, ss in shapes])
    return cycles


def _steps(cfg) -> list[float]:
    steps = list(cfg.SOLVER.STEPS) if cfg.SOLVER.LR_POLICY == "steps_with_relative_lrs" else []
    if len(steps) < 2:
        steps = [0, cfg.SOLVER.MAX_EPOCH]
    return steps


def long_cycle_schedule(cfg) -> list[Phase]:
    """The long cycle's phases for `cfg` (see the module docstring); base batch from `base_shape`."""
    cycles = _cycle_shapes(cfg)
    avg = [sum(b for b, _, _ in c) / len(c) for c in cycles]
    steps = _steps(cfg)
    raw = []  # (shape (b, t, s), epochs before scaling, original epochs)
    iters = 0.0
    for k in range(len(steps) - 1):
        span, at = steps[k + 1] - steps[k], steps[k]
        for c, a in zip(cycles, avg):
            share = span * a / sum(avg)
            iters += share / a
            raw.append((c[-1], share, (at, at + share)))
            at += share
    saving = (steps[-1] - steps[0]) / iters
    tail = cfg.SOLVER.MAX_EPOCH - steps[-1]
    if tail > 0:
        raw.append((cycles[-1][-1], tail / saving * avg[-1], (steps[-1], cfg.SOLVER.MAX_EPOCH)))
    scale = cfg.SOLVER.MAX_EPOCH * cfg.MULTIGRID.EPOCH_FACTOR / sum(r[1] for r in raw)
    default_b = base_shape(cfg)[0]
    phases, total, prev = [], 0.0, 0
    for (b, t, s), epochs, orig in raw:
        total += epochs * scale
        end = int(round(total))
        if end > prev:
            phases.append(Phase(t, int(round(s)), default_b * b, float(b), prev, end, orig))
            prev = end
    return phases


def plain_schedule(cfg) -> list[Phase]:
    """Short cycle only: one phase at the base shape over SOLVER.MAX_EPOCH x EPOCH_FACTOR epochs."""
    b, t, s = base_shape(cfg)
    return [Phase(t, s, b, 1.0, 0, int(round(cfg.SOLVER.MAX_EPOCH * cfg.MULTIGRID.EPOCH_FACTOR)),
                  (0.0, float(cfg.SOLVER.MAX_EPOCH)))]


def schedule(cfg) -> list[Phase]:
    """The phases of a multigrid run (long cycle, or one phase for the short cycle alone)."""
    return long_cycle_schedule(cfg) if cfg.MULTIGRID.LONG_CYCLE else plain_schedule(cfg)


def enabled(cfg) -> bool:
    return bool(cfg.MULTIGRID.LONG_CYCLE or cfg.MULTIGRID.SHORT_CYCLE)


def phase_at(phases: list[Phase], epoch: int) -> Phase:
    """The phase that multigrid epoch `epoch` (0-based) belongs to."""
    for p in phases:
        if epoch < p.end:
            return p
    return phases[-1]


def multigrid_lr(cfg, phases: list[Phase], epoch: float) -> float:
    """Learning rate at fractional multigrid epoch `epoch`: the policy's lr at the matching original
    epoch, times the phase's lr scale."""
    p = phase_at(phases, int(epoch))
    frac = min(max((epoch - p.start) / max(p.end - p.start, 1), 0.0), 1.0)
    return lr_at(cfg, p.orig[0] + frac * (p.orig[1] - p.orig[0])) * p.lr_scale


def describe(phases: list[Phase]) -> list[str]:
    """One line per phase for the log."""
    return [f"multigrid phase {i + 1}: epochs {p.start + 1}-{p.end}, {p.frames} frames x {p.crop}^2, batch "
            f"{p.batch}, lr x {p.lr_scale:g}" for i, p in enumerate(phases)]
