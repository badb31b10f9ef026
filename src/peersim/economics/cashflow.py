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
from peersim.economics.discounting import Rate, yearly_factor
from peersim.economics.params import AREAS
from peersim.economics.tables import Table, TableLike, column, isin, n_rows

PARTIES = ("programme", "municipality", "fund")
CASHFLOW_COLUMNS = ("year", "party", "flow", "category", "amount_dkk", "amount_discounted_dkk")


def _grid(fund_finances: bool, targets: list[str]) -> list[tuple[str, str, str]]:
    """Every (party, flow, category) row of the table, also when its amounts are all zero."""
    grid = [("programme", "cost", c) for c in CATEGORIES]
    grid += [("fund", "cost", c) for c in CATEGORIES if fund_finances and c not in MUNICIPAL_CATEGORIES]
    grid += [("municipality", "cost", c) for c in CATEGORIES if not fund_finances or c in MUNICIPAL_CATEGORIES]
    if fund_finances:
        grid += [("fund", "payment", t) for t in targets] + [("municipality", "payment", t) for t in targets]
    return grid + [("municipality", "saving", a) for a in AREAS]


def cashflow_table(costs: TableLike, savings: TableLike, paid: TableLike, *, fund_finances: bool,
                   targets: list[str], discount_rate: Rate, horizon_years: int) -> Table:
    """Assemble the table from yearly costs (``year, payer, category, amount_dkk``), calendar savings
    (``year, area, amount_dkk``) and paid outcome payments (``year, target, amount_dkk``)."""
    grid = _grid(fund_finances, targets)
    row_of = {key: i for i, key in enumerate(grid)}
    sources = [  # (table, party or None = the table's payer, flow, category column, sign)
        (costs, "programme", "cost", "category", -1.0),
        (costs, None, "cost", "category", -1.0),
        (paid, "fund", "payment", "target", 1.0),
        (paid, "municipality", "payment", "target", -1.0),
        (savings, "municipality", "saving", "area", 1.0),
    ]
    last_year = max([horizon_years] + [int(column(t, "year").max()) for t, *_ in sources if n_rows(t)])
    matrix = np.zeros((len(grid), last_year))
    for table, party, flow, category, sign in sources:
        if not n_rows(table):
            continue
        categories = column(table, category).tolist()
        parties = column(table, "payer").tolist() if party is None else [party] * len(categories)
        rows = [row_of[(p, flow, c)] for p, c in zip(parties, categories, strict=True)]
        np.add.at(matrix, (rows, column(table, "year", np.int64) - 1), sign * column(table, "amount_dkk"))
    years = np.arange(1, last_year + 1)
    amounts = matrix.T.ravel() + 0.0  # year-major; "+ 0.0" turns -0.0 into 0.0 for spreadsheet users
    party, flow, category = (np.array(names, dtype=object) for names in zip(*grid, strict=True))
    return {
        "year": np.repeat(years, len(grid)),
        "party": np.tile(party, last_year),
        "flow": np.tile(flow, last_year),
        "category": np.tile(category, last_year),
        "amount_dkk": amounts,
        "amount_discounted_dkk": amounts * np.repeat(yearly_factor(years, discount_rate), len(grid)) + 0.0,
    }


def net_by_year_array(cashflow: TableLike, view: str, *, discounted: bool = False) -> np.ndarray:
    """Net flow by year (years 1, 2, ...) for ``municipality``, ``fund`` or ``programme`` (= savings - all costs)."""
    amounts = column(cashflow, "amount_discounted_dkk" if discounted else "amount_dkk")
    mask = isin(column(cashflow, "party"), ["municipality", "fund"] if view == "programme" else [view])
    years = column(cashflow, "year", np.int64)
    last = int(years.max()) if years.size else 0
    return np.bincount(years[mask], weights=amounts[mask], minlength=last + 1)[1:]


def net_by_year(cashflow: pd.DataFrame, view: str, *, discounted: bool = False) -> pd.Series:
    """Net flow by year for ``municipality``, ``fund`` or ``programme`` (= savings - all costs)."""
    sums = net_by_year_array(cashflow, view, discounted=discounted)
    return pd.Series(sums, index=pd.RangeIndex(1, sums.size + 1, name="year"), name=view)


def break_even_year(net: pd.Series | np.ndarray, *, tolerance_dkk: float = 1e-6) -> int | None:
    """First year from which the cumulative net stays >= 0 to the end; None if it never does (or no flows).

    ``net`` is indexed by year; a plain array holds years 1, 2, ...
    """
    values = np.asarray(net, dtype=float)
    years = net.index if isinstance(net, pd.Series) else np.arange(1, values.size + 1)
    if values.size == 0 or not (np.abs(values) > tolerance_dkk).any():
        return None
    cumulative = np.cumsum(values)
    negative = np.flatnonzero(cumulative < -tolerance_dkk)
    if negative.size == 0:
        return int(years[0])
    if negative[-1] == cumulative.size - 1:
        return None
    return int(years[negative[-1] + 1])


def capital_outlay(net: pd.Series | np.ndarray) -> float:
    """The most a party is out of pocket at any point: minus the lowest cumulative net (>= 0)."""
    values = np.asarray(net, dtype=float)
    return float(max(0.0, -np.cumsum(values).min())) if values.size else 0.0
