"""Programme costs, bottom up, by Socialstyrelsen's principles ([S4] section 7.2, docs/domain.md).

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
from peersim.economics.tables import Table, TableLike, column, frame, isin, n_rows, row_sums
from peersim.vocabulary import ACTIVITIES, WEEKS_PER_YEAR

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


def _unit_items(ts: TableLike, params: EconomicsParams,
                staff_rate: float) -> list[tuple[str, str, np.ndarray, float]]:
    """(category, item, weekly quantity, unit cost) for every driver of cost."""
    c = params.costs
    municipal_rate = hourly_rate(c.municipal_staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    activity_cols = [f"hours_{a}" for a in ACTIVITIES if f"hours_{a}" in ts]
    weeks = n_rows(ts)
    hours = {col: column(ts, col, float) for col in activity_cols}
    allocated = row_sums(list(hours.values()), weeks)
    sessions = column(ts, "new_course_sessions", float)
    workshops = column(ts, "new_workshops", float)
    startup = np.zeros(weeks)
    startup[0] = 1.0
    return [
        *[("coordinator", col.removeprefix("hours_"), hours[col], staff_rate) for col in activity_cols],
        ("coordinator", "unallocated", np.clip(column(ts, "hours_budget", float) - allocated, 0.0, None), staff_rate),
        ("volunteer_training", "trainees", column(ts, "new_trainees", float), c.volunteer_training_dkk_per_trainee),
        ("supervision", "volunteer_years", column(ts, "n_volunteers_active", float) / WEEKS_PER_YEAR,
         c.supervision_dkk_per_volunteer_year),
        ("premises_materials", "course_sessions", sessions, c.premises_dkk_per_course_session),
        ("premises_materials", "workshops", workshops, c.premises_dkk_per_workshop),
        ("premises_materials", "intro_meetings", column(ts, "new_intro_meetings", float),
         c.premises_dkk_per_intro_meeting),
        ("premises_materials", "participant_materials", column(ts, "new_citizens_started", float),
         c.materials_dkk_per_started_citizen),
        ("volunteer_expenses", "sessions_and_workshops", sessions + workshops, c.volunteer_expenses_dkk_per_session),
        ("startup", "fixed", startup, c.startup_fixed_dkk),
        ("referral", "referral_hours", column(ts, "new_citizens_referred", float) * c.referral_hours_per_citizen,
         municipal_rate),
        ("steering", "steering_hours", column(ts, "new_steering_meetings", float) * c.steering_hours_per_meeting,
         municipal_rate),
    ]


def cost_table(ts: TableLike, params: EconomicsParams, implementation: str) -> Table:
    """Costs by programme year, phase, payer, category and item from checked weekly records.

    Columns ``COST_COLUMNS``; only non-zero rows, ordered by year, then item, then phase.
    ``quantity`` is in the item's unit (hours, trainees, volunteer-years, sessions, ...);
    ``amount_discounted_dkk`` is the item's part of the NPV.
    """
    impl = params.implementation(implementation)
    c = params.costs
    staff_rate = hourly_rate(impl.staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    weeks = column(ts, "week")
    years = year_of_week(weeks)
    started = np.flatnonzero(column(ts, "new_courses_started") > 0)
    first_course_week = weeks[started[0]] if started.size else np.inf
    # one bin per (year, phase): 2 * (year - 1) + 1 for start-up weeks, + 0 for operation weeks
    bins = 2 * (years - 1) + (weeks < first_course_week)
    n_years = int(years.max())
    items = _unit_items(ts, params, staff_rate)
    startup_bins = np.full(len(weeks), 1)  # the fixed cost is start-up by definition
    quantity = np.array([np.bincount(startup_bins if category == "startup" else bins, weights=q, minlength=2 * n_years)
                         for category, _, q, _ in items])                  # [item, bin]
    # the non-zero (year, item, phase) cells, in that order
    year, item, phase = np.nonzero(quantity.reshape(len(items), n_years, 2).transpose(1, 0, 2))
    categories, names, _, unit_costs = zip(*items, strict=True)
    category = np.array(categories, dtype=object)[item]
    fund = impl.fund_finances_programme & ~isin(category, MUNICIPAL_CATEGORIES)
    table = {
        "year": (year + 1).astype(np.int64),
        "phase": np.array(PHASES, dtype=object)[phase],
        "payer": np.where(fund, "fund", "municipality").astype(object),
        "category": category,
        "item": np.array(names, dtype=object)[item],
        "quantity": quantity[item, 2 * year + phase],
        "unit_cost_dkk": np.array(unit_costs, dtype=float)[item],
    }
    table["amount_dkk"] = table["quantity"] * table["unit_cost_dkk"]
    table["amount_discounted_dkk"] = table["amount_dkk"] * yearly_factor(table["year"], params.discount)
    return table


def yearly_costs(ts: TableLike, params: EconomicsParams, implementation: str) -> pd.DataFrame:
    """:func:`cost_table` as a DataFrame (the result's ``costs_by_category``)."""
    return frame(cost_table(ts, params, implementation), COST_COLUMNS)
