"""The model for inference on users' videos (demo, feature extraction): built, loaded, in eval mode.

:func:`load_eval_model` is the single place where that model is prepared: the weights the test loop would
use (``slowfast.checkpoint.checkpoint_for_testing``), then ``inference_model`` (``optimize_for_inference``
when ``TEST.OPTIMIZE_MODEL``, as the test loops do).
"""
from __future__ import annotations

import logging

from slowfast.engine.common import device_for, load_weights_for_testing
from slowfast.models import build_model
from slowfast.models.optimize import inference_model

logger = logging.getLogger(__name__)


def load_eval_model(cfg):
    """-> ``(model, checkpoint path, device)``: ``build_model(cfg)`` with the weights of
    ``checkpoint_for_testing(cfg)``, prepared by ``inference_model``."""
    device = device_for(cfg)
    model = build_model(cfg, device=device)
    path = load_weights_for_testing(cfg, model)
    return inference_model(cfg, model), path, device
