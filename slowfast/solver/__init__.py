"""Optimizers and learning-rate schedules."""
from slowfast.solver.optimizer import build_optimizer
from slowfast.solver.schedules import lr_at, set_lr

__all__ = ["build_optimizer", "lr_at", "set_lr"]
