"""A plan's key figures from its rows: the fund's cash curve, peak capital need, break-even years.

Everything here is computed from the rows of :mod:`peersim.rollout.portfolio` (so the plan's
totals are the sums of its rows) and the programme office, a fixed yearly cost of the fund from
the plan's first year. docs/rollout.md lists the keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from peersim.economics import break_even_year
from peersim.rollout.plan import Plan

TOTALS = {  # summary key -> row column summed over every municipality and year
    "rollout_courses_started": "courses_started",
    "rollout_citizens_referred": "citizens_referred",
    "rollout_citizens_started": "citizens_started",
    "rollout_successes": "successes",
    "rollout_volunteer_burnouts": "volunteer_burnouts",
    "rollout_cost_programme_dkk": "cost_programme_dkk",
    "rollout_cost_fund_dkk": "cost_fund_dkk",
    "rollout_cost_municipal_dkk": "cost_municipal_dkk",
    "rollout_outcome_payments_dkk": "outcome_payments_dkk",
    "rollout_som_savings_dkk": "som_savings_dkk",
    "rollout_budget_net_dkk": "budget_net_dkk",
}
LOSS_AFTER = (5, 10)  # own years after which municipalities in budget loss are counted


def fund_table(rows: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """The fund by calendar year: its net from the groups (outcome payments - the costs it
    finances), the programme office, its net and its cumulative cash position."""
    by_year = rows.groupby("year")["fund_net_dkk"].sum().reindex(plan.years, fill_value=0.0)
    office = np.full(len(plan.years), plan.programme_office_dkk_per_year)
    net = by_year.to_numpy(float) - office
    return pd.DataFrame({
        "year": plan.years,
        "municipalities_active": rows[rows["active"]].groupby("year")["municipality"].nunique()
        .reindex(plan.years, fill_value=0).to_numpy(),
        "fund_net_groups_dkk": by_year.to_numpy(float),
        "programme_office_dkk": office,
        "fund_net_dkk": net,
        "fund_cumulative_dkk": np.cumsum(net),
    })


def peak_capital(fund: pd.DataFrame) -> tuple[float, int | None, int | None]:
    """The fund's peak capital need (minus its lowest cumulative cash, >= 0), the year of it, and
    the first year from which the cumulative cash stays >= 0 after it (None: not within the plan)."""
    cum = fund["fund_cumulative_dkk"].to_numpy(float)
    years = fund["year"].to_numpy(int)
    if not cum.size or cum.min() >= 0:
        return 0.0, None, None
    low = int(np.argmin(cum))
    recovered = break_even_year(pd.Series(fund["fund_net_dkk"].to_numpy(float), index=years))
    return float(-cum[low]), int(years[low]), recovered


def break_even_years(rows: pd.DataFrame) -> dict[str, int | None]:
    """Each municipality's break-even year (calendar): the first year from which its cumulative
    budget net stays >= 0 to the plan's end; None if it does not within the plan."""
    out = {}
    for cli, own in rows[rows["active"]].groupby("municipality", sort=False):
        out[cli] = break_even_year(pd.Series(own["budget_net_dkk"].to_numpy(float), index=own["year"].to_numpy()))
    return out


def in_loss_after(rows: pd.DataFrame, years: int) -> int | None:
    """How many municipalities have a negative cumulative budget net after ``years`` of their own
    years in the plan; None if no municipality has that many years in the plan."""
    active = rows[rows["active"]]
    nth = active.groupby("municipality").nth(years - 1)
    if nth.empty:
        return None
    return int((nth["cumulative_budget_net_dkk"] < 0).sum())


def plan_summary(rows: pd.DataFrame, plan: Plan) -> tuple[dict[str, Any], pd.DataFrame]:
    """The plan's summary keys and its fund table."""
    fund = fund_table(rows, plan)
    peak, peak_year, recovered = peak_capital(fund)
    out: dict[str, Any] = {
        "rollout_plan": plan.name,
        "rollout_start_year": plan.start_year,
        "rollout_end_year": plan.end_year,
        "rollout_municipalities": len(plan.municipalities),
        "rollout_coordinators": len(plan.groups),
        "rollout_coordinator_fte": float(rows.loc[rows["year"] == plan.end_year, "coordinator_fte"].sum()),
    }
    out.update({key: float(rows[col].sum()) for key, col in TOTALS.items()})
    out["rollout_programme_office_dkk"] = float(fund["programme_office_dkk"].sum())
    out["rollout_fund_net_dkk"] = float(fund["fund_net_dkk"].sum())
    out["rollout_fund_cash_by_year"] = {int(y): float(c) for y, c in zip(fund["year"], fund["fund_cumulative_dkk"],
                                                                          strict=True)}
    out["rollout_peak_capital_need_dkk"] = peak
    out["rollout_peak_capital_year"] = peak_year
    out["rollout_capital_recovered_year"] = recovered
    for n in LOSS_AFTER:
        out[f"rollout_municipalities_in_loss_after_{n}_years"] = in_loss_after(rows, n)
    out["rollout_break_even_year"] = break_even_years(rows)
    return out, fund
