"""The design and its runs: Saltelli's Sobol' design or Morris' trajectories in the unit cube,
every point evaluated with the same seeds (common random numbers), then analysed; and the
peersim model as the evaluation function. See docs/sensitivity.md."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.sensitivity.analysis import SensitivityResult, analyse
from peersim.experiments.sensitivity.problem import Evaluate, Problem, close_matches, output_value
from peersim.params import PeersimConfig
from peersim.validation import ConfigError


class _PointCall:
    """``fn`` on one (values, seed) item, keeping only the analysed outputs (picklable)."""

    def __init__(self, fn: Evaluate, outputs: Sequence[str]) -> None:
        self.fn, self.outputs = fn, list(outputs)

    def __call__(self, item: tuple[dict[str, float], int]) -> dict[str, float]:
        values, seed = item
        out = self.fn(values, seed)
        return {k: output_value(out.get(k)) for k in self.outputs}


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
