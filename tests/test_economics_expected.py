"""Expected mode reproduces the published SØM figures of the standard offer ([S0], [S2] in docs/domain.md)
with the settings that produced them: Socialstyrelsen's 4% flat discount rate (``economics=socialstyrelsen_2018``).
The default discounting (the Finance Ministry's 3.5%, stepping to 2.5% after 35 years) moves them
by less than 2% (tested below).

The published numbers appear here, in the test, and nowhere in the code or the configuration.
"""

from __future__ import annotations

import pytest

from peersim.economics import contract_terms, expected, hourly_rate, load_default_params

PUBLISHED = {
    "municipal_cost_per_citizen_dkk": 9_694,   # incl. repayment to the fund
    "savings_per_citizen_dkk": 11_361,         # effect-adjusted
    "net_per_citizen_dkk": 1_667,              # over 5 years
    "net_municipal_dkk": 400_000,              # over 5 years, after paying the fund
}


@pytest.fixture(scope="module")
def params():
    return load_default_params({"mode": "expected"}, option="socialstyrelsen_2018")


@pytest.fixture(scope="module")
def summary(params):
    return expected(params).summary


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_expected_mode_reproduces_the_published_figures_within_one_percent(summary, key):
    assert summary[key] == pytest.approx(PUBLISHED[key], rel=0.01)


def test_the_standard_offer_is_240_citizens_with_8_percent_success(summary):
    assert summary["n_citizens_started"] == 240
    assert summary["n_successes"] == pytest.approx(0.08 * 240)
    assert summary["savings_gross_dkk"] / 240 == pytest.approx(0.08 * (0.25 * 350_283 + 0.50 * 116_783))


def test_reconciliation_of_11677_and_11361_is_the_discount_to_course_start(params, summary):
    """8% x (25% x 350,283 + 50% x 116,782) = 11,677; discounted over 37 weeks at 4%: 11,356 (-0.05% from 11,361)."""
    undiscounted = 0.08 * (0.25 * 350_283 + 0.50 * 116_782)
    assert undiscounted == pytest.approx(11_677, abs=0.5)
    factor = 1.04 ** -(params.savings.onset_weeks_after_start / 52)
    assert factor == pytest.approx(0.97248, abs=1e-5)
    assert summary["savings_per_citizen_dkk"] == pytest.approx(undiscounted * factor, abs=1.0)  # areas sum to +1 DKK
    assert summary["savings_per_citizen_dkk"] == pytest.approx(11_361, rel=0.001)


def test_municipal_cost_is_the_financed_cost_repaid_plus_own_staff_time(params, summary):
    terms = contract_terms(params)
    assert summary["municipal_payments_dkk"] == pytest.approx(terms.amount_to_repay_dkk)
    assert summary["fund_net_dkk"] == pytest.approx(0.0, abs=1e-6)   # repayment share 1: the fund gets its grant back
    c = params.costs
    municipal = hourly_rate(c.municipal_staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    own = municipal * (240 * c.referral_hours_per_citizen + 6 * c.steering_hours_per_meeting)
    assert summary["cost_municipal_own_dkk"] == pytest.approx(own)


def test_coordinator_cost_by_hand(params):
    """One full-time coordinator for three years: 3 x salary x 1.2, whatever the hour norm."""
    costs = expected(params).costs_by_category
    coordinator = costs.loc[costs["category"] == "coordinator", "amount_dkk"].sum()
    salary = params.costs.implementations.local_coordinator.staff_salary_dkk_per_year
    assert coordinator == pytest.approx(3 * salary * 1.2)


def test_the_calibrated_salary_lies_in_the_published_range(params):
    salary = params.costs.implementations.local_coordinator.staff_salary_dkk_per_year
    assert 450_000 <= salary <= 570_000


def test_the_published_figures_are_not_written_into_the_configuration():
    from peersim.economics.defaults import default_yaml_path

    text = default_yaml_path().read_text(encoding="utf-8")
    values = [line.split("#")[0] for line in text.splitlines()]
    for number in ("9694", "11361", "1667", "400000"):
        assert not any(number in v.replace("_", "").replace(",", "") for v in values), number


def test_expected_payments_settle_over_four_years_and_savings_last_five_after_each_success(params):
    r = expected(params)
    cf = r.cashflow
    paid = cf[(cf["party"] == "municipality") & (cf["flow"] == "payment") & (cf["amount_dkk"] != 0)]
    assert sorted(paid["year"].unique()) == [2, 3, 4, 5]
    saved = cf[(cf["flow"] == "saving") & (cf["amount_dkk"] != 0)]
    assert saved["year"].max() == 9                 # the last cohort's savings run into year 9


def test_the_municipality_breaks_even_only_after_the_savings_come_in(summary):
    assert summary["net_municipal_horizon_dkk"] < 0  # within 5 calendar years it has paid more than it saved
    assert summary["break_even_year"] is not None and summary["break_even_year"] > 5


def test_higher_discount_rate_lowers_expected_savings(params):
    low = expected(load_default_params({"mode": "expected"})).summary    # 3.5% (2.5% after 35 years)
    high = expected(load_default_params({"mode": "expected"}, option="socialstyrelsen_2018")).summary  # 4% flat
    assert high["savings_per_citizen_dkk"] < low["savings_per_citizen_dkk"]
    assert high["savings_npv_dkk"] < low["savings_npv_dkk"]


def test_partnership_in_expected_mode_costs_the_municipality_everything(params):
    s = expected(params, implementation="partnership").summary
    assert not s["contract_active"] and s["municipal_payments_dkk"] == 0
    assert s["municipal_cost_dkk"] == pytest.approx(s["cost_total_dkk"])


def test_the_published_figures_used_4_percent_not_the_current_default():
    """At the default 3.5% the saving per citizen is 11,677 x 1.035^-(37/52) = 11,395 (+0.3% from the published
    11,361) and the net 1,700 per citizen (+2%): only 4% reproduces the published net within 1%."""
    now = expected(load_default_params({"mode": "expected"})).summary
    assert now["discount_rate"] == 0.035 and now["discount_rate_long"] == 0.025
    undiscounted = 0.08 * (0.25 * 350_283 + 0.50 * 116_783)
    assert now["savings_per_citizen_dkk"] == pytest.approx(undiscounted * 1.035 ** -(37 / 52), abs=0.01)
    assert now["savings_per_citizen_dkk"] == pytest.approx(11_395, abs=1)
    assert now["net_per_citizen_dkk"] / PUBLISHED["net_per_citizen_dkk"] - 1 > 0.01
    assert now["municipal_cost_per_citizen_dkk"] == pytest.approx(PUBLISHED["municipal_cost_per_citizen_dkk"], rel=0.01)


def test_the_named_4_percent_setting_is_one_override_away():
    """economics.discount_rate=0.04 alone gives the same figures as economics=socialstyrelsen_2018 whenever every
    amount falls within the first 35 years (the standard offer's last savings fall in year 9)."""
    flat = expected(load_default_params({"mode": "expected"}, option="socialstyrelsen_2018")).summary
    one = expected(load_default_params({"mode": "expected", "discount_rate": 0.04})).summary
    for key in PUBLISHED:
        assert one[key] == pytest.approx(flat[key], rel=1e-12)
