"""Global sensitivity analysis: Sobol' indices and Morris screening of the uncertain parameters.

    peersim +experiment=sobol                   # every parameter in conf/uncertainty, default outputs
    peersim +experiment=sobol experiment.base_samples=256 'experiment.outputs=[net_municipal_dkk,citizens_started]'
    peersim +experiment=morris experiment.trajectories=20
    peersim +experiment=sobol 'experiment.parameters=[volunteers.burnout_threshold,volunteers.supervision_buffer]' scenario=partnership

Which parameters, over which ranges
    By default every parameter listed in ``conf/uncertainty/default.yaml``; ``experiment.parameters``
    picks a subset by dotted key, and ``experiment.bounds={key: [lo, hi]}`` gives a uniform range
    to a parameter that is not listed there (or replaces its listed distribution). The design is
    drawn in the unit cube and every coordinate u is mapped through the inverse CDF of the
    parameter's distribution (:func:`peersim.uncertainty.ppf`): the indices then decompose the
    output's variance under the *same* uncertainty the probabilistic sensitivity analysis draws
    from, so a triangular range peaked in its middle weighs less than the same range drawn
    uniformly. This is exact for Saltelli's design (its blocks swap whole coordinates, which a
    per-coordinate transform preserves) and for Morris' grid (levels become quantiles).
    ``experiment.distributions=false`` maps u uniformly onto [lo, hi] instead, the classical
    bounds-only analysis. Entries marked ``relative: true`` are multipliers of the value the
    scenario sets, as in the PSA. Integer parameters are rounded when the configuration is built
    (the sample table keeps the continuous value that was drawn).

Seeds: common random numbers, averaged over a few seed sets
    The model is stochastic: an output is g(x, s) for parameters x and seed s. A fresh seed per
    sample point would add independent noise to every evaluation, which Saltelli's and Jansen's
    estimators read as an effect of *every* parameter (total indices inflate, first-order ones
    shrink) and which only very large samples average out. Instead every sample point is run with
    the same seeds ``seed, seed+1, ..., seed+R-1`` (R = ``experiment.replications_per_point``) and
    the analysis uses the mean of those R runs, f_R(x) = mean_r g(x, seed+r). With common random
    numbers f_R is a deterministic function of x whose variance decomposition approaches that of
    the expected output E[g(x, S)] as R grows; peersim's named random streams keep the draws of
    one mechanism aligned when another mechanism's parameter changes, so neighbouring points see
    the same luck.
    How much seed noise remains is measured in every run, not assumed: with R >= 2 the indices are
    also computed from each seed set alone, and their spread across seed sets divided by sqrt(R)
    is reported as ``S1_seed_se``/``ST_seed_se`` (``mu_star_seed_se`` for Morris), an approximate
    standard error of the reported index due to the seeds alone; ``seed_noise_share`` in
    ``sensitivity.md`` is the share of an output's variance across the sample that is luck
    differing between points (a two-way point x seed analysis of variance; luck common to all
    points cancels), and above 50% the report warns that the indices mostly describe luck.
    Why R = 2 by default rather than one seed set and twice the base samples: common random
    numbers do not make the seed noise vanish, they freeze it into a rough surface over x (a
    small change of a parameter changes which citizen is referred when, and the luck of every
    later draw), and Saltelli's total-order estimator reads that roughness as interactions of
    every parameter. Averaging two seed sets halves its variance. Measured on the default
    configuration (44 parameters, N = 32): seed noise is 14% of the variance of
    ``net_municipal_dkk`` across the sample (3% of ``citizens_started``, 6% of
    ``volunteer_burnouts``); the total indices of the net result add up to 5.0 and 5.3 with either
    seed set alone and to 3.5 on the mean of both (citizens started 1.6-1.7 -> 1.4, burnouts 2.4 ->
    1.9), and single indices moved by up to 0.24 between seed sets. A parameter that does not touch an
    output at all gets an index of exactly 0 (its runs are identical). The bootstrap confidence
    intervals (``*_conf``) cover the design's sampling error of the averaged output and are the
    larger error at N = 32 (±0.1-0.6 on the top ST).
    Changing ``seed=`` changes only the model's random numbers (same design); changing
    ``experiment.sample_seed`` changes only the design.

Cost
    Sobol' (Saltelli's scheme, first and total order): N (D + 2) sample points for N =
    ``base_samples`` and D parameters, N (2 D + 2) with ``second_order``; times R runs each.
    Morris: r (D + 1) points for r = ``trajectories``, times R. One 5-year run of the default
    scenario costs 0.13-0.19 CPU-seconds, so the defaults (N = 32, r = 20, R = 2, D = 44 today)
    take 2,944 runs (measured: 3.1 minutes on 2 cores) and 1,800 runs (1.9 minutes). The
    confidence intervals narrow about as 1/sqrt(N) (or 1/sqrt(r)): four times the base samples
    halves them at four times the cost. With many parameters, screen with Morris and run Sobol'
    on the few that matter (``experiment.parameters=[...]``), where N = 256 is affordable.

Outputs (in the run folder)
    ``sobol_indices`` (output, parameter, S1, S1_conf, ST, ST_conf, seed errors, rank) and, with
    ``second_order``, ``sobol_s2`` (output, parameter, other, S2, S2_conf); or ``morris_indices``
    (mu, mu_star, mu_star_conf, sigma, seed error, rank); ``samples`` (one row per run: point,
    replicate, seed, unit-cube coordinates ``u:<key>``, parameter values, outputs) so that the
    analysis can be redone; ``sensitivity.json`` (the design); one chart per output; and
    ``sensitivity.md``, written last, naming the most influential parameters per output.

Pluggable evaluation
    :func:`sobol` and :func:`morris` take the evaluation function ``fn(values, seed) -> mapping of
    outputs`` (``values`` maps parameter names to numbers); the experiments plug in
    :class:`ModelEvaluation` (one simulation), tests plug in analytic functions and get the same
    sampling, transform, replication and analysis code. ``fn`` must be picklable for ``n_jobs``
    > 1 and may have a ``check(values)`` method, called for every point before any run.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments import Experiment
from peersim.params import ConfigError, DistParams, PeersimConfig, between
from peersim.io import (
    TableFormats,
    TableSettings,
    begin_result,
    save_figure,
    write_json,
    write_tables,
    write_text,
)
from peersim.tables import read_csv

DEFAULT_OUTPUTS = ["net_municipal_dkk", "citizens_started", "volunteer_burnouts"]
INFLUENTIAL = 0.05  # a total-order index below this share of variance is called negligible
NOISY = 0.5  # above this seed-noise share of an output's variance, its indices mostly describe luck

Evaluate = Callable[[dict[str, float], int], Mapping[str, Any]]


# -- experiment schemas (values and their sources live in conf/experiment/*.yaml) -------------
@dataclass
class _SensitivityCommon:
    parameters: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=lambda: list(DEFAULT_OUTPUTS))
    # {dotted.key: [lo, hi]}; typed Any (default None) so that ``experiment.bounds={k: [lo, hi]}``
    # works without Hydra's ``+`` (a typed dict is closed to new keys once composed)
    bounds: Any = None
    distributions: bool = True
    replications_per_point: int = field(default=2, metadata=between(1, 10_000))
    sample_seed: int = field(default=0, metadata=between(0, 2**32 - 1))
    bootstrap_resamples: int = field(default=1000, metadata=between(10, 1_000_000))
    conf_level: float = field(default=0.95, metadata=between(0.5, 0.999))
    n_jobs: int = field(default=0, metadata=between(0, 4096))
    progress: bool = True

    def validate(self) -> None:
        if not self.outputs:
            raise ConfigError("experiment.outputs is empty; name at least one numeric key of summary.json, "
                              f"e.g. [{','.join(DEFAULT_OUTPUTS)}]")
        if self.bounds is None:
            self.bounds = {}
        if not isinstance(self.bounds, dict):
            raise ConfigError(f"experiment.bounds must map parameter keys to [lo, hi], e.g. "
                              f"{{volunteers.burnout_threshold:[0.5,0.9]}}, got {self.bounds!r}")
        for key, b in self.bounds.items():
            ok = (isinstance(b, list | tuple) and len(b) == 2
                  and all(isinstance(v, int | float) and not isinstance(v, bool) for v in b))
            if not ok or not b[0] < b[1]:
                raise ConfigError(f"experiment.bounds.{key} must be [lo, hi] with numbers lo < hi, got {b!r}")
            self.bounds[key] = [float(b[0]), float(b[1])]


@dataclass
class SobolExperiment(_SensitivityCommon):
    base_samples: int = field(default=32, metadata=between(2, 2**24))
    second_order: bool = False

    def validate(self) -> None:
        super().validate()
        n = self.base_samples
        if n & (n - 1):
            lo = 1 << (n.bit_length() - 1)
            raise ConfigError(f"experiment.base_samples must be a power of 2 (the Sobol' sequence is balanced "
                              f"only then), got {n}; use {lo} or {2 * lo}")


@dataclass
class MorrisExperiment(_SensitivityCommon):
    trajectories: int = field(default=20, metadata=between(2, 1_000_000))
    levels: int = field(default=4, metadata=between(2, 1000))

    def validate(self) -> None:
        super().validate()
        if self.levels % 2:
            raise ConfigError(f"experiment.levels must be even (Morris' step of p/(2(p-1)) levels visits "
                              f"every level equally only then), got {self.levels}")


# -- the problem: parameters and how unit-cube coordinates become values ----------------------
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


# -- evaluation ------------------------------------------------------------------------------
def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return float(value)


class _PointCall:
    """``fn`` on one (values, seed) item, keeping only the analysed outputs (picklable)."""

    def __init__(self, fn: Evaluate, outputs: Sequence[str]) -> None:
        self.fn, self.outputs = fn, list(outputs)

    def __call__(self, item: tuple[dict[str, float], int]) -> dict[str, float]:
        values, seed = item
        out = self.fn(values, seed)
        return {k: _number(out.get(k)) for k in self.outputs}


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


def check_outputs(probe: Mapping[str, Any], outputs: Sequence[str]) -> None:
    """Every requested output is a numeric key of ``probe`` (one evaluation); else one line."""
    numeric = [k for k, v in probe.items()
               if v is None or (isinstance(v, int | float | np.number) and not isinstance(v, bool))]
    for key in outputs:
        if key not in probe:
            close = close_matches(key, numeric)
            hint = (f"did you mean {', '.join(close)}?" if close
                    else f"numeric keys include {', '.join(numeric[:12])}, ...")
            raise ConfigError(f"experiment.outputs: unknown output '{key}'; {hint} (any numeric key of summary.json)")
        if key not in numeric:
            raise ConfigError(f"experiment.outputs: '{key}' is not numeric (it is {probe[key]!r}); "
                              "choose a numeric key of summary.json")


def evaluate_design(problem: Problem, u: np.ndarray, fn: Evaluate, outputs: Sequence[str],
                    seeds: Sequence[int], *, n_jobs: int | None = None, label: str = "sensitivity",
                    progress: bool = True) -> pd.DataFrame:
    """Run ``fn`` at every point of the design ``u`` (unit cube, n x D) with every seed.

    One row per run, in design order and seed order within a point: point, replicate, seed,
    ``u:<name>``, the parameter values, the outputs. Every point passes ``fn.check`` (if any)
    before the first run, so a bad range stops before any simulation."""
    return _evaluate_design_timed(problem, u, fn, outputs, seeds, n_jobs=n_jobs, label=label,
                                  progress=progress)[0]


def _evaluate_design_timed(problem: Problem, u: np.ndarray, fn: Evaluate, outputs: Sequence[str],
                           seeds: Sequence[int], *, n_jobs: int | None = None, label: str = "sensitivity",
                           progress: bool = True) -> tuple[pd.DataFrame, float]:
    """:func:`evaluate_design` and the CPU-seconds of its runs (worker processes included)."""
    from peersim.experiments._runner import run_many_timed

    names = problem.names
    x = problem.values(u)
    points = [dict(zip(names, map(float, row), strict=True)) for row in x]
    check = getattr(fn, "check", None)
    if callable(check):
        for values in points:
            check(values)
    items = [(values, int(s)) for values in points for s in seeds]
    res, cpu = run_many_timed(items, n_jobs=n_jobs, label=label, progress=progress, fn=_PointCall(fn, outputs))
    r = len(seeds)
    head = pd.DataFrame({
        "point": np.repeat(np.arange(len(points)), r),
        "replicate": np.tile(np.arange(r), len(points)),
        "seed": np.tile(np.asarray(seeds, dtype=np.int64), len(points)),
    })
    ucols = pd.DataFrame(np.repeat(u, r, axis=0), columns=[f"u:{n}" for n in names])
    xcols = pd.DataFrame(np.repeat(x, r, axis=0), columns=names)
    return pd.concat([head, ucols, xcols, res.reset_index(drop=True)[list(outputs)]], axis=1), cpu


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
        rows.append({"output": k, "at_median": _number(probe.get(k)),
                     "mean": float(np.nanmean(ybar)) if np.isfinite(ybar).any() else math.nan,
                     "sd": float(np.nanstd(ybar, ddof=1)) if np.isfinite(ybar).sum() > 1 else math.nan,
                     "undefined_points": int((~np.isfinite(ybar)).sum()),
                     "seed_noise_share": seed_noise_share(y),
                     "mu_star_noise_floor": morris_noise_floor(y, levels) if levels else math.nan})
    return pd.DataFrame(rows)


def _analysable(y: np.ndarray) -> str | None:
    """Why ``y`` cannot be analysed, or None."""
    bad = int((~np.isfinite(y)).sum())
    if bad:
        return f"undefined at {bad} of {len(y)} points"
    if float(np.var(y)) <= 1e-12 * max(1.0, float(np.mean(y)) ** 2):
        return "did not vary across the sample"
    return None


# -- analysis --------------------------------------------------------------------------------
def sobol_analyze(problem: Problem, y: np.ndarray, *, second_order: bool = False, resamples: int = 1000,
                  conf_level: float = 0.95, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """First-order and total indices (and second order) of one output, with bootstrap CIs."""
    import warnings

    from SALib.analyze import sobol as sa

    names = problem.names
    cols = ["S1", "S1_conf", "ST", "ST_conf"]
    if _analysable(y):
        nan = pd.DataFrame({"parameter": names, **{c: math.nan for c in cols}})
        return nan, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # seed + 1: SALib's Sobol' analysis takes a seed of 0 for "no seed" (the global random state)
        si = sa.analyze(problem.salib(), np.asarray(y, dtype=float), calc_second_order=second_order,
                        num_resamples=resamples, conf_level=conf_level, seed=seed + 1)
    first = pd.DataFrame({"parameter": names, **{c: np.asarray(si[c], dtype=float) for c in cols}})
    if not second_order:
        return first, None
    rows = [{"parameter": names[i], "other": names[j], "S2": float(si["S2"][i, j]),
             "S2_conf": float(si["S2_conf"][i, j])}
            for i in range(len(names)) for j in range(i + 1, len(names))]
    return first, pd.DataFrame(rows, columns=["parameter", "other", "S2", "S2_conf"])


def morris_analyze(problem: Problem, u: np.ndarray, y: np.ndarray, *, levels: int = 4,
                   resamples: int = 1000, conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """mu, mu_star (with bootstrap CI) and sigma of the elementary effects of one output. Effects
    are in the output's unit per full range of the parameter (SALib divides by the unit-cube step)."""
    from SALib.analyze import morris as ma

    names = problem.names
    cols = ["mu", "mu_star", "mu_star_conf", "sigma"]
    if _analysable(y):
        return pd.DataFrame({"parameter": names, **{c: math.nan for c in cols}})
    si = ma.analyze(problem.salib(), np.asarray(u, dtype=float), np.asarray(y, dtype=float),
                    num_resamples=resamples, conf_level=conf_level, num_levels=levels, seed=seed)
    return pd.DataFrame({"parameter": names, **{c: np.asarray(si[c], dtype=float) for c in cols}})


