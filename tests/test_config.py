"""The config system: defaults <- _BASE_ chain <- YAML <- KEY VALUE, strict and validated."""
import os
import re

import pytest

from slowfast.config import ConfigError, defaults as defaults_module, get_cfg, load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_every_default_key_has_a_one_line_comment():
    lines = open(defaults_module.__file__).read().splitlines()
    undocumented = []
    for i, line in enumerate(lines):
        m = re.match(r"^_C\.([A-Z0-9_.]+) = (?!CfgNode\(\))", line)
        if m and not lines[i - 1].lstrip().startswith("#"):
            undocumented.append(m.group(1))
    assert undocumented == []
    assert len([ln for ln in lines if re.match(r"^_C\.[A-Z0-9_.]+ = ", ln)]) > 100


def test_pyslowfast_key_groups_exist():
    cfg = get_cfg()
    for group in ("TRAIN", "TEST", "DATA", "RESNET", "SLOWFAST", "NONLOCAL", "MODEL", "SOLVER", "BN", "DETECTION",
                  "AVA", "DATA_LOADER", "TENSORBOARD"):
        assert group in cfg
    for key in ("NUM_GPUS", "NUM_SHARDS", "SHARD_ID", "OUTPUT_DIR", "RNG_SEED", "LOG_PERIOD"):
        assert key in cfg


def test_base_chain_then_file_then_command_line(tmp_path):
    write(tmp_path, "a.yaml", "SOLVER:\n  BASE_LR: 0.5\n  MAX_EPOCH: 7\nRNG_SEED: 3\n")
    write(tmp_path, "b.yaml", "_BASE_: a.yaml\nSOLVER:\n  BASE_LR: 0.25\n")
    c = write(tmp_path, "c.yaml", "_BASE_: b.yaml\nRNG_SEED: 9\n")
    cfg = load_config(c, ["SOLVER.MAX_EPOCH", "11"])
    assert cfg.SOLVER.BASE_LR == 0.25 and cfg.RNG_SEED == 9 and cfg.SOLVER.MAX_EPOCH == 11
    assert cfg.is_frozen()


def test_yaml_scientific_notation_without_dot_is_a_float(tmp_path):
    cfg = load_config(write(tmp_path, "x.yaml", "SOLVER:\n  WEIGHT_DECAY: 1e-7\n"))
    assert cfg.SOLVER.WEIGHT_DECAY == pytest.approx(1e-7)


def test_unknown_key_names_file_and_suggests(tmp_path):
    p = write(tmp_path, "bad.yaml", "RESNET:\n  DEPTHH: 50\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown config key 'RESNET\.DEPTHH'; did you mean 'RESNET\.DEPTH'\?"):
        load_config(p)


def test_unknown_command_line_key_suggests():
    with pytest.raises(ConfigError, match=r"command line: unknown config key 'SOLVER\.BASE_LRR'; did you mean 'SOLVER\.BASE_LR'"):
        load_config(None, ["SOLVER.BASE_LRR", "0.1"])


def test_wrong_type_names_key_and_types(tmp_path):
    p = write(tmp_path, "t.yaml", "SOLVER:\n  MAX_EPOCH: ten\n")
    with pytest.raises(ConfigError, match=r"t\.yaml: config key 'SOLVER\.MAX_EPOCH' expects int .* got str 'ten'"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"'TRAIN\.ENABLE' expects bool"):
        load_config(None, ["TRAIN.ENABLE", "3"])


def test_missing_base_file_names_both_files(tmp_path):
    p = write(tmp_path, "child.yaml", "_BASE_: nowhere.yaml\n")
    with pytest.raises(ConfigError, match=r"config file not found: .*nowhere\.yaml \(the _BASE_ of .*child\.yaml\)"):
        load_config(p)


def test_cycle_of_bases_is_reported(tmp_path):
    write(tmp_path, "x.yaml", "_BASE_: y.yaml\n")
    write(tmp_path, "y.yaml", "_BASE_: x.yaml\n")
    with pytest.raises(ConfigError, match=r"cycle of _BASE_ files: .*x\.yaml -> .*y\.yaml -> .*x\.yaml"):
        load_config(str(tmp_path / "x.yaml"))


