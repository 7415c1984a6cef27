"""Checkpoints written before the package was rebuilt into floors (commit cf68e6e, issue 17) load after it,
into the same state-dict names, and the loaded models give the same scores on the same inputs.

The fixtures were written by cf68e6e's own code (`slowfast.utils.checkpoint.save_checkpoint`) from the
synthetic tiny configs with RESNET.WIDTH_PER_GROUP 4 and DATA.NUM_FRAMES 8, BN statistics perturbed, in
eval mode; `*_io.pt` holds the inputs (and boxes) and the scores that code computed."""
import os

import pytest
import torch

from slowfast.checkpoint import load_checkpoint, read_checkpoint
from slowfast.config import load_config
from slowfast.models import build_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


@pytest.mark.parametrize("name", ["kinetics", "ava"])
def test_a_checkpoint_from_before_the_move_loads_and_scores_the_same(name):
    io = torch.load(os.path.join(FIXTURES, f"{name}_before_issue17_io.pt"), weights_only=True)
    path = os.path.join(FIXTURES, f"{name}_before_issue17.pyth")
    cfg = load_config(os.path.join(ROOT, io["config"]), io["opts"])
    model = build_model(cfg, device="cpu")
    assert load_checkpoint(path, model, cfg=cfg) == 3  # strict: every key present, every shape equal
    assert sorted(read_checkpoint(path)["model_state"]) == sorted(model.state_dict())
    model.eval()
    with torch.no_grad():
        scores = model(io["inputs"], io["boxes"]) if io["boxes"] is not None else model(io["inputs"])
    torch.testing.assert_close(scores, io["scores"], rtol=1e-5, atol=1e-6)