def _seed_se(per_seed: list[pd.DataFrame], cols: Sequence[str]) -> dict[str, np.ndarray]:
    """Spread of each index across seed sets / sqrt(R): its approximate standard error due to seeds."""
    r = len(per_seed)
    if r < 2:
        return {f"{c}_seed_se": np.full(len(per_seed[0]), math.nan) for c in cols}
    return {f"{c}_seed_se": np.std(np.stack([d[c].to_numpy() for d in per_seed]), axis=0, ddof=1) / math.sqrt(r)
            for c in cols}


@dataclass
class SensitivityResult:
    """What :func:`sobol` or :func:`morris` found, ready to be written."""

    method: str                         # "sobol" or "morris"
    problem: Problem
    outputs: list[str]
    indices: pd.DataFrame               # one row per output and parameter
    samples: pd.DataFrame               # one row per run
    stats: pd.DataFrame                 # one row per output (see output_stats)
    settings: dict[str, Any]            # the design, runs and wall time
    second_order: pd.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)  # output -> why it was not analysed


def _prepare(problem: Problem, fn: Evaluate, outputs: Sequence[str], seeds: Sequence[int]) -> dict[str, Any]:
    if not problem.parameters:
        raise ConfigError("experiment.parameters: no parameters to analyse")
    if not seeds:
        raise ConfigError("experiment.replications_per_point must be >= 1")
    median = dict(zip(problem.names, map(float, problem.values(np.full((1, len(problem.parameters)), 0.5))[0]),
                      strict=True))
    check = getattr(fn, "check", None)
    if callable(check):
        check(median)
    probe = dict(fn(median, int(seeds[0])))
    check_outputs(probe, outputs)
    return probe


