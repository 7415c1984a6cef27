"""The loaders' run-time data error. The file checks that were here (Problem, raise_problems, report,
text_lines, the Kinetics-format rows) are the on-disk formats' own: :mod:`slowfast.formats.problems`
and :mod:`slowfast.formats.kinetics`; their old names here still work, with a DeprecationWarning."""
from __future__ import annotations

import importlib
import warnings


class UnreadableDataError(RuntimeError):
    """Too many input files (videos, frames) could not be read for the run to go on; names the last one."""


_MOVED = {"Problem": "problems", "raise_problems": "problems", "report": "problems", "text_lines": "problems",
          "VideoListRow": "kinetics", "read_video_list_rows": "kinetics", "resolve_video_path": "kinetics",
          "check_label_range": "kinetics"}


def __getattr__(name: str):
    """The moved names, from their new module (PEP 562), with a DeprecationWarning."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new = f"slowfast.formats.{_MOVED[name]}"
    warnings.warn(f"slowfast.datasets.validation.{name} moved to {new}.{name}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(new), name)
