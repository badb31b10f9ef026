"""Check what the simulation recorded (weekly time series, one row per citizen) and normalise types.

The simulation may hand over pandas nullable integers and categoricals; the economics layer works
on plain float64 / bool / str columns. Bad input raises ``ValueError`` with one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.economics.params import SUBGROUPS

ACTIVITIES = (
    "admin", "course_formation", "course_running", "supervision", "recruitment",
    "training", "intro_meetings", "companionship", "idle",
)
TIMESERIES_COLUMNS = (
    "week", "hours_budget", "new_course_sessions", "new_courses_started", "new_workshops",
    "new_intro_meetings", "new_trainees", "new_steering_meetings", "new_citizens_referred",
    "new_citizens_started", "n_volunteers_active",
)
CITIZEN_COLUMNS = (
    "municipality", "subgroup", "started", "completed", "ti_start", "ti_course_end", "success",
    "ti_success", "qpr_baseline", "qpr_end_course", "qpr_effect_end_course",
)


def _floats(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bools(series: pd.Series) -> np.ndarray:
    return series.astype("boolean").fillna(False).to_numpy(dtype=bool)


def check_timeseries(timeseries: pd.DataFrame, weeks: int) -> pd.DataFrame:
    """Return a float copy with one row per week 1..weeks, or raise ValueError."""
    missing = [c for c in TIMESERIES_COLUMNS if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s) {', '.join(missing)}")
    activity_cols = [f"hours_{a}" for a in ACTIVITIES if f"hours_{a}" in timeseries.columns]
    ts = pd.DataFrame({c: _floats(timeseries[c]) for c in (*TIMESERIES_COLUMNS, *activity_cols)})
    ts = ts.sort_values("week", kind="stable").reset_index(drop=True)
    if not np.array_equal(ts["week"].to_numpy(), np.arange(1, weeks + 1, dtype=float)):
        raise ValueError(f"timeseries.week must run 1..{weeks} once each (weeks={weeks}), got {len(ts)} rows")
    values = ts.to_numpy()
    bad = ~(values >= 0)  # catches negatives and NaN
    if bad.any():
        week, col = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(f"timeseries.{ts.columns[col]} must be a number >= 0, got {float(values[week, col])!r} "
                         f"in week {week + 1}")
    if activity_cols:
        excess = ts[activity_cols].sum(axis=1).to_numpy() - ts["hours_budget"].to_numpy()
        bad = np.flatnonzero(excess > 1e-6 * np.maximum(1.0, ts["hours_budget"].to_numpy()))
        if bad.size:
            raise ValueError(f"timeseries hours by activity exceed hours_budget in week {bad[0] + 1}")
    ts["week"] = ts["week"].astype(np.int64)
    return ts


def check_citizens(citizens: pd.DataFrame) -> pd.DataFrame:
    """Return a normalised copy (floats for weeks and scores, bools, str municipality), or raise ValueError."""
    missing = [c for c in CITIZEN_COLUMNS if c not in citizens.columns]
    if missing:
        raise ValueError(f"citizens lacks column(s) {', '.join(missing)}")
    out = pd.DataFrame({
        "municipality": citizens["municipality"].astype(str).to_numpy(),
        "subgroup": citizens["subgroup"].astype(str).to_numpy(),
        **{c: _bools(citizens[c]) for c in ("started", "completed", "success")},
        **{c: _floats(citizens[c]) for c in ("ti_start", "ti_course_end", "ti_success", "qpr_baseline",
                                               "qpr_end_course", "qpr_effect_end_course")},
    })
    unknown = sorted(set(out["subgroup"]) - set(SUBGROUPS))
    if unknown:
        raise ValueError(f"citizens.subgroup={unknown[0]!r} is not known; allowed: {', '.join(SUBGROUPS)}")
    if (out["started"] & np.isnan(out["ti_start"])).any():
        raise ValueError("citizens.ti_start must be a week for every started citizen")
    ok = out["started"] & ~np.isnan(out["ti_success"])
    if (out["success"] & ~ok).any():
        raise ValueError("citizens.success needs started=True and a ti_success week")
    return out