def _timed_design(problem: Problem, u: np.ndarray, fn: Evaluate, outputs: Sequence[str], seeds: Sequence[int],
                  n_jobs: int | None, label: str, progress: bool) -> tuple[pd.DataFrame, dict[str, float]]:
    """The design's runs, their wall time and their CPU time: this process's and, with worker
    processes, what each worker measured around its own runs (the pool's workers are children of
    multiprocessing's fork server, so this process's ``RUSAGE_CHILDREN`` never includes them)."""
    from peersim.experiments._runner import default_jobs

    w0 = time.perf_counter()
    samples, cpu = _evaluate_design_timed(problem, u, fn, outputs, seeds, n_jobs=n_jobs, label=label,
                                          progress=progress)
    return samples, {"seconds": time.perf_counter() - w0, "cpu_seconds": cpu, "n_jobs": default_jobs(n_jobs)}


def _rank(table: pd.DataFrame, by: str) -> pd.DataFrame:
    table["rank"] = table.groupby("output")[by].rank(ascending=False, method="min", na_option="bottom").astype(int)
    return table.sort_values(["output", "rank", "parameter"], kind="stable").reset_index(drop=True)


def design_unit_cube(samples: pd.DataFrame, names: Sequence[str], replicates: int) -> np.ndarray:
    """The design (points x D, unit cube) back from a samples table."""
    return samples[[f"u:{n}" for n in names]].to_numpy(dtype=float)[::replicates]


