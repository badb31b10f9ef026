"""The economics of whole runs on fabricated records: accounting identities, properties, tables and chart.

``fabricate`` builds a time series and a citizens table in the simulation's output contract
(including its pandas nullable integers and categoricals) without importing the simulation.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from peersim.economics import cumulative_cashflow_chart, evaluate, load_default_params
from peersim.economics.cashflow import CASHFLOW_COLUMNS
from peersim.economics.evaluate import cashflow_frame, evaluate_cashflow
from peersim.vocabulary import ACTIVITIES

matplotlib.use("Agg")

WEEKS = 156


def fabricate(*, weeks: int = WEEKS, seed: int = 0, success_share: float = 0.1, gain: float = 8.0,
              municipalities: tuple[str, ...] = ("fredericia", "kolding")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A plausible run: a coordinator's weekly hours, courses every 5 weeks, 8 citizens each."""
    rng = np.random.default_rng(seed)
    hours = {f"hours_{a}": rng.uniform(0.5, 4.0, weeks) for a in ACTIVITIES}
    ts = pd.DataFrame({"week": np.arange(1, weeks + 1), "year": (np.arange(weeks) // 52) + 1, **hours})
    ts["hours_budget"] = ts[[f"hours_{a}" for a in ACTIVITIES]].sum(axis=1)
    starts = np.arange(10, weeks - 11, 5)
    for col in ("new_course_sessions", "new_courses_started", "new_workshops", "new_intro_meetings", "new_trainees",
                "new_volunteers_trained", "new_steering_meetings", "new_citizens_referred", "new_citizens_started",
                "new_citizens_completed", "new_successes"):
        ts[col] = 0
    for s in starts:
        ts.loc[s - 1, "new_courses_started"] += 1
        ts.loc[s - 1:s + 9, "new_course_sessions"] += 1
        ts.loc[s - 1, "new_citizens_started"] += 8
        ts.loc[s - 3, "new_citizens_referred"] += 9
    ts.loc[ts["week"] % 4 == 0, "new_workshops"] = 1
    ts.loc[ts["week"] % 13 == 1, "new_intro_meetings"] = 1
    ts.loc[ts["week"] % 26 == 0, "new_steering_meetings"] = 1
    ts.loc[ts["week"] % 20 == 2, "new_trainees"] = 3
    ts["n_volunteers_active"] = np.minimum(ts["week"] // 4, 12)
    ts["n_volunteers_leading"] = np.minimum(ts["n_volunteers_active"], 4)

    rows = []
    for c, s in enumerate(starts):
        for k in range(9):                       # one of nine referred declines
            started = k < 8
            base = rng.normal(30, 8)
            cf = base + rng.normal(1.8, 4)
            effect = rng.normal(gain - 1.8, 3) if started else np.nan
            success = started and rng.random() < success_share
            rows.append({
                "citizen_id": len(rows), "municipality": municipalities[c % len(municipalities)],
                "subgroup": ("significant", "reduced", "reduced", "mild")[k % 4],
                "started": started, "completed": started and k < 7,
                "ti_start": s if started else None, "ti_course_end": s + 10 if started else None,
                "success": success, "ti_success": s + 10 + 26 + int(rng.integers(0, 20)) if success else None,
                "qpr_baseline": base, "qpr_end_course": cf + effect if started else np.nan,
                "qpr_cf_end_course": cf if started else np.nan, "qpr_effect_end_course": effect,
                "companionship": started and k % 2 == 0,
            })
    citizens = pd.DataFrame(rows)
    for col in ("ti_start", "ti_course_end", "ti_success"):
        citizens[col] = pd.array(citizens[col], dtype="Int32")
    for col in ("municipality", "subgroup"):
        citizens[col] = citizens[col].astype("category")
    return ts, citizens


@pytest.fixture(scope="module")
def params():
    return load_default_params()


@pytest.fixture(scope="module")
def run(params):
    ts, citizens = fabricate()
    return evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator")


# -- accounting: every krone ----------------------------------------------------------------------

def test_municipality_net_is_savings_minus_payments_minus_own_costs(run):
    s = run.summary
    assert s["net_municipal_dkk"] == pytest.approx(s["savings_total_dkk"] - s["municipal_payments_dkk"]
                                                   - s["cost_municipal_own_dkk"])
    assert s["municipal_cost_dkk"] == pytest.approx(s["municipal_payments_dkk"] + s["cost_municipal_own_dkk"])


def test_fund_net_is_payments_minus_financed_costs(run):
    s = run.summary
    assert s["fund_net_dkk"] == pytest.approx(s["municipal_payments_dkk"] - s["cost_fund_financed_dkk"])
    assert s["cost_fund_financed_dkk"] + s["cost_municipal_own_dkk"] == pytest.approx(s["cost_total_dkk"])


def test_costs_by_category_add_up_to_the_total(run):
    c = run.costs_by_category
    assert c["amount_dkk"].sum() == pytest.approx(run.summary["cost_total_dkk"])
    assert c.groupby("category")["amount_dkk"].sum().sum() == pytest.approx(run.summary["cost_total_dkk"])
    assert c["amount_discounted_dkk"].sum() == pytest.approx(run.summary["cost_npv_dkk"])
    assert run.summary["cost_startup_dkk"] + run.summary["cost_operation_dkk"] == pytest.approx(
        run.summary["cost_total_dkk"])


def test_savings_by_area_add_up_and_cashflow_carries_every_krone(run):
    s, cf = run.summary, run.cashflow
    by_area = sum(s[f"savings_{a}_dkk"] for a in ("social", "health", "employment"))
    assert by_area == pytest.approx(s["savings_total_dkk"])
    party = cf.groupby(["party", "flow"])["amount_dkk"].sum()
    assert -party["programme", "cost"] == pytest.approx(s["cost_total_dkk"])
    assert party["municipality", "saving"] == pytest.approx(s["savings_gross_dkk"])     # all 5 years, undiscounted
    assert -party["municipality", "payment"] == pytest.approx(s["municipal_payments_dkk"])
    assert party["fund", "payment"] == pytest.approx(s["municipal_payments_dkk"])
    assert cf.loc[cf["party"] == "fund", "amount_dkk"].sum() == pytest.approx(s["fund_net_dkk"])
    municipality = cf.loc[cf["party"] == "municipality", "amount_dkk"].sum()
    assert municipality == pytest.approx(s["savings_gross_dkk"] - s["municipal_cost_dkk"])
    assert cf.loc[cf["flow"] == "saving", "amount_discounted_dkk"].sum() == pytest.approx(s["savings_npv_dkk"])


def test_per_citizen_figures_by_hand(run, params):
    s = run.summary
    assert s["n_citizens_started"] == 8 * len(np.arange(10, WEEKS - 11, 5))
    assert s["cost_per_citizen_dkk"] == pytest.approx(s["cost_npv_dkk"] / s["n_citizens_started"])
    assert s["cost_per_completed_dkk"] == pytest.approx(s["cost_npv_dkk"] / s["n_citizens_completed"])
    assert s["municipal_cost_per_citizen_dkk"] == pytest.approx(s["municipal_cost_dkk"] / s["n_citizens_started"])
    assert s["net_per_citizen_dkk"] == pytest.approx(s["savings_per_citizen_dkk"] - s["municipal_cost_per_citizen_dkk"])


def test_payments_follow_prices_and_never_exceed_the_cap(run):
    s, p = run.summary, run.payments
    assert p["earned_dkk"].sum() == pytest.approx((p["achievements"] * p["price_dkk"]).sum())
    assert s["municipal_payments_dkk"] <= s["payment_cap_dkk"] + 1e-6
    for m, row in run.municipalities.set_index("municipality").iterrows():
        assert row["payments_dkk"] <= row["cap_dkk"] + 1e-6, m


@pytest.mark.parametrize("gain", [30.0, 60.0])
def test_overachievement_is_cut_at_the_cap(params, gain):
    ts, citizens = fabricate(gain=gain, success_share=0.9)
    s = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator").summary
    assert s["payments_cut_by_cap_dkk"] > 0
    assert s["municipal_payments_dkk"] == pytest.approx(s["payment_cap_dkk"])


# -- properties -----------------------------------------------------------------------------------

def test_no_success_and_no_improvement_means_no_savings_and_no_payments(params):
    ts, citizens = fabricate(success_share=0.0, gain=-20.0)
    r = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator")
    s = r.summary
    assert s["n_successes"] == 0
    assert s["savings_total_dkk"] == 0 and s["savings_npv_dkk"] == 0
    assert s["municipal_payments_dkk"] == 0
    assert s["fund_net_dkk"] == pytest.approx(-s["cost_fund_financed_dkk"])   # the fund carries the loss
    assert s["break_even_year"] is None and s["break_even_year_fund"] is None


def test_a_run_without_citizens_has_costs_but_no_per_citizen_figures(params):
    ts, citizens = fabricate()
    r = evaluate(ts, citizens.iloc[:0], params, weeks=WEEKS, implementation="local_coordinator")
    s = r.summary
    assert s["n_citizens_started"] == 0 and s["cost_total_dkk"] > 0
    assert s["cost_per_citizen_dkk"] is None and s["net_per_citizen_dkk"] is None
    assert s["savings_total_dkk"] == 0 and s["municipal_payments_dkk"] == 0 and s["payment_cap_dkk"] == 0


def test_zero_successes_mean_zero_payments_on_success_based_targets(params):
    ts, citizens = fabricate(success_share=0.0)
    s = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator").summary
    assert s["achieved_less_psychiatry"] == 0 and s["savings_total_dkk"] == 0


def test_a_higher_discount_rate_lowers_present_values(params):
    ts, citizens = fabricate()
    results = [evaluate(ts, citizens, load_default_params({"discount_rate": r}), weeks=WEEKS,
                        implementation="local_coordinator").summary for r in (0.0, 0.035, 0.04, 0.08)]
    for key in ("savings_npv_dkk", "savings_total_dkk", "cost_npv_dkk"):
        values = [s[key] for s in results]
        assert values == sorted(values, reverse=True), key
    assert results[0]["savings_npv_dkk"] == pytest.approx(results[0]["savings_gross_dkk"])


def test_partnership_has_no_contract_and_the_municipality_carries_all_costs(params):
    ts, citizens = fabricate()
    s = evaluate(ts, citizens, params, weeks=WEEKS, implementation="partnership").summary
    assert not s["contract_active"]
    assert s["municipal_payments_dkk"] == 0 and s["cost_fund_financed_dkk"] == 0 and s["fund_net_dkk"] == 0
    assert s["municipal_cost_dkk"] == pytest.approx(s["cost_total_dkk"])
    assert s["net_municipal_dkk"] == pytest.approx(s["savings_total_dkk"] - s["cost_total_dkk"])


def test_same_records_same_result_and_different_records_differ(params):
    ts, citizens = fabricate(seed=3)
    a = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator")
    b = evaluate(ts.copy(), citizens.copy(), params, weeks=WEEKS, implementation="local_coordinator")
    assert a.summary == b.summary
    pd.testing.assert_frame_equal(a.cashflow, b.cashflow)
    other = evaluate(*fabricate(seed=4), params, weeks=WEEKS, implementation="local_coordinator")
    assert other.summary["savings_total_dkk"] != a.summary["savings_total_dkk"]


def test_simulated_mode_uses_the_records_and_expected_mode_ignores_them(params):
    ts, citizens = fabricate()
    sim = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator").summary
    exp = evaluate(ts, citizens, load_default_params({"mode": "expected"}), weeks=WEEKS,
                   implementation="local_coordinator").summary
    assert sim["economics_mode"] == "simulated" and exp["economics_mode"] == "expected"
    assert exp["n_citizens_started"] == 240 and sim["n_citizens_started"] != 240


@pytest.mark.parametrize("mode", ["simulated", "expected"])
@pytest.mark.parametrize("implementation", ["local_coordinator", "partnership"])
def test_the_cashflow_alone_is_evaluate_s_cashflow_exactly(mode, implementation):
    """``evaluate_cashflow`` (what a roll-out plan reads) gives the very numbers of ``evaluate``'s table."""
    ts, citizens = fabricate()
    p = load_default_params({"mode": mode})
    full = evaluate(ts, citizens, p, weeks=WEEKS, implementation=implementation).cashflow
    alone = evaluate_cashflow(ts, citizens, p, weeks=WEEKS, implementation=implementation)
    assert list(alone) == list(CASHFLOW_COLUMNS) and len(full) > 0
    pd.testing.assert_frame_equal(cashflow_frame(alone), full, check_exact=True)


# -- input checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("mutate", "message"), [
    (lambda ts, c: (ts.drop(columns="hours_budget"), c), "timeseries lacks column(s) hours_budget"),
    (lambda ts, c: (ts.assign(new_trainees=ts["new_trainees"] - 5), c),
     "timeseries.new_trainees must be a number >= 0"),
    (lambda ts, c: (ts.iloc[1:], c), "timeseries.week must run 1..156"),
    (lambda ts, c: (ts.assign(hours_budget=ts["hours_budget"] - 1), c), "timeseries hours by activity exceed"),
    (lambda ts, c: (ts, c.drop(columns="ti_success")), "citizens lacks column(s) ti_success"),
    (lambda ts, c: (ts, c.assign(subgroup="severe")), "citizens.subgroup='severe' is not known"),
])
def test_bad_records_fail_with_one_line(params, mutate, message):
    ts, citizens = mutate(*fabricate())
    with pytest.raises(ValueError) as info:
        evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


def test_unknown_implementation_fails_with_one_line(params):
    with pytest.raises(ValueError, match=r"^implementation='hybrid' is not known"):
        evaluate(*fabricate(), params, weeks=WEEKS, implementation="hybrid")


# -- tables and chart ------------------------------------------------------------------------------

def test_cashflow_is_a_tidy_table_that_round_trips_through_csv(run):
    cf = run.cashflow
    assert tuple(cf.columns) == CASHFLOW_COLUMNS
    assert set(cf["party"]) == {"programme", "municipality", "fund"}
    assert cf["year"].dtype == np.int64 and cf["amount_dkk"].dtype == np.float64
    assert not cf.isna().any().any()
    assert not cf.duplicated(["year", "party", "flow", "category"]).any()
    back = pd.read_csv(io.StringIO(cf.to_csv(index=False)))
    pd.testing.assert_frame_equal(back, cf, check_exact=False)


def test_cashflow_opens_in_excel(run, tmp_path):
    pytest.importorskip("openpyxl")
    path = tmp_path / "cashflow.xlsx"
    run.cashflow.to_excel(path, index=False)
    pd.testing.assert_frame_equal(pd.read_excel(path), run.cashflow, check_exact=False)


def test_summary_is_flat_and_json_ready(run):
    import json

    text = json.dumps(run.summary)
    assert json.loads(text) == run.summary
    for key in ("cost_total_dkk", "cost_per_citizen_dkk", "municipal_payments_dkk", "municipal_cost_per_citizen_dkk",
                "savings_total_dkk", "savings_per_citizen_dkk", "savings_social_dkk", "savings_health_dkk",
                "savings_employment_dkk", "net_municipal_dkk", "net_per_citizen_dkk", "fund_net_dkk",
                "break_even_year", "economics_mode", "cost_per_completed_dkk", "cost_npv_dkk", "savings_npv_dkk"):
        assert key in run.summary


@pytest.mark.parametrize(("language", "sep"), [("en", ","), ("da", ".")])
def test_chart_for_the_steering_group(run, language, sep):
    fig = cumulative_cashflow_chart(run.cashflow, language=language)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title()
    assert ("DKK" if language == "en" else "Kr.") in ax.get_ylabel()
    assert ax.get_xlabel()
    assert len(ax.get_legend().get_texts()) == 3
    assert ax.yaxis.get_major_formatter()(1_234_567, 0) == f"1{sep}234{sep}567"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_chart_says_so_when_there_is_no_break_even(params):
    ts, citizens = fabricate(success_share=0.0, gain=-20.0)
    r = evaluate(ts, citizens, params, weeks=WEEKS, implementation="local_coordinator")
    texts = [t.get_text() for t in cumulative_cashflow_chart(r.cashflow).axes[0].texts]
    assert any("No municipal break-even" in t for t in texts)
