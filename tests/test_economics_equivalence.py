"""The numpy path of the economics and of the run summary against plain pandas formulations.

``evaluate`` and ``summarize`` run thousands of times in replication loops, so they work on numpy
columns and build each result DataFrame once. These tests recompute the grouped tables and the
summary the straightforward pandas way (boolean filtering, ``groupby(sort=True)``, Series
reductions) on fabricated runs, and check that both give the same rows in the same order, the same
dtypes, and the same values (to 1e-12 relative: group sums may add in another order).
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
from peersim.reporting import summarize

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


# -- the run summary ----------------------------------------------------------------------------------

def _reference_summary(ts, citizens, volunteers, courses) -> dict:
    """The run summary the pandas way (as ``summarize`` was first written)."""
    def mean(s):
        s = s.dropna()
        return None if s.empty else float(s.mean())

    started = citizens[citizens["started"]]
    years = ts["year"].max()
    first3 = ts[ts["year"] <= 3]
    n_started = int(len(started))
    return {
        "courses_started": int(ts["new_courses_started"].sum()),
        "courses_cancelled": int(ts["new_courses_cancelled"].sum()),
        "courses_per_year": float(ts["new_courses_started"].sum() / years),
        "courses_started_first_3y": int(first3["new_courses_started"].sum()),
        "mean_course_size": mean(courses["participants"]) if len(courses) else None,
        "citizens_referred": int(len(citizens)),
        "citizens_declined": int((citizens["state"] == "declined").sum()),
        "citizens_started": n_started,
        "citizens_started_first_3y": int(first3["new_citizens_started"].sum()),
        "citizens_completed": int(citizens["completed"].sum()),
        "citizens_dropped_out": int((citizens["state"] == "dropped_out").sum()),
        "citizens_gave_up_waiting": int((citizens["state"] == "gave_up").sum()),
        "citizens_waiting_end": int(ts.iloc[-1]["n_waiting"]),
        "mean_wait_weeks": mean(started["wait_weeks"].astype(float)),
        "volunteers_recruited": int(len(volunteers)),
        "volunteers_trained": int(volunteers["ti_trained"].notna().sum()),
        "volunteers_active_end": int(volunteers["state"].isin(("available", "leading", "resting")).sum()),
        "volunteer_burnouts": int(volunteers["n_burnouts"].sum()),
        "volunteers_left": int((volunteers["state"] == "left").sum()),
        "volunteer_returns": int(volunteers["n_returns"].sum()),
        "fidelity_mean": mean(courses["fidelity"]) if len(courses) else None,
        "qpr_baseline_mean": mean(started["qpr_baseline"]),
        "qpr_change_mean": mean(started["qpr_end_course"] - started["qpr_baseline"]),
        "qpr_effect_attributable_mean": mean(started["qpr_effect_end_course"]),
        "qpr_effect_attributable_26w_mean": mean(started["qpr_26w"] - started["qpr_cf_26w"]),
        "successes": int(citizens["success"].sum()),
        "success_rate": float(citizens["success"].sum() / n_started) if n_started else None,
        "coordinator_hours_total": float(ts["hours_budget"].sum()),
        "coordinator_hours_idle_share": (float(ts["hours_idle"].sum() / ts["hours_budget"].sum())
                                         if ts["hours_budget"].sum() else None),
    }


def _run_tables(seed: int, n_citizens: int, n_courses: int):
    """Tables with the simulation's dtypes: categoricals, nullable integers with gaps, NaN scores."""
    rng = np.random.default_rng(seed)
    weeks = 156
    ts = pd.DataFrame({"week": np.arange(1, weeks + 1), "year": np.arange(weeks) // 52 + 1,
                       "n_waiting": rng.integers(0, 20, weeks)})
    for col in ("new_courses_started", "new_courses_cancelled", "new_citizens_started"):
        ts[col] = rng.integers(0, 3, weeks)
    ts["hours_budget"] = rng.uniform(0, 30, weeks)
    ts["hours_idle"] = ts["hours_budget"] * rng.uniform(0, 0.5, weeks)
    states = ["waiting", "declined", "gave_up", "in_course", "dropped_out", "companionship", "done"]
    started = rng.random(n_citizens) < 0.7

    def ints(values, missing):  # nullable Int32 with missing values
        return pd.array([None if gap else int(v) for v, gap in zip(values, missing, strict=True)], dtype="Int32")

    qpr = rng.normal(30, 8, n_citizens)
    citizens = pd.DataFrame({
        "state": pd.Categorical(rng.choice(states, n_citizens), categories=states),
        "started": started,
        "completed": started & (rng.random(n_citizens) < 0.8),
        "wait_weeks": ints(rng.integers(0, 30, n_citizens), ~started | (rng.random(n_citizens) < 0.1)),
        "qpr_baseline": qpr,
        "qpr_end_course": np.where(started & (rng.random(n_citizens) < 0.9), qpr + rng.normal(5, 6, n_citizens),
                                   np.nan),
        "qpr_effect_end_course": np.where(started, rng.normal(4, 3, n_citizens), np.nan),
        "qpr_26w": np.where(started & (rng.random(n_citizens) < 0.7), qpr + rng.normal(4, 6, n_citizens), np.nan),
        "qpr_cf_26w": np.where(started, qpr + rng.normal(1, 4, n_citizens), np.nan),
        "success": started & (rng.random(n_citizens) < 0.1),
    })
    v_states = ["recruited", "in_training", "available", "leading", "resting", "burned_out", "left"]
    n_volunteers = 25
    volunteers = pd.DataFrame({
        "state": pd.Categorical(rng.choice(v_states, n_volunteers), categories=v_states),
        "ti_trained": ints(rng.integers(1, 100, n_volunteers), rng.random(n_volunteers) < 0.3),
        "n_burnouts": rng.integers(0, 3, n_volunteers).astype(np.int32),
        "n_returns": rng.integers(0, 2, n_volunteers).astype(np.int32),
    })
    courses = pd.DataFrame({"participants": rng.integers(3, 9, n_courses),
                            "fidelity": rng.uniform(0.4, 1.0, n_courses)})
    return ts, citizens, volunteers, courses


@pytest.mark.parametrize(("seed", "n_citizens", "n_courses"), [(0, 400, 30), (1, 37, 3), (2, 0, 0)])
def test_summarize_gives_what_pandas_gives(seed, n_citizens, n_courses):
    tables = _run_tables(seed, n_citizens, n_courses)
    got, expected = summarize(*tables), _reference_summary(*tables)
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert type(got[key]) is type(value), key
        assert got[key] == value, key          # the same reductions on the same arrays: bit for bit
