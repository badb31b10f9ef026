"""Seed noise: how much luck common random numbers leave in the outputs, and what it does to the
indices. Every sample point is run with the same seeds; the analysis reads the mean of those runs.
Luck shared by every point cancels; luck that differs between points (a changed parameter sends a
run down another random path) remains, and is measured here rather than assumed. See
docs/sensitivity.md."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.sensitivity.problem import output_value

NOISY = 0.5  # above this seed-noise share of an output's variance, its indices mostly describe luck


def output_matrix(samples: pd.DataFrame, output: str, replicates: int) -> np.ndarray:
    """The output as a (points x replicates) array, in design order."""
    return samples[output].to_numpy(dtype=float).reshape(-1, replicates)


def seed_noise_variance(y: np.ndarray) -> float:
    """The variance of the seed noise that common random numbers leave, from a (points x R) array.

    Two-way analysis of variance without replication: y[i, r] = point effect + seed effect +
    residual. The seed effect is luck shared by every point (seed r is the same everywhere) and
    cancels in the indices; the residual is luck that differs between points (the run's path
    reshuffled by a parameter change), the noise that Sobol' and Morris read as effects. Its
    variance is sum(residual^2) / ((n - 1)(R - 1)); NaN for R < 2."""
    n, r = y.shape
    if r < 2 or n < 2 or not np.isfinite(y).all():
        return math.nan
    resid = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    return float((resid**2).sum() / ((n - 1) * (r - 1)))


def seed_noise_share(y: np.ndarray) -> float:
    """Share of an output's variance across the sample points (one seed set) that is seed noise
    after common random numbers: s2 / (s2 + Var(f)), with s2 from :func:`seed_noise_variance` and
    the parameters' part Var(f) = max(0, var(point means) - s2 / R)."""
    s2 = seed_noise_variance(y)
    if not math.isfinite(s2):
        return math.nan
    between = max(0.0, float(np.var(y.mean(axis=1), ddof=1)) - s2 / y.shape[1])
    return s2 / (s2 + between) if s2 + between > 0 else math.nan


def morris_noise_floor(y: np.ndarray, levels: int) -> float:
    """The mu* that seed noise alone would give a parameter whose every step reshuffled the luck
    of the runs, from a (points x R) array, R >= 2.

    With common random numbers a step that leaves the simulated path alone has no noise at all (an
    inert parameter gets mu* = 0 exactly), while a step that sends the runs down other paths
    differs by two independent draws of the residual seed noise: sd sqrt(2 s2 / R) for the mean
    of R runs (s2 from :func:`seed_noise_variance`). Its mean absolute value over Morris' step
    p/(2(p-1)) is this floor: an upper bound on the noise in any mu*."""
    s2 = seed_noise_variance(y)
    if not math.isfinite(s2):
        return math.nan
    step = levels / (2 * (levels - 1))
    return math.sqrt(2 / math.pi) * math.sqrt(2 * s2 / y.shape[1]) / step


def output_stats(samples: pd.DataFrame, outputs: Sequence[str], replicates: int,
                 probe: Mapping[str, Any], levels: int | None = None) -> pd.DataFrame:
    """Per output: value at the median point, mean and sd of the replicate-averaged output over the
    design, points where it is undefined, the share of the variance that is seed noise
    across the sample (:func:`seed_noise_share`) and, for Morris (``levels``), the seed-noise floor of mu*
    (:func:`morris_noise_floor`); the last two need R >= 2."""
    rows = []
    for k in outputs:
        y = output_matrix(samples, k, replicates)
        ybar = y.mean(axis=1)
        rows.append({"output": k, "at_median": output_value(probe.get(k)),
                     "mean": float(np.nanmean(ybar)) if np.isfinite(ybar).any() else math.nan,
                     "sd": float(np.nanstd(ybar, ddof=1)) if np.isfinite(ybar).sum() > 1 else math.nan,
                     "undefined_points": int((~np.isfinite(ybar)).sum()),
                     "seed_noise_share": seed_noise_share(y),
                     "mu_star_noise_floor": morris_noise_floor(y, levels) if levels else math.nan})
    return pd.DataFrame(rows)


def seed_se(per_seed: list[pd.DataFrame], cols: Sequence[str]) -> dict[str, np.ndarray]:
    """Spread of each index across seed sets / sqrt(R): its approximate standard error due to seeds."""
    r = len(per_seed)
    if r < 2:
        return {f"{c}_seed_se": np.full(len(per_seed[0]), math.nan) for c in cols}
    return {f"{c}_seed_se": np.std(np.stack([d[c].to_numpy() for d in per_seed]), axis=0, ddof=1) / math.sqrt(r)
            for c in cols}
