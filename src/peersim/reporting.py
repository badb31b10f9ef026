"""Weekly model-level records and the run summary.

Names carry their meaning: ``n_*`` are stocks at the end of the week, ``new_*`` flows during the
week, ``cum_*`` running totals of the flows; ``hours_*`` are coordinator hours spent that week;
per-agent event weeks are ``ti_*``. One row per week; weeks are numbered from 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.vocabulary import ACTIVITIES, WEEKS_PER_YEAR

FLOWS = (
    "new_citizens_referred", "new_referred_staff", "new_referred_self", "new_citizens_declined",
    "new_citizens_gave_up", "new_citizens_started", "new_citizens_dropped_out",
    "new_citizens_completed", "new_successes",
    "new_courses_started", "new_courses_ended", "new_courses_cancelled", "new_course_sessions",
    "new_attendances", "new_leader_replacements",
    "new_volunteers_recruited", "new_former_participants_joined", "new_trainees",
    "new_volunteers_trained", "new_training_dropouts", "new_volunteer_burnouts",
    "new_volunteers_left", "new_volunteer_returns",
    "new_intro_meetings", "new_workshops", "new_steering_meetings",
)
STOCKS = (
    "n_waiting", "n_in_course", "n_companionship", "n_courses_running", "n_courses_forming",
    "n_volunteers_recruited", "n_volunteers_in_training", "n_volunteers_available",
    "n_volunteers_leading", "n_volunteers_resting", "n_volunteers_burned_out",
    "n_volunteers_active", "n_volunteers_left",
    "eligible_pool", "awareness_mean", "strain_mean", "supervision_level",
    "qpr_mean_started", "qpr_cf_mean_started", "n_followed_started",
)
HOURS_BY_ACTIVITY = tuple(f"hours_{a}" for a in ACTIVITIES)
HOURS = (*HOURS_BY_ACTIVITY, "hours_budget")
RECOVERY_MEANS = ("qpr_mean_started", "qpr_cf_mean_started")  # computed after the weekly pass
COLUMNS = FLOWS + STOCKS + HOURS


class Recorder:
    """The weekly table: ``data[week]`` is the row of a week (row 0 = the state before week 1).

    It owns the table, in the columns declared by name above (``FLOWS``, ``STOCKS``, ``HOURS``).
    A week's flows are counted in a plain list (:meth:`tally`); at the end of the week
    :meth:`record` keeps them with the week's stocks, given by column name, and the rows kept
    are written into the table in one go when ``data`` is next read (cheaper than writing a numpy
    row every week).
    The citizens' recovery columns (QPR-15 means, ``n_followed_started``, ``new_successes``)
    are filled by ``PeersimModel.timeseries()``, the table's public form.
    """

    def __init__(self, weeks: int) -> None:
        self.weeks = weeks
        self.col = {name: i for i, name in enumerate(COLUMNS)}
        self._data = np.zeros((weeks + 1, len(COLUMNS)))  # row 0 = the state before week 1
        # the citizens' recovery means are filled by PeersimModel.timeseries(); unknown until then
        self._data[:, [self.col[c] for c in RECOVERY_MEANS]] = np.nan
        self.flows = [0.0] * len(FLOWS)                   # this week's flows, in FLOWS order
        self._pending: list[tuple] = []                   # (week, flows, stocks, series) of each week

    def tally(self, name: str, value: float) -> None:
        """Add to this week's flow ``name``."""
        self.flows[self.col[name]] += value  # FLOWS come first in COLUMNS

    def record(self, week: int, stocks: dict[str, float],
               *series: tuple[tuple[str, ...], list[float]]) -> None:
        """The end of ``week``: its flows, and its stocks by column name: ``stocks`` maps names
        to values, and each of ``series`` pairs a tuple of names with a list of values in that
        order (cheaper than a dict for values that come as a list, such as hours by activity).
        Columns not named keep their value (0 unless filled later)."""
        self._pending.append((week, self.flows, stocks, series))
        self.flows = [0.0] * len(FLOWS)

    def _write(self) -> None:
        """Write the weeks recorded since the last write into the table, grouped by the
        columns they name (the same every week but the first)."""
        if not self._pending:
            return
        weeks = np.array([p[0] for p in self._pending])
        self._data[weeks, : len(FLOWS)] += np.array([p[1] for p in self._pending])
        groups: dict[tuple, tuple[list[str], list[int], list[list[float]]]] = {}
        for i, (_, _, stocks, series) in enumerate(self._pending):
            row, key = [*stocks.values()], [*stocks]
            for names, values in series:
                row += values
                key.append(id(names))
            group = groups.get(k := tuple(key))
            if group is None:
                group = groups[k] = ([*stocks, *(c for names, _ in series for c in names)], [], [])
            group[1].append(i)
            group[2].append(row)
        for names, at, rows in groups.values():
            self._data[weeks[at][:, None], [self.col[c] for c in names]] = np.array(rows, dtype=float)
        self._pending.clear()

    @property
    def data(self) -> np.ndarray:
        """The table so far (one row per week, ``COLUMNS`` order)."""
        self._write()
        return self._data

    def to_frame(self) -> pd.DataFrame:
        """One row per week: week, year, the recorded columns, then the ``cum_*`` running totals.

        Built from two numpy blocks (integers, floats) in one go: per-column assignment in
        pandas costs more than the whole simulation of a year.
        """
        data = self.data[1:]
        weeks = np.arange(1, self.weeks + 1)
        ints = np.rint(data[:, _INT_IDX]).astype(np.int64)
        flows = ints[:, : len(FLOWS)]  # FLOWS come first in COLUMNS and are all integers
        frame_ints = np.column_stack([weeks, (weeks - 1) // WEEKS_PER_YEAR + 1, ints, np.cumsum(flows, axis=0)])
        df_int = pd.DataFrame(frame_ints, columns=["week", "year", *_INT_NAMES, *_CUM_NAMES])
        df_float = pd.DataFrame(data[:, _FLOAT_IDX], columns=list(_FLOAT_NAMES))
        return pd.concat([df_int, df_float], axis=1)[list(_FRAME_COLUMNS)]


_INT_NAMES = tuple(c for c in COLUMNS if c.startswith(("new_", "n_")))
_FLOAT_NAMES = tuple(c for c in COLUMNS if c not in _INT_NAMES)
_INT_IDX = [COLUMNS.index(c) for c in _INT_NAMES]
_FLOAT_IDX = [COLUMNS.index(c) for c in _FLOAT_NAMES]
_CUM_NAMES = tuple("cum_" + c.removeprefix("new_") for c in FLOWS)
_FRAME_COLUMNS = ("week", "year", *COLUMNS, *_CUM_NAMES)


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as a numpy array; floats with NaN for missing values when it holds nullable integers."""
    series = frame[name]
    if isinstance(series.dtype, np.dtype):
        return series.to_numpy()
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _is(series: pd.Series, values: tuple[str, ...]) -> np.ndarray:
    """Mask of the rows whose value is one of ``values`` (a categorical is compared by its codes)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.array.codes
        return np.isin(codes, [i for i, c in enumerate(series.array.categories) if c in values])
    return series.isin(values).to_numpy()


def _mean(values: np.ndarray) -> float | None:
    """Mean of the values that are not missing (as ``Series.mean``); None if there are none."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return None if values.size == 0 else float(values.sum() / values.size)


def summarize(ts: pd.DataFrame, citizens: pd.DataFrame, volunteers: pd.DataFrame,
              courses: pd.DataFrame) -> dict:
    """Flat key figures of one run (the model-specific part of ``summary.json``).

    Works on numpy columns: pandas filtering and reductions cost more than the figures themselves.
    """
    year = _values(ts, "year")
    first3 = year <= 3
    courses_started = _values(ts, "new_courses_started")
    citizens_started = _values(ts, "new_citizens_started")
    hours_budget = float(_values(ts, "hours_budget").sum())
    started = _values(citizens, "started").astype(bool)
    state, volunteer_state = citizens["state"], volunteers["state"]
    n_started = int(started.sum())
    n_successes = int(_values(citizens, "success").sum())

    def of_started(name: str) -> np.ndarray:
        return _values(citizens, name)[started]

    on_duty = ("available", "leading", "resting")
    return {
        "courses_started": int(courses_started.sum()),
        "courses_cancelled": int(_values(ts, "new_courses_cancelled").sum()),
        "courses_per_year": float(courses_started.sum() / year.max()),
        "courses_started_first_3y": int(courses_started[first3].sum()),
        "mean_course_size": _mean(_values(courses, "participants")) if len(courses) else None,
        "citizens_referred": int(len(citizens)),
        "citizens_declined": int(_is(state, ("declined",)).sum()),
        "citizens_started": n_started,
        "citizens_started_first_3y": int(citizens_started[first3].sum()),
        "citizens_completed": int(_values(citizens, "completed").sum()),
        "citizens_dropped_out": int(_is(state, ("dropped_out",)).sum()),
        "citizens_gave_up_waiting": int(_is(state, ("gave_up",)).sum()),
        "citizens_waiting_end": int(_values(ts, "n_waiting")[-1]),
        "mean_wait_weeks": _mean(of_started("wait_weeks")),
        "volunteers_recruited": int(len(volunteers)),
        "volunteers_trained": int(volunteers["ti_trained"].count()),
        "volunteers_active_end": int(_is(volunteer_state, on_duty).sum()),
        "volunteer_burnouts": int(_values(volunteers, "n_burnouts").sum()),
        "volunteers_left": int(_is(volunteer_state, ("left",)).sum()),
        "volunteer_returns": int(_values(volunteers, "n_returns").sum()),
        "fidelity_mean": _mean(_values(courses, "fidelity")) if len(courses) else None,
        "qpr_baseline_mean": _mean(of_started("qpr_baseline")),
        "qpr_change_mean": _mean(of_started("qpr_end_course") - of_started("qpr_baseline")),
        "qpr_effect_attributable_mean": _mean(of_started("qpr_effect_end_course")),
        "qpr_effect_attributable_26w_mean": _mean(of_started("qpr_26w") - of_started("qpr_cf_26w")),
        "successes": n_successes,
        "success_rate": (float(n_successes / n_started) if n_started else None),
        "coordinator_hours_total": hours_budget,
        "coordinator_hours_idle_share": (
            float(_values(ts, "hours_idle").sum() / hours_budget) if hours_budget else None
        ),
    }
