"""The stepped discount rate (Finance Ministry since 2021: 3.5% for years 0-35, 2.5% for 36-70) and
its flat alternative (Socialstyrelsen's 2018 cost model: 4%), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from peersim.economics import expected, load_default_params, npv
from peersim.economics.discounting import DiscountSchedule, delay_factor, yearly_factor

FM_2021 = DiscountSchedule(0.035, 0.025, 35.0)


def test_the_defaults_are_the_finance_ministrys_rule_and_the_named_setting_is_4_percent_flat():
    p = load_default_params()
    assert (p.discount_rate, p.discount_rate_long, p.discount_long_after_years) == (0.035, 0.025, 35)
    assert p.discount == FM_2021
    old = load_default_params(option="socialstyrelsen_2018")
    assert old.discount == DiscountSchedule(0.04, None, 35.0)


def test_within_the_first_35_years_the_stepped_rate_is_3_5_percent():
    assert yearly_factor(1, FM_2021) == 1.0                              # year 1 is the base year
    assert yearly_factor(3, FM_2021) == pytest.approx(1 / 1.035 ** 2)      # 0.933511...
    assert yearly_factor(36, FM_2021) == pytest.approx(0.299977, abs=1e-6)      # 35 years away: 0.299977
    assert delay_factor(52, FM_2021) == pytest.approx(1 / 1.035)
    assert delay_factor(37, FM_2021) == pytest.approx(0.975819, abs=1e-6)  # 1.035^-(37/52)


def test_after_35_years_each_further_year_is_discounted_at_2_5_percent():
    # 40 years away: 35 years at 3.5%, then 5 at 2.5% (not 40 at 2.5%, not 40 at 3.5%)
    by_hand = 1.035 ** -35 * 1.025 ** -5
    assert by_hand == pytest.approx(0.265136, abs=1e-6)
    assert yearly_factor(41, FM_2021) == pytest.approx(by_hand)
    assert yearly_factor(41, FM_2021) > 1.035 ** -40                       # the lower rate discounts less
    # the factor falls smoothly through the step: year 36 to 37 loses 2.5%, year 35 to 36 3.5%
    f = yearly_factor(np.arange(34, 39), FM_2021)
    assert f[2] / f[1] == pytest.approx(1 / 1.035)
    assert f[3] / f[2] == pytest.approx(1 / 1.025)
    assert np.all(np.diff(f) < 0)
    # half a year past the step, in weeks
    assert delay_factor(35.5 * 52, FM_2021) == pytest.approx(1.035 ** -35 * 1.025 ** -0.5)


def test_npv_of_a_flat_stream_over_the_step_by_hand():
    amounts = np.full(40, 1000.0)                      # 1,000 DKK in years 1..40 (0..39 years away)
    near = sum(1000.0 * 1.035 ** -t for t in range(0, 36))
    far = sum(1000.0 * 1.035 ** -35 * 1.025 ** -(t - 35) for t in range(36, 40))
    assert npv(amounts, FM_2021) == pytest.approx(near + far)
    assert npv(amounts, FM_2021) > npv(amounts, 0.035)      # the step only ever raises later values
    assert npv(amounts[:36], FM_2021) == pytest.approx(npv(amounts[:36], 0.035))


def test_a_flat_schedule_is_the_plain_rate():
    flat = DiscountSchedule(0.04)
    years = np.arange(1, 80)
    assert np.allclose(yearly_factor(years, flat), 1.04 ** -(years - 1.0))
    assert np.allclose(yearly_factor(years, 0.04), yearly_factor(years, flat))


def test_expected_mode_at_the_default_rate_by_hand():
    """The SØM saving per citizen, 8% x (25% x 350,283 + 50% x 116,783) = 11,677.1, discounted over the 37
    weeks from course start to the onset of savings at 3.5%: x 1.035^-(37/52) = 11,394.6."""
    s = expected(load_default_params({"mode": "expected"})).summary
    assert s["savings_per_citizen_dkk"] == pytest.approx(0.08 * (0.25 * 350_283 + 0.50 * 116_783) * 1.035 ** (-37 / 52))
    assert s["discount_rate"] == 0.035 and s["discount_rate_long"] == 0.025


@pytest.mark.parametrize("overrides, message", [
    ({"discount_rate_long": -0.01}, "economics.discount_rate_long must be between 0 and 0.2, got -0.01"),
    ({"discount_long_after_years": 0}, "economics.discount_long_after_years must be between 1 and 100, got 0"),
])
def test_bad_discount_settings_are_refused_with_one_line(overrides, message):
    with pytest.raises(ValueError, match=r"^" + message.replace(".", r"\.") + "$"):
        load_default_params(overrides)


def test_an_unknown_named_setting_is_refused():
    with pytest.raises(ValueError, match=r"^economics='socialstyrelsen' is not known; choose one of: default, "):
        load_default_params(option="socialstyrelsen")
