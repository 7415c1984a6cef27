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