def analyse(problem: Problem, samples: pd.DataFrame, outputs: Sequence[str], settings: dict[str, Any],
            at_median: Mapping[str, Any] | None = None) -> SensitivityResult:
    """Indices of every output from a samples table (one row per run, design order).

    ``settings`` names the method and its design: ``method`` ("sobol" or "morris"),
    ``replications_per_point``, ``sample_seed``, ``bootstrap_resamples``, ``conf_level``, and
    ``second_order`` (Sobol') or ``levels`` (Morris). The analysis uses the mean over the seeds of
    each point; each seed set is also analysed alone for the seed standard errors."""
    method, r = settings["method"], int(settings["replications_per_point"])
    seed, resamples, level = int(settings["sample_seed"]), int(settings["bootstrap_resamples"]), settings["conf_level"]
    u = design_unit_cube(samples, problem.names, r)
    tables, s2_tables, notes = [], [], {}
    for k in outputs:
        y = output_matrix(samples, k, r)
        why = _analysable(y.mean(axis=1))
        if why:
            notes[k] = why
        if method == "sobol":
            table, s2 = sobol_analyze(problem, y.mean(axis=1), second_order=settings["second_order"],
                                      resamples=resamples, conf_level=level, seed=seed)
            per_seed = ([sobol_analyze(problem, y[:, i], resamples=10, seed=seed)[0] for i in range(r)]
                        if r >= 2 and not why else [table])
            table = table.assign(**_seed_se(per_seed, ["S1", "ST"]))
            if s2 is not None:
                s2_tables.append(s2.assign(output=k))
        else:
            table = morris_analyze(problem, u, y.mean(axis=1), levels=settings["levels"], resamples=resamples,
                                   conf_level=level, seed=seed)
            per_seed = ([morris_analyze(problem, u, y[:, i], levels=settings["levels"], resamples=10, seed=seed)
                         for i in range(r)] if r >= 2 and not why else [table])
            table = table.assign(**_seed_se(per_seed, ["mu_star"]))
        tables.append(table.assign(output=k))
    if method == "sobol":
        indices = _rank(pd.concat(tables, ignore_index=True), "ST")[
            ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "S1_seed_se", "ST_seed_se", "rank"]]
    else:
        indices = _rank(pd.concat(tables, ignore_index=True), "mu_star")[
            ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "mu_star_seed_se", "rank"]]
    s2_all = (pd.concat(s2_tables, ignore_index=True)[["output", "parameter", "other", "S2", "S2_conf"]]
              if s2_tables else None)
    stats = output_stats(samples, outputs, r, at_median or {}, settings.get("levels") if method == "morris" else None)
    return SensitivityResult(method, problem, list(outputs), indices, samples, stats, dict(settings), s2_all, notes)


def _design_settings(method: str, problem: Problem, u: np.ndarray, seeds: Sequence[int], timing: dict[str, float],
                     **design: Any) -> dict[str, Any]:
    d, r = len(problem.parameters), len(seeds)
    if method == "sobol":
        n = design["base_samples"]
        formula = f"N (2D + 2) = {n} x {2 * d + 2}" if design["second_order"] else f"N (D + 2) = {n} x {d + 2}"
    else:
        formula = f"r (D + 1) = {design['trajectories']} x {d + 1}"
    return {"method": method, **design, "parameters": d, "points": len(u), "points_formula": formula,
            "replications_per_point": r, "seeds": list(map(int, seeds)), "runs": len(u) * r, **timing,
            "distributions": problem.distributions}


