"""Several machines: NUM_SHARDS > 1 without --init_method stops at once with one line saying what to pass;
the wait for the other processes is bounded by DIST_INIT_TIMEOUT_SEC and says what it waits for."""
import logging
import time

import pytest

import slowfast.engine.launch as launch
from slowfast.apps.run_net import main
from slowfast.config import ConfigError, load_config

TINY = "configs/Synthetic/SLOWFAST_TINY.yaml"


def test_num_shards_2_without_init_method_is_one_config_error_line(tmp_path, capsys):
    rc = main(["--cfg", TINY, "NUM_SHARDS", "2", "OUTPUT_DIR", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.splitlines()[0].startswith("config error: NUM_SHARDS is 2")
    assert "--init_method tcp://HOST:PORT" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_the_timeout_key_is_validated():
    assert load_config(TINY).DIST_INIT_TIMEOUT_SEC == 1800
    with pytest.raises(ConfigError, match="DIST_INIT_TIMEOUT_SEC must be >= 1"):
        load_config(TINY, ["DIST_INIT_TIMEOUT_SEC", "0"])


def test_the_timeout_reaches_init_process_group(monkeypatch):
    seen = {}
    monkeypatch.setattr(launch.dist, "init_process_group", lambda **kw: seen.update(kw))
    launch.init_group(load_config(TINY, ["DIST_INIT_TIMEOUT_SEC", "42"]), "tcp://h:1", 4, 1)
    assert seen["timeout"].total_seconds() == 42 and seen["world_size"] == 4 and seen["rank"] == 1


def test_a_missing_machine_times_out_with_one_line_after_saying_what_it_waits_for(monkeypatch, caplog):
    monkeypatch.setattr(launch, "WAIT_LOG_PERIOD_SEC", 0.5)
    cfg = load_config(TINY, ["NUM_GPUS", "0", "DIST_INIT_TIMEOUT_SEC", "2"])
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="slowfast.engine.launch"):
        with pytest.raises(ConfigError, match="waited DIST_INIT_TIMEOUT_SEC 2 s for the 2 processes") as e:
            launch.init_group(cfg, f"tcp://127.0.0.1:{launch.free_port()}", 2, 0)
    assert time.monotonic() - start < 30 and "\n" not in str(e.value)
    assert any("waits for the 2 processes" in r.getMessage() for r in caplog.records)
