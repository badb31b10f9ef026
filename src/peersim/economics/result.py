"""The result of the economics: key figures and tables, assembled the same way in both modes.

Two views, both in every result (docs/economics.md):

* SØM view, as the published figures: municipal cost = outcome payments + the municipality's own
  staff costs (fixed prices); savings = SØM 5-year totals per success, discounted to the citizen's
  course start; net = savings - municipal cost. Per citizen = per started citizen.
* Calendar view: the yearly cash flow, its NPV at the discount rate, and break-even years. Its
  budget keys (``*_budget_*``) count only the run's own years: what the municipal budget sees.

Programme cost per started / completed citizen is the NPV of all costs over the citizens (Socialstyrelsen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from peersim.economics.cashflow import (
    CASHFLOW_COLUMNS,
    break_even_year,
    capital_outlay,
    cashflow_table,
    net_by_year_array,
)
from peersim.economics.contract import Payments, payments
from peersim.economics.costs import COST_COLUMNS, cost_table
from peersim.economics.outcomes import Outcomes
from peersim.economics.params import AREAS, EconomicsParams
from peersim.economics.savings import SOM_COLUMNS, calendar_table, som_table
from peersim.economics.tables import Table, TableLike, column, frame, sum_by

Summary = dict[str, Any]


@dataclass(frozen=True)
class EconomicsResult:
    """Key figures (``summary``, JSON-ready) and tidy tables; amounts in DKK, fixed prices."""

    summary: Summary
    cashflow: pd.DataFrame            # year, party, flow, category, amount_dkk, amount_discounted_dkk
    costs_by_category: pd.DataFrame   # year, phase, payer, category, item, quantity, amount_dkk, amount_discounted_dkk
    savings_by_subgroup: pd.DataFrame  # municipality, subgroup, area, successes, gross_dkk, savings_dkk
    payments: pd.DataFrame            # municipality, target, year, achievements, price_dkk, earned_dkk, payable_dkk
    municipalities: pd.DataFrame      # municipality, citizens_started, successes, savings_dkk, payments_dkk, cap_dkk


def assemble(ts: TableLike, outcomes: Outcomes, params: EconomicsParams, *, implementation: str,
             mode: str, run_years: int) -> EconomicsResult:
    """The shared calculation of both modes, from checked weekly records and outcomes of a run of
    ``run_years`` programme years (the budget view's window; ``horizon_years`` defaults to it).

    The steps pass tables of numpy columns; each result table becomes a DataFrame once, here.
    """
    costs = cost_table(ts, params, implementation)
    som = som_table(outcomes.successes, params)
    pay = payments(outcomes, params, implementation)
    cashflow = _cashflow(costs, outcomes, pay, params, implementation=implementation, run_years=run_years)
    summary = _summary(costs, som, pay, cashflow, outcomes, params, implementation=implementation, mode=mode,
                       run_years=run_years)
    return EconomicsResult(summary, frame(cashflow, CASHFLOW_COLUMNS), frame(costs, COST_COLUMNS),
                           frame(som, SOM_COLUMNS), pay.earned, _by_municipality(outcomes, som, pay))


def _cashflow(costs: Table, outcomes: Outcomes, pay: Payments, params: EconomicsParams, *, implementation: str,
              run_years: int) -> Table:
    return cashflow_table(
        costs, calendar_table(outcomes.successes, params), pay.paid_table,
        fund_finances=params.implementation(implementation).fund_finances_programme,
        targets=list(params.contract.targets), discount_rate=params.discount,
        horizon_years=max(run_years, params.resolve_horizon(run_years)))


def assemble_cashflow(ts: TableLike, outcomes: Outcomes, params: EconomicsParams, *, implementation: str,
                      run_years: int) -> Table:
    """The cash-flow table of :func:`assemble` alone (numpy columns, the same values): for callers that
    read nothing else, without building the other tables, the summary and the DataFrames."""
    costs = cost_table(ts, params, implementation)
    pay = payments(outcomes, params, implementation)
    return _cashflow(costs, outcomes, pay, params, implementation=implementation, run_years=run_years)


def _per(amount: float, count: float) -> float | None:
    return float(amount / count) if count > 0 else None


def _total(table: TableLike, name: str, **match: str) -> float:
    """Sum of column ``name`` over the rows whose columns equal the given values."""
    values = column(table, name)
    mask = np.ones(len(values), dtype=bool)
    for key, value in match.items():
        mask &= column(table, key) == value
    return float(values[mask].sum())


def _summary(costs: Table, som: Table, pay: Payments, cashflow: Table, outcomes: Outcomes,
             params: EconomicsParams, *, implementation: str, mode: str, run_years: int) -> Summary:
    started, completed = outcomes.n_started, outcomes.n_completed
    cost_total = _total(costs, "amount_dkk")
    cost_npv = _total(costs, "amount_discounted_dkk")
    fund_costs = _total(costs, "amount_dkk", payer="fund")
    own_costs = _total(costs, "amount_dkk", payer="municipality")
    paid = _total(pay.paid_table, "amount_dkk")
    earned = _total(pay.earned_table, "earned_dkk")
    municipal_cost = paid + own_costs
    savings = _total(som, "savings_dkk")
    gross = _total(som, "gross_dkk")
    n_success = outcomes.n_successes
    municipal_net_by_year = net_by_year_array(cashflow, "municipality")
    fund_net_by_year = net_by_year_array(cashflow, "fund")
    horizon = params.resolve_horizon(run_years)
    achieved = {name: _total(outcomes.achievements, "count", target=name) for name in params.contract.targets}
    out: Summary = {
        "economics_mode": mode,
        "implementation": implementation,
        "contract_active": pay.active,
        "discount_rate": params.discount_rate,
        "discount_rate_long": params.discount_rate if params.discount_rate_long is None else params.discount_rate_long,
        "horizon_years": horizon,
        "n_citizens_referred": outcomes.n_referred,
        "n_citizens_started": started,
        "n_citizens_completed": completed,
        "n_successes": n_success,
        "success_rate": _per(n_success, started),
        "cost_total_dkk": cost_total,
        "cost_startup_dkk": _total(costs, "amount_dkk", phase="startup"),
        "cost_operation_dkk": _total(costs, "amount_dkk", phase="operation"),
        "cost_npv_dkk": cost_npv,
        "cost_per_citizen_dkk": _per(cost_npv, started),
        "cost_per_completed_dkk": _per(cost_npv, completed),
        "cost_fund_financed_dkk": fund_costs,
        "cost_municipal_own_dkk": own_costs,
        "fund_share_of_costs": _per(fund_costs, cost_total),
        "amount_to_repay_dkk": pay.terms.amount_to_repay_dkk if pay.active else 0.0,
        "payment_cap_dkk": float(sum(pay.caps_dkk.values())),
        "payments_earned_dkk": earned,
        "payments_cut_by_cap_dkk": earned - _total(pay.earned_table, "payable_dkk"),
        "municipal_payments_dkk": paid,
        "municipal_payments_npv_dkk": -_total(cashflow, "amount_discounted_dkk", party="municipality", flow="payment"),
        "municipal_cost_dkk": municipal_cost,
        "municipal_cost_per_citizen_dkk": _per(municipal_cost, started),
        "savings_total_dkk": savings,
        "savings_per_citizen_dkk": _per(savings, started),
        **{f"savings_{area}_dkk": _total(som, "savings_dkk", area=area) for area in AREAS},
        "savings_gross_dkk": gross,
        "savings_per_success_dkk": _per(gross, n_success),
        "savings_npv_dkk": _total(cashflow, "amount_discounted_dkk", flow="saving"),
        "net_municipal_dkk": savings - municipal_cost,
        "net_per_citizen_dkk": _per(savings - municipal_cost, started),
        "net_municipal_npv_dkk": float(net_by_year_array(cashflow, "municipality", discounted=True).sum()),
        "net_municipal_horizon_dkk": float(municipal_net_by_year[:horizon].sum()),
        "net_municipal_budget_dkk": float(municipal_net_by_year[:run_years].sum()),
        "fund_net_budget_dkk": float(fund_net_by_year[:run_years].sum()),
        "fund_capital_outlay_dkk": capital_outlay(fund_net_by_year),
        "fund_net_dkk": paid - fund_costs,
        "fund_net_npv_dkk": float(net_by_year_array(cashflow, "fund", discounted=True).sum()),
        "net_programme_npv_dkk": float(net_by_year_array(cashflow, "programme", discounted=True).sum()),
        "break_even_year": break_even_year(municipal_net_by_year),
        "break_even_year_fund": break_even_year(fund_net_by_year) if pay.active else None,
        "break_even_year_budget": break_even_year(municipal_net_by_year[:run_years]),
        "break_even_year_budget_fund": break_even_year(fund_net_by_year[:run_years]) if pay.active else None,
        "break_even_year_programme": break_even_year(net_by_year_array(cashflow, "programme")),
    }
    for name in params.contract.targets:
        out[f"price_{name}_dkk"] = pay.terms.prices_dkk[name]
        out[f"achieved_{name}"] = achieved[name]
        out[f"achievement_rate_{name}"] = _per(achieved[name], started)
    return out


def _by_municipality(outcomes: Outcomes, som: Table, pay: Payments) -> pd.DataFrame:
    """Per municipality: citizens, successes, SØM-view savings, payments and cap (costs are shared, not split)."""
    names = sorted(set(outcomes.started_by_municipality) | set(som["municipality"].tolist()))
    first_area = som["area"] == AREAS[0]
    succ = sum_by(som["municipality"][first_area], som["successes"][first_area])
    saved = sum_by(som["municipality"], som["savings_dkk"])
    paid = sum_by(pay.paid_table["municipality"], pay.paid_table["amount_dkk"])
    savings = [float(saved.get(m, 0.0)) for m in names]
    payments_dkk = [float(paid.get(m, 0.0)) for m in names]
    return pd.DataFrame({
        "municipality": names,
        "citizens_started": [outcomes.started_by_municipality.get(m, 0.0) for m in names],
        "successes": [float(succ.get(m, 0.0)) for m in names],
        "savings_dkk": savings,
        "payments_dkk": payments_dkk,
        "cap_dkk": [float(pay.caps_dkk.get(m, 0.0)) for m in names],
        "net_before_own_costs_dkk": np.array(savings, dtype=float) - np.array(payments_dkk, dtype=float),
    })