def sobol(problem: Problem, fn: Evaluate, outputs: Sequence[str], *, base_samples: int = 32,
          second_order: bool = False, seeds: Sequence[int] = (0,), sample_seed: int = 0,
          resamples: int = 1000, conf_level: float = 0.95, n_jobs: int | None = None,
          progress: bool = True, label: str = "sobol") -> SensitivityResult:
    """Sobol' first-order and total indices of ``fn`` over ``problem`` (Saltelli's design on a
    scrambled Sobol' sequence, SALib's estimators, bootstrap CIs), each point run with every seed
    of ``seeds`` (common to all points) and analysed on the mean over seeds."""
    from SALib.sample import sobol as ss

    outputs = list(dict.fromkeys(outputs))
    probe = _prepare(problem, fn, outputs, seeds)
    u = ss.sample(problem.salib(), base_samples, calc_second_order=second_order, scramble=True,
                  seed=sample_seed)
    samples, timing = _timed_design(problem, u, fn, outputs, seeds, n_jobs, label, progress)
    settings = _design_settings("sobol", problem, u, seeds, timing, base_samples=base_samples,
                                second_order=second_order, sample_seed=sample_seed, bootstrap_resamples=resamples,
                                conf_level=conf_level)
    return analyse(problem, samples, outputs, settings, probe)


def morris(problem: Problem, fn: Evaluate, outputs: Sequence[str], *, trajectories: int = 20, levels: int = 4,
           seeds: Sequence[int] = (0,), sample_seed: int = 0, resamples: int = 1000, conf_level: float = 0.95,
           n_jobs: int | None = None, progress: bool = True, label: str = "morris") -> SensitivityResult:
    """Morris elementary effects of ``fn`` over ``problem`` (``trajectories`` one-at-a-time paths
    on a ``levels``-level grid of quantiles), each point run with every seed of ``seeds``."""
    from SALib.sample import morris as ms

    outputs = list(dict.fromkeys(outputs))
    probe = _prepare(problem, fn, outputs, seeds)
    u = ms.sample(problem.salib(), trajectories, num_levels=levels, seed=sample_seed)
    samples, timing = _timed_design(problem, u, fn, outputs, seeds, n_jobs, label, progress)
    settings = _design_settings("morris", problem, u, seeds, timing, trajectories=trajectories, levels=levels,
                                sample_seed=sample_seed, bootstrap_resamples=resamples, conf_level=conf_level)
    return analyse(problem, samples, outputs, settings, probe)


def reanalyse(folder: str | Path, *, outputs: Sequence[str] | None = None, charts: bool = True,
              **changes: Any) -> SensitivityResult:
    """Redo the analysis of a finished run folder from its ``samples`` and ``sensitivity.json``
    (no model runs), e.g. with another ``conf_level`` or ``bootstrap_resamples``, and rewrite its
    tables, charts and report. ``outputs`` may name any subset of the analysed outputs."""
    out = Path(folder)
    design = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    locale = design.get("csv_locale", "en")
    samples = (pd.read_parquet(out / "samples.parquet") if (out / "samples.parquet").is_file()
               else read_csv(out / "samples.csv", locale))
    problem = Problem([Parameter(p["name"], DistParams(**{k: p[k] for k in
                                                           ("dist", "lo", "hi", "mode", "mean", "sd", "relative",
                                                            "source")}))
                       for p in design["parameters"]], distributions=design["distributions"])
    chosen = list(outputs) if outputs else design["outputs"]
    unknown = [k for k in chosen if k not in design["outputs"]]
    if unknown:
        raise ConfigError(f"outputs: {', '.join(unknown)} not in this analysis; it has {', '.join(design['outputs'])}")
    settings = {k: v for k, v in design.items()
                if k not in ("context", "outputs", "parameters", "stats", "not_analysed", "csv_locale")}
    settings.update(changes, parameters=len(problem.parameters))
    at_median = {s["output"]: s["at_median"] for s in design["stats"]}
    result = analyse(problem, samples, chosen, settings, at_median)
    formats = TableFormats(parquet=(out / "samples.parquet").is_file(), csv=(out / "samples.csv").is_file(),
                           csv_locale=locale)
    write_result(result, out, context=design.get("context", ""), output=formats, charts=charts)
    return result


# -- writing ---------------------------------------------------------------------------------
def chart_name(method: str, output: str) -> str:
    return f"{method}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', output)}.png"


def write_result(result: SensitivityResult, outdir: str | Path, *, context: str = "",
                 output: TableSettings = TableFormats(), charts: bool = True) -> Path:
    """Tables, the design, one chart per analysed output and ``sensitivity.md`` (written last,
    so a folder without it is an unfinished analysis)."""
    out = begin_result(outdir, "sensitivity.md")
    tables = {f"{result.method}_indices": result.indices, "samples": result.samples}
    if result.second_order is not None:
        tables["sobol_s2"] = result.second_order
    write_tables(out, tables, output)
    design = {**result.settings, "context": context, "outputs": result.outputs, "csv_locale": output.csv_locale,
              "parameters": [{"name": p.name, "dist": p.dist.dist, "lo": p.dist.lo, "hi": p.dist.hi,
                              "mode": p.dist.mode, "mean": p.dist.mean, "sd": p.dist.sd,
                              "relative": p.dist.relative, "source": p.dist.source}
                             for p in result.problem.parameters],
              "stats": result.stats.to_dict(orient="records"), "not_analysed": result.notes}
    write_json(out / "sensitivity.json", design)
    written = []
    if charts:
        from peersim.experiments import _sensitivity_charts as sc

        for k in result.outputs:
            if k in result.notes:
                continue
            table = result.indices[result.indices["output"] == k]
            floor = float(result.stats.set_index("output").loc[k, "mu_star_noise_floor"])
            fig = (sc.sobol_tornado(table, k, context, result.settings) if result.method == "sobol"
                   else sc.morris_chart(table, k, context, result.settings, noise_floor=floor))
            name = chart_name(result.method, k)
            save_figure(fig, out / name, dpi=130)
            written.append(name)
    write_text(out / "sensitivity.md", report_markdown(result, context, written))
    return out


