"""The analysis: Sobol' indices or Morris' elementary effects of every output from a samples
table (SALib's estimators on the replicate means, each seed set alone for the seed standard
errors), ranked; and which parameters count as influential. See docs/sensitivity.md."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.sensitivity.noise import output_matrix, output_stats, seed_se
from peersim.experiments.sensitivity.problem import Problem

INFLUENTIAL = 0.05  # influential: the index (Sobol' ST; Morris mu* / largest mu*) at least this, CI clear of zero
NEGLIGIBLE = 0.05   # negligible: the WHOLE confidence interval below this (ST + ST_conf; (mu* + conf) / largest mu*)
IMPRECISE = 0.25    # not estimated precisely (Sobol'): ST_conf above this, an interval wider than half the 0-1 range
IMPRECISE_MORRIS = 0.5  # not estimated precisely (Morris): mu_star_conf above this share of the largest mu*, an
                        # interval wider than the largest effect itself; such indices are never called negligible
VERDICTS = ("influential", "unclear", "imprecise", "negligible")


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


def _analysable(y: np.ndarray) -> str | None:
    """Why ``y`` cannot be analysed, or None."""
    bad = int((~np.isfinite(y)).sum())
    if bad:
        return f"undefined at {bad} of {len(y)} points"
    if float(np.var(y)) <= 1e-12 * max(1.0, float(np.mean(y)) ** 2):
        return "did not vary across the sample"
    return None


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
            table = table.assign(**seed_se(per_seed, ["S1", "ST"]))
            if s2 is not None:
                s2_tables.append(s2.assign(output=k))
        else:
            table = morris_analyze(problem, u, y.mean(axis=1), levels=settings["levels"], resamples=resamples,
                                   conf_level=level, seed=seed)
            per_seed = ([morris_analyze(problem, u, y[:, i], levels=settings["levels"], resamples=10, seed=seed)
                         for i in range(r)] if r >= 2 and not why else [table])
            table = table.assign(**seed_se(per_seed, ["mu_star"]))
        tables.append(table.assign(output=k))
    if method == "sobol":
        indices = _rank(pd.concat(tables, ignore_index=True), "ST")[
            ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "S1_seed_se", "ST_seed_se", "rank"]]
    else:
        indices = _rank(pd.concat(tables, ignore_index=True), "mu_star")[
            ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "mu_star_seed_se", "rank"]]
    indices = with_verdicts(indices, method)
    s2_all = (pd.concat(s2_tables, ignore_index=True)[["output", "parameter", "other", "S2", "S2_conf"]]
              if s2_tables else None)
    stats = output_stats(samples, outputs, r, at_median or {}, settings.get("levels") if method == "morris" else None)
    return SensitivityResult(method, problem, list(outputs), indices, samples, stats, dict(settings), s2_all, notes)


def imprecise_threshold(method: str) -> float:
    """The CI half-width above which an index is not estimated precisely: a share of variance
    (Sobol'), or a share of the output's largest mu* (Morris)."""
    return IMPRECISE if method == "sobol" else IMPRECISE_MORRIS


def verdicts(table: pd.DataFrame, method: str) -> tuple[pd.Series, pd.Series]:
    """What the report may say of each row of one output's indices, and whether its interval is narrow.

    ``verdict``: ``influential`` (index at least INFLUENTIAL, CI clear of zero); else ``imprecise``
    (CI half-width above IMPRECISE, or IMPRECISE_MORRIS of the largest mu*: the data cannot tell,
    raise the sample size); else
    ``negligible`` (the whole CI below NEGLIGIBLE); else ``unclear`` (small, but its CI reaches
    above NEGLIGIBLE); ``n/a`` where the index is undefined. ``precise``: CI half-width at most
    that threshold (an influential index can be imprecise too). Sobol' on ST, a share of variance;
    Morris on mu* relative to the output's largest mu*."""
    if method == "sobol":
        value, conf = table["ST"].astype(float), table["ST_conf"].astype(float)
    else:
        top = float(table["mu_star"].max()) if table["mu_star"].notna().any() else math.nan
        scale = top if top > 0 else 1.0
        value = table["mu_star"].astype(float) / scale
        conf = table["mu_star_conf"].astype(float) / scale
    precise = conf <= imprecise_threshold(method)
    verdict = np.select(
        [value.isna() | conf.isna(), (value >= INFLUENTIAL) & (value - conf > 0), ~precise, value + conf < NEGLIGIBLE],
        ["n/a", "influential", "imprecise", "negligible"], default="unclear")
    return pd.Series(verdict, index=table.index, dtype=object), precise & conf.notna()


def with_verdicts(indices: pd.DataFrame, method: str) -> pd.DataFrame:
    """The indices table with the ``verdict`` and ``precise`` columns of :func:`verdicts`, output by output."""
    out = indices.copy()
    out["verdict"], out["precise"] = "n/a", False
    for _, rows in indices.groupby("output", sort=False):
        v, p = verdicts(rows, method)
        out.loc[rows.index, "verdict"], out.loc[rows.index, "precise"] = v, p
    out["precise"] = out["precise"].astype(bool)
    return out


def influential(table: pd.DataFrame, method: str) -> tuple[list[pd.Series], list[str]]:
    """Rows of the parameters that matter for one output (ranked), and the names of the others
    (which are not all negligible: see :func:`verdicts`).

    Sobol': total index at least 5% of the variance and its CI clear of zero. Morris: mu_star at
    least 5% of the largest mu_star and its CI clear of zero."""
    t = table.sort_values("rank")
    keep = verdicts(t, method)[0] == "influential"
    return [row for _, row in t[keep].iterrows()], list(t[~keep]["parameter"])
