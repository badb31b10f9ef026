"""The budget view of compare_implementations: money by year, break-even under uncertainty.

Tiny runs (3 years, 4 replications, one process). The per-year nets of a one-municipality run must
equal the run's own cash flow; the break-even distribution must count every replication, with
"not within N years" as its own category; P(break-even by year k) must be non-decreasing and end at
the share that broke even.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from peersim import run
from peersim.economics.cashflow import net_by_year_array
from peersim.experiments import run_experiment
from peersim.experiments.compare.budget import break_even_stats
from peersim.experiments.compare.runs import municipality_figures, replicate

FAST = ["years=3", "experiment.n_jobs=1", "experiment.progress=false", "output.charts=false",
        "experiment.replications=4"]
TABLES = ("comparison", "replications", "break_even", "budget_by_year")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare_budget")
    run_experiment("compare_implementations", FAST, out)
    return out, {name: pd.read_parquet(out / f"{name}.parquet") for name in TABLES}


def _cumulative(fig: dict, prefix: str) -> np.ndarray:
    keys = sorted((k for k in fig if k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))
    return np.array([fig[k] for k in keys])


def test_one_municipality_yearly_nets_are_the_runs_cash_flow(make_params):
    for scenario in ("local_coordinator", "partnership"):
        result = run(make_params(f"scenario={scenario}", "years=3", seed=3))
        fig, s, cf = municipality_figures(result, "fredericia"), result.summary, result.extra_tables["cashflow"]
        for party, prefix in (("municipality", "budget_municipality_y"), ("fund", "budget_fund_y")):
            np.testing.assert_allclose(_cumulative(fig, prefix), np.cumsum(net_by_year_array(cf, party)),
                                       rtol=1e-9, atol=1e-6)
        for key in ("net_municipal_budget_dkk", "fund_net_budget_dkk", "fund_capital_outlay_dkk"):
            assert fig[key] == pytest.approx(s[key], rel=1e-9, abs=1e-6), (scenario, key)
        assert fig["net_municipal_budget_dkk"] == pytest.approx(_cumulative(fig, "budget_municipality_y")[2])
        be = s["break_even_year_budget"]
        assert (math.isnan(fig["break_even_year_budget"]) if be is None else fig["break_even_year_budget"] == be)


def test_shared_run_yearly_nets_add_up_over_the_two_municipalities(make_params):
    result = run(make_params("shared_with=[kolding]", "years=3", seed=3))
    a, b = municipality_figures(result, "fredericia"), municipality_figures(result, "kolding")
    cf = result.extra_tables["cashflow"]
    for party, prefix in (("municipality", "budget_municipality_y"), ("fund", "budget_fund_y")):
        np.testing.assert_allclose(_cumulative(a, prefix) + _cumulative(b, prefix),
                                   np.cumsum(net_by_year_array(cf, party)), rtol=1e-9, atol=1e-3)


def test_a_workers_return_stays_small(make_params):
    row = replicate(make_params("years=3", seed=3))
    per_year = [k for k in row if k.startswith("budget_")]
    assert len(per_year) <= 2 * (3 + 6)  # two numbers a year: the run's years and those after it
    assert all(isinstance(row[k], float) for k in per_year)


def test_break_even_counts_every_replication_and_p_by_year_rises_to_the_share_that_broke_even(tiny):
    _, t = tiny
    be, reps, comp = t["break_even"], t["replications"], t["comparison"].set_index("arm")
    assert set(be["party"]) == {"municipality", "fund"}
    assert not ((be["arm"] == "partnership") & (be["party"] == "fund")).any(), "no fund without a contract"
    for (arm, party), g in be.groupby(["arm", "party"], sort=False):
        sub = reps[reps["arm"] == arm]
        years = g[g["year"].notna()]
        never = g[g["year"].isna()]
        assert len(never) == 1 and never["category"].item() == f"not within {g['window_years'].iloc[0]} years"
        assert g["replications"].sum() == len(sub) == 4
        p = years["prob_by_year"].to_numpy()
        assert (np.diff(p) >= -1e-12).all(), (arm, party, p)
        assert p[-1] == pytest.approx(1 - never["share"].item())
        key = "break_even_year_budget" if party == "municipality" else "payback_year_fund"
        assert never["replications"].item() == int(sub[key].isna().sum())
        for _, row in years.iterrows():
            assert row["replications"] == int((sub[key] == row["year"]).sum())
        if party == "municipality":
            assert list(years["year"]) == [1, 2, 3]
            assert p[-1] == pytest.approx(comp.loc[arm, "prob_break_even_budget"])
        else:
            assert p[-1] == pytest.approx(comp.loc[arm, "prob_payback_fund"])


def test_the_fan_is_ordered_and_ends_the_run_at_the_budget_net(tiny):
    _, t = tiny
    fan, reps = t["budget_by_year"], t["replications"]
    q = fan[["p05", "p25", "p50", "p75", "p95"]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-6).all()
    assert set(fan.loc[fan["in_run"], "year"]) == {1, 2, 3} and fan["year"].max() > 3
    for arm in ("local_coordinator", "partnership", "shared_coordinator"):
        end = fan[(fan["arm"] == arm) & (fan["party"] == "municipality") & (fan["year"] == 3)]
        net = reps.loc[reps["arm"] == arm, "net_municipal_budget_dkk"]
        assert end["p50"].item() == pytest.approx(float(np.median(net)))
        assert end["mean"].item() == pytest.approx(float(net.mean()))
        np.testing.assert_allclose(reps.loc[reps["arm"] == arm, "budget_municipality_y3"], net)


def test_break_even_stats_by_hand():
    # 10 replications: years 2, 2, 3, 3, 3, 4, 5 and three that never break even (NaN)
    be = np.array([2, 2, 3, 3, 3, 4, 5, np.nan, np.nan, np.nan])
    s = break_even_stats(be, 10)
    assert s["p50"] == 3 and s["p05"] == 2 and math.isnan(s["p95"])  # the 95th falls among the never
    assert s["prob"] == pytest.approx(0.7) and s["prob_5y"] == pytest.approx(0.7)
    assert math.isnan(break_even_stats(be, 3)["prob_5y"])  # a 3-year window cannot say "within 5 years"


def test_the_report_opens_with_break_even_per_arm_and_both_views_are_named(tiny):
    out, t = tiny
    md = (out / "comparison.md").read_text(encoding="utf-8")
    head = md.split("| |")[0]
    assert head.count("- Municipality, budget view:") == 3 and head.count("- Fund:") == 3
    assert "P(break-even within 3 years)" in head and "no fund contract" in head
    assert "budget view" in md and "SØM view" in md
    summary = json.loads((out / "comparison_summary.json").read_text(encoding="utf-8"))
    for arm, a in summary["arms"].items():
        assert a["break_even_municipality"]["window_years"] == 3
        assert a["break_even_municipality"]["prob_within_run"] == pytest.approx(
            t["comparison"].set_index("arm").loc[arm, "prob_break_even_budget"])
        assert {"net_municipal_budget_dkk", "fund_net_budget_dkk", "fund_capital_outlay_dkk"} <= set(a)