# -- the report ------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def influential(table: pd.DataFrame, method: str) -> tuple[list[pd.Series], list[str]]:
    """Rows of the parameters that matter for one output (ranked), and the names of those that do not.

    Sobol': total index at least 5% of the variance and its CI clear of zero. Morris: mu_star at
    least 5% of the largest mu_star and its CI clear of zero."""
    t = table.sort_values("rank")
    if method == "sobol":
        keep = (t["ST"] >= INFLUENTIAL) & (t["ST"] - t["ST_conf"] > 0)
    else:
        top = t["mu_star"].max()
        keep = (t["mu_star"] >= INFLUENTIAL * top) & (t["mu_star"] - t["mu_star_conf"] > 0) & (top > 0)
    return [row for _, row in t[keep].iterrows()], list(t[~keep]["parameter"])


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(f"`{p}`" for p in names[:limit])
    return shown + (f" and {len(names) - limit} more (see the indices table)" if len(names) > limit else "")


def _morris_shape(mu_star: float, sigma: float) -> str:
    """Garcia Sanchez et al. 2014 (doi 10.1016/j.enbuild.2014.02.044): sigma/mu_star."""
    if not mu_star or not math.isfinite(sigma):
        return "n/a"
    ratio = sigma / mu_star
    if ratio < 0.1:
        return "linear"
    if ratio < 0.5:
        return "monotonic"
    if ratio < 1.0:
        return "almost monotonic"
    return "non-linear or interacting"


def report_markdown(result: SensitivityResult, context: str = "", charts: Sequence[str] = ()) -> str:
    """``sensitivity.md``: the design, then per output the most influential parameters."""
    s, method = result.settings, result.method
    title = "Sobol' indices" if method == "sobol" else "Morris screening"
    seeds = s["seeds"]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    rate = s["runs"] / s["seconds"] if s["seconds"] > 0 else math.nan
    per_run = s["cpu_seconds"] / s["runs"] if s["runs"] else math.nan
    lines = [f"# Sensitivity analysis: {title}", ""]
    if context:
        lines += [context, ""]
    lines += [
        f"{s['parameters']} parameters, {s['points']} sample points ({s['points_formula']}), "
        f"{s['replications_per_point']} run(s) per point with common random numbers ({seed_text}, the same at "
        f"every point): **{s['runs']} model runs in {s['seconds']:.0f} s** on {s['n_jobs']} process(es) "
        f"({rate:.1f} runs/s; {per_run:.3f} CPU-seconds per run).",
        "",
        "Parameter values are drawn from their distributions (inverse CDF of the unit-cube design)."
        if s["distributions"] else "Parameter values are drawn uniformly on [lo, hi] (experiment.distributions=false).",
        "",
        "| parameter | distribution | source |",
        "|---|---|---|",
    ]
    for p in result.problem.parameters:
        lines.append(f"| `{p.name}` | {p.describe(s['distributions'])} | {p.dist.source or '-'} |")
    lines.append("")
    for k in result.outputs:
        st = result.stats[result.stats["output"] == k].iloc[0]
        lines += [f"## {k}", ""]
        share = st["seed_noise_share"]
        noise = (f"; seed noise (luck that differs between points despite the common seeds) is {share:.0%} "
                 "of the variance across the sample" if math.isfinite(share) else "")
        lines.append(f"At the median of every parameter: {_fmt(st['at_median'])}. Across the sample "
                     f"(mean of the runs per point): mean {_fmt(st['mean'])}, sd {_fmt(st['sd'])}{noise}.")
        lines.append("")
        if math.isfinite(share) and share > NOISY and k not in result.notes:
            lines += [f"**Mostly luck:** with {share:.0%} of the variation being seed noise, the indices below "
                      "mostly show which parameters send the runs down other random paths, not systematic "
                      "effects. Raise experiment.replications_per_point before reading them as effects.", ""]
        if k in result.notes:
            lines += [f"Not analysed: the output {result.notes[k]}.", ""]
            continue
        table = result.indices[result.indices["output"] == k]
        rows, rest = influential(table, method)
        if method == "sobol":
            lines += _sobol_section(table, rows, rest, s)
        else:
            lines += _morris_section(table, rows, rest, s, float(st["mu_star_noise_floor"]))
        chart = chart_name(method, k)
        if chart in charts:
            lines += [f"![{k}]({chart})", ""]
    lines += _closing(result)
    return "\n".join(lines) + "\n"


