"""Check what the simulation recorded (weekly time series, one row per citizen) and normalise types.

The simulation may hand over pandas nullable integers and categoricals; the economics layer works
on plain float64 / bool / str columns, handed on as tables of numpy columns
(:mod:`peersim.economics.tables`). Bad input raises ``ValueError`` with one line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.economics.tables import Table, row_sums
from peersim.vocabulary import ACTIVITIES, SUBGROUPS

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
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biuf":
        return series.to_numpy(dtype="float64")
    if pd.api.types.is_numeric_dtype(series.dtype):  # e.g. nullable Int32: missing values become NaN
        return series.to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _bools(series: pd.Series) -> np.ndarray:
    if series.dtype == bool:
        return series.to_numpy()
    return series.astype("boolean").fillna(False).to_numpy(dtype=bool)


def _strings(series: pd.Series) -> np.ndarray:
    """An object array of str, as ``series.astype(str)``; a categorical through its few categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        values = series.array
        categories = values.categories.tolist()
        if all(isinstance(c, str) for c in categories) and not (values.codes < 0).any():
            return np.array(categories, dtype=object)[values.codes]
    return series.astype(str).to_numpy()


def _float_rows(frame: pd.DataFrame, names: tuple[str, ...]) -> np.ndarray:
    """Array [column, row] of the named columns as float64 (non-numbers become NaN)."""
    if frame.columns.is_unique and all(isinstance(d, np.dtype) and d.kind in "biuf" for d in frame.dtypes):
        # all plain numpy numbers, as the simulation records them: one conversion for the whole frame
        where = [frame.columns.get_loc(n) for n in names]
        return np.ascontiguousarray(frame.to_numpy(dtype=np.float64).T[where])
    return np.array([_floats(frame[n]) for n in names]).reshape(len(names), len(frame))


def check_timeseries(timeseries: pd.DataFrame, weeks: int) -> Table:
    """Return float64 columns (``week`` int64) with one row per week 1..weeks, or raise ValueError."""
    missing = [c for c in TIMESERIES_COLUMNS if c not in timeseries.columns]
    if missing:
        raise ValueError(f"timeseries lacks column(s) {', '.join(missing)}")
    activity_cols = [f"hours_{a}" for a in ACTIVITIES if f"hours_{a}" in timeseries.columns]
    names = (*TIMESERIES_COLUMNS, *activity_cols)
    values = _float_rows(timeseries, names)
    all_weeks = np.arange(1, weeks + 1, dtype=float)
    if not np.array_equal(values[0], all_weeks):
        values = values[:, np.argsort(values[0], kind="stable")]
        if not np.array_equal(values[0], all_weeks):
            raise ValueError(f"timeseries.week must run 1..{weeks} once each (weeks={weeks}), "
                             f"got {values.shape[1]} rows")
    bad = ~(values.T >= 0)  # catches negatives and NaN; [week, column], so the first bad week is found first
    if bad.any():
        week, col = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(f"timeseries.{names[col]} must be a number >= 0, got {float(values[col, week])!r} "
                         f"in week {week + 1}")
    ts = dict(zip(names, values, strict=True))
    if activity_cols:
        excess = row_sums([ts[c] for c in activity_cols], weeks) - ts["hours_budget"]
        bad_weeks = np.flatnonzero(excess > 1e-6 * np.maximum(1.0, ts["hours_budget"]))
        if bad_weeks.size:
            raise ValueError(f"timeseries hours by activity exceed hours_budget in week {bad_weeks[0] + 1}")
    ts["week"] = ts["week"].astype(np.int64)
    return ts


def check_citizens(citizens: pd.DataFrame) -> Table:
    """Return normalised columns (floats for weeks and scores, bools, str municipality), or raise ValueError."""
    missing = [c for c in CITIZEN_COLUMNS if c not in citizens.columns]
    if missing:
        raise ValueError(f"citizens lacks column(s) {', '.join(missing)}")
    out = {
        "municipality": _strings(citizens["municipality"]),
        "subgroup": _strings(citizens["subgroup"]),
        **{c: _bools(citizens[c]) for c in ("started", "completed", "success")},
        **{c: _floats(citizens[c]) for c in ("ti_start", "ti_course_end", "ti_success", "qpr_baseline",
                                               "qpr_end_course", "qpr_effect_end_course")},
    }
    unknown = sorted(set(out["subgroup"].tolist()) - set(SUBGROUPS))
    if unknown:
        raise ValueError(f"citizens.subgroup={unknown[0]!r} is not known; allowed: {', '.join(SUBGROUPS)}")
    if (out["started"] & np.isnan(out["ti_start"])).any():
        raise ValueError("citizens.ti_start must be a week for every started citizen")
    ok = out["started"] & ~np.isnan(out["ti_success"])
    if (out["success"] & ~ok).any():
        raise ValueError("citizens.success needs started=True and a ti_success week")
    return out
