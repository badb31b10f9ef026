"""Programme costs, bottom up, by Socialstyrelsen's principles (seeds/004 section 7.2).

Staff time is costed as paid hours x salary x (1 + overhead) / hour norm. Volunteers are unpaid;
their training, supervision and travel, and the premises and materials are costed per unit.
Weeks before the first course starts are the start-up phase; the rest is operation.
Each item is carried by a payer: the fund when it finances the programme, otherwise the
municipality; the municipality always carries its own staff time (referral, steering group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.economics.discounting import year_of_week, yearly_factor
from peersim.economics.params import EconomicsParams
from peersim.economics.records import ACTIVITIES

CATEGORIES = (
    "coordinator", "volunteer_training", "supervision", "premises_materials",
    "volunteer_expenses", "startup", "referral", "steering",
)
MUNICIPAL_CATEGORIES = ("referral", "steering")
COST_COLUMNS = ("year", "phase", "payer", "category", "item", "quantity", "unit_cost_dkk", "amount_dkk",
                "amount_discounted_dkk")
PHASES = ("operation", "startup")


def hourly_rate(salary_dkk_per_year: float, overhead_rate: float, hour_norm_per_year: float) -> float:
    """Cost of one productive hour: salary incl. pension, plus overhead, over the yearly hour norm."""
    return salary_dkk_per_year * (1.0 + overhead_rate) / hour_norm_per_year


def _unit_items(ts: pd.DataFrame, params: EconomicsParams,
                staff_rate: float) -> list[tuple[str, str, np.ndarray, float]]:
    """(category, item, weekly quantity, unit cost) for every driver of cost."""
    c = params.costs
    municipal_rate = hourly_rate(c.municipal_staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    activity_cols = [f"hours_{a}" for a in ACTIVITIES if f"hours_{a}" in ts.columns]
    allocated = ts[activity_cols].sum(axis=1).to_numpy() if activity_cols else np.zeros(len(ts))
    sessions = ts["new_course_sessions"].to_numpy()
    workshops = ts["new_workshops"].to_numpy()
    startup = np.zeros(len(ts))
    startup[0] = 1.0
    return [
        *[("coordinator", col.removeprefix("hours_"), ts[col].to_numpy(), staff_rate) for col in activity_cols],
        ("coordinator", "unallocated", np.clip(ts["hours_budget"].to_numpy() - allocated, 0.0, None), staff_rate),
        ("volunteer_training", "trainees", ts["new_trainees"].to_numpy(), c.volunteer_training_dkk_per_trainee),
        ("supervision", "volunteer_years", ts["n_volunteers_active"].to_numpy() / 52.0,
         c.supervision_dkk_per_volunteer_year),
        ("premises_materials", "course_sessions", sessions, c.premises_dkk_per_course_session),
        ("premises_materials", "workshops", workshops, c.premises_dkk_per_workshop),
        ("premises_materials", "intro_meetings", ts["new_intro_meetings"].to_numpy(), c.premises_dkk_per_intro_meeting),
        ("premises_materials", "participant_materials", ts["new_citizens_started"].to_numpy(),
         c.materials_dkk_per_started_citizen),
        ("volunteer_expenses", "sessions_and_workshops", sessions + workshops, c.volunteer_expenses_dkk_per_session),
        ("startup", "fixed", startup, c.startup_fixed_dkk),
        ("referral", "referral_hours", ts["new_citizens_referred"].to_numpy() * c.referral_hours_per_citizen,
         municipal_rate),
        ("steering", "steering_hours", ts["new_steering_meetings"].to_numpy() * c.steering_hours_per_meeting,
         municipal_rate),
    ]


def yearly_costs(ts: pd.DataFrame, params: EconomicsParams, implementation: str) -> pd.DataFrame:
    """Costs by programme year, phase, payer, category and item from a checked time series.

    Columns ``COST_COLUMNS``; only non-zero rows. ``quantity`` is in the item's unit (hours,
    trainees, volunteer-years, sessions, ...); ``amount_discounted_dkk`` is the item's part of the NPV.
    """
    impl = params.implementation(implementation)
    c = params.costs
    staff_rate = hourly_rate(impl.staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    weeks = ts["week"].to_numpy()
    years = year_of_week(weeks)
    started = np.flatnonzero(ts["new_courses_started"].to_numpy() > 0)
    first_course_week = weeks[started[0]] if started.size else np.inf
    # one bin per (year, phase): 2 * (year - 1) + 1 for start-up weeks, + 0 for operation weeks
    bins = 2 * (years - 1) + (weeks < first_course_week)
    n_bins = 2 * int(years.max())
    rows: list[tuple[int, str, str, str, str, float, float]] = []
    for category, item, quantity, unit_cost in _unit_items(ts, params, staff_rate):
        where = np.full(len(weeks), 1) if category == "startup" else bins  # the fixed cost is start-up by definition
        sums = np.bincount(where, weights=quantity, minlength=n_bins)
        fund = impl.fund_finances_programme and category not in MUNICIPAL_CATEGORIES
        for b in np.flatnonzero(sums):
            rows.append((b // 2 + 1, PHASES[b % 2], "fund" if fund else "municipality", category, item,
                         float(sums[b]), float(unit_cost)))
    out = pd.DataFrame(rows, columns=list(COST_COLUMNS[:7])).astype({"year": np.int64, "quantity": float,
                                                                      "unit_cost_dkk": float})
    out = out.sort_values("year", kind="stable", ignore_index=True)
    out["amount_dkk"] = out["quantity"] * out["unit_cost_dkk"]
    out["amount_discounted_dkk"] = out["amount_dkk"] * yearly_factor(out["year"], params.discount_rate)
    return out