def _sobol_section(table: pd.DataFrame, rows: list[pd.Series], rest: list[str], s: dict[str, Any]) -> list[str]:
    lvl = f"{s['conf_level']:.0%}"
    out = []
    if rows:
        out.append(f"Most influential (total-order index ST, share of the output's variance, {lvl} CI):")
        out.append("")
        for i, r in enumerate(rows[:8], 1):
            se = f", seed se {r['ST_seed_se']:.2f}" if math.isfinite(r["ST_seed_se"]) else ""
            out.append(f"{i}. `{r['parameter']}`: ST {r['ST']:.2f} ± {r['ST_conf']:.2f}, "
                       f"S1 {r['S1']:.2f} ± {r['S1_conf']:.2f}{se}")
        out.append("")
    else:
        out += ["No parameter reaches a total-order index of 5% with its CI clear of zero.", ""]
    if rest:
        out += [f"Negligible here (ST < {INFLUENTIAL:.0%} or CI reaching zero): {_names(rest)}.", ""]
    s1 = float(table["S1"].clip(lower=0).sum())
    if s1 > 1.2:
        verdict = ("more than 1, so the estimates are still dominated by sampling and seed noise: "
                   "increase experiment.base_samples (and experiment.replications_per_point).")
    elif s1 >= 0.8:
        verdict = "the parameters act mostly alone (additively)."
    else:
        verdict = (f"about {max(0.0, 1 - s1):.0%} of the variance comes from interactions between parameters "
                   "(or from estimation noise; see the CIs).")
    out += [f"Sum of first-order indices {s1:.2f}: {verdict}", ""]
    st = float(table["ST"].clip(lower=0).sum())
    if st > 1.5 and s1 <= 1.2:
        out += [f"The total-order indices add up to {st:.1f}. Beyond real interactions, part of every ST is "
                "estimation noise and the roughness the seeds leave in the output (runs at neighbouring points "
                "differ in luck in ways no parameter explains); small ST values near their CI are not "
                "evidence of an effect.", ""]
    se = table["ST_seed_se"].max()
    if math.isfinite(se):
        out += [f"Seed noise: the largest seed standard error of an index is {se:.2f} "
                "(from the spread between the seed sets).", ""]
    return out


def _morris_section(table: pd.DataFrame, rows: list[pd.Series], rest: list[str], s: dict[str, Any],
                    floor: float = math.nan) -> list[str]:
    lvl = f"{s['conf_level']:.0%}"
    out = []
    if rows:
        out.append(f"Most influential (mu*: mean absolute change of the output over the parameter's full range, "
                   f"{lvl} CI; sigma: spread of the effects):")
        out.append("")
        for i, r in enumerate(rows[:8], 1):
            below = " - within the seed-noise floor" if math.isfinite(floor) and r["mu_star"] < floor else ""
            out.append(f"{i}. `{r['parameter']}`: mu* {_fmt(r['mu_star'])} ± {_fmt(r['mu_star_conf'])}, "
                       f"mu {_fmt(r['mu'])}, sigma {_fmt(r['sigma'])} "
                       f"({_morris_shape(r['mu_star'], r['sigma'])}){below}")
        out.append("")
    else:
        out += ["No parameter has an effect clearly above zero.", ""]
    if rest:
        out += [f"Negligible here (mu* < 5% of the largest or CI reaching zero): {_names(rest)}.", ""]
    if math.isfinite(floor):
        above = int((table["mu_star"] > floor).sum())
        zero = int((table["mu_star"] == 0).sum())
        out += [f"Seed-noise floor of mu*: {_fmt(floor)} (what a parameter would show from noise alone if each "
                f"of its steps sent the runs down another path); {above} parameter(s) lie above it. "
                + (f"{zero} parameter(s) have mu* = 0 exactly: with common random numbers they do not change "
                   "this output at all. " if zero else "")
                + "Effects below the floor may be real (a step that keeps the runs on their path adds no "
                  "noise) but cannot be told from luck; more experiment.replications_per_point lower the floor "
                  "as 1/sqrt(R).", ""]
    return out


def _closing(result: SensitivityResult) -> list[str]:
    s = result.settings
    d = len(result.problem.parameters)
    if result.method == "sobol":
        grow = ("Tighter intervals: the CIs narrow about as 1/sqrt(N); "
                f"`experiment.base_samples={4 * s['base_samples']}` "
                f"halves them at 4x the cost. More `experiment.replications_per_point` reduces the seed noise "
                f"(about 1/sqrt(R)).")
        redo = (f"y = s.groupby('point')[{result.outputs[0]!r}].mean().to_numpy()\n"
                f"sobol.analyze({{'num_vars': {d}, 'names': names, 'bounds': [[0, 1]] * {d}}}, y, "
                f"calc_second_order={s['second_order']})")
        imp = "from SALib.analyze import sobol"
    else:
        grow = ("Tighter intervals: the CIs narrow about as 1/sqrt(r); "
                f"`experiment.trajectories={4 * s['trajectories']}` "
                "halves them at 4x the cost. Screen with Morris, then run Sobol' on the parameters that matter.")
        redo = (f"y = s.groupby('point')[{result.outputs[0]!r}].mean().to_numpy()\n"
                "u = s.groupby('point')[[f'u:{n}' for n in names]].first().to_numpy()\n"
                f"morris.analyze({{'num_vars': {d}, 'names': names, 'bounds': [[0, 1]] * {d}}}, u, y, "
                f"num_levels={s['levels']})")
        imp = "from SALib.analyze import morris"
    names = ", ".join(repr(p.name) for p in result.problem.parameters)
    return ["## How to read and redo this", "", grow, "",
            "Every run is in `samples.parquet` (design order; `u:<key>` is the unit-cube coordinate, the plain "
            "columns the values used). `peersim.experiments.sensitivity.reanalyse(folder, conf_level=...)` redoes "
            "this analysis and rewrites this folder without new runs; with SALib directly:", "",
            "```python", "import pandas as pd", imp, "s = pd.read_parquet('samples.parquet')",
            f"names = [{names}]", redo, "```"]


