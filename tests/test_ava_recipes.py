"""The AVA configs train with the report's recipe (section 2), expressed in epochs for each config's batch."""
import os

import pytest
import yaml

from slowfast.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AVA = os.path.join(ROOT, "configs", "AVA")
TABLE2 = ("SLOWFAST_8x8_v2.1", "SLOWFAST_8x8", "FAST_32x2", "SLOWFAST_16x8", "SLOWFAST_16x8_PLUSPLUS")
REPORT_BATCH, TRAIN_SAMPLES = 1024, 211_000  # "12k iterations (58 epochs for ~211k data)", Kinetics' batch


def epochs(iterations):
    return iterations * REPORT_BATCH / TRAIN_SAMPLES


@pytest.mark.parametrize("row", TABLE2)
def test_every_table2_config_trains_12k_report_iterations_with_1k_warm_up_and_10x_steps(row):
    cfg = load_config(os.path.join(AVA, f"{row}.yaml"))
    s = cfg.SOLVER
    assert s.MAX_EPOCH == round(epochs(12_000)) == 58
    assert s.WARMUP_EPOCHS == pytest.approx(epochs(1_000), abs=0.01)
    assert s.LR_POLICY == "steps_with_relative_lrs" and list(s.LRS) == [1, 0.1, 0.01]
    assert 0 < s.STEPS[1] < s.STEPS[2] < s.MAX_EPOCH
    # Kinetics' eta = 0.8 at batch 1,024, linearly scaled to this config's batch.
    assert s.BASE_LR == pytest.approx(0.8 * cfg.TRAIN.BATCH_SIZE / REPORT_BATCH)
    assert s.WEIGHT_DECAY == 1e-7
    # Scale jitter [256, 340], [256, 360] when T x tau > 64 (the 16x8 models span 128 frames).
    span = cfg.DATA.NUM_FRAMES * cfg.DATA.SAMPLING_RATE
    assert list(cfg.DATA.TRAIN_JITTER_SCALES) == ([256, 360] if span > 64 else [256, 340])
    text = open(os.path.join(AVA, f"{row}.yaml")).read() + open(os.path.join(AVA, "base", "AVA_DETECTION.yaml")).read()
    assert "Schedule" in text and "12,000 it x 1,024 / 211,000" in text


def test_configs_of_pyslowfast_zoo_detectors_use_its_unaligned_roialign():
    """PySlowFast's configs/AVA/c2/SLOWFAST_32x2_R101_50_50{,_v2.1}.yaml say DETECTION.ALIGNED False."""
    for row in ("SLOWFAST_8x8", "SLOWFAST_8x8_v2.1"):
        cfg = load_config(os.path.join(AVA, f"{row}.yaml"))
        assert cfg.DETECTION.ALIGNED is False and cfg.DATA.TEST_CROP_SIZE == 256
        assert cfg.AVA.DETECTION_SCORE_THRESH == 0.8 and cfg.AVA.PREPROCESS == "pyslowfast"


def test_the_ensembles_16x8_members_train_16k_or_18k_report_iterations_with_both_scale_jitters():
    manifest = yaml.safe_load(open(os.path.join(AVA, "ENSEMBLE.yaml")))["ENSEMBLE"]
    members = [load_config(os.path.join(AVA, m["CONFIG"]), m["OVERRIDES"]) for m in manifest
               if m["CONFIG"].startswith("SLOWFAST_16x8")]
    assert len(members) == 5
    assert {c.SOLVER.MAX_EPOCH for c in members} == {round(epochs(16_000)), round(epochs(18_000))} == {78, 87}
    for c in members:
        assert list(c.SOLVER.STEPS)[1:] == [round(c.SOLVER.MAX_EPOCH / 2), round(c.SOLVER.MAX_EPOCH * 3 / 4)]
        assert c.SOLVER.WARMUP_EPOCHS == pytest.approx(epochs(1_000), abs=0.01)
    assert {tuple(c.DATA.TRAIN_JITTER_SCALES) for c in members} == {(256, 340), (256, 360)}
    assert {c.AVA.TRAIN_PROPOSAL_IOU for c in members} == {0.75, 0.9}
    assert {c.DETECTION.CONTEXT_BRANCH for c in members} == {True, False}


def test_training_on_unmatched_proposals_as_negatives_is_off_by_default_as_in_the_report():
    for row in TABLE2:
        assert load_config(os.path.join(AVA, f"{row}.yaml")).AVA.TRAIN_NEGATIVE_PROPOSALS is False
