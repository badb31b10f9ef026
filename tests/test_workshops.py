"""Companionship workshops are monthly ("Månedlige workshops á to timer", [S0]): 12 a year in the
simulation and in the expected mode's standard offer alike."""

from __future__ import annotations

import numpy as np

from peersim import load_config
from peersim.economics import load_default_params
from peersim.simulate import run


def test_the_simulation_and_the_expected_mode_both_hold_12_workshops_a_year():
    assert load_config([]).companionship.workshops_per_year == 12
    assert load_default_params().standard_offer.workshops_per_year == 12


def test_a_run_with_companionship_open_all_year_holds_12_workshops_a_year_at_most_5_weeks_apart():
    r = run(["municipality=fredericia", "years=5", "seed=1", "output.charts=false"])
    ts = r.timeseries
    weeks = ts.loc[ts["new_workshops"] > 0, "week"].to_numpy()
    per_year = np.bincount((weeks - 1) // 52 + 1, minlength=6)[1:]
    assert list(per_year[1:]) == [12, 12, 12, 12]     # from year 2 on companionship is open all year
    assert per_year[0] <= 12
    gaps = np.diff(weeks)
    assert set(gaps) <= {4, 5}                          # 52 / 12 = 4 1/3 weeks: gaps of 4, 4, 5
    assert abs(gaps.mean() - 52 / 12) < 0.05


def test_fewer_workshops_a_year_hold_fewer_workshops():
    few = run(["municipality=fredericia", "years=3", "seed=1", "companionship.workshops_per_year=4",
               "output.charts=false"]).timeseries["new_workshops"].sum()
    many = run(["municipality=fredericia", "years=3", "seed=1", "output.charts=false"])
    many = many.timeseries["new_workshops"].sum()
    assert 0 < few < many
