import os
import sys
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
warnings.filterwarnings("ignore", category=FutureWarning)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def all_config_paths():
    out = []
    for d, _, files in os.walk(os.path.join(ROOT, "configs")):
        out += [os.path.join(d, f) for f in files if f.endswith(".yaml") and "base" not in d.split(os.sep)
                and f != "ENSEMBLE.yaml"]
    return sorted(out)


@pytest.fixture(autouse=True)
def restore_logging():
    """Tests that run a tool's main point the root logger at that test's captured stdout; put back the
    handlers and level they replaced, so later tests never log into a closed stream (whatever the order)."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)
