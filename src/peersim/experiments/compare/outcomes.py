"""Outcomes beyond money in ``compare_implementations``: per replication, over time, and how much pairing helps.

:func:`outcome_figures` adds to one replication's row what citizens, volunteers and the coordinator
got in the user's municipality; :func:`outcome_series` reduces the run's weekly table, inside the
worker, to the few series the charts need (a few hundred numbers a replication, never the weekly
table itself). Citizens and courses are recorded per municipality and counted exactly; what a
shared arm's two municipalities share (the volunteer pool, the coordinator's hours) is split by the
municipality's share of the citizens who started a course, as the money is
(:func:`~peersim.experiments.compare.runs.municipality_figures`).

:func:`time_table` gives per arm, series and period the median and the 50% and 90% bands over
replications; :func:`pairing_table` per contrast how much the common random numbers reduce the
variance of a difference: the variance of the paired difference against the sum of the two arms'
variances (what independent seeds would give), their ratio (the variance reduction factor,
> 1 when pairing helps) and the correlation of the two arms' results.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

WEEKS_PER_YEAR = 52
ACTIVITIES = ("admin", "course_formation", "course_running", "supervision", "recruitment", "training",
              "intro_meetings", "companionship", "idle")
# (series, period, unit, title): what outcome_series records per replication
SERIES = (
    ("citizens_started", "year", "persons", "Citizens who started a course, per programme year"),
    ("successes", "year", "persons", "Attributable successes, per programme year (when recorded)"),
    ("volunteers_active", "month", "persons", "Active volunteers, monthly mean"),
)
# metrics whose pairing is reported (the first one in comparison.md)
PAIRING_METRICS = ("net_municipal_dkk", "net_municipal_budget_dkk", "citizens_started", "successes",
                   "volunteers_active_mean")
BANDS = (5, 25, 50, 75, 95)


def _year_of(week: np.ndarray) -> np.ndarray:
    """Programme year of a week (1-based, 52 weeks a year, as the run's weekly table)."""
    return (week - 1) // WEEKS_PER_YEAR + 1


def _month_of(week: np.ndarray) -> np.ndarray:
    """Month (1-based, 12 a programme year of 52 weeks) of a week."""
    return (week - 1) * 12 // WEEKS_PER_YEAR + 1


def outcome_figures(result: Any, name: str, share: float) -> dict[str, float]:
    """Waiting given up, courses, the volunteer pool and the coordinator's hours by activity, for
    municipality ``name`` (``share``: its share of the citizens who started, for what is shared)."""
    cit = result.citizens
    mine = cit["municipality"].astype(str).to_numpy() == name
    courses = result.courses
    ts = result.timeseries
    active = ts["n_volunteers_active"].to_numpy(dtype=float)
    out = {
        "citizens_gave_up_waiting": float(((cit["state"].astype(str).to_numpy() == "gave_up") & mine).sum()),
        "courses": float(((courses["municipality"].astype(str).to_numpy() == name)
                          & ~courses["cancelled"].to_numpy(dtype=bool)).sum()),
        "volunteers_active_mean": share * float(active.mean()) if active.size else 0.0,
        "volunteers_active_end": share * float(active[-1]) if active.size else 0.0,
        "coordinator_hours_total": share * float(ts["hours_budget"].sum()),
    }
    for act in ACTIVITIES:
        out[f"coordinator_hours_{act}"] = share * float(ts[f"hours_{act}"].sum())
    return out


def outcome_series(result: Any, name: str, share: float) -> dict[str, np.ndarray]:
    """The series of :data:`SERIES` for municipality ``name``: citizens started and successes per
    year (exact, from the citizens' weeks), active volunteers per month (``share`` of the pool)."""
    years = result.params.years
    cit = result.citizens
    mine = cit["municipality"].astype(str).to_numpy() == name

    def per_year(col: str, flag: str) -> np.ndarray:
        weeks = cit[col].to_numpy(dtype=float, na_value=np.nan)[mine & cit[flag].to_numpy(dtype=bool)]
        weeks = weeks[np.isfinite(weeks)].astype(int)
        return np.bincount(_year_of(weeks), minlength=years + 1)[1:years + 1].astype(float)

    ts = result.timeseries
    month = _month_of(ts["week"].to_numpy(dtype=int))
    active = ts["n_volunteers_active"].to_numpy(dtype=float)
    sums = np.bincount(month, weights=active, minlength=12 * years + 1)[1:12 * years + 1]
    counts = np.bincount(month, minlength=12 * years + 1)[1:12 * years + 1]
    return {"citizens_started": per_year("ti_start", "started"),
            "successes": per_year("ti_success", "success"),
            "volunteers_active": share * sums / np.maximum(counts, 1)}


def time_table(keys: list[tuple[str, int]], series: list[dict[str, np.ndarray]], arms: list[str],
               labels: dict[str, str]) -> pd.DataFrame:
    """Per arm, series and period: mean and the 5th, 25th, 50th, 75th and 95th percentile over the
    arm's replications (the bands of the charts over time)."""
    rows = []
    for arm in arms:
        mine = [s for (a, _), s in zip(keys, series, strict=True) if a == arm]
        for key, period, unit, _ in SERIES:
            values = np.vstack([s[key] for s in mine])
            qs = np.percentile(values, BANDS, axis=0)
            for k in range(values.shape[1]):
                rows.append({"arm": arm, "label": labels[arm], "series": key, "period": period, "index": k + 1,
                             "unit": unit, "mean": float(values[:, k].mean()),
                             **{f"p{q:02d}": float(qs[i, k]) for i, q in enumerate(BANDS)}})
    return pd.DataFrame(rows, columns=["arm", "label", "series", "period", "index", "unit", "mean",
                                       *(f"p{q:02d}" for q in BANDS)])


def pairing_row(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Variance of ``a - b`` (paired), ``var(a) + var(b)`` (independent), their ratio and the
    correlation (NaN where undefined: fewer than two replications, or an arm without variance)."""
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    if a.size < 2:
        return {"var_paired": math.nan, "var_independent": math.nan, "variance_reduction_factor": math.nan,
                "correlation": math.nan, "replications": int(a.size)}
    va, vb, vd = float(np.var(a, ddof=1)), float(np.var(b, ddof=1)), float(np.var(a - b, ddof=1))
    corr = float(np.corrcoef(a, b)[0, 1]) if va > 0 and vb > 0 else math.nan
    return {"var_paired": vd, "var_independent": va + vb,
            "variance_reduction_factor": (va + vb) / vd if vd > 0 else math.nan,
            "correlation": corr, "replications": int(a.size)}


def pairing_table(reps: pd.DataFrame, contrasts: list[tuple[str, str, str]]) -> pd.DataFrame:
    """One row per contrast and metric of :data:`PAIRING_METRICS` (see :func:`pairing_row`)."""
    rows = []
    for name, a, b in contrasts:
        for key in PAIRING_METRICS:
            wide = reps.pivot(index="replication", columns="arm", values=key)
            rows.append({"contrast": name, "arm_a": a, "arm_b": b, "metric": key,
                         **pairing_row(wide[a].to_numpy(dtype=float), wide[b].to_numpy(dtype=float))})
    return pd.DataFrame(rows, columns=["contrast", "arm_a", "arm_b", "metric", "var_paired", "var_independent",
                                       "variance_reduction_factor", "correlation", "replications"])
