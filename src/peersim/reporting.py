"""Weekly model-level records and the run summary.

Names carry their meaning: ``n_*`` are stocks at the end of the week, ``new_*`` flows during the
week, ``cum_*`` running totals of the flows; ``hours_*`` are coordinator hours spent that week;
per-agent event weeks are ``ti_*``. One row per week; weeks are numbered from 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.coordinator import ACTIVITIES

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
HOURS = tuple(f"hours_{a}" for a in ACTIVITIES) + ("hours_budget",)
COLUMNS = FLOWS + STOCKS + HOURS


class Recorder:
    """Preallocated weekly table: ``data[week]`` is the row of a week (row 0 = the state before
    week 1). This week's flows are counted in a plain list (:meth:`tally`) and written to the row
    by :meth:`flush`; the stocks are written directly."""

    def __init__(self, weeks: int) -> None:
        self.weeks = weeks
        self.col = {name: i for i, name in enumerate(COLUMNS)}
        self.data = np.zeros((weeks + 1, len(COLUMNS)))  # row 0 = the state before week 1
        self.flows = [0.0] * len(FLOWS)                  # this week's flows, in FLOWS order

    def tally(self, name: str, value: float) -> None:
        """Add to this week's flow ``name``."""
        self.flows[self.col[name]] += value  # FLOWS come first in COLUMNS

    def flush(self, week: int) -> None:
        """Write this week's flows into the row of ``week`` and start counting afresh."""
        self.data[week, : len(FLOWS)] += self.flows
        self.flows = [0.0] * len(FLOWS)

    def add(self, week: int, name: str, value: float) -> None:
        self.data[week, self.col[name]] += value

    def set(self, week: int, name: str, value: float) -> None:
        self.data[week, self.col[name]] = value

    def to_frame(self) -> pd.DataFrame:
        """One row per week: week, year, the recorded columns, then the ``cum_*`` running totals.

        Built from two numpy blocks (integers, floats) in one go: per-column assignment in
        pandas costs more than the whole simulation of a year.
        """
        data = self.data[1:]
        weeks = np.arange(1, self.weeks + 1)
        ints = np.rint(data[:, _INT_IDX]).astype(np.int64)
        flows = ints[:, : len(FLOWS)]  # FLOWS come first in COLUMNS and are all integers
        frame_ints = np.column_stack([weeks, (weeks - 1) // 52 + 1, ints, np.cumsum(flows, axis=0)])
        df_int = pd.DataFrame(frame_ints, columns=["week", "year", *_INT_NAMES, *_CUM_NAMES])
        df_float = pd.DataFrame(data[:, _FLOAT_IDX], columns=list(_FLOAT_NAMES))
        return pd.concat([df_int, df_float], axis=1)[list(_FRAME_COLUMNS)]


_INT_NAMES = tuple(c for c in COLUMNS if c.startswith(("new_", "n_")))
_FLOAT_NAMES = tuple(c for c in COLUMNS if c not in _INT_NAMES)
_INT_IDX = [COLUMNS.index(c) for c in _INT_NAMES]
_FLOAT_IDX = [COLUMNS.index(c) for c in _FLOAT_NAMES]
_CUM_NAMES = tuple("cum_" + c.removeprefix("new_") for c in FLOWS)
_FRAME_COLUMNS = ("week", "year", *COLUMNS, *_CUM_NAMES)


def _mean(s: pd.Series) -> float | None:
    s = s.dropna()
    return None if s.empty else float(s.mean())


def summarize(ts: pd.DataFrame, citizens: pd.DataFrame, volunteers: pd.DataFrame,
              courses: pd.DataFrame) -> dict:
    """Flat key figures of one run (the model-specific part of ``summary.json``)."""
    started = citizens[citizens["started"]]
    years = ts["year"].max()
    first3 = ts[ts["year"] <= 3]
    last = ts.iloc[-1]
    on_duty = ("available", "leading", "resting")
    n_started = int(len(started))
    return {
        "courses_started": int(ts["new_courses_started"].sum()),
        "courses_cancelled": int(ts["new_courses_cancelled"].sum()),
        "courses_per_year": float(ts["new_courses_started"].sum() / years),
        "courses_started_first_3y": int(first3["new_courses_started"].sum()),
        "mean_course_size": _mean(courses["participants"]) if len(courses) else None,
        "citizens_referred": int(len(citizens)),
        "citizens_declined": int((citizens["state"] == "declined").sum()),
        "citizens_started": n_started,
        "citizens_started_first_3y": int(first3["new_citizens_started"].sum()),
        "citizens_completed": int(citizens["completed"].sum()),
        "citizens_dropped_out": int((citizens["state"] == "dropped_out").sum()),
        "citizens_gave_up_waiting": int((citizens["state"] == "gave_up").sum()),
        "citizens_waiting_end": int(last["n_waiting"]),
        "mean_wait_weeks": _mean(started["wait_weeks"].astype(float)),
        "volunteers_recruited": int(len(volunteers)),
        "volunteers_trained": int(volunteers["ti_trained"].notna().sum()),
        "volunteers_active_end": int(volunteers["state"].isin(on_duty).sum()),
        "volunteer_burnouts": int(volunteers["n_burnouts"].sum()),
        "volunteers_left": int((volunteers["state"] == "left").sum()),
        "volunteer_returns": int(volunteers["n_returns"].sum()),
        "fidelity_mean": _mean(courses["fidelity"]) if len(courses) else None,
        "qpr_baseline_mean": _mean(started["qpr_baseline"]),
        "qpr_change_mean": _mean(started["qpr_end_course"] - started["qpr_baseline"]),
        "qpr_effect_attributable_mean": _mean(started["qpr_effect_end_course"]),
        "qpr_effect_attributable_26w_mean": _mean(started["qpr_26w"] - started["qpr_cf_26w"]),
        "successes": int(citizens["success"].sum()),
        "success_rate": (float(citizens["success"].sum() / n_started) if n_started else None),
        "coordinator_hours_total": float(ts["hours_budget"].sum()),
        "coordinator_hours_idle_share": (
            float(ts["hours_idle"].sum() / ts["hours_budget"].sum()) if ts["hours_budget"].sum() else None
        ),
    }