def test_batch_not_divisible_by_processes():
    with pytest.raises(ConfigError, match=r"TRAIN\.BATCH_SIZE = 10 is not divisible by the number of processes \(4\)"):
        load_config(None, ["NUM_GPUS", "4", "TRAIN.BATCH_SIZE", "10", "TEST.BATCH_SIZE", "8"])


def test_alpha_must_divide_frame_count():
    with pytest.raises(ConfigError, match=r"SLOWFAST\.ALPHA = 3 does not divide DATA\.NUM_FRAMES = 32"):
        load_config(None, ["SLOWFAST.ALPHA", "3"])


def test_nonlocal_location_beyond_stage_depth():
    with pytest.raises(ConfigError, match=r"NONLOCAL\.LOCATION\[2\]\[0\] has block 6 but res4 has 6 blocks"):
        load_config(None, ["NONLOCAL.LOCATION", "[[[], []], [[], []], [[6], []], [[], []]]"])


def test_odd_number_of_overrides():
    with pytest.raises(ConfigError, match="KEY VALUE pairs"):
        load_config(None, ["NUM_GPUS"])


def test_invalid_choice_lists_the_choices():
    with pytest.raises(ConfigError, match=r"SOLVER\.LR_POLICY is 'linear'; choose one of \['cosine', 'steps_with_relative_lrs'\]"):
        load_config(None, ["SOLVER.LR_POLICY", "linear"])


def all_configs():
    out = []
    for d, _, files in os.walk(os.path.join(ROOT, "configs")):
        out += [os.path.join(d, f) for f in files if f.endswith(".yaml") and f != "ENSEMBLE.yaml"]
    return sorted(out)


def test_there_are_configs_for_every_table3_row():
    names = {os.path.relpath(p, ROOT) for p in all_configs()}
    for ds in ("K400", "K600", "K700"):
        for row in ("SLOWFAST_8x8_R101_NL", "SLOWFAST_16x8_R101_NL", "FAST_32x2_R101_NL"):
            assert f"configs/Kinetics/{ds}/{row}.yaml" in names
    assert "configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml" in names
    assert "configs/Kinetics/K400/SLOWFAST_4x16_R50.yaml" in names


@pytest.mark.parametrize("path", all_configs(), ids=lambda p: os.path.relpath(p, ROOT))
def test_every_config_loads(path):
    cfg = load_config(path)
    assert cfg.MODEL.NUM_CLASSES > 0


def test_there_are_configs_for_every_table2_row():
    for row in ("SLOWFAST_8x8_v2.1", "SLOWFAST_8x8", "FAST_32x2", "SLOWFAST_16x8", "SLOWFAST_16x8_PLUSPLUS"):
        cfg = load_config(os.path.join(ROOT, "configs", "AVA", f"{row}.yaml"))
        assert cfg.DETECTION.ENABLE and cfg.MODEL.NUM_CLASSES == 80
    assert load_config(os.path.join(ROOT, "configs/AVA/SLOWFAST_16x8.yaml")).DETECTION.CONTEXT_BRANCH


def test_the_ava_ensemble_manifest_lists_seven_loadable_members():
    import yaml

    manifest = yaml.safe_load(open(os.path.join(ROOT, "configs", "AVA", "ENSEMBLE.yaml")))["ENSEMBLE"]
    assert len(manifest) == 7
    cfgs = [load_config(os.path.join(ROOT, "configs", "AVA", m["CONFIG"]), m["OVERRIDES"]) for m in manifest]
    assert {c.AVA.TRAIN_PROPOSAL_IOU for c in cfgs} == {0.75, 0.9}
    assert {c.DETECTION.CONTEXT_BRANCH for c in cfgs} == {True, False}
    assert {tuple(c.DATA.TRAIN_JITTER_SCALES) for c in cfgs} == {(256, 340), (256, 360)}


