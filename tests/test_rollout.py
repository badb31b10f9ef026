"""Roll-out plans: names on the command line, plan validation, waves, conservation, totals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from peersim import load_config, run
from peersim import municipalities as M
from peersim.params import PlanBuilderParams, RolloutParams, WaveParams
from peersim.rollout import build_groups, build_plan
from peersim.rollout.portfolio import group_params, group_rows
from peersim.rollout.result import run_plan
from peersim.rollout.summary import TOTALS
from peersim.validation import ConfigError

# -- names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["vejle", "Vejle", "VEJLE", "630"])
def test_any_spelling_selects_the_municipality(spelling):
    p = load_config([f"municipality={spelling}"])
    assert (p.municipality.name, p.municipality.label, p.municipality.population) == ("vejle", "Vejle", 120949)


@pytest.mark.parametrize("spelling", ["Høje-Taastrup", "hoeje_taastrup", "hoje taastrup"])
def test_hoeje_taastrup_by_three_spellings(spelling):
    m = load_config([f"municipality={spelling}"]).municipality
    assert (m.name, m.label, m.population, m.coordinator_group) == ("hoeje_taastrup", "Høje-Taastrup", 55258,
                                                                    "hoeje_taastrup")


def test_presets_keep_their_calibrated_values_under_any_spelling():
    assert load_config(["municipality=koebenhavn"]).municipality.name == "copenhagen"
    assert load_config(["municipality=København"]).municipality.population == 660000  # the preset's, not the file's
    assert load_config(["municipality=Helsingør"]).municipality.name == "helsingor"


def test_a_municipality_without_preset_takes_the_common_assumptions():
    m, preset = load_config(["municipality=aeroe"]).municipality, load_config(["municipality=kolding"]).municipality
    assert (m.adult_share, m.eligible_share, m.eligible_turnover_per_year) == (
        preset.adult_share, preset.eligible_share, preset.eligible_turnover_per_year)


def test_an_unknown_name_gets_the_nearest_names_in_one_line():
    with pytest.raises(ConfigError) as e:
        load_config(["municipality=vejel"])
    assert "vejle" in str(e.value) and "\n" not in str(e.value)


def test_shared_with_and_extra_municipalities_take_names():
    p = load_config(["municipality=vejle", "shared_with=[kolding,Fredericia]", "extra_municipalities=[Ærø]"])
    assert [(m.name, m.coordinator_group) for m in p.municipalities] == [
        ("vejle", "vejle"), ("aeroe", "aeroe"), ("kolding", "vejle"), ("fredericia", "vejle")]
    with pytest.raises(ConfigError, match="extra_municipalities: unknown municipality 'vejel'"):
        load_config(["extra_municipalities=[vejel]"])


# -- plans -----------------------------------------------------------------------------------


def _plan(waves=(), shared=None, build=None, start=2024):
    return RolloutParams(name="t", start_year=start, programme_office_dkk_per_year=1e6,
                         waves=[WaveParams(**w) for w in waves], shared_with=shared or {},
                         build=build or PlanBuilderParams())


@pytest.mark.parametrize("plan, years, message", [
    (_plan([{"year": 2024, "municipalities": ["vejle"]}, {"year": 2025, "municipalities": ["Vejle"]}]), 5,
     "vejle is in the plan twice"),
    (_plan([{"year": 2024, "municipalities": ["vejel"]}]), 5, "rollout.waves[0].municipalities: unknown municipality"),
    (_plan([{"year": 2029, "municipalities": ["vejle"]}]), 5, "rollout.waves[0].year=2029 is after the horizon"),
    (_plan([{"year": 2024, "municipalities": ["vejle"]}], {"billund": "kolding"}), 5,
     "rollout.shared_with.billund: shares with kolding, which is not a coordinator host of the plan"),
    (_plan(build=PlanBuilderParams(region="all", max_coordinators_per_year=5)), 5,
     "start until 2043, after the horizon"),
])
def test_plan_validation_refuses_with_one_line(plan, years, message):
    with pytest.raises(ConfigError) as e:
        build_plan(plan, years)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_refusals_come_before_any_run_from_the_command_line():
    with pytest.raises(ConfigError, match="rollout.waves\\[1\\].year=2025 is after the horizon"):
        load_config(["rollout=first_ten", "years=1"])


def test_shared_with_joins_the_host_group():
    plan = build_plan(_plan([{"year": 2025, "municipalities": ["kolding"]}], {"billund": "Kolding"}), 5)
    assert [(g.host, g.members, g.start_year) for g in plan.groups] == [("kolding", ("kolding", "billund"), 2025)]


def test_the_builder_covers_the_region_once_largest_first_k_a_year():
    groups = build_groups("syddanmark", 30000, 5, 2024)
    members = [m for g in groups for m in g.members]
    assert sorted(members) == sorted(m.cli_name for m in M.by_region("Syddanmark"))
    assert len(members) == len(set(members))
    assert all(M.lookup(g.host).population * 0.79 >= 30000 for g in groups)
    small = [m for g in groups for m in g.members[1:]]
    assert small and all(M.lookup(m).population * 0.79 < 30000 for m in small)
    years = [g.start_year for g in groups]
    assert years == sorted(years) and max(np.bincount(years)) <= 5
    served = [sum(M.lookup(m).population for m in g.members) for g in groups]
    assert served == sorted(served, reverse=True)  # the largest groups start first


def test_national_plans_cover_all_98_within_five_years():
    for name, coordinators in (("national", None), ("national_own", 98)):
        p = load_config([f"rollout={name}"])
        plan = build_plan(p.rollout, p.years)
        assert sorted(plan.municipalities) == M.names()
        assert plan.end_year == 2028 and max(g.start_year for g in plan.groups) <= 2028
        if coordinators:
            assert len(plan.groups) == coordinators


def test_rollout_none_is_todays_run():
    assert not load_config([]).rollout.active
    assert load_config(["rollout=none"]) == load_config([])


# -- running a plan --------------------------------------------------------------------------

PLAN = ["rollout=none", "+rollout.waves=[{year:2024,municipalities:[fredericia]},"
        "{year:2026,municipalities:[kolding],implementation:partnership}]",
        "+rollout.shared_with={billund:fredericia}", "years=4", "seed=3"]


@pytest.fixture(scope="module")
def small_plan():
    return run_plan(load_config(PLAN))


def test_waves_start_when_they_say_and_nothing_happens_before(small_plan):
    rows = small_plan.rows
    kolding = rows[rows["municipality"] == "kolding"].set_index("year")
    assert list(kolding.index) == [2024, 2025, 2026, 2027]
    assert not kolding.loc[[2024, 2025], "active"].any() and kolding.loc[[2026, 2027], "active"].all()
    numeric = kolding.loc[[2024, 2025]].select_dtypes("number").drop(columns="plan_year")
    assert (numeric == 0).all().all()
    assert kolding.loc[2026, "citizens_referred"] > 0 and kolding.loc[2026, "implementation"] == "partnership"
    assert set(rows.loc[rows["municipality"] == "billund", "coordinator_group"]) == {"fredericia"}


def test_rows_conserve_the_group_runs_citizens_and_costs(small_plan):
    """The rows of a group's municipalities add up to the group's own run (same parameters)."""
    plan = small_plan.plan
    group = next(g for g in plan.groups if g.host == "fredericia")
    result = run(group_params(small_plan.params, group, plan))
    rows = small_plan.rows[small_plan.rows["coordinator_group"] == "fredericia"]
    s = result.summary
    assert rows["citizens_started"].sum() == s["citizens_started"]
    assert rows["citizens_referred"].sum() == s["citizens_referred"]
    assert rows["courses_started"].sum() == s["courses_started"]
    assert rows["volunteer_burnouts"].sum() == pytest.approx(s["volunteer_burnouts"])
    cash = result.extra_tables["cashflow"]
    in_run = cash["year"] <= group_params(small_plan.params, group, plan).years
    programme = -cash.loc[in_run & (cash["party"] == "programme"), "amount_dkk"].sum()
    assert rows["cost_programme_dkk"].sum() == pytest.approx(programme, abs=0.01)
    municipal = cash.loc[in_run & (cash["party"] == "municipality"), "amount_dkk"].sum()
    assert rows["budget_net_dkk"].sum() == pytest.approx(municipal, abs=0.01)  # split by member, conserved
    again = group_rows(result, group, plan)
    assert again["budget_net_dkk"].sum() == pytest.approx(rows["budget_net_dkk"].sum(), abs=0.01)


def test_plan_totals_are_the_sums_of_the_rows_to_the_krone(small_plan):
    s, rows, fund = small_plan.summary, small_plan.rows, small_plan.fund
    for key, col in TOTALS.items():
        assert s[key] == pytest.approx(rows[col].sum(), abs=0.5), key
    assert s["rollout_fund_net_dkk"] == pytest.approx(
        rows["fund_net_dkk"].sum() - 4 * 1161600.0, abs=0.5)
    assert list(s["rollout_fund_cash_by_year"].values()) == pytest.approx(np.cumsum(fund["fund_net_dkk"]), abs=0.5)
    low = min(s["rollout_fund_cash_by_year"].values())
    assert s["rollout_peak_capital_need_dkk"] == pytest.approx(max(0.0, -low), abs=0.5)
    for cli, own in rows.groupby("municipality"):
        assert own["cumulative_budget_net_dkk"].iloc[-1] == pytest.approx(own["budget_net_dkk"].sum(), abs=0.5)
    assert (rows["budget_net_dkk"] - (rows["som_savings_dkk"] - rows["outcome_payments_dkk"]
                                      - rows["cost_municipal_dkk"])).abs().max() < 0.01


def test_same_seed_same_plan_and_common_random_numbers(small_plan):
    again = run_plan(load_config(PLAN))
    pd.testing.assert_frame_equal(again.rows, small_plan.rows)
    # the same group in a plan that lacks another group draws the same random numbers
    alone = run_plan(load_config([PLAN[0], "+rollout.waves=[{year:2024,municipalities:[fredericia]}]",
                                  PLAN[2], "years=4", "seed=3"]))
    fr = small_plan.rows[small_plan.rows["coordinator_group"] == "fredericia"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.rows, fr)


def test_a_plan_refuses_the_trial_and_expected_economics():
    with pytest.raises(ConfigError, match="economics.mode=simulated"):
        run_plan(load_config([*PLAN, "economics.mode=expected"]))


def test_the_plan_writes_its_tables_charts_and_summary(small_plan, tmp_path):
    out = small_plan.write(tmp_path / "plan", charts=True)
    names = {p.name for p in out.iterdir()}
    assert {"rollout.csv", "rollout_fund.csv", "summary.json", "chart_rollout_map.png",
            "chart_rollout_fund_cash.png", "chart_rollout_over_time.png"} <= names
    assert dataclasses.asdict(small_plan.params)["rollout"]["shared_with"] == {"billund": "fredericia"}


def test_the_lean_group_run_gives_the_rows_of_a_full_run(small_plan):
    full = run_plan(load_config(PLAN), run=run)  # peersim.simulate.run: with Mesa agents, every table
    pd.testing.assert_frame_equal(full.rows, small_plan.rows)


# -- experiment=rollout ----------------------------------------------------------------------


def test_the_experiment_compares_plans_with_common_random_numbers(tmp_path):
    from peersim.experiments import run_experiment

    s = run_experiment("rollout", ["years=3", "experiment.replications=2", "experiment.plans=[first_ten,region_nordjylland]",
                                   "experiment.n_jobs=1", "experiment.progress=false", "output.charts=false",
                                   ], tmp_path)
    reps = pd.read_csv(tmp_path / "rollout_replications.csv")
    assert list(reps["plan"]) == ["first_ten", "region_nordjylland"] * 2
    assert list(reps["seed"]) == [0, 0, 1, 1]
    assert s["recover_within_years"] == 3 and set(s["by_plan"]) == {"first_ten", "region_nordjylland"}
    # replication 0 of first_ten is the plan run on its own with seed 0
    alone = run_plan(load_config(["rollout=first_ten", "years=3"])).summary
    first = reps.iloc[0]
    assert first["rollout_peak_capital_need_dkk"] == pytest.approx(alone["rollout_peak_capital_need_dkk"])
    assert first["rollout_citizens_started"] == alone["rollout_citizens_started"]


def test_the_experiment_refuses_an_unknown_plan_in_one_line(tmp_path):
    from peersim.experiments import run_experiment

    with pytest.raises(ConfigError) as e:
        run_experiment("rollout", ["experiment.plans=[national,nationl]"], tmp_path)
    assert "unknown plan 'nationl'" in str(e.value) and "\n" not in str(e.value)


def test_every_summary_key_of_a_plan_is_documented(small_plan):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "rollout.md").read_text(encoding="utf-8")
    missing = [k for k in small_plan.summary if f"`{k}`" not in text]
    assert not missing, f"summary keys of a plan not in docs/rollout.md: {missing}"
    columns = [c for c in small_plan.rows.columns if f"`{c}`" not in text]
    assert not columns, f"rollout columns not in docs/rollout.md: {columns}"


# -- the peersim command ---------------------------------------------------------------------


def _peersim(tmp_path, *args):
    import subprocess
    import sys

    from tests.conftest import cli_env

    return subprocess.run([sys.executable, "-m", "peersim.cli", *args], cwd=tmp_path, env=cli_env(),
                          capture_output=True, text=True, timeout=600)


def test_the_command_takes_danish_names_and_refuses_bad_ones_in_one_line(tmp_path):
    r = _peersim(tmp_path, "municipality=Høje-Taastrup", "years=1", "output.charts=false", "hydra.run.dir=run")
    assert r.returncode == 0, r.stderr
    assert "| hoeje_taastrup |" in r.stdout
    for args, words in ((["municipality=vejel"], ["vejle"]),
                        (["rollout=first_ten", "years=1"], ["rollout.waves[1].year=2025", "after the horizon"]),
                        (["rollout=nationl"], ["rollout=nationl", "national_own"])):
        r = _peersim(tmp_path, *args, "hydra.run.dir=bad")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert all(w in r.stderr for w in words), r.stderr
        assert not (tmp_path / "bad").exists()


def test_the_command_runs_a_plan(tmp_path):
    r = _peersim(tmp_path, "rollout=none", "+rollout.waves=[{year:2024,municipalities:['Ærø']}]", "years=2",
                 "output.charts=false", "hydra.run.dir=plan")
    assert r.returncode == 0, r.stderr
    assert "peersim rollout=none | 2024-2025" in r.stdout and "1 municipalities, 1 coordinator groups" in r.stdout
    rows = pd.read_csv(tmp_path / "plan" / "rollout.csv")
    assert list(rows["municipality"]) == ["aeroe", "aeroe"] and list(rows["name"]) == ["Ærø", "Ærø"]


@pytest.mark.slow
def test_replications_of_a_plan_run_as_submitit_jobs(tmp_path):
    r = _peersim(tmp_path, "-m", "rollout=region_nordjylland", "years=2", "seed=0,1", "output.charts=false",
                 "hydra/launcher=submitit_local", "hydra.sweep.dir=sweep")
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(tmp_path / "sweep" / "sweep_summary.csv")
    assert list(table["status"]) == ["ok", "ok"] and set(table["seed"]) == {0, 1}
    assert (table["rollout_municipalities"] == 11).all()
    alone = run_plan(load_config(["rollout=region_nordjylland", "years=2", "seed=1"])).summary
    row = table[table["seed"] == 1].iloc[0]
    assert row["rollout_peak_capital_need_dkk"] == pytest.approx(alone["rollout_peak_capital_need_dkk"])


def test_a_plan_gives_every_municipality_the_values_the_configuration_gives_it():
    from peersim.config import municipality_preset
    from peersim.rollout.portfolio import _preset

    for name in M.names():
        assert _preset(name) == municipality_preset(name), name


def test_the_rollout_experiment_says_per_plan_what_the_fund_risks():
    """The console headline of experiment=rollout: one line per plan with P(recovered), the peak
    capital need and the citizens reached, each with its 90% interval."""
    import pandas as pd

    from peersim.experiments.rollout import headline
    table = pd.DataFrame([{"plan": "national", "p_recovered_within_years": 0.25,
                           "rollout_peak_capital_need_dkk_mean": 56.1e6, "rollout_peak_capital_need_dkk_p05": 50e6,
                           "rollout_peak_capital_need_dkk_p95": 60.25e6, "rollout_citizens_started_mean": 42_700,
                           "rollout_citizens_started_p05": 41_000, "rollout_citizens_started_p95": 44_000}])
    params = load_config(["+experiment=rollout", "years=10"])
    text = headline(table, params, 10)
    assert text.splitlines()[1] == ("  national: P(fund recovers its capital within 10 years) = 25%; peak capital need "
                                    "56.1 million DKK (90%: 50.0 to 60.2); citizens started 42,700 (90%: 41,000 to 44,000)")
