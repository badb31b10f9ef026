"""The numpy path of the economics against plain pandas formulations.

``evaluate`` runs thousands of times in replication loops, so it works on numpy columns and
builds each result DataFrame once. These tests recompute the grouped tables the straightforward
pandas way (boolean filtering, ``groupby(sort=True)``) on fabricated runs, and check that both
give the same rows in the same order, the same dtypes, and the same values (to 1e-12 relative:
group sums may add in another order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_economics_runs import WEEKS, fabricate

from peersim.economics import contract_terms, evaluate, load_default_params
from peersim.economics.outcomes import outcomes_from_citizens
from peersim.economics.params import AREAS
from peersim.economics.records import check_citizens
from peersim.economics.tables import frame

RTOL = 1e-12


@pytest.fixture(scope="module")
def params():
    return load_default_params()


def assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                  check_dtype=True, check_exact=False, rtol=RTOL, atol=1e-9)


RUNS = {
    "two municipalities": {},
    "many successes": {"seed": 3, "success_share": 0.3},
    "one municipality, cap binding": {"seed": 5, "gain": 40.0, "success_share": 0.9, "municipalities": ("a",)},
    "no successes": {"seed": 1, "success_share": 0.0},
}


# -- outcomes: what is selected from the citizens ----------------------------------------------------

@pytest.mark.parametrize("run", list(RUNS))
def test_outcomes_select_what_pandas_filtering_selects(params, run):
    _, citizens = fabricate(**RUNS[run])
    outcomes = outcomes_from_citizens(check_citizens(citizens), params)
    c = citizens.astype({"municipality": str, "subgroup": str})
    started = c[c["started"]]
    assert outcomes.n_started == len(started) and outcomes.n_referred == len(c)
    assert outcomes.started_by_municipality == {m: float(n) for m, n in started.groupby("municipality").size().items()}
    won = c[c["success"]]
    assert list(outcomes.successes["municipality"]) == list(won["municipality"])
    assert list(outcomes.successes["start_week"]) == list(won["ti_start"].astype(float))
    onset = np.maximum(won["ti_success"].astype(float), won["ti_start"].astype(float) + 37).round()
    assert list(outcomes.successes["onset_week"]) == list(onset)
    recovered = c[c["started"] & c["ti_course_end"].notna() & (c["qpr_end_course"] - c["qpr_baseline"] >= 11)]
    ach = frame(outcomes.achievements, ["municipality", "target", "week", "count"])
    for target, rows in (("personal_recovery", recovered), ("life_satisfaction", recovered)):
        mine = ach[ach["target"] == target]
        assert list(mine["municipality"]) == list(rows["municipality"]), target
        assert list(mine["week"]) == list(rows["ti_course_end"].astype(float)), target


# -- the grouped result tables ------------------------------------------------------------------------

def _reference_savings(successes: pd.DataFrame, params) -> pd.DataFrame:
    delay = successes["onset_week"] - successes["start_week"]
    grouped = (successes.assign(successes=successes["count"],
                                discounted=successes["count"] * (1 + params.discount_rate) ** -(delay / 52))
               .groupby(["municipality", "subgroup"], as_index=False, sort=True)[["successes", "discounted"]].sum())
    rows = []
    for g in grouped.itertuples():
        per = getattr(params.savings.per_success_dkk, g.subgroup)
        rows += [{"municipality": g.municipality, "subgroup": g.subgroup, "area": a, "successes": g.successes,
                  "gross_dkk": getattr(per, a) * g.successes, "savings_dkk": getattr(per, a) * g.discounted}
                 for a in AREAS]
    return pd.DataFrame(rows)


def _reference_payments(achievements: pd.DataFrame, params, caps: dict[str, float]) -> pd.DataFrame:
    prices = contract_terms(params).prices_dkk
    earned = (achievements.assign(year=(achievements["week"].astype(np.int64) - 1) // 52 + 1)
              .groupby(["municipality", "target", "year"], as_index=False, sort=True)["count"].sum()
              .rename(columns={"count": "achievements"}))
    earned["price_dkk"] = earned["target"].map(prices)
    earned["earned_dkk"] = earned["achievements"] * earned["price_dkk"]
    earned["payable_dkk"] = earned["earned_dkk"]
    for m, rows in earned.groupby("municipality"):   # earned amounts in year order, cut at the cap
        remaining = caps[m]
        for _, year in rows.groupby("year"):
            due = earned.loc[year.index, "payable_dkk"].sum()
            if due > remaining:
                earned.loc[year.index, "payable_dkk"] *= remaining / due
            remaining -= earned.loc[year.index, "payable_dkk"].sum()
    return earned


@pytest.mark.parametrize("implementation", ["local_coordinator", "partnership"])
@pytest.mark.parametrize("run", list(RUNS))
def test_grouped_tables_are_what_pandas_groupby_gives(params, run, implementation):
    ts, citizens = fabricate(**RUNS[run])
    result = evaluate(ts, citizens, params, weeks=WEEKS, implementation=implementation)
    outcomes = outcomes_from_citizens(check_citizens(citizens), params)
    successes = frame(outcomes.successes, ["municipality", "subgroup", "start_week", "onset_week", "count"])
    if len(successes):
        assert_same(result.savings_by_subgroup, _reference_savings(successes, params))
    else:
        assert result.savings_by_subgroup.empty
    if implementation == "local_coordinator":
        caps = {m: params.contract.cap_factor * contract_terms(params).amount_to_repay_dkk
                / params.standard_offer.citizens * n for m, n in outcomes.started_by_municipality.items()}
        achievements = frame(outcomes.achievements, ["municipality", "target", "week", "count"])
        assert_same(result.payments, _reference_payments(achievements, params, caps))
    else:
        assert result.payments.empty

    by_m = result.municipalities.set_index("municipality")
    assert list(by_m.index) == sorted(set(outcomes.started_by_municipality) | set(successes["municipality"]))
    sbs = result.savings_by_subgroup
    expected = pd.DataFrame({
        "citizens_started": pd.Series(outcomes.started_by_municipality),
        "successes": sbs[sbs["area"] == AREAS[0]].groupby("municipality")["successes"].sum(),
        "savings_dkk": sbs.groupby("municipality")["savings_dkk"].sum(),
        "payments_dkk": result.payments.groupby("municipality")["payable_dkk"].sum(),   # one instalment, paid later
    }, index=by_m.index).fillna(0.0)
    expected["net_before_own_costs_dkk"] = expected["savings_dkk"] - expected["payments_dkk"]
    got = by_m[list(expected.columns)]
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=RTOL, atol=1e-6, check_names=False)

    # costs in the cash flow are the cost items, year by year and category by category
    costs = result.costs_by_category.groupby(["year", "category"])["amount_dkk"].sum()
    cf = result.cashflow[(result.cashflow["party"] == "programme")].set_index(["year", "category"])["amount_dkk"]
    assert (-cf[cf != 0]).to_dict() == pytest.approx(costs[costs != 0].to_dict(), rel=RTOL)
