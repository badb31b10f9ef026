"""Entry point: the economics of one run, from what the simulation recorded (docs/economics.md)."""

from __future__ import annotations

import pandas as pd

from peersim.economics.cashflow import CASHFLOW_COLUMNS
from peersim.economics.expected import expected
from peersim.economics.outcomes import outcomes_from_citizens
from peersim.economics.params import EconomicsParams
from peersim.economics.records import check_citizens, check_timeseries
from peersim.economics.result import EconomicsResult, assemble, assemble_cashflow
from peersim.economics.tables import Table, frame
from peersim.vocabulary import WEEKS_PER_YEAR


def evaluate(timeseries: pd.DataFrame, citizens: pd.DataFrame, params: EconomicsParams, *, weeks: int,
             implementation: str) -> EconomicsResult:
    """Economics of one run. In ``mode: expected`` the records are ignored and the standard offer is used."""
    params.validate()
    params.implementation(implementation)
    run_years = -(-weeks // WEEKS_PER_YEAR)
    if params.mode == "expected":
        return expected(params, implementation=implementation, run_years=run_years)
    ts = check_timeseries(timeseries, weeks)
    outcomes = outcomes_from_citizens(check_citizens(citizens), params)
    return assemble(ts, outcomes, params, implementation=implementation, mode="simulated",
                    run_years=run_years)


def evaluate_cashflow(timeseries: pd.DataFrame, citizens: pd.DataFrame, params: EconomicsParams, *, weeks: int,
                      implementation: str) -> Table:
    """The ``cashflow`` table of :func:`evaluate` alone, as numpy columns (the same values): what a
    roll-out plan reads of each municipality's economics, without the other tables and the summary."""
    params.validate()
    params.implementation(implementation)
    run_years = -(-weeks // WEEKS_PER_YEAR)
    if params.mode == "expected":
        cashflow = expected(params, implementation=implementation, run_years=run_years).cashflow
        return {c: cashflow[c].to_numpy() for c in CASHFLOW_COLUMNS}
    ts = check_timeseries(timeseries, weeks)
    outcomes = outcomes_from_citizens(check_citizens(citizens), params)
    return assemble_cashflow(ts, outcomes, params, implementation=implementation, run_years=run_years)


def cashflow_frame(table: Table) -> pd.DataFrame:
    """A cash-flow table of :func:`evaluate_cashflow` as the DataFrame :func:`evaluate` gives."""
    return frame(table, CASHFLOW_COLUMNS)
