"""Shipped class-name lists (facts, sources in slowfast/datasets/class_names/README.md) and the reader of
users' own lists."""
import json

import pytest

from slowfast.config import load_config
from slowfast.datasets.class_names import (BUILTIN, LabelFileError, builtin_path, class_names_for,
                                           read_class_names)
from slowfast.formats.ava_labels import read_labelmap


@pytest.mark.parametrize("n", [400, 600, 700])
def test_kinetics_lists_have_their_class_count_of_unique_sorted_names(n):
    names = read_class_names(builtin_path(f"kinetics_{n}"), n)
    assert len(set(names)) == n
    assert names == sorted(names)  # label index = position in the name-sorted official class list
    assert names[0] == "abseiling" and names[-1] == "zumba"


def test_kinetics_400_label_indices_of_pysLowfast_demo():
    names = read_class_names(builtin_path("kinetics_400"), 400)
    assert names[5] == "archery" and names[208] == "passing American football (in game)" and names[398] == "yoga"


def test_ava_v22_lists_80_actions_of_which_60_are_evaluated():
    full = read_labelmap(builtin_path("ava_v2.2")).name_of()
    evaluated = read_labelmap(builtin_path("ava_v2.2_activitynet_2019")).name_of()
    assert sorted(full) == list(range(1, 81)) and len(set(full.values())) == 80
    assert len(evaluated) == 60 and all(full[k] == v for k, v in evaluated.items())
    # The 20 classes left out of the ActivityNet 2019 evaluation include e.g. crawl (2) and play with kids (75).
    assert {2, 75} <= set(full) - set(evaluated) and full[2] == "crawl" and full[80] == "watch (a person)"


def test_a_config_finds_its_shipped_names_by_class_count():
    k400 = load_config("configs/Kinetics/K400/SLOWFAST_8x8_R50.yaml")
    names, source = class_names_for(k400, detection=False)
    assert len(names) == 400 and source.endswith("kinetics_400.txt")
    ava_cfg = load_config("configs/Synthetic/AVA_SLOWFAST_TINY.yaml")
    names, source = class_names_for(ava_cfg, detection=True)
    assert names[0] == "bend/bow (at the waist)" and len(names) == 80
    tiny = load_config("configs/Synthetic/SLOWFAST_TINY.yaml")
    assert class_names_for(tiny, detection=False)[0] == ["moving right", "moving down", "moving left", "moving up"]
    assert class_names_for(load_config(None, ["MODEL.NUM_CLASSES", "7"]), detection=False)[0][6] == "class 6"


def test_synthetic_motion_names_follow_the_generators_directions():
    from slowfast.datasets.synthetic import class_velocity

    names = read_class_names(builtin_path("synthetic_motion_4"), 4)
    for label, name in enumerate(names):
        vx, vy = class_velocity(label, 4, 32)  # image coordinates: y grows downwards
        direction = {(1, 0): "right", (0, 1): "down", (-1, 0): "left", (0, -1): "up"}[(round(vx / 1.5), round(vy / 1.5))]
        assert name == f"moving {direction}"


def test_own_lists_json_text_and_pbtxt(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"run": 1, "walk": 0}))
    assert read_class_names(str(tmp_path / "a.json"), 2) == ["walk", "run"]
    (tmp_path / "b.txt").write_text("walk\nrun\n\n")
    assert read_class_names(str(tmp_path / "b.txt"), 2) == ["walk", "run"]
    (tmp_path / "c.pbtxt").write_text('item { name: "run" id: 2 }\n')
    assert read_class_names(str(tmp_path / "c.pbtxt"), 3) == ["id 1", "run", "id 3"]
    assert set(BUILTIN) >= {"kinetics_400", "kinetics_600", "kinetics_700", "ava_v2.2"}


@pytest.mark.parametrize("name,text,expected", [
    ("wrong.txt", "walk\nrun\njump\n", "3 class names but the model has 2 classes"),
    ("dup.txt", "walk\nwalk\n", "appears twice"),
    ("bad.json", "{not json", "not valid JSON"),
    ("big.pbtxt", 'item { name: "run" id: 9 }\n', "action id 9 but the model has 2 classes"),
])
def test_a_bad_label_file_is_a_one_line_error_naming_it(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(LabelFileError) as err:
        read_class_names(str(path), 2)
    assert str(path) in str(err.value) and expected in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(LabelFileError, match="not found"):
        read_class_names(str(tmp_path / "missing.txt"), 2)