def test_multi_label_without_bce_and_sigmoid_is_rejected_not_ignored():
    # DATA.MULTI_LABEL is supported since issue 21 (tests/test_multilabel.py), with the BCE loss and sigmoid scores
    with pytest.raises(ConfigError, match=r"DATA\.MULTI_LABEL True needs MODEL\.LOSS_FUNC bce and MODEL\.HEAD_ACT sigmoid"):
        load_config(None, ["DATA.MULTI_LABEL", "True"])


def test_sync_bn_group_size_must_divide_the_processes():
    with pytest.raises(ConfigError, match=r"BN\.NUM_SYNC_DEVICES = 3 must divide the number of processes \(8\)"):
        load_config(None, ["NUM_GPUS", "8", "BN.NORM_TYPE", "sync_batchnorm", "BN.NUM_SYNC_DEVICES", "3"])


# ---------------------------------------------------------------------------- gaps that used to pass silently
def test_a_key_given_twice_in_one_file_names_the_key_and_both_lines(tmp_path):
    p = write(tmp_path, "twice.yaml", "SOLVER:\n  BASE_LR: 0.1\n  MAX_EPOCH: 4\n  BASE_LR: 0.4\nRNG_SEED: 2\n")
    with pytest.raises(ConfigError, match=r"twice\.yaml: config key 'SOLVER\.BASE_LR' is given twice, on lines 2 and 4"):
        load_config(p)
    p = write(tmp_path, "groups.yaml", "SOLVER:\n  BASE_LR: 0.1\nRNG_SEED: 2\nSOLVER:\n  MAX_EPOCH: 4\n")
    with pytest.raises(ConfigError, match=r"'SOLVER' is given twice, on lines 1 and 4"):
        load_config(p)
    # A key of a _BASE_ file set again in the child file is the intended override, not a duplicate.
    write(tmp_path, "base.yaml", "SOLVER:\n  BASE_LR: 0.1\n")
    assert load_config(write(tmp_path, "child.yaml", "_BASE_: base.yaml\nSOLVER:\n  BASE_LR: 0.2\n")).SOLVER.BASE_LR == 0.2


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_config_file_is_an_error(tmp_path, text):
    with pytest.raises(ConfigError, match=r"empty\.yaml: the config file is empty"):
        load_config(write(tmp_path, "empty.yaml", text))


@pytest.mark.parametrize("lr", ["0", "-0.1", "nan"])
def test_a_base_lr_that_is_not_positive_names_the_key(lr):
    with pytest.raises(ConfigError, match=r"SOLVER\.BASE_LR must be (> 0|a finite number)"):
        load_config(None, ["SOLVER.BASE_LR", lr])


def test_per_pathway_lists_longer_than_the_pathways_are_rejected():
    fast = os.path.join(ROOT, "configs/Kinetics/K400/FAST_32x2_R101_NL.yaml")
    assert load_config(fast).MODEL.MODEL_NAME == "ResNet"  # one pathway; keys it leaves at the defaults are fine
    with pytest.raises(ConfigError, match=r"RESNET\.SPATIAL_STRIDES has more entries per stage than the model has "
                                          r"pathways \(1"):
        load_config(fast, ["RESNET.SPATIAL_STRIDES", "[[1, 1], [2, 2], [2, 2], [2, 1]]"])
    with pytest.raises(ConfigError, match=r"DATA\.INPUT_CHANNEL_NUM needs one entry per pathway \(2\)"):
        load_config(None, ["DATA.INPUT_CHANNEL_NUM", "[3, 3, 3]"])


def test_a_config_file_that_is_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "latin1.yaml"
    p.write_bytes(b"RNG_SEED: 3\n# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml line 2: not UTF-8 text"):
        load_config(str(p))


def test_yaml_aliases_are_checked_once_each(tmp_path):
    """A 'billion laughs' file of nested aliases (or a self-containing list) must not hang: refused as
    soon as it is composed (slowfast/config/safe_yaml.py)."""
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    p = write(tmp_path, "laughs.yaml", "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"laughs\.yaml: refused, not a config: .*alias"):
        load_config(p)
    with pytest.raises(ConfigError, match=r"loop\.yaml: refused, not a config"):
        load_config(write(tmp_path, "loop.yaml", "x: &x [1, *x]\n"))
