"""How many jobs a sweep has, counted from its parsed overrides without expanding them.

``peersim -m seed='range(0,1e9)'`` would make Hydra build a billion overrides (and the precheck a
billion strings) before anything runs. :func:`check_sweep_size` counts the jobs arithmetically
(the product of each sweep's number of values: a choice's length, a range's length from its
start, stop and step) and refuses, with one line, a sweep over :func:`max_jobs` jobs or with an
empty range; :func:`range_ends` gives a range's first and last value without listing the rest.
"""

from __future__ import annotations

import decimal
import math
import os
from collections.abc import Sequence
from typing import Any

from peersim.validation import ConfigError

MAX_JOBS_ENV = "PEERSIM_MAX_SWEEP_JOBS"
DEFAULT_MAX_JOBS = 1_000_000


def max_jobs() -> int:
    """The most jobs a sweep may have: ``$PEERSIM_MAX_SWEEP_JOBS``, else 1,000,000."""
    raw = os.environ.get(MAX_JOBS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_JOBS
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{MAX_JOBS_ENV}={raw}: not a whole number of jobs >= 1; unset it for the "
                          f"default limit of {DEFAULT_MAX_JOBS:,}")
    return value


def _range(ov: Any) -> tuple[Any, Any, Any]:
    sweep = ov.value()
    return sweep.start, sweep.stop, sweep.step


def range_length(ov: Any) -> int:
    """The number of values of a ``range(...)`` sweep, as Hydra 1.3 enumerates it (Python's
    ``range`` for integers, steps of ``Decimal`` otherwise)."""
    start, stop, step = _range(ov)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (start, stop, step)):
        if step == 0:
            raise ConfigError(f"{ov.input_line}: a range's step cannot be 0")
        return len(range(start, stop, step))
    start, stop, step = (decimal.Decimal(v) for v in (start, stop, step))
    if step == 0:
        raise ConfigError(f"{ov.input_line}: a range's step cannot be 0")
    return max(0, math.ceil((stop - start) / step))


def range_ends(ov: Any) -> list[str]:
    """The first and the last value of a non-empty ``range(...)`` sweep as override strings
    (one value if it has one), computed, not enumerated."""
    from hydra.core.override_parser.types import Override

    n = range_length(ov)
    start, _stop, step = _range(ov)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (start, step, _stop)):
        ends = [start, start + step * (n - 1)]
    else:
        ends = [float(decimal.Decimal(start)),
                float(decimal.Decimal(start) + decimal.Decimal(step) * (n - 1))]
    values = ends[:1] if n == 1 else ends
    return [Override._get_value_element_as_str(v) for v in values]


def sweep_values(ov: Any) -> int | None:
    """The number of values of one parsed sweep override; None if it cannot be counted without
    the config (a ``glob(...)`` over a group's options)."""
    if ov.is_range_sweep():
        return range_length(ov)
    value = ov.value()
    if isinstance(value, list):
        return len(value)
    if hasattr(value, "list"):  # ChoiceSweep
        return len(value.list)
    return None


def check_sweep_size(parsed: Sequence[Any]) -> int:
    """The number of jobs of a sweep (its parsed overrides); ConfigError (one line) if a range
    is empty or the sweep has more jobs than :func:`max_jobs` allows."""
    total = 1
    counts = []
    for ov in parsed:
        if not ov.is_sweep_override():
            continue
        n = sweep_values(ov)
        if n is None:
            continue
        if n == 0:
            raise ConfigError(f"{ov.input_line}: the range is empty (no values to sweep); its stop must lie "
                              f"beyond its start in the direction of its step, e.g. range(0,5)")
        total *= n
        counts.append(f"{ov.get_key_element()}: {n:,}")
    limit = max_jobs()
    if total > limit:
        raise ConfigError(f"the sweep has {total:,} jobs ({', '.join(counts)} values), more than the limit of "
                          f"{limit:,} ({MAX_JOBS_ENV}); sweep fewer values, or run replications as an "
                          f"experiment (docs/sweeps.md)")
    return total
