"""The model for inference on users' videos (demo, feature extraction): built, loaded, in eval mode.

:func:`load_eval_model` is the single place where that model is prepared: the weights the test loop would
use (``slowfast.checkpoint.checkpoint_for_testing``), then ``engine.runtime.runtime_model`` as the test loops
do (``optimize_for_inference`` when ``TEST.OPTIMIZE_MODEL``, TEST.PRECISION, TEST.RUNTIME).
"""
from __future__ import annotations

import logging

from slowfast.engine.common import device_for, load_weights_for_testing
from slowfast.engine.runtime import runtime_model
from slowfast.models import build_model

logger = logging.getLogger(__name__)


def load_eval_model(cfg):
    """-> ``(model, checkpoint path, device)``: ``build_model(cfg)`` with the weights of
    ``checkpoint_for_testing(cfg)``, prepared by ``runtime_model`` (TEST.OPTIMIZE_MODEL, TEST.PRECISION, TEST.RUNTIME)."""
    device = device_for(cfg)
    model = build_model(cfg, device=device)
    path = load_weights_for_testing(cfg, model)
    return runtime_model(cfg, model), path, device
