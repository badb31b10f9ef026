"""The social-investment contract ("no cure - no pay").

The fund finances the programme; each municipality pays a fixed price per achieved payment target,
never more than its cap, and nothing without results. Prices are set once, on the standard offer:

    amount to repay = repayment_share_of_cost x fund-financed cost of the standard offer
    price(target)   = weight(target) x amount to repay / (planned citizens x expected_rate(target))

so that the expected achievements of the standard offer repay exactly the amount to repay.
Cap of a municipality = cap_factor x (amount to repay / planned citizens) x its started citizens.
Results documented in programme year y are settled and paid in equal instalments over
``instalment_years`` from year y + ``settlement_lag_years``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from peersim.economics.costs import cost_table
from peersim.economics.discounting import year_of_week
from peersim.economics.outcomes import Outcomes
from peersim.economics.params import EconomicsParams
from peersim.economics.standard_offer import standard_offer_timeseries
from peersim.economics.tables import Table, codes, column, concat, empty, frame, group, group_sum, n_rows, take

EARNED_COLUMNS = ("municipality", "target", "year", "achievements", "price_dkk", "earned_dkk", "payable_dkk")
PAID_COLUMNS = ("year", "municipality", "target", "amount_dkk")


@dataclass(frozen=True)
class ContractTerms:
    amount_to_repay_dkk: float
    planned_citizens: int
    prices_dkk: dict[str, float]
    cap_factor: float

    def cap_for(self, started_citizens: float) -> float:
        return self.cap_factor * self.amount_to_repay_dkk / self.planned_citizens * started_citizens


@dataclass(frozen=True)
class Payments:
    """The contract's outcome: ``earned`` (``EARNED_COLUMNS``, one row per municipality, target and year
    achieved) and ``paid`` (``PAID_COLUMNS``, by year paid), as tables of numpy columns; the
    DataFrames ``earned`` and ``paid`` are built from them on first use."""

    active: bool
    terms: ContractTerms
    caps_dkk: dict[str, float]
    earned_table: Table
    paid_table: Table

    @cached_property
    def earned(self) -> pd.DataFrame:
        return frame(self.earned_table, EARNED_COLUMNS)

    @cached_property
    def paid(self) -> pd.DataFrame:
        return frame(self.paid_table, PAID_COLUMNS)


_TERMS: dict[str, ContractTerms] = {}


def contract_terms(params: EconomicsParams) -> ContractTerms:
    """The amount to repay and the price per payment target, from the standard offer's expected cost."""
    key = repr(params)  # the full parameter values: replications of one configuration reuse the terms
    if key not in _TERMS:
        if len(_TERMS) >= 64:
            _TERMS.clear()
        _TERMS[key] = _price(params)
    return _TERMS[key]


def _price(params: EconomicsParams) -> ContractTerms:
    c = params.contract
    items = cost_table(standard_offer_timeseries(params), params, c.priced_on_implementation)
    financed = float(items["amount_dkk"][items["payer"] == "fund"].sum())
    amount = c.repayment_share_of_cost * financed
    planned = params.standard_offer.citizens
    prices = {name: t.weight * amount / (planned * t.expected_rate) for name, t in c.targets.items()}
    return ContractTerms(amount_to_repay_dkk=amount, planned_citizens=planned, prices_dkk=prices,
                         cap_factor=c.cap_factor)


def _empty(columns: tuple[str, ...]) -> Table:
    return empty(columns, strings=("municipality", "target"))


def _apply_cap(earned: Table, caps: dict[str, float]) -> np.ndarray:
    """Payable amounts: earned amounts in year order, cut so each municipality's total stays within its cap."""
    payable = earned["earned_dkk"].astype(float)  # a copy
    names, municipality = codes(earned["municipality"])
    year = earned["year"]
    for m, name in enumerate(names.tolist()):
        remaining = max(caps.get(str(name), 0.0), 0.0)
        own = np.flatnonzero(municipality == m)
        for y in np.unique(year[own]):
            rows = own[year[own] == y]
            due = payable[rows].sum()
            if due > remaining:
                payable[rows] *= remaining / due
            remaining -= payable[rows].sum()
    return payable


def _schedule(earned: Table, params: EconomicsParams) -> Table:
    """Spread each year's payable amount over the instalment years after the settlement lag."""
    c = params.contract
    parts = concat([{
        "year": earned["year"] + c.settlement_lag_years + i,
        "municipality": earned["municipality"],
        "target": earned["target"],
        "amount_dkk": earned["payable_dkk"] / c.instalment_years,
    } for i in range(c.instalment_years)], PAID_COLUMNS)
    parts = take(parts, parts["amount_dkk"] > 0)
    groups, first = group(parts["year"], parts["municipality"], parts["target"])
    paid = take(parts, first)
    paid["amount_dkk"] = group_sum(groups, parts["amount_dkk"], len(first))
    return paid


def payments(outcomes: Outcomes, params: EconomicsParams, implementation: str) -> Payments:
    """Outcome payments of the municipalities to the fund (none if the fund does not finance the programme)."""
    terms = contract_terms(params)
    active = params.implementation(implementation).fund_finances_programme
    caps = {m: terms.cap_for(n) for m, n in outcomes.started_by_municipality.items()} if active else {}
    ach = outcomes.achievements
    if not active or n_rows(ach) == 0:
        return Payments(active, terms, caps, _empty(EARNED_COLUMNS), _empty(PAID_COLUMNS))
    municipality, target = column(ach, "municipality"), column(ach, "target")
    year = year_of_week(column(ach, "week", float))
    groups, first = group(municipality, target, year)
    achievements = group_sum(groups, column(ach, "count", float), len(first))
    price = np.array([terms.prices_dkk.get(t, np.nan) for t in target[first].tolist()], dtype=float)
    earned = {
        "municipality": municipality[first],
        "target": target[first],
        "year": year[first],
        "achievements": achievements,
        "price_dkk": price,
        "earned_dkk": achievements * price,
    }
    earned["payable_dkk"] = _apply_cap(earned, caps)
    return Payments(active, terms, caps, earned, _schedule(earned, params))
