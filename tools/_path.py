"""The prelude every tool imports first: make the repository importable when a tool runs from a checkout
without `pip install -e .`, and keep library FutureWarnings (torch.jit, fvcore) off the terminal, where a
tool's output should be its results or its one-line error."""
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
