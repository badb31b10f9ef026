"""Uncertain parameters: distributions, draws and setting values by dotted key.

``conf/uncertainty/default.yaml`` lists the uncertain parameters, each as a distribution on a
plausible range (:class:`peersim.params.DistParams`). The same list serves three uses:

* probabilistic sensitivity analysis draws one value per parameter per replication
  (:func:`draw`), through the inverse CDF of a uniform, so any sampler of the unit cube
  (plain random numbers, Sobol sequences) can be mapped to parameter values (:func:`ppf`);
* global sensitivity analysis takes [lo, hi] as the bounds of each parameter;
* the parameter evidence register shows the distribution next to the value and source.

:func:`with_values` returns a validated copy of the parameters with some values replaced,
e.g. ``with_values(params, {"volunteers.supervision_buffer": 0.3})``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from peersim.params import DistParams, PeersimConfig, validate
from peersim.validation import ConfigError, resolve_key

__all__ = ["apply_draw", "draw", "get_value", "numeric_keys", "ppf", "with_values"]


def _field_type(obj: Any, name: str) -> Any:
    for f in dataclasses.fields(obj):
        if f.name == name:
            return f.type
    return None


def get_value(params: PeersimConfig, key: str) -> Any:
    node, name = resolve_key(params, key)
    return getattr(node, name)


def numeric_keys(params: PeersimConfig, prefix: str = "") -> list[str]:
    """Every numeric (int or float, not bool) leaf of the parameter tree, as dotted keys."""
    out: list[str] = []
    node: Any = params
    for f in dataclasses.fields(node):
        if f.name in ("experiment", "uncertainty", "extra_municipalities", "shared_with"):
            continue
        value = getattr(node, f.name)
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            out.extend(numeric_keys(value, f"{key}."))  # type: ignore[arg-type]
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append(key)
    return out


def with_values(params: PeersimConfig, values: Mapping[str, float], *,
                relative: Mapping[str, bool] | None = None) -> PeersimConfig:
    """A validated deep copy of ``params`` with the given dotted keys set.

    Integer parameters are rounded. With ``relative[key]`` true, the value multiplies the
    configured one instead of replacing it.
    """
    out = copy.deepcopy(params)
    for key, value in values.items():
        node, name = resolve_key(out, key)
        current = getattr(node, name)
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ConfigError(f"'{key}' is not a numeric parameter (it is {type(current).__name__})")
        new = float(value) * current if relative and relative.get(key) else float(value)
        if isinstance(current, int) or _field_type(node, name) in (int, "int"):
            new = int(round(new))
        setattr(node, name, new)
    return validate(out)


# -- distributions ---------------------------------------------------------------------------
def ppf(d: DistParams, u: np.ndarray | float) -> np.ndarray:
    """Inverse CDF: map uniforms in (0, 1) to values of the distribution (truncated to [lo, hi]).

    Closed forms and scipy's special functions (ufuncs), not ``scipy.stats`` objects: an
    experiment maps thousands of draws, and a frozen-distribution call costs about a millisecond.
    """
    from scipy import special

    u = np.clip(np.asarray(u, dtype=float), 1e-12, 1 - 1e-12)
    lo, hi = d.lo, d.hi
    if d.dist == "uniform":
        return lo + u * (hi - lo)
    if d.dist == "triangular":
        c = (d.mode - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (d.mode - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - d.mode))
        return np.where(u < c, left, right)
    if d.dist == "normal":  # truncated to [lo, hi]
        a, b = special.ndtr((lo - d.mean) / d.sd), special.ndtr((hi - d.mean) / d.sd)
        return np.clip(d.mean + d.sd * special.ndtri(a + u * (b - a)), lo, hi)
    if d.dist == "beta":  # scaled to [lo, hi], with the given mean and sd
        width = hi - lo
        m, v = (d.mean - lo) / width, (d.sd / width) ** 2
        k = m * (1 - m) / v - 1
        return lo + width * special.betaincinv(m * k, (1 - m) * k, u)
    raise ConfigError(f"unknown distribution '{d.dist}'")


def draw(params: PeersimConfig, rng: np.random.Generator,
         keys: list[str] | None = None) -> dict[str, float]:
    """One value per uncertain parameter (all of them, or ``keys``), drawn with ``rng``."""
    spec = params.uncertainty.parameters
    keys = list(spec) if keys is None else keys
    u = rng.random(len(keys))
    return {k: float(ppf(spec[k], ui)) for k, ui in zip(keys, u, strict=True)}


def apply_draw(params: PeersimConfig, values: Mapping[str, float]) -> PeersimConfig:
    """``with_values`` honouring each parameter's ``relative`` flag."""
    spec = params.uncertainty.parameters
    return with_values(params, values, relative={k: spec[k].relative for k in values if k in spec})
