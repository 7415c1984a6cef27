"""AUG.AA_TYPE, RandAugment's policy string in PySlowFast's (timm's) grammar, parsed once for the config
check and the dataset: ``rand-m9-mstd0.5-inc1``.

- ``rand`` first, then ``-``-separated settings, each a name and a number:
  ``m`` magnitude (0..10, timm's scale), ``n`` operations per clip (>= 1, default 2),
  ``mstd`` standard deviation of the Gaussian noise added to the magnitude per operation (>= 0, default 0),
  ``inc`` 1 = the "increasing" variants of the operations (a higher magnitude is always a stronger change;
  default 0).
Anything else (another first word, an unknown or repeated setting, a value that is not a number or out of
range) is a ValueError naming the part.
"""
from __future__ import annotations

import re
from typing import NamedTuple

_SETTING = re.compile(r"^(mstd|m|n|inc)(-?[0-9.]+)$")
MAX_MAGNITUDE = 10.0


class RandAugmentSpec(NamedTuple):
    magnitude: float
    num_ops: int = 2
    magnitude_std: float = 0.0
    increasing: bool = False


def parse_aa_type(text: str) -> RandAugmentSpec:
    """The settings of a policy string such as ``rand-m9-mstd0.5-inc1``; ValueError naming the bad part."""
    parts = text.strip().split("-")
    if parts[0] != "rand":
        raise ValueError(f"{text!r} must start with 'rand' (RandAugment), e.g. 'rand-m9-mstd0.5-inc1'")
    values: dict = {}
    for part in parts[1:]:
        match = _SETTING.match(part)
        if not match:
            raise ValueError(f"{text!r}: setting {part!r} is not one of m<magnitude>, n<ops>, mstd<std>, inc<0|1>")
        name, number = match.groups()
        if name in values:
            raise ValueError(f"{text!r}: setting {name!r} is given twice")
        try:
            values[name] = float(number)
        except ValueError:
            raise ValueError(f"{text!r}: {part!r} has no number after {name!r}") from None
    if "m" not in values:
        raise ValueError(f"{text!r} has no magnitude m<0..10>, e.g. 'rand-m9'")
    m, n, mstd, inc = values["m"], values.get("n", 2), values.get("mstd", 0.0), values.get("inc", 0)
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"{text!r}: magnitude m{m:g} is outside 0..10")
    if n < 1 or n != int(n):
        raise ValueError(f"{text!r}: n{n:g} must be a whole number of operations >= 1")
    if mstd < 0:
        raise ValueError(f"{text!r}: mstd{mstd:g} must be >= 0")
    if inc not in (0, 1):
        raise ValueError(f"{text!r}: inc{inc:g} must be inc0 or inc1")
    return RandAugmentSpec(m, int(n), mstd, bool(inc))
