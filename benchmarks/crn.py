"""How much the arms of the implementation comparison gain from common random numbers.

    python benchmarks/crn.py [--replications 200] [--years 5] [--municipality fredericia] [--jobs 2] [--json out.json]

The comparison (``experiment=compare_implementations``) runs replication ``r`` of every arm
with the seed ``seed + r``, so the arms share their random numbers where their random events
coincide (docs/model.md, Random numbers). This script measures what that sharing buys: for
each pair of arms it runs the arms (own local coordinator, partnership, a coordinator shared
with the neighbour) with shared seeds (``seed + r`` in both arms) and with independent seeds
(the second arm at ``seed + r + 10**6``), and reports for the user's municipality's net result
(SØM view) and citizens who started a course:

- the correlation of the two arms' values across replications (with shared seeds),
- the variance of the paired difference with shared seeds and with independent seeds, and
  their ratio, the variance reduction factor (how many times fewer replications the same
  precision needs with common random numbers), with a 90% bootstrap interval, the same factor
  estimated from the shared-seed runs alone, and the largest factor any correlation could give
  (:func:`contrast_figures`).

The replications of the independent arm are the same runs with another seed, so both variances
are estimated from the same number of runs. Runs are spread over ``--jobs`` worker processes.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

ARMS = {
    "local_coordinator": ["scenario=local_coordinator", "shared_with=[]"],
    "partnership": ["scenario=partnership", "shared_with=[]"],
    "shared_coordinator": ["scenario=local_coordinator", "shared_with=[{neighbour}]"],
}
PAIRS = (("local_coordinator", "partnership"), ("shared_coordinator", "local_coordinator"))
METRICS = ("net_municipal_dkk", "citizens_started")
INDEPENDENT = 10**6  # the seed offset of the independent arm


@functools.cache
def _config(overrides: tuple[str, ...]):
    from peersim import load_config

    return load_config(list(overrides))


def _one(task: tuple[str, tuple[str, ...], int]) -> tuple[str, int, dict[str, float]]:
    from peersim.experiments.compare.runs import replicate

    arm, overrides, seed = task
    params = copy.deepcopy(_config(overrides))
    params.seed = seed
    row = replicate(params)
    return arm, seed, {k: float(row[k]) for k in METRICS}


def measure(replications: int, years: int, municipality: str, neighbour: str, jobs: int, seed: int = 0) -> dict:
    base = [f"municipality={municipality}", f"years={years}", "output.charts=false"]
    tasks = []
    for arm, extra in ARMS.items():
        overrides = tuple(base + [o.format(neighbour=neighbour) for o in extra])
        for r in range(replications):
            tasks.append((arm, overrides, seed + r))
            tasks.append((arm, overrides, seed + r + INDEPENDENT))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(_one, tasks, chunksize=8))
    elapsed = time.perf_counter() - t0
    values = {(arm, s): row for arm, s, row in results}
    out: dict = {"replications": replications, "years": years, "municipality": municipality,
                 "neighbour": neighbour, "seconds": round(elapsed, 1), "contrasts": {},
                 "runs": [{"arm": arm, "seed": s, **row} for (arm, s), row in sorted(values.items())]}
    for a, b in PAIRS:
        name = f"{a} - {b}"
        out["contrasts"][name] = {}
        for key in METRICS:
            xa = np.array([values[(a, seed + r)][key] for r in range(replications)])
            xb = np.array([values[(b, seed + r)][key] for r in range(replications)])
            xb_ind = np.array([values[(b, seed + r + INDEPENDENT)][key] for r in range(replications)])
            out["contrasts"][name][key] = contrast_figures(xa, xb, xb_ind)
    return out


def contrast_figures(xa: np.ndarray, xb: np.ndarray, xb_ind: np.ndarray, boot: int = 2000) -> dict:
    """The figures of one contrast: arm a's values ``xa`` and arm b's with shared seeds (``xb``)
    and with independent seeds (``xb_ind``), replication by replication.

    The variance reduction factor is var(a - b_independent) / var(a - b_shared), with a 90%
    bootstrap interval (replications resampled). Two more figures say what limits it:
    (var a + var b) / var(a - b_shared), the same factor estimated from the shared-seed runs alone,
    and the largest factor any correlation could give, (var a + var b) / (sd a - sd b)^2, reached
    only if the arms moved in perfect step: when one arm varies much more than the other, most of
    its variance is its own and no sharing of random numbers removes it."""
    n = xa.size
    var_crn = float(np.var(xa - xb, ddof=1))
    var_ind = float(np.var(xa - xb_ind, ddof=1))
    va, vb = float(np.var(xa, ddof=1)), float(np.var(xb, ddof=1))
    corr = float(np.corrcoef(xa, xb)[0, 1]) if va > 0 and vb > 0 else math.nan
    rng = np.random.default_rng(12345)
    idx = rng.integers(0, n, size=(boot, n))
    d_crn, d_ind = (xa - xb)[idx], (xa - xb_ind)[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = d_ind.var(axis=1, ddof=1) / d_crn.var(axis=1, ddof=1)
    lo, hi = np.quantile(ratios, [0.05, 0.95])
    gap = (math.sqrt(va) - math.sqrt(vb)) ** 2
    return {
        "correlation": round(corr, 3),
        "sd_a": math.sqrt(va), "sd_b": math.sqrt(vb),
        "mean_difference": float(np.mean(xa - xb)),
        "var_paired_crn": var_crn,
        "var_paired_independent": var_ind,
        "variance_reduction_factor": round(var_ind / var_crn, 2) if var_crn > 0 else math.inf,
        "factor_90_interval": [round(float(lo), 2), round(float(hi), 2)],
        "factor_from_shared_runs": round((va + vb) / var_crn, 2) if var_crn > 0 else math.inf,
        "largest_possible_factor": round((va + vb) / gap, 1) if gap > 0 else math.inf,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--replications", type=int, default=200)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--municipality", default="fredericia")
    ap.add_argument("--neighbour", default="kolding")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    a = ap.parse_args()
    out = measure(a.replications, a.years, a.municipality, a.neighbour, a.jobs)
    print(f"{a.municipality} (neighbour {a.neighbour}), {a.years} years, {a.replications} replications "
          f"per arm and seed scheme, {out['seconds']} s")
    print(f"{'contrast':40s} {'metric':18s} {'corr':>6s} {'var CRN':>10s} {'var indep':>10s} {'factor':>6s} "
          f"{'90% interval':>13s} {'from CRN runs':>13s} {'bound':>6s}")
    for name, by_key in out["contrasts"].items():
        for key, f in by_key.items():
            lo, hi = f["factor_90_interval"]
            print(f"{name:40s} {key:18s} {f['correlation']:6.3f} {f['var_paired_crn']:10.3g} "
                  f"{f['var_paired_independent']:10.3g} {f['variance_reduction_factor']:6.2f} "
                  f"{f'{lo:.2f}-{hi:.2f}':>13s} {f['factor_from_shared_runs']:13.2f} {f['largest_possible_factor']:6.1f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=2)


if __name__ == "__main__":
    main()
