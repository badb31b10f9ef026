"""Capacity calibration check: courses and citizens started in the first 3 operating years.

The targets are those of ``experiment=validate`` (conf/experiment/_targets.yaml: courses_per_year_lc,
citizens_started_lc, courses_per_year_partnership, citizens_started_partnership; docs/domain.md, "Two
ways to implement it"): in a municipality the size of Fredericia an own local coordinator runs about 10
courses a year and starts about 240 citizens over three years; a local partnership about 2 courses a
year (about 48 citizens).

    python experiments/capacity_check.py [--seeds 20] [override ...]
"""

from __future__ import annotations

import argparse

import numpy as np

from peersim import load_config, run

SCENARIOS = {"local_coordinator": "lc", "partnership": "partnership"}  # scenario -> suffix of its target names
KEYS = ("courses_started_first_3y", "citizens_started_first_3y", "mean_course_size", "citizens_gave_up_waiting",
        "mean_wait_weeks", "volunteers_recruited", "volunteer_burnouts", "volunteers_left", "fidelity_mean",
        "qpr_effect_attributable_mean", "qpr_effect_attributable_26w_mean", "success_rate")


def capacity_targets() -> dict[str, tuple[float, float]]:
    """Courses a year and citizens started in 3 years, per scenario, as the validation defines them."""
    targets = load_config(["experiment=validate"]).experiment.targets
    return {scenario: (targets[f"courses_per_year_{suffix}"].value, targets[f"citizens_started_{suffix}"].value)
            for scenario, suffix in SCENARIOS.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--municipality", default="fredericia")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    for scenario, (courses_target, citizens_target) in capacity_targets().items():
        params = load_config([f"scenario={scenario}", f"municipality={args.municipality}", "years=5",
                              "output.charts=false", *args.overrides])
        rows = []
        for seed in range(args.seeds):
            params.seed = seed
            rows.append(run(params).summary)
        print(f"\n{scenario} ({args.seeds} seeds): target {courses_target:.0f} courses/yr, "
              f"{citizens_target:.0f} citizens in 3 years")
        for k in KEYS:
            vals = np.array([r[k] for r in rows if r[k] is not None], dtype=float)
            if vals.size:
                lo, hi = np.percentile(vals, [5, 95])
                print(f"  {k:34s} mean {vals.mean():8.2f}   90% interval [{lo:.2f}, {hi:.2f}]")
        per_year = np.mean([r["courses_started_first_3y"] for r in rows]) / 3
        print(f"  => courses per year in years 1-3: {per_year:.1f}")


if __name__ == "__main__":
    main()
