"""A run that cannot find its checkpoint names where real weights come from (GETTING_STARTED.md,
"Pretrained weights"), and that section names existing configs."""
import os
import re

import pytest

from slowfast.apps.run_net import main
from slowfast.checkpoint.errors import WEIGHTS_HINT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs/Synthetic/SLOWFAST_TINY.yaml")
SECTION = "Pretrained weights"


def section_text() -> str:
    text = open(os.path.join(ROOT, "GETTING_STARTED.md")).read()
    start = text.index(f"\n## {SECTION}\n")
    return text[start:text.index("\n## ", start + 1)]


def test_the_hint_names_a_section_that_exists_and_lists_only_real_configs():
    assert f'"{SECTION}"' in WEIGHTS_HINT and "GETTING_STARTED.md" in WEIGHTS_HINT
    text = section_text()
    configs = set(re.findall(r"`(configs/[\w/.]+\.yaml)`", text))
    assert {"configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml", "configs/AVA/SLOWFAST_8x8.yaml"} <= configs
    assert all(os.path.isfile(os.path.join(ROOT, c)) for c in configs), configs
    assert "dl.fbaipublicfiles.com/pyslowfast/model_zoo/" in text and "tools/convert_checkpoint.py" in text


@pytest.mark.parametrize("key,train", [("TEST.CHECKPOINT_FILE_PATH", "False"), ("TRAIN.CHECKPOINT_FILE_PATH", "True")])
def test_a_run_whose_checkpoint_file_is_missing_names_the_pretrained_weights_section(tmp_path, capsys, key, train):
    missing = str(tmp_path / "SLOWFAST_8x8_R50.pyth")
    assert main(["--cfg", TINY, "TRAIN.ENABLE", train, key, missing, "OUTPUT_DIR", str(tmp_path / "out"),
                 "DATA.PATH_TO_DATA_DIR", str(tmp_path), "DATA.GENERATE_SYNTHETIC", "False",
                 "LOG_MODEL_INFO", "False"]) == 2
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if missing in ln)
    assert f"checkpoint not found ({key})" in line and WEIGHTS_HINT in line and "Traceback" not in err


def test_every_missing_checkpoint_error_carries_the_hint(tmp_path):
    from slowfast.checkpoint.caffe2 import read_caffe2_checkpoint
    from slowfast.checkpoint.choice import checkpoint_for_testing
    from slowfast.checkpoint.errors import CheckpointError
    from slowfast.checkpoint.pyth import load_pickled
    from slowfast.config import load_config

    missing = str(tmp_path / "gone.pkl")
    with pytest.raises(CheckpointError, match=re.escape(WEIGHTS_HINT)):
        load_pickled(missing)
    with pytest.raises(CheckpointError, match=re.escape(WEIGHTS_HINT)):
        read_caffe2_checkpoint(missing)
    for opts in (["TEST.CHECKPOINT_FILE_PATH", missing], []):
        cfg = load_config(TINY, opts + ["OUTPUT_DIR", str(tmp_path / "out")])
        with pytest.raises(CheckpointError, match=re.escape(WEIGHTS_HINT)):
            checkpoint_for_testing(cfg)
