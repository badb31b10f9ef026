"""The yearly cash-flow table and break-even.

One tidy long table, one row per programme year x party x flow x category, amounts signed from the
party's point of view (money out < 0, money in > 0), undiscounted (fixed prices) and discounted to
programme year 1:

* ``programme``: the whole resource cost of the programme, whoever pays (flow ``cost``);
* ``fund``: the costs it finances (``cost``) and the outcome payments it receives (``payment``);
* ``municipality``: the costs it carries itself (``cost``), its outcome payments (``payment``) and
  its savings by administrative area (``saving``).

Outcome payments cancel between fund and municipality, so municipality + fund = savings - costs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.economics.costs import CATEGORIES, MUNICIPAL_CATEGORIES
from peersim.economics.discounting import yearly_factor
from peersim.economics.params import AREAS

PARTIES = ("programme", "municipality", "fund")
CASHFLOW_COLUMNS = ("year", "party", "flow", "category", "amount_dkk", "amount_discounted_dkk")


def _rows(frame: pd.DataFrame, party: str, flow: str, key: str, sign: float) -> pd.DataFrame:
    out = frame.groupby(["year", key], as_index=False)["amount_dkk"].sum().rename(columns={key: "category"})
    return out.assign(year=out["year"].astype(np.int64), party=party, flow=flow, amount_dkk=sign * out["amount_dkk"])


def build_cashflow(costs: pd.DataFrame, savings: pd.DataFrame, paid: pd.DataFrame, *, fund_finances: bool,
                   targets: list[str], discount_rate: float, horizon_years: int) -> pd.DataFrame:
    """Assemble the table from yearly costs (``year, payer, category, amount_dkk``), calendar savings
    (``year, area, amount_dkk``) and paid outcome payments (``year, target, amount_dkk``)."""
    grid = [("programme", "cost", c) for c in CATEGORIES]
    grid += [("fund", "cost", c) for c in CATEGORIES if fund_finances and c not in MUNICIPAL_CATEGORIES]
    grid += [("municipality", "cost", c) for c in CATEGORIES if not fund_finances or c in MUNICIPAL_CATEGORIES]
    if fund_finances:
        grid += [("fund", "payment", t) for t in targets] + [("municipality", "payment", t) for t in targets]
    grid += [("municipality", "saving", a) for a in AREAS]
    data = pd.concat([
        _rows(costs, "programme", "cost", "category", -1.0),
        _rows(costs[costs["payer"] == "fund"], "fund", "cost", "category", -1.0),
        _rows(costs[costs["payer"] == "municipality"], "municipality", "cost", "category", -1.0),
        _rows(paid, "fund", "payment", "target", 1.0),
        _rows(paid, "municipality", "payment", "target", -1.0),
        _rows(savings, "municipality", "saving", "area", 1.0),
    ], ignore_index=True)
    last_year = int(max(horizon_years, data["year"].max() if len(data) else 0))
    index = pd.MultiIndex.from_tuples(
        [(y, p, f, c) for y in range(1, last_year + 1) for (p, f, c) in grid],
        names=["year", "party", "flow", "category"])
    amounts = data.groupby(["year", "party", "flow", "category"])["amount_dkk"].sum()
    table = amounts.reindex(index, fill_value=0.0).reset_index()
    table["year"] = table["year"].astype(np.int64)
    table["amount_dkk"] = table["amount_dkk"].astype(float) + 0.0  # no negative zeros in Excel
    table["amount_discounted_dkk"] = table["amount_dkk"] * yearly_factor(table["year"], discount_rate) + 0.0
    return table[list(CASHFLOW_COLUMNS)]


def net_by_year(cashflow: pd.DataFrame, view: str, *, discounted: bool = False) -> pd.Series:
    """Net flow by year for ``municipality``, ``fund`` or ``programme`` (= savings - all costs)."""
    column = "amount_discounted_dkk" if discounted else "amount_dkk"
    parties = ("municipality", "fund") if view == "programme" else (view,)
    years = np.sort(cashflow["year"].unique())
    rows = cashflow[cashflow["party"].isin(parties)]
    return rows.groupby("year")[column].sum().reindex(years, fill_value=0.0)


def break_even_year(net: pd.Series, *, tolerance_dkk: float = 1e-6) -> int | None:
    """First year from which the cumulative net stays >= 0 to the end; None if it never does (or no flows)."""
    if net.empty or not (net.abs() > tolerance_dkk).any():
        return None
    cumulative = net.cumsum().to_numpy()
    negative = np.flatnonzero(cumulative < -tolerance_dkk)
    if negative.size == 0:
        return int(net.index[0])
    if negative[-1] == cumulative.size - 1:
        return None
    return int(net.index[negative[-1] + 1])
