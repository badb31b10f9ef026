"""The fit: the objective on common random numbers, its runs, and the optimiser.

:class:`Objective` simulates the targets' run sets at a parameter point over the same seeds at
every point and returns the weighted sum of squared standardised residuals; evaluations are
cached by parameter values and recorded in order. :func:`minimise` runs Nelder-Mead (or bounded
Powell) on the parameters scaled to [0, 1]. Why these choices: :mod:`peersim.experiments.calibrate`.
scipy.optimize is imported when the fit starts.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from peersim.experiments.calibrate.parameters import CalibrateConfig, Parameter
from peersim.experiments.targets import RunSet, TargetSpec, TargetStats, replicate, target_stats

# objective of a point at which a target could not be measured (e.g. no citizen started)
UNMEASURED_PENALTY = 1e6


@dataclass
class Evaluation:
    index: int
    values: dict[str, float]
    objective: float
    stats: dict[str, TargetStats]
    seconds: float


class Objective:
    """The CRN objective with a cache: ``Objective(...)(u)`` for a point of the unit cube."""

    def __init__(self, parameters: list[Parameter], run_sets: list[RunSet], specs: dict[str, TargetSpec],
                 names: list[str], weights: dict[str, float], seeds: list[int], *, n_jobs: int,
                 progress: bool, max_evaluations: int) -> None:
        self.parameters, self.run_sets, self.specs, self.names = parameters, run_sets, specs, names
        self.weights = {n: float(weights.get(n, 1.0)) for n in names}
        self.seeds, self.n_jobs, self.progress, self.max_evaluations = seeds, n_jobs, progress, max_evaluations
        self.cache: dict[tuple[float, ...], Evaluation] = {}
        self.history: list[Evaluation] = []

    def values_at(self, u: np.ndarray) -> dict[str, float]:
        return {p.key: p.from_unit(ui) for p, ui in zip(self.parameters, u, strict=True)}

    def evaluate(self, values: dict[str, float], *, seeds: list[int] | None = None) -> Evaluation:
        """The objective at ``values`` on the shared seeds (cached and recorded), or on other
        ``seeds`` (the fresh-seed check: neither cached nor recorded)."""
        key = tuple(round(values[p.key], 12) for p in self.parameters)
        if seeds is None and key in self.cache:
            return self.cache[key]
        t0 = time.perf_counter()
        label = (f"calibrate {len(self.history) + 1:>3}/{self.max_evaluations}" if seeds is None
                 else "calibrate, fresh seeds")
        rows = replicate(self.run_sets, seeds or self.seeds, values=values, n_jobs=self.n_jobs,
                         label=label, progress=self.progress)
        stats = {}
        for rs in self.run_sets:
            for name in rs.targets:
                stats[name] = target_stats(name, self.specs[name], rows[rs.overrides])
        total = 0.0
        for name in self.names:
            st = stats[name]
            total += self.weights[name] * st.z ** 2 if st.available else UNMEASURED_PENALTY
        ev = Evaluation(len(self.history) + 1, dict(values), float(total), stats, time.perf_counter() - t0)
        if seeds is None:
            self.cache[key] = ev
            self.history.append(ev)
            if self.progress:
                shown = ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.4g}" for k, v in values.items())
                print(f"  evaluation {ev.index}: objective {total:.4g} at {shown}", file=sys.stderr)
        return ev

    def __call__(self, u: np.ndarray) -> float:
        return self.evaluate(self.values_at(np.asarray(u, dtype=float))).objective


def minimise(obj: Objective, parameters: list[Parameter], cfg: CalibrateConfig) -> tuple[Evaluation, str]:
    """Run the optimiser on the unit cube; the best evaluated point and scipy's message."""
    from scipy.optimize import minimize

    k = len(parameters)
    u0 = np.array([p.to_unit(p.start) for p in parameters])
    bounds = [(0.0, 1.0)] * k
    if cfg.method == "nelder-mead":
        simplex = [u0]
        for j in range(k):
            step = np.zeros(k)
            step[j] = cfg.initial_step if u0[j] + cfg.initial_step <= 1.0 else -cfg.initial_step
            simplex.append(u0 + step)
        res = minimize(obj, u0, method="Nelder-Mead", bounds=bounds,
                       options={"initial_simplex": np.array(simplex), "xatol": cfg.xtol, "fatol": cfg.ftol,
                                "maxfev": cfg.max_evaluations, "adaptive": k > 2})
    else:
        # Powell's ftol is relative: scale the absolute tolerance by the objective at the start
        start_objective = obj.history[0].objective if obj.history else 1.0
        res = minimize(obj, u0, method="Powell", bounds=bounds,
                       options={"xtol": cfg.xtol, "ftol": cfg.ftol / max(start_objective, 1.0),
                                "maxfev": cfg.max_evaluations, "direc": np.eye(k) * cfg.initial_step})
    best = min(obj.history, key=lambda e: e.objective)
    return best, str(res.message)

