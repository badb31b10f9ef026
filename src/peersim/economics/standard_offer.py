"""The published standard offer as deterministic records: what expected mode (and contract pricing) runs on.

Timeline: ``years`` x 52 weeks. The first ``startup_weeks`` weeks are start-up (hiring, the first
volunteers, intro meetings). The ``courses_per_year x years`` courses start at evenly spaced weeks
after that, so that the last course ends in the last week. Every course has the same expected
participants, completions, successes (``success_rate`` split by subgroup shares) and payment-target
achievements (``expected_rate`` per started citizen). Counts may be fractional: they are expectations.
"""

from __future__ import annotations

import numpy as np

from peersim.economics.outcomes import ACHIEVEMENT_COLUMNS, SUCCESS_COLUMNS, Outcomes
from peersim.economics.params import EconomicsParams
from peersim.economics.tables import Table, concat
from peersim.vocabulary import SUBGROUPS, WEEKS_PER_YEAR

MUNICIPALITY = "standard_offer"


def course_start_weeks(params: EconomicsParams) -> np.ndarray:
    """Start week of every course of the standard offer (integers, evenly spaced)."""
    o = params.standard_offer
    first = o.startup_weeks + 1
    last = o.weeks - o.sessions_per_course + 1
    return np.rint(np.linspace(first, last, o.courses)).astype(np.int64)


def _spread(total: float, first_week: int, weeks: int) -> np.ndarray:
    """``total`` events at evenly spaced whole weeks from ``first_week`` to ``weeks`` (fractional rest last)."""
    out = np.zeros(weeks)
    whole = int(total)
    if whole:
        at = np.rint(np.linspace(first_week, weeks, whole + 2)[1:-1]).astype(np.int64)
        np.add.at(out, at - 1, 1.0)
    out[weeks - 1] += total - whole
    return out


def standard_offer_timeseries(params: EconomicsParams) -> Table:
    """Weekly records of the standard offer in the time-series contract of the simulation (numpy columns)."""
    o = params.standard_offer
    weeks = o.weeks
    ts = {name: np.zeros(weeks) for name in (
        "new_course_sessions", "new_courses_started", "new_citizens_started", "new_citizens_referred",
        "new_citizens_completed", "new_trainees", "n_volunteers_active")}
    for start in course_start_weeks(params):
        ts["new_courses_started"][start - 1] += 1
        ts["new_course_sessions"][start - 1:start - 1 + o.sessions_per_course] += 1
        ts["new_citizens_started"][start - 1] += o.participants_per_course
        ts["new_citizens_referred"][start - 1] += o.participants_per_course
        ts["new_citizens_completed"][start + o.sessions_per_course - 2] += o.participants_per_course * o.completion_rate
    ts["new_trainees"][0] = o.volunteer_pool
    ts["new_trainees"][o.startup_weeks:] += o.volunteer_pool * o.volunteer_attrition_per_year / WEEKS_PER_YEAR
    ts["n_volunteers_active"][o.startup_weeks:] = o.volunteer_pool
    operating = weeks - o.startup_weeks
    return {
        "week": np.arange(1, weeks + 1),
        "hours_budget": np.full(weeks, o.coordinator_fte * params.costs.hour_norm_per_year / WEEKS_PER_YEAR),
        "new_workshops": _spread(o.workshops_per_year * operating / WEEKS_PER_YEAR, o.startup_weeks + 1, weeks),
        "new_intro_meetings": _spread(o.intro_meetings_per_year * o.years, 1, weeks),
        "new_steering_meetings": _spread(o.steering_meetings_per_year * o.years, 1, weeks),
        **ts,
    }


def _each(courses: np.ndarray, value: str | float) -> np.ndarray:
    """The same value for every course (a string column or a float column)."""
    return np.full(courses.size, value, dtype=object if isinstance(value, str) else np.float64)


def standard_offer_outcomes(params: EconomicsParams) -> Outcomes:
    """Expected successes and payment-target achievements of the standard offer, course by course."""
    o = params.standard_offer
    starts = course_start_weeks(params).astype(float)
    onset = starts + params.savings.onset_weeks_after_start
    course_end = starts + o.sessions_per_course - 1
    n = o.participants_per_course
    successes = concat([
        {"municipality": _each(starts, MUNICIPALITY), "subgroup": _each(starts, group), "start_week": starts,
         "onset_week": onset, "count": _each(starts, n * o.success_rate * getattr(o.subgroup_shares, group))}
        for group in SUBGROUPS
    ], SUCCESS_COLUMNS)
    achievements = concat([
        {"municipality": _each(starts, MUNICIPALITY), "target": _each(starts, name),
         "week": onset if target.basis == "success" else course_end,
         # at the expected rate; a target nobody qualifies for (share 0, as in economics=no_health_savings)
         # achieves nothing
         "count": _each(starts, n * target.expected_rate if target.share > 0 else 0.0)}
        for name, target in params.contract.targets.items()
    ], ACHIEVEMENT_COLUMNS)
    return Outcomes(
        n_referred=float(o.citizens),
        n_started=float(o.citizens),
        n_completed=float(o.citizens * o.completion_rate),
        started_by_municipality={MUNICIPALITY: float(o.citizens)},
        successes=successes,
        achievements=achievements,
    )
