"""The budget view of ``compare_implementations``: money year by year, and break-even under uncertainty.

Two views of money, always both (docs/economics.md, section 2):

* **SØM view** (``net_municipal_dkk``, ``fund_net_dkk``): every success's whole five-year saving,
  also the part that arrives after the run, as the published figures count it;
* **budget view**: what the municipality and the fund pay and receive in each programme year,
  cumulated year by year, read from the run's cash-flow table.

A replication returns, per year of its cash flow (the run's years and the years after it in which
savings and outcome payments still arrive), the cumulative net of the user's municipality and of
the fund (:func:`yearly_budget`, in the worker: a few numbers a year). From those the parent builds
per arm the distribution of the break-even year with "not within N years" as its own category
(:func:`break_even_table`), P(break-even by year k), and the fan of the cumulative net by year
(:func:`budget_by_year_table`). The municipality's break-even is read on the run's own years
(``years``: what its budget sees by the end of the run); the fund's (when the outcome payments have
paid back its capital outlay) on every year of the cash flow, as the payments for the run's last
results are settled after it.

**The shared arm.** The cash-flow table is the whole run's. The user's municipality's own costs
and its share of the fund's costs are allocated year by year exactly as the totals are
(:func:`~peersim.experiments.compare.runs.municipality_figures`); its savings and outcome payments
are the run's yearly amounts times its share of the run's savings and payments (its totals are
exact, the timing is the run's). With one municipality every share is 1 and the yearly nets equal
the run's cash flow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from peersim.economics.cashflow import break_even_year, capital_outlay

PARTIES = ("municipality", "fund")
PREFIX = {"municipality": "budget_municipality_y", "fund": "budget_fund_y"}
FAN_QUANTILES = (5, 25, 50, 75, 95)  # the fan: median, 50% and 90% bands
WITHIN_YEARS = 5                       # "P(break-even within 5 years)" of comparison.md


def n_years(n: int) -> str:
    """"1 year", "5 years"."""
    return "1 year" if n == 1 else f"{n} years"


def years_range(n: int) -> str:
    """"year 1", "years 1 to 5"."""
    return "year 1" if n == 1 else f"years 1 to {n}"


# -- in the worker ----------------------------------------------------------------------------
def _by_year(years: np.ndarray, amounts: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(years.astype(np.int64) - 1, weights=amounts, minlength=n)[:n]


def yearly_budget(result: Any, cost_weights: np.ndarray, savings_share: float, payments_share: float,
                  ) -> dict[str, np.ndarray]:
    """Per programme year (1 .. the cash flow's last year): the user's municipality's and the fund's
    net flow. ``cost_weights`` are the municipality's shares of the rows of ``costs_by_category``."""
    cf = result.extra_tables["cashflow"]
    n = int(cf["year"].max())
    year, party, flow = cf["year"].to_numpy(), cf["party"].to_numpy(), cf["flow"].to_numpy()
    amount = cf["amount_dkk"].to_numpy(dtype=float)
    mine = party == "municipality"
    savings = _by_year(year[mine & (flow == "saving")], amount[mine & (flow == "saving")], n)
    paid = -_by_year(year[mine & (flow == "payment")], amount[mine & (flow == "payment")], n)  # > 0
    costs = result.extra_tables["costs_by_category"]
    c_year = costs["year"].to_numpy()
    allocated = costs["amount_dkk"].to_numpy(dtype=float) * cost_weights
    by_municipality = costs["payer"].to_numpy() == "municipality"
    own = _by_year(c_year[by_municipality], allocated[by_municipality], n)
    financed = _by_year(c_year[~by_municipality], allocated[~by_municipality], n)
    return {"municipality": savings * savings_share - paid * payments_share - own,
            "fund": paid * payments_share - financed}


def budget_figures(net: dict[str, np.ndarray], years: int) -> dict[str, Any]:
    """One replication's budget-view figures and its cumulative nets by year (``budget_*_y<k>``)."""
    municipality, fund = net["municipality"], net["fund"]
    out: dict[str, Any] = {
        "net_municipal_budget_dkk": float(municipality[:years].sum()),
        "fund_net_budget_dkk": float(fund[:years].sum()),
        "fund_capital_outlay_dkk": capital_outlay(fund),
        "break_even_year_budget": _year(break_even_year(municipality[:years])),
        "payback_year_fund": _year(break_even_year(fund)),
    }
    for party in PARTIES:
        out.update({f"{PREFIX[party]}{k}": float(v) for k, v in enumerate(np.cumsum(net[party]), start=1)})
    return out


def _year(year: int | None) -> float:
    return math.nan if year is None else float(year)


# -- in the parent ----------------------------------------------------------------------------
def cumulative(reps: pd.DataFrame, party: str) -> np.ndarray:
    """The cumulative nets by year (replications x years); a cash flow shorter than the longest
    one keeps its last value (nothing more is paid or saved)."""
    cols = sorted((c for c in reps.columns if c.startswith(PREFIX[party])), key=lambda c: int(c[len(PREFIX[party]):]))
    return reps[cols].ffill(axis=1).to_numpy(dtype=float)


def budget_columns(reps: pd.DataFrame) -> list[str]:
    """The ``budget_*_y<k>`` columns, municipality first, in year order."""
    return [c for party in PARTIES for c in sorted(
        (c for c in reps.columns if c.startswith(PREFIX[party])), key=lambda c: int(c[len(PREFIX[party]):]))]


def break_even_years(reps: pd.DataFrame, party: str) -> np.ndarray:
    """Per replication: the municipality's budget break-even year within the run, or the fund's
    payback year (NaN: not within the window)."""
    key = "break_even_year_budget" if party == "municipality" else "payback_year_fund"
    return reps[key].to_numpy(dtype=float)


def window(reps: pd.DataFrame, party: str, years: int) -> int:
    """The years the break-even is looked for in: the run's (municipality), the cash flow's (fund)."""
    return years if party == "municipality" else cumulative(reps, party).shape[1]


def break_even_stats(be: np.ndarray, window_years: int) -> dict[str, float]:
    """Median and 90% interval of the break-even year (NaN = not within the window, counted as
    later than every year: a quantile that falls on it is NaN), P(within the window), P(within 5 years)."""
    if be.size == 0:
        return {"p50": math.nan, "p05": math.nan, "p95": math.nan, "prob": math.nan, "prob_5y": math.nan}
    coded = np.where(np.isnan(be), np.inf, be)
    q = np.percentile(coded, [50, 5, 95], method="inverted_cdf")  # an observed year, never between two
    p50, p05, p95 = (float(v) if np.isfinite(v) else math.nan for v in q)
    return {"p50": p50, "p05": p05, "p95": p95, "prob": float(np.isfinite(coded).mean()),
            "prob_5y": float((coded <= WITHIN_YEARS).mean()) if window_years >= WITHIN_YEARS else math.nan}


def _arm_parties(reps: pd.DataFrame, arms: list[str], funded: dict[str, bool]):
    """(arm, party, the arm's replications) for every arm and party (the fund only with a contract)."""
    for arm in arms:
        sub = reps[reps["arm"] == arm]
        for party in PARTIES:
            if party != "fund" or funded[arm]:
                yield arm, party, sub


def break_even_table(reps: pd.DataFrame, arms: list[str], labels: dict[str, str], years: int,
                     funded: dict[str, bool]) -> pd.DataFrame:
    """Per arm and party (the fund only with a contract): one row per year of the window with the
    replications that break even in that year, their share and P(break-even by that year), and one
    row "not within N years" with the replications that never do."""
    rows = []
    for arm, party, sub in _arm_parties(reps, arms, funded):
        be = break_even_years(sub, party)
        n = len(be)
        w = window(reps, party, years)
        by_year = 0
        for year in range(1, w + 1):
            count = int((be == year).sum())
            by_year += count
            rows.append({"arm": arm, "label": labels[arm], "party": party, "window_years": w,
                         "category": f"year {year}", "year": year, "replications": count,
                         "share": count / n, "prob_by_year": by_year / n})
        never = int(np.isnan(be).sum())
        rows.append({"arm": arm, "label": labels[arm], "party": party, "window_years": w,
                     "category": f"not within {n_years(w)}", "year": pd.NA, "replications": never,
                     "share": never / n, "prob_by_year": math.nan})
    out = pd.DataFrame(rows, columns=["arm", "label", "party", "window_years", "category", "year",
                                      "replications", "share", "prob_by_year"])
    out["year"] = out["year"].astype("Int64")
    return out


def budget_by_year_table(reps: pd.DataFrame, arms: list[str], labels: dict[str, str], years: int,
                         funded: dict[str, bool]) -> pd.DataFrame:
    """The fan: per arm, party and year the mean and the 5th, 25th, 50th, 75th and 95th percentile
    over replications of the cumulative net (DKK), and whether the year is one of the run's."""
    rows = []
    for arm, party, sub in _arm_parties(reps, arms, funded):
        cum = cumulative(sub, party)
        qs = np.percentile(cum, FAN_QUANTILES, axis=0)
        for k in range(cum.shape[1]):
            rows.append({"arm": arm, "label": labels[arm], "party": party, "year": k + 1,
                         "in_run": k + 1 <= years, "mean": float(cum[:, k].mean()),
                         **{f"p{q:02d}": float(v) for q, v in zip(FAN_QUANTILES, qs[:, k], strict=True)}})
    return pd.DataFrame(rows, columns=["arm", "label", "party", "year", "in_run", "mean",
                                       *(f"p{q:02d}" for q in FAN_QUANTILES)])


def comparison_columns(sub: pd.DataFrame, reps: pd.DataFrame, years: int, funded: bool) -> dict[str, float]:
    """The break-even columns of one arm's row of ``comparison``."""
    out: dict[str, float] = {}
    m = break_even_stats(break_even_years(sub, "municipality"), years)
    out.update({"break_even_year_budget_p50": m["p50"], "break_even_year_budget_p05": m["p05"],
                "break_even_year_budget_p95": m["p95"], "prob_break_even_budget": m["prob"],
                "prob_break_even_budget_within_5_years": m["prob_5y"]})
    f = (break_even_stats(break_even_years(sub, "fund"), window(reps, "fund", years)) if funded
         else dict.fromkeys(("p50", "p05", "p95", "prob", "prob_5y"), math.nan))
    out.update({"fund_window_years": window(reps, "fund", years),
                "payback_year_fund_p50": f["p50"], "payback_year_fund_p05": f["p05"],
                "payback_year_fund_p95": f["p95"], "prob_payback_fund": f["prob"],
                "prob_payback_fund_within_5_years": f["prob_5y"]})
    return out
