"""A checkpoint whose stored config disagrees with the current one says so (issue 9, item 3)."""
import logging

import yaml

from slowfast import checkpoint as cu
from slowfast.checkpoint.cfg_diff import cfg_differences, warn_if_cfg_differs
from slowfast.config import load_config
from slowfast.models import build_model

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def test_differences_are_found_whether_the_cfg_is_stored_as_yaml_a_dict_or_a_cfgnode():
    stored = load_config(TINY, ["SLOWFAST.ALPHA", "8", "DETECTION.ALIGNED", "False",
                                "NONLOCAL.LOCATION", "[[[], []], [[], []], [[0], []], [[], []]]"])
    current = load_config(TINY)
    expected = [("NONLOCAL.LOCATION", [[[], []], [[], []], [[0], []], [[], []]], [[[], []], [[], []], [[], []], [[], []]]),
                ("SLOWFAST.ALPHA", 8, 4), ("DETECTION.ALIGNED", False, True)]
    for form in (stored.dump(), yaml.safe_load(stored.dump()), stored):
        assert sorted(cfg_differences(form, current)) == sorted(expected)
    assert cfg_differences(current.dump(), current) == []
    assert cfg_differences(None, current) == [] and cfg_differences("not: [valid", current) == []


def test_keys_missing_from_the_stored_cfg_are_not_compared():
    """PySlowFast's stored configs lack our own keys (e.g. MODEL.HEAD_POOLING) and have keys we lack."""
    current = load_config(TINY)
    theirs = yaml.safe_load(current.dump())
    del theirs["MODEL"]["HEAD_POOLING"]
    theirs["MVIT"] = {"DEPTH": 16}
    theirs["RESNET"]["DEPTH"] = 101
    assert cfg_differences(theirs, current) == [("RESNET.DEPTH", 101, 0)]


def test_loading_a_checkpoint_with_another_config_warns_with_both_values_and_the_override(tmp_path, caplog):
    trained = load_config(TINY, ["DATA.NUM_FRAMES", "8", "SLOWFAST.FUSION_KERNEL_SZ", "5"])
    model = build_model(trained)
    path = cu.save_checkpoint(str(tmp_path / "m.pyth"), model, epoch=1, cfg=trained)
    current = load_config(TINY, ["DATA.NUM_FRAMES", "16", "SLOWFAST.FUSION_KERNEL_SZ", "5"])
    with caplog.at_level(logging.WARNING):
        cu.load_checkpoint(path, build_model(current), cfg=current)
    text = caplog.text
    assert "DATA.NUM_FRAMES: checkpoint 8, current config 16" in text
    assert "add: DATA.NUM_FRAMES 8" in text and path in text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        cu.load_checkpoint(path, build_model(trained), cfg=trained)
    assert "architecture-defining" not in caplog.text


def test_list_values_are_quoted_in_the_override(caplog):
    stored = load_config(TINY, ["RESNET.NUM_BLOCK_TEMP_KERNEL", "[[1, 1], [1, 1], [0, 0], [1, 1]]"])
    with caplog.at_level(logging.WARNING):
        diffs = warn_if_cfg_differs(stored.dump(), load_config(TINY), "x.pyth")
    assert diffs == [("RESNET.NUM_BLOCK_TEMP_KERNEL", [[1, 1], [1, 1], [0, 0], [1, 1]], [[1, 1], [1, 1], [1, 1], [1, 1]])]
    assert 'add: RESNET.NUM_BLOCK_TEMP_KERNEL "[[1, 1], [1, 1], [0, 0], [1, 1]]"' in caplog.text
