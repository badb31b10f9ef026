"""What a sensitivity analysis varies: the parameters, their distributions, and how a point of
the unit cube becomes parameter values; the contract of the evaluation function; names that
resemble a mistyped one. See docs/sensitivity.md."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from peersim.params import DistParams

# ``fn(values, seed) -> mapping of outputs``: ``values`` maps parameter names to numbers
Evaluate = Callable[[dict[str, float], int], Mapping[str, Any]]


@dataclass(frozen=True)
class Parameter:
    """One analysed parameter: a dotted key (or any name, for an analytic ``fn``) and its
    distribution on [lo, hi]."""

    name: str
    dist: DistParams

    def describe(self, distributions: bool = True) -> str:
        d = self.dist
        times = " x configured" if d.relative else ""
        if not distributions or d.dist == "uniform":
            return f"uniform [{d.lo:g}, {d.hi:g}]{times}"
        if d.dist == "triangular":
            return f"triangular [{d.lo:g}, {d.hi:g}], mode {d.mode:g}{times}"
        return f"{d.dist} mean {d.mean:g}, sd {d.sd:g}, truncated to [{d.lo:g}, {d.hi:g}]{times}"


@dataclass
class Problem:
    """The analysed parameters. ``distributions`` true: unit-cube coordinates go through each
    parameter's inverse CDF; false: uniformly onto [lo, hi]."""

    parameters: list[Parameter]
    distributions: bool = True

    @classmethod
    def uniform(cls, ranges: Mapping[str, tuple[float, float]]) -> Problem:
        return cls([Parameter(k, DistParams(dist="uniform", lo=lo, hi=hi)) for k, (lo, hi) in ranges.items()])

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    def salib(self) -> dict[str, Any]:
        """SALib's problem: the unit cube (the transform to values is ours)."""
        return {"num_vars": len(self.parameters), "names": self.names,
                "bounds": [[0.0, 1.0]] * len(self.parameters)}

    def values(self, u: np.ndarray) -> np.ndarray:
        """Parameter values for unit-cube points ``u`` (n x D)."""
        from peersim.uncertainty import ppf

        u = np.atleast_2d(np.asarray(u, dtype=float))
        out = np.empty_like(u)
        for j, p in enumerate(self.parameters):
            d = p.dist
            out[:, j] = ppf(d, u[:, j]) if self.distributions else d.lo + u[:, j] * (d.hi - d.lo)
        return out


def output_value(value: Any) -> float:
    """An output of ``fn`` as a float; None (undefined, e.g. a share of nobody) is NaN."""
    if value is None:
        return math.nan
    return float(value)


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[._]+", text.lower()) if t}


def close_matches(word: str, candidates: Sequence[str], n: int = 3) -> list[str]:
    """Candidates resembling ``word`` by spelling or by the same words in another order
    (``municipal_net_dkk`` finds ``net_municipal_dkk``)."""
    tw = _tokens(word)
    scored = []
    for c in candidates:
        tc = _tokens(c)
        jac = len(tw & tc) / len(tw | tc) if tw | tc else 0.0
        score = max(difflib.SequenceMatcher(None, word.lower(), c.lower()).ratio(), jac)
        if score >= 0.55:
            scored.append((-score, c))
    return [c for _, c in sorted(scored)[:n]]
