"""Hand-calculated checks of each economics formula, and the parameter file itself."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from peersim.economics import EconomicsParams, hourly_rate, load_default_params, npv
from peersim.economics.cashflow import break_even_year
from peersim.economics.contract import contract_terms, payments
from peersim.economics.costs import yearly_costs
from peersim.economics.defaults import default_yaml_path
from peersim.economics.discounting import delay_factor, year_of_week, yearly_factor
from peersim.economics.outcomes import Outcomes
from peersim.economics.records import check_timeseries
from peersim.economics.savings import calendar_savings, som_savings


@pytest.fixture(scope="module")
def params() -> EconomicsParams:
    return load_default_params()


# -- parameters ---------------------------------------------------------------------------------

def test_briefs_loading_recipe_gives_the_same_validated_params(params):
    schema = OmegaConf.structured(EconomicsParams)
    obj = OmegaConf.to_object(OmegaConf.merge(schema, OmegaConf.load(default_yaml_path())))
    assert obj == params
    assert obj.validate() is obj


def test_every_value_in_the_yaml_states_unit_or_source():
    lines = default_yaml_path().read_text(encoding="utf-8").splitlines()
    leaf = re.compile(r"^\s*[\w]+:\s*[^\s#].*$")   # "key: value" lines (not block headers)
    missing = [ln for ln in lines if leaf.match(ln) and "#" not in ln]
    assert missing == []


@pytest.mark.parametrize(("override", "message"), [
    ({"discount_rate": -0.1}, "economics.discount_rate must be between 0 and 0.2, got -0.1"),
    ({"mode": "guess"}, "economics.mode='guess' is not allowed; choose one of: simulated, expected"),
    ({"savings.yearly_profile": [0.5, 0.4]}, "economics.savings.yearly_profile must be a non-empty list"),
    ({"contract.targets.personal_recovery.weight": 0.9}, "economics.contract.targets weights must sum to 1"),
    ({"contract.targets.less_psychiatry.subgroups": ["severe"]},
     "economics.contract.targets.less_psychiatry.subgroups"),
    ({"costs.overhead_rate": 1.5}, "economics.costs.overhead_rate must be between 0 and 1, got 1.5"),
    ({"standard_offer.subgroup_shares.mild": 0.5},
     "economics.standard_offer.subgroup_shares must be >= 0 and sum to 1"),
])
def test_bad_values_fail_with_one_line_naming_the_key(override, message):
    with pytest.raises(ValueError) as info:
        load_default_params(override)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_unknown_key_and_wrong_type_fail_with_one_line():
    with pytest.raises(ValueError, match=r"^economics\.costs\.overhed_rate"):
        load_default_params({"costs.overhed_rate": 0.2})
    with pytest.raises(ValueError, match=r"^economics\.discount_rate"):
        load_default_params({"discount_rate": "four percent"})


def test_som_areas_add_up_to_the_published_totals_per_success(params):
    per = params.savings.per_success_dkk
    assert per.significant.total() == pytest.approx(350_283, abs=1)
    assert per.reduced.total() == pytest.approx(116_782, abs=1)  # the published areas sum to 116,783
    assert per.mild.total() == 0


def test_proxy_expected_rates_are_consistent_with_their_definitions(params):
    t = params.contract.targets
    offer = params.standard_offer
    in_groups = sum(getattr(offer.subgroup_shares, g) for g in t["less_psychiatry"].subgroups)
    less = t["less_psychiatry"]
    assert less.expected_rate == pytest.approx(offer.success_rate * in_groups * less.share)
    assert t["life_satisfaction"].expected_rate == pytest.approx(
        t["life_satisfaction"].share * t["personal_recovery"].expected_rate)


# -- discounting --------------------------------------------------------------------------------

def test_npv_by_hand():
    assert npv([100.0, 104.0, 108.16], 0.04) == pytest.approx(300.0)
    assert npv([1000.0], 0.04) == 1000.0          # year 1 is the base year
    assert npv([0.0, 1035.0], 0.035) == pytest.approx(1000.0)


def test_year_of_week_and_factors():
    assert list(year_of_week([1, 52, 53, 104, 105])) == [1, 1, 2, 2, 3]
    assert yearly_factor(3, 0.04) == pytest.approx(1 / 1.0816)
    assert delay_factor(52, 0.04) == pytest.approx(1 / 1.04)
    assert delay_factor(26, 0.04) == pytest.approx(1.04 ** -0.5)


# -- costs --------------------------------------------------------------------------------------

def test_hourly_rate_applies_overhead_and_hour_norm():
    # 500,000 DKK a year + 20 % overhead over 1,418 productive hours
    assert hourly_rate(500_000, 0.20, 1418) == pytest.approx(600_000 / 1418)
    assert hourly_rate(500_000, 0.20, 1418) == pytest.approx(423.13, abs=0.01)


def _weeks(n: int, **columns: list[float]) -> pd.DataFrame:
    base = {c: np.zeros(n) for c in (
        "hours_budget", "new_course_sessions", "new_courses_started", "new_workshops", "new_intro_meetings",
        "new_trainees", "new_steering_meetings", "new_citizens_referred", "new_citizens_started",
        "n_volunteers_active")}
    base.update({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    return check_timeseries(pd.DataFrame({"week": np.arange(1, n + 1), **base}), n)


def test_cost_items_by_hand(params):
    c = params.costs
    rate = hourly_rate(c.implementations.local_coordinator.staff_salary_dkk_per_year, c.overhead_rate,
                       c.hour_norm_per_year)
    municipal = hourly_rate(c.municipal_staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    ts = _weeks(3,
                hours_budget=[20, 30, 10], hours_admin=[5, 10, 0], hours_idle=[15, 0, 0],
                new_courses_started=[0, 1, 0], new_course_sessions=[0, 1, 1], new_workshops=[0, 0, 1],
                new_intro_meetings=[1, 0, 0], new_trainees=[4, 0, 0], new_steering_meetings=[0, 0, 1],
                new_citizens_referred=[6, 2, 0], new_citizens_started=[0, 8, 0], n_volunteers_active=[0, 52, 52])
    items = yearly_costs(ts, params, "local_coordinator")
    total = items.groupby("category")["amount_dkk"].sum()
    assert total["coordinator"] == pytest.approx(60 * rate)           # all paid hours, idle included
    assert total["volunteer_training"] == pytest.approx(4 * c.volunteer_training_dkk_per_trainee)
    assert total["supervision"] == pytest.approx(2 * c.supervision_dkk_per_volunteer_year)  # 104 volunteer-weeks
    assert total["premises_materials"] == pytest.approx(
        2 * c.premises_dkk_per_course_session + c.premises_dkk_per_workshop + c.premises_dkk_per_intro_meeting
        + 8 * c.materials_dkk_per_started_citizen)
    assert total["volunteer_expenses"] == pytest.approx(3 * c.volunteer_expenses_dkk_per_session)
    assert total["startup"] == pytest.approx(c.startup_fixed_dkk)
    assert total["referral"] == pytest.approx(8 * c.referral_hours_per_citizen * municipal)
    assert total["steering"] == pytest.approx(c.steering_hours_per_meeting * municipal)
    unallocated = items[(items["category"] == "coordinator") & (items["item"] == "unallocated")]
    assert unallocated["quantity"].sum() == pytest.approx(30)       # 20 + 10 hours not split by activity
    # week 1 comes before the first course: start-up; the fixed start-up cost is start-up too
    startup = items[items["phase"] == "startup"].set_index(["category", "item"])["amount_dkk"]
    assert startup["coordinator", "admin"] == pytest.approx(5 * rate)
    assert startup["coordinator", "idle"] == pytest.approx(15 * rate)
    assert startup["startup", "fixed"] == pytest.approx(c.startup_fixed_dkk)
    assert startup["referral", "referral_hours"] == pytest.approx(6 * c.referral_hours_per_citizen * municipal)
    assert items["amount_dkk"].sum() == pytest.approx(total.sum())
    assert (items["amount_dkk"] == items["quantity"] * items["unit_cost_dkk"]).all()
    assert set(items.loc[items["category"].isin(["referral", "steering"]), "payer"]) == {"municipality"}
    assert set(items.loc[~items["category"].isin(["referral", "steering"]), "payer"]) == {"fund"}


def test_partnership_costs_at_municipal_rate_carried_by_municipality(params):
    ts = _weeks(2, hours_budget=[10, 10], new_courses_started=[1, 0])
    items = yearly_costs(ts, params, "partnership")
    c = params.costs
    rate = hourly_rate(c.implementations.partnership.staff_salary_dkk_per_year, c.overhead_rate, c.hour_norm_per_year)
    coordinator = items[items["category"] == "coordinator"]["amount_dkk"].sum()
    assert coordinator == pytest.approx(20 * rate)
    assert set(items["payer"]) == {"municipality"}


def test_yearly_costs_are_split_by_year_and_discounted_per_year(params):
    ts = _weeks(104, hours_budget=np.full(104, 10.0), new_courses_started=[1] + [0] * 103)
    yearly = yearly_costs(ts, params, "local_coordinator")
    coordinator = yearly[yearly["category"] == "coordinator"].set_index("year")
    assert coordinator.loc[1, "quantity"] == coordinator.loc[2, "quantity"] == 520
    discounted = coordinator.loc[2, "amount_discounted_dkk"]
    assert discounted == pytest.approx(coordinator.loc[2, "amount_dkk"] / 1.035)  # the default 3.5%
    assert yearly["amount_discounted_dkk"].sum() == pytest.approx(
        npv(yearly.groupby("year")["amount_dkk"].sum().to_numpy(), 0.035))


# -- savings ------------------------------------------------------------------------------------

def _successes(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"municipality": "m", "subgroup": g, "start_week": s, "onset_week": o, "count": n}
                         for g, s, o, n in rows])


def test_som_view_by_hand(params):
    frame = som_savings(_successes([("significant", 10, 62, 1.0), ("reduced", 0, 0, 2.0), ("mild", 5, 42, 3.0)]),
                        params)
    by_group = frame.groupby("subgroup")[["gross_dkk", "savings_dkk"]].sum()
    assert by_group.loc["significant", "gross_dkk"] == pytest.approx(350_283)
    assert by_group.loc["significant", "savings_dkk"] == pytest.approx(350_283 / 1.035)  # onset 52 weeks on, 3.5%
    assert by_group.loc["reduced", "savings_dkk"] == pytest.approx(2 * 116_783)          # no delay, no discount
    assert by_group.loc["mild", "gross_dkk"] == 0
    health = frame[(frame["subgroup"] == "significant") & (frame["area"] == "health")]["gross_dkk"].sum()
    assert health == pytest.approx(128_170)


def test_calendar_savings_by_hand(params):
    # onset at week 26: savings from week 27; year k after onset is split half/half between two programme years
    frame = calendar_savings(_successes([("significant", 0, 26, 1.0)]), params)
    by_year = frame.groupby("year")["amount_dkk"].sum()
    yearly = 350_283 * 0.2
    assert list(by_year.index) == [1, 2, 3, 4, 5, 6]
    assert by_year[1] == pytest.approx(yearly / 2)
    assert by_year[2] == pytest.approx(yearly)
    assert by_year[6] == pytest.approx(yearly / 2)
    assert by_year.sum() == pytest.approx(350_283)
    # onset at the end of a year: whole years
    frame = calendar_savings(_successes([("reduced", 0, 52, 1.0)]), params)
    assert list(frame.groupby("year")["amount_dkk"].sum().round(6)) == [round(116_783 * 0.2, 6)] * 5


def test_zero_successes_give_zero_savings(params):
    empty = _successes([]).reindex(columns=["municipality", "subgroup", "start_week", "onset_week", "count"])
    assert som_savings(empty, params)["savings_dkk"].sum() == 0
    assert calendar_savings(empty, params)["amount_dkk"].sum() == 0


@pytest.mark.parametrize("rates", [(0.0, 0.035), (0.035, 0.04), (0.04, 0.1), (0.1, 0.2)])
def test_a_higher_discount_rate_never_raises_the_value_of_future_savings(rates):
    low, high = (load_default_params({"discount_rate": r}) for r in rates)
    succ = _successes([("significant", 3, 40, 1.0), ("reduced", 80, 130, 2.5)])
    assert som_savings(succ, high)["savings_dkk"].sum() <= som_savings(succ, low)["savings_dkk"].sum()
    by_year = calendar_savings(succ, low).groupby("year")["amount_dkk"].sum()
    values = by_year.reindex(range(1, by_year.index.max() + 1), fill_value=0).to_numpy()
    assert npv(values, rates[1]) <= npv(values, rates[0])


# -- contract -----------------------------------------------------------------------------------

def _outcomes(achievements: list[tuple[str, str, float, float]], started: dict[str, float]) -> Outcomes:
    frame = pd.DataFrame([{"municipality": m, "target": t, "week": w, "count": n} for m, t, w, n in achievements],
                         columns=["municipality", "target", "week", "count"])
    return Outcomes(n_referred=sum(started.values()), n_started=sum(started.values()), n_completed=0.0,
                    started_by_municipality=started, successes=pd.DataFrame(), achievements=frame)


def test_prices_follow_from_amount_to_repay_and_expected_rates(params):
    terms = contract_terms(params)
    planned = params.standard_offer.citizens
    for name, t in params.contract.targets.items():
        price = t.weight * terms.amount_to_repay_dkk / (planned * t.expected_rate)
        assert terms.prices_dkk[name] == pytest.approx(price)
    expected_total = sum(planned * t.expected_rate * terms.prices_dkk[n] for n, t in params.contract.targets.items())
    assert expected_total == pytest.approx(terms.amount_to_repay_dkk)


def test_payments_settle_a_year_later_and_respect_the_cap(params):
    terms = contract_terms(params)
    price = terms.prices_dkk["personal_recovery"]
    # 2 citizens started; cap = 1.2 x amount/240 x 2. Ask for far more than the cap in year 1 and 2.
    out = payments(_outcomes([("a", "personal_recovery", 30, 50.0), ("a", "personal_recovery", 60, 50.0)], {"a": 2.0}),
                   params, "local_coordinator")
    cap = params.contract.cap_factor * terms.amount_to_repay_dkk / terms.planned_citizens * 2
    assert out.caps_dkk["a"] == pytest.approx(cap)
    assert out.earned["earned_dkk"].sum() == pytest.approx(100 * price)
    assert out.paid["amount_dkk"].sum() == pytest.approx(cap)
    assert set(out.paid["year"]) == {2}                 # year-1 results alone exhaust the cap; paid in year 2


def test_payments_within_cap_are_paid_in_full(params):
    price = contract_terms(params).prices_dkk["life_satisfaction"]
    out = payments(_outcomes([("a", "life_satisfaction", 60, 0.75)], {"a": 8.0}), params, "local_coordinator")
    assert out.paid.set_index("year")["amount_dkk"].to_dict() == {3: pytest.approx(0.75 * price)}


def test_no_results_no_payments_and_no_contract_for_a_partnership(params):
    none = payments(_outcomes([], {"a": 10.0}), params, "local_coordinator")
    assert none.paid["amount_dkk"].sum() == 0
    partnership = payments(_outcomes([("a", "personal_recovery", 20, 3.0)], {"a": 10.0}), params, "partnership")
    assert not partnership.active and partnership.paid["amount_dkk"].sum() == 0


def test_instalments_spread_the_settled_amount(params):
    p = load_default_params({"contract.instalment_years": 2, "contract.settlement_lag_years": 0})
    price = contract_terms(p).prices_dkk["personal_recovery"]
    out = payments(_outcomes([("a", "personal_recovery", 10, 1.0)], {"a": 8.0}), p, "local_coordinator")
    half = pytest.approx(price / 2)
    assert out.paid.set_index("year")["amount_dkk"].to_dict() == {1: half, 2: half}


# -- break-even ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("net", "year"), [
    ([-100, 30, 30, 50], 4),        # cumulative -100, -70, -40, +10
    ([10, -20, 15, 0], 3),          # dips below zero in year 2, back in year 3
    ([-100, 50, 40], None),         # never
    ([0, 0, 0], None),              # nothing happened
    ([5, 5], 1),
])
def test_break_even_year(net, year):
    assert break_even_year(pd.Series(net, index=range(1, len(net) + 1), dtype=float)) == year


def test_the_yaml_file_is_where_the_loader_looks():
    assert default_yaml_path() == Path(__file__).resolve().parents[1] / "conf" / "economics" / "default.yaml"


def _small_cashflow(**kw):
    """By hand (DKK): the fund finances 200,000 of coordinator time in year 1; the municipality spends
    10,000 of its own staff time in years 1 and 2, pays the fund 80,000 in year 2 and 150,000 in
    year 3, and saves 100,000 in each of years 2, 3 and 4 (the last after a 3-year run)."""
    from peersim.economics.cashflow import cashflow_table

    costs = {"year": np.array([1, 1, 2]), "payer": np.array(["fund", "municipality", "municipality"], dtype=object),
             "category": np.array(["coordinator", "referral", "referral"], dtype=object),
             "amount_dkk": np.array([200_000.0, 10_000.0, 10_000.0])}
    savings = {"year": np.array([2, 3, 4]), "area": np.array(["social"] * 3, dtype=object),
               "amount_dkk": np.array([100_000.0] * 3)}
    paid = {"year": np.array([2, 3]), "target": np.array(["personal_recovery"] * 2, dtype=object),
            "amount_dkk": np.array([80_000.0, 150_000.0])}
    return cashflow_table(costs, savings, paid, fund_finances=True, targets=["personal_recovery"],
                          discount_rate=0.04, horizon_years=3)


def test_budget_net_break_even_and_capital_outlay_by_hand():
    from peersim.economics.cashflow import capital_outlay, net_by_year_array

    cf = _small_cashflow()
    municipality = net_by_year_array(cf, "municipality")
    fund = net_by_year_array(cf, "fund")
    # municipality: year 1: -10,000; year 2: -10,000 - 80,000 + 100,000 = 10,000;
    # year 3: -150,000 + 100,000 = -50,000; year 4: +100,000 -> cumulative -10,000, 0, -50,000, 50,000
    np.testing.assert_allclose(municipality, [-10_000, 10_000, -50_000, 100_000])
    assert municipality[:3].sum() == pytest.approx(-50_000)      # budget net after the 3-year run
    assert break_even_year(municipality[:3]) is None               # not within the run's 3 years
    assert break_even_year(municipality) == 4                      # only with the savings of year 4
    # fund: -200,000, +80,000, +150,000 -> cumulative -200,000, -120,000, 30,000
    np.testing.assert_allclose(fund, [-200_000, 80_000, 150_000, 0])
    assert capital_outlay(fund) == pytest.approx(200_000)
    assert break_even_year(fund) == 3 and break_even_year(fund[:2]) is None
    assert capital_outlay(np.array([5.0, 1.0])) == 0.0 and capital_outlay(np.array([])) == 0.0


def test_horizon_years_follows_the_run_unless_set(params):
    assert params.horizon_years is None
    assert params.resolve_horizon(10) == 10
    assert load_default_params({"horizon_years": 5}).resolve_horizon(10) == 5