# -- the peersim model as the evaluation function ----------------------------------------------
@dataclass
class ModelEvaluation:
    """``fn(values, seed)``: one simulation of ``base`` with ``values`` set (multipliers where
    ``relative``) and the given seed; its summary."""

    base: PeersimConfig
    relative: dict[str, bool] = field(default_factory=dict)

    def configure(self, values: Mapping[str, float], seed: int) -> PeersimConfig:
        from peersim.uncertainty import with_values

        p = with_values(self.base, values, relative=self.relative)
        p.seed = int(seed)
        return p

    def check(self, values: Mapping[str, float]) -> None:
        try:
            self.configure(values, self.base.seed)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (a sampled value: narrow the range in conf/uncertainty/default.yaml "
                              "or experiment.bounds)") from None

    def __call__(self, values: dict[str, float], seed: int) -> dict[str, Any]:
        from peersim.simulate import run_summary

        return run_summary(self.configure(values, seed))


def model_problem(params: PeersimConfig, settings: _SensitivityCommon) -> Problem:
    """The parameters to analyse: the chosen keys (or every uncertain one) with their
    distributions from ``uncertainty.parameters``, ``experiment.bounds`` taking precedence."""
    from peersim.uncertainty import get_value, numeric_keys, with_values

    spec: dict[str, DistParams] = dict(params.uncertainty.parameters)
    numeric = numeric_keys(params)
    for key, (lo, hi) in (settings.bounds or {}).items():
        if key not in numeric:
            close = close_matches(key, numeric)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"experiment.bounds: '{key}' is not a numeric parameter{hint}")
        for v in (lo, hi):
            try:
                with_values(params, {key: v})
            except ConfigError as exc:
                raise ConfigError(f"experiment.bounds.{key}: {exc}") from None
        spec[key] = DistParams(dist="uniform", lo=float(lo), hi=float(hi),
                               source=f"experiment.bounds (configured value {get_value(params, key)})")
    keys = list(dict.fromkeys(settings.parameters)) or list(spec)
    if not keys:
        raise ConfigError("experiment.parameters: nothing to analyse; conf/uncertainty/default.yaml lists no "
                          "parameter and experiment.bounds is empty")
    for key in keys:
        if key in spec:
            continue
        if key in numeric:
            raise ConfigError(f"experiment.parameters: '{key}' has no range; list it in conf/uncertainty/default.yaml "
                              f"or add 'experiment.bounds={{{key}:[lo,hi]}}'")
        close = close_matches(key, list(spec) + [k for k in numeric if k not in spec])
        hint = f"did you mean {', '.join(close)}?" if close else f"parameters with a range: {', '.join(spec)}"
        raise ConfigError(f"experiment.parameters: unknown parameter '{key}'; {hint}")
    return Problem([Parameter(k, spec[k]) for k in keys], distributions=settings.distributions)


def _context(params: PeersimConfig) -> str:
    names = "+".join(m.name for m in params.municipalities)
    return f"Scenario {params.scenario.name}, {names}, {params.years} years."


def _print_findings(result: SensitivityResult, out: Path) -> None:
    for k in result.outputs:
        if k in result.notes:
            print(f"  {k}: not analysed ({result.notes[k]})")
            continue
        rows, _ = influential(result.indices[result.indices["output"] == k], result.method)
        if result.method == "sobol":
            top = ", ".join(f"{r['parameter']} (ST {r['ST']:.2f}±{r['ST_conf']:.2f})" for r in rows[:3])
        else:
            top = ", ".join(f"{r['parameter']} (mu* {_fmt(r['mu_star'])})" for r in rows[:3])
        share = float(result.stats.set_index("output").loc[k, "seed_noise_share"])
        luck = (f" [seed noise {share:.0%} of its variance: mostly luck, raise replications_per_point]"
                if math.isfinite(share) and share > NOISY else "")
        print(f"  {k}: {top or 'no influential parameter'}{luck}")
    s = result.settings
    print(f"  {s['runs']} runs in {s['seconds']:.0f} s; report: {out / 'sensitivity.md'}")


def _run(params: PeersimConfig, outdir: Path, method: str) -> SensitivityResult:
    settings = params.experiment
    base = copy.deepcopy(params)
    base.experiment = None
    problem = model_problem(base, settings)
    relative = {p.name: p.dist.relative for p in problem.parameters}
    fn = ModelEvaluation(base, relative)
    seeds = [base.seed + r for r in range(settings.replications_per_point)]
    common = dict(seeds=seeds, sample_seed=settings.sample_seed, resamples=settings.bootstrap_resamples,
                  conf_level=settings.conf_level, n_jobs=settings.n_jobs or None, progress=settings.progress)
    if method == "sobol":
        result = sobol(problem, fn, settings.outputs, base_samples=settings.base_samples,
                       second_order=settings.second_order, **common)
    else:
        result = morris(problem, fn, settings.outputs, trajectories=settings.trajectories,
                        levels=settings.levels, **common)
    write_result(result, outdir, context=_context(base), output=params.output, charts=params.output.charts)
    _print_findings(result, Path(outdir))
    return result


def run_sobol(params: PeersimConfig, overrides: list[str], outdir: Path) -> SensitivityResult:
    """``peersim +experiment=sobol``: Sobol' indices of the chosen outputs."""
    return _run(params, outdir, "sobol")


def run_morris(params: PeersimConfig, overrides: list[str], outdir: Path) -> SensitivityResult:
    """``peersim +experiment=morris``: Morris screening of the chosen outputs."""
    return _run(params, outdir, "morris")


EXPERIMENTS = [
    Experiment("sobol", SobolExperiment, run_sobol,
               "Sobol' first-order and total indices of chosen outputs over the uncertain parameters"),
    Experiment("morris", MorrisExperiment, run_morris,
               "Morris elementary-effects screening of chosen outputs over the uncertain parameters"),
]
