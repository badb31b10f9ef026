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

import numpy as np
import pandas as pd

from peersim.economics.costs import yearly_costs
from peersim.economics.discounting import year_of_week
from peersim.economics.outcomes import Outcomes
from peersim.economics.params import EconomicsParams
from peersim.economics.standard_offer import standard_offer_timeseries

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
    active: bool
    terms: ContractTerms
    caps_dkk: dict[str, float]
    earned: pd.DataFrame
    paid: pd.DataFrame


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
    items = yearly_costs(standard_offer_timeseries(params), params, c.priced_on_implementation)
    financed = float(items.loc[items["payer"] == "fund", "amount_dkk"].sum())
    amount = c.repayment_share_of_cost * financed
    planned = params.standard_offer.citizens
    prices = {name: t.weight * amount / (planned * t.expected_rate) for name, t in c.targets.items()}
    return ContractTerms(amount_to_repay_dkk=amount, planned_citizens=planned, prices_dkk=prices,
                         cap_factor=c.cap_factor)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({col: pd.Series(dtype="object" if col in ("municipality", "target") else "float64")
                         for col in columns})


def _apply_cap(earned: pd.DataFrame, caps: dict[str, float]) -> np.ndarray:
    """Payable amounts: earned amounts in year order, cut so each municipality's total stays within its cap."""
    payable = earned["earned_dkk"].to_numpy(dtype=float).copy()
    municipality = earned["municipality"].to_numpy()
    year = earned["year"].to_numpy()
    for m in np.unique(municipality):
        remaining = max(caps.get(str(m), 0.0), 0.0)
        for y in np.unique(year[municipality == m]):
            rows = (municipality == m) & (year == y)
            due = payable[rows].sum()
            if due > remaining:
                payable[rows] *= remaining / due
            remaining -= payable[rows].sum()
    return payable


def _schedule(earned: pd.DataFrame, params: EconomicsParams) -> pd.DataFrame:
    """Spread each year's payable amount over the instalment years after the settlement lag."""
    c = params.contract
    parts = []
    for i in range(c.instalment_years):
        parts.append(pd.DataFrame({
            "year": earned["year"].to_numpy() + c.settlement_lag_years + i,
            "municipality": earned["municipality"].to_numpy(),
            "target": earned["target"].to_numpy(),
            "amount_dkk": earned["payable_dkk"].to_numpy() / c.instalment_years,
        }))
    paid = pd.concat(parts, ignore_index=True)
    paid = paid[paid["amount_dkk"] > 0]
    return paid.groupby(["year", "municipality", "target"], as_index=False, sort=True)["amount_dkk"].sum()


def payments(outcomes: Outcomes, params: EconomicsParams, implementation: str) -> Payments:
    """Outcome payments of the municipalities to the fund (none if the fund does not finance the programme)."""
    terms = contract_terms(params)
    active = params.implementation(implementation).fund_finances_programme
    caps = {m: terms.cap_for(n) for m, n in outcomes.started_by_municipality.items()} if active else {}
    ach = outcomes.achievements
    if not active or ach.empty:
        return Payments(active, terms, caps, _empty(EARNED_COLUMNS), _empty(PAID_COLUMNS))
    ach = ach.assign(year=year_of_week(ach["week"].to_numpy(dtype=float)))
    earned = ach.groupby(["municipality", "target", "year"], as_index=False, sort=True)["count"].sum()
    earned = earned.rename(columns={"count": "achievements"})
    earned["price_dkk"] = earned["target"].map(terms.prices_dkk).astype(float)
    earned["earned_dkk"] = earned["achievements"] * earned["price_dkk"]
    earned["payable_dkk"] = _apply_cap(earned, caps)
    return Payments(active, terms, caps, earned, _schedule(earned, params))
