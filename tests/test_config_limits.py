"""Hostile configs are refused at load time with one ConfigError line, with bounded work: deep nesting,
alias bombs, huge lists, non-finite floats, negative worker counts; and an alias bomb stored as a
checkpoint's cfg is refused naming the file."""
import time

import pytest

from slowfast.checkpoint import CheckpointError
from slowfast.checkpoint.cfg_diff import check_cfg_fit, stored_cfg_as_dict
from slowfast.config import ConfigError, load_config

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def alias_bomb(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


BOMBS = {
    "deep_nesting": "TRAIN:\n  X: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep_mapping": "".join(" " * i + f"K{i}:\n" for i in range(200)) + " " * 200 + "x: 1\n",
    "alias_bomb": alias_bomb(),
    "huge_list": "SOLVER:\n  STEPS: [" + ", ".join(["1"] * 2_000_000) + "]\n",
    "many_values": "SOLVER:\n  STEPS: [" + ", ".join(["1"] * 60_000) + "]\n",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_a_config_bomb_is_refused_quickly_with_one_config_error_line(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(BOMBS[name])
    start = time.monotonic()
    with pytest.raises(ConfigError) as e:
        load_config(str(path))
    assert time.monotonic() - start < 10
    assert str(path) in str(e.value) and "\n" not in str(e.value) and len(str(e.value)) < 500


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "nan", "inf"])
def test_a_non_finite_learning_rate_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match="SOLVER.BASE_LR must be a finite number"):
        load_config(TINY, ["SOLVER.BASE_LR", value])


def test_a_non_finite_float_in_a_file_is_refused_naming_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(f"_BASE_: {__import__('os').path.abspath(TINY)}\nSOLVER:\n  WEIGHT_DECAY: .nan\n")
    with pytest.raises(ConfigError, match="SOLVER.WEIGHT_DECAY must be a finite number"):
        load_config(str(path))


def test_a_negative_number_of_loader_workers_is_refused():
    with pytest.raises(ConfigError, match="DATA_LOADER.NUM_WORKERS must be >= 0"):
        load_config(TINY, ["DATA_LOADER.NUM_WORKERS", "-1"])


def test_an_alias_bomb_stored_in_a_checkpoint_is_refused_naming_the_file():
    cfg = load_config(TINY)
    start = time.monotonic()
    with pytest.raises(CheckpointError, match="ckpt.pyth: its stored cfg is refused"):
        check_cfg_fit(alias_bomb(), cfg, "ckpt.pyth")
    with pytest.raises(CheckpointError, match="x.pyth"):
        stored_cfg_as_dict(alias_bomb(), "x.pyth")
    assert time.monotonic() - start < 5


def test_a_real_stored_config_still_reads():
    cfg = load_config(TINY)
    assert stored_cfg_as_dict(cfg.dump())["MODEL"]["ARCH"] == cfg.MODEL.ARCH
