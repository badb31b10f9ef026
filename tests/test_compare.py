"""The compare_implementations experiment: paired arms (common random numbers), the tables and
their statistics, parameter uncertainty per replication, reproducibility and bad input.

Runs are short (2 years, a few replications, one process) so the file stays fast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from peersim import ConfigError, load_config, run
from peersim.experiments import base_overrides, run_experiment
from peersim.experiments.compare.arms import ARMS, METRIC_KEYS, paired
from peersim.experiments.compare.budget_charts import save_budget_charts
from peersim.experiments.compare.charts import save_charts
from peersim.experiments.compare.report import report_title
from peersim.experiments.compare.runs import build_configs, municipality_figures, psa_rng
from peersim.model import PeersimModel
from peersim.streams import municipality_keys, substream
from peersim.uncertainty import draw, get_value

FAST = ["years=2", "experiment.n_jobs=1", "experiment.progress=false", "output.charts=false"]


def experiment_params(*overrides: str):
    return load_config(["+experiment=compare_implementations", *FAST, *overrides])


def configs_for(*overrides: str):
    params = experiment_params(*overrides)
    return build_configs(params, base_overrides([*FAST, *overrides]))


@pytest.fixture(scope="module")
def crn():
    """Eight replications' configurations of every arm, seed 5, parameters drawn per replication
    (the same draw in every arm, so the arms' inputs to referral are equal)."""
    return configs_for("experiment.replications=8", "seed=5", "experiment.psa=true")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Four replications of every arm, written to a folder; the tables read back."""
    out = tmp_path_factory.mktemp("compare")
    run_experiment("compare_implementations", [*FAST, "experiment.replications=4"], out)
    return out, {name: pd.read_parquet(out / f"{name}.parquet") for name in ("comparison", "differences",
                                                                              "replications", "break_even",
                                                                              "budget_by_year")}


# -- common random numbers ----------------------------------------------------------------------
def test_replication_r_runs_every_arm_with_seed_plus_r(crn):
    keys, configs, draws = crn
    assert [a for a, _ in keys] == list(ARMS) * 8  # replication-major order
    for (arm, r), cfg in zip(keys, configs, strict=True):
        assert cfg.seed == 5 + r
    by_arm = {arm: [c for (a, _), c in zip(keys, configs, strict=True) if a == arm] for arm in ARMS}
    assert [c.scenario.name for c in by_arm["partnership"]] == ["partnership"] * 8
    assert [m.name for m in by_arm["shared_coordinator"][0].municipalities] == ["fredericia", "kolding"]
    assert [m.name for m in by_arm["local_coordinator"][0].municipalities] == ["fredericia"]
    assert len(draws) == 8


def test_same_seed_gives_the_same_referral_stream_and_first_week_referrals_in_every_arm(crn):
    keys, configs, _ = crn
    referred: dict[tuple[str, int], int] = {}
    for (arm, r), cfg in zip(keys, configs, strict=True):
        first = substream(cfg.seed, "municipality", municipality_keys(["fredericia"])[0]).random(5)
        assert np.array_equal(first, substream(5 + r, "municipality", municipality_keys(["fredericia"])[0]).random(5))
        # week 1: staff referrals only (no intro meeting has been held yet), so equal inputs in every arm;
        # the user's municipality draws first, so its referrals do not depend on the neighbour
        model = PeersimModel(cfg, make_agents=False)
        model.step()
        own = model.citizens.to_frame([m.name for m in model.municipality_list])["municipality"].astype(str)
        referred[(arm, r)] = int((own == "fredericia").sum())
    for r in range(8):
        assert referred[("local_coordinator", r)] == referred[("partnership", r)] == referred[("shared_coordinator", r)]
    per_rep = [referred[("local_coordinator", r)] for r in range(8)]
    assert sum(per_rep) > 0 and len(set(per_rep)) > 1, "the check is not vacuous: referrals vary with the seed"


# -- the user's municipality ----------------------------------------------------------------------
def test_one_municipality_figures_equal_the_run_summary(make_params):
    for scenario in ("local_coordinator", "partnership"):
        result = run(make_params(f"scenario={scenario}", "years=2", seed=3))
        fig, s = municipality_figures(result, "fredericia"), result.summary
        for key in ("citizens_started", "citizens_completed", "successes", "volunteers_recruited",
                    "volunteer_burnouts", "mean_wait_weeks", "cost_total_dkk", "municipal_payments_dkk",
                    "cost_municipal_own_dkk", "municipal_cost_dkk", "savings_social_dkk", "savings_health_dkk",
                    "savings_employment_dkk", "savings_total_dkk", "net_municipal_dkk", "fund_net_dkk"):
            assert fig[key] == pytest.approx(s[key], rel=1e-9, abs=1e-6), (scenario, key)
        assert fig["share_of_started"] == 1.0


def test_shared_run_figures_add_up_over_the_two_municipalities(make_params):
    result = run(make_params("shared_with=[kolding]", "years=2", seed=3))
    a, b, s = municipality_figures(result, "fredericia"), municipality_figures(result, "kolding"), result.summary
    assert 0 < a["share_of_started"] < 1
    assert a["share_of_started"] + b["share_of_started"] == pytest.approx(1.0)
    for key in ("citizens_started", "successes", "cost_total_dkk", "municipal_payments_dkk", "cost_municipal_own_dkk",
                "savings_total_dkk", "net_municipal_dkk", "fund_net_dkk", "volunteers_recruited"):
        assert a[key] + b[key] == pytest.approx(s[key], rel=1e-9, abs=1e-6), key


# -- the tables -------------------------------------------------------------------------------------
def test_comparison_has_one_row_per_arm_and_the_documented_columns(small):
    _, t = small
    comp = t["comparison"]
    assert list(comp["arm"]) == list(ARMS)
    expected = {"arm", "label", "municipality", "replications", "prob_net_loss_municipality", "prob_net_loss_fund",
                "prob_net_loss_municipality_budget", "contract_active", "net_municipal_dkk_se", "fund_net_dkk_se",
                "break_even_year_budget_p50", "break_even_year_budget_p05", "break_even_year_budget_p95",
                "prob_break_even_budget", "prob_break_even_budget_within_5_years", "fund_window_years",
                "payback_year_fund_p50", "payback_year_fund_p05", "payback_year_fund_p95", "prob_payback_fund",
                "prob_payback_fund_within_5_years"}
    for key in METRIC_KEYS:
        expected |= {f"{key}_mean", f"{key}_p05", f"{key}_p95"}
    assert set(comp.columns) == expected
    assert (comp["replications"] == 4).all()
    assert (comp["municipality"] == "fredericia").all()
    assert list(comp["contract_active"]) == [True, False, True]
    for key in METRIC_KEYS:
        ok = comp[f"{key}_p05"] <= comp[f"{key}_mean"] + 1e-9
        assert (ok & (comp[f"{key}_mean"] <= comp[f"{key}_p95"] + 1e-9)).all(), key


def test_comparison_means_and_percentiles_match_the_replications(small):
    _, t = small
    comp, reps = t["comparison"].set_index("arm"), t["replications"]
    for arm in ARMS:
        net = reps.loc[reps["arm"] == arm, "net_municipal_dkk"].to_numpy()
        assert comp.loc[arm, "net_municipal_dkk_mean"] == pytest.approx(net.mean())
        # linear-interpolated 5th percentile of 4 values, by hand: x0 + 0.15 * (x1 - x0)
        x = np.sort(net)
        assert comp.loc[arm, "net_municipal_dkk_p05"] == pytest.approx(x[0] + 0.15 * (x[1] - x[0]))
        assert comp.loc[arm, "net_municipal_dkk_se"] == pytest.approx(net.std(ddof=1) / 2.0)


def test_paired_difference_is_the_mean_of_per_replication_differences(small):
    _, t = small
    reps, diff = t["replications"], t["differences"]
    lc = reps[reps["arm"] == "local_coordinator"].set_index("replication")["net_municipal_dkk"]
    pa = reps[reps["arm"] == "partnership"].set_index("replication")["net_municipal_dkk"]
    by_hand = sum(lc[r] - pa[r] for r in range(4)) / 4
    row = diff[(diff["contrast"] == "local_coordinator - partnership") & (diff["metric"] == "net_municipal_dkk")]
    assert row["mean"].item() == pytest.approx(by_hand)
    assert row["mean"].item() == pytest.approx(lc.mean() - pa.mean())  # paired mean = difference of means
    assert set(diff["contrast"]) == {"local_coordinator - partnership", "shared_coordinator - local_coordinator"}
    assert len(diff) == 2 * len(METRIC_KEYS)


def test_probabilities_lie_in_0_1_and_match_counts_in_the_replication_table(small):
    out, t = small
    comp, reps = t["comparison"].set_index("arm"), t["replications"]
    summary = json.loads((out / "comparison_summary.json").read_text())
    for arm in ARMS:
        sub = reps[reps["arm"] == arm]
        for col, key in (("prob_net_loss_municipality", "net_municipal_dkk"), ("prob_net_loss_fund", "fund_net_dkk")):
            p = comp.loc[arm, col]
            assert 0.0 <= p <= 1.0
            assert p == int((sub[key] < 0).sum()) / 4
        assert summary["arms"][arm]["prob_net_loss_municipality"] == comp.loc[arm, "prob_net_loss_municipality"]
    assert comp.loc["partnership", "prob_net_loss_fund"] == 0.0  # no fund in a partnership
    d = paired(reps, "local_coordinator", "partnership", "net_municipal_dkk")
    p = summary["prob_local_coordinator_higher_municipal_net"]
    assert 0.0 <= p <= 1.0 and p == int((d > 0).sum()) / 4


def test_outputs_are_written_and_the_report_carries_the_numbers(small):
    out, t = small
    for name in ("comparison", "differences", "replications"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.parquet").is_file()
    assert not list(out.glob("*.png")), "output.charts=false writes no charts"
    assert not (out / "summary.json").exists(), "the replication loop writes no per-run files"
    md = (out / "comparison.md").read_text()
    comp = t["comparison"].set_index("arm")
    assert f"{comp.loc['local_coordinator', 'citizens_started_mean']:.0f} citizens" in md
    assert f"{round(comp.loc['partnership', 'net_municipal_dkk_mean'], -3):,.0f}" in md
    reps = t["replications"]
    assert len(reps) == 3 * 4 and list(reps.columns[:5]) == ["arm", "replication", "seed", "municipality",
                                                              "municipalities_in_run"]
    assert not any(c.startswith("psa.") for c in reps.columns), "PSA off: no drawn values"


def test_same_seed_twice_gives_identical_tables(small, tmp_path):
    _, t = small
    run_experiment("compare_implementations", [*FAST, "experiment.replications=4"], tmp_path)
    for name in ("comparison", "differences", "replications", "break_even", "budget_by_year"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}.parquet"), t[name])


def test_two_processes_and_fewer_arms_give_the_same_replications(small, tmp_path):
    """A replication depends on its arm, seed and draw only: not on n_jobs, nor on the other arms."""
    _, t = small
    run_experiment("compare_implementations",
                   [*FAST, "experiment.replications=2", "experiment.n_jobs=2", "experiment.arms=[partnership]"],
                   tmp_path)
    two = pd.read_parquet(tmp_path / "replications.parquet")
    one = t["replications"]
    one = one[(one["arm"] == "partnership") & (one["replication"] < 2)].reset_index(drop=True)
    pd.testing.assert_frame_equal(two, one)


# -- parameter uncertainty ----------------------------------------------------------------------------
def test_psa_draws_differ_across_replications_and_agree_across_arms(crn, make_params):
    keys, configs, draws = crn
    assert all(draws) and draws[0] != draws[1] != draws[2]
    assert draws[0] == draw(make_params(), psa_rng(5, 0)), "drawn from (seed, replication)"
    key = "volunteers.exit_rate_per_year"
    by = {(a, r): get_value(c, key) for (a, r), c in zip(keys, configs, strict=True)}
    for r in range(3):
        assert by[("local_coordinator", r)] == by[("partnership", r)] == by[("shared_coordinator", r)] == draws[r][key]
    assert len({by[("local_coordinator", r)] for r in range(3)}) == 3
    # relative keys multiply what each scenario sets: the same multiplier, different values
    rel = "coordinator.hours_per_course_formation"
    lc = make_params("scenario=local_coordinator").coordinator.hours_per_course_formation
    pa = make_params("scenario=partnership").coordinator.hours_per_course_formation
    assert by_value(keys, configs, rel, "local_coordinator", 0) == pytest.approx(lc * draws[0][rel])
    assert by_value(keys, configs, rel, "partnership", 0) == pytest.approx(pa * draws[0][rel])


def by_value(keys, configs, key, arm, r):
    return next(get_value(c, key) for (a, rr), c in zip(keys, configs, strict=True) if (a, rr) == (arm, r))


def test_psa_draw_depends_on_seed_and_replication_only(make_params):
    params = make_params()
    assert draw(params, psa_rng(0, 1)) == draw(params, psa_rng(0, 1))
    assert draw(params, psa_rng(0, 1)) != draw(params, psa_rng(0, 2))
    assert draw(params, psa_rng(0, 1)) != draw(params, psa_rng(1, 1))


def test_psa_replication_table_carries_the_draws(tmp_path, make_params):
    run_experiment("compare_implementations",
                   [*FAST, "experiment.replications=2", "experiment.psa=true", "experiment.arms=[partnership]"],
                   tmp_path)
    reps = pd.read_parquet(tmp_path / "replications.parquet")
    params = make_params()
    cols = [f"psa.{k}" for k in params.uncertainty.parameters]
    assert set(cols) <= set(reps.columns)
    assert reps.loc[0, "psa.recovery.effect_full_dose_qpr"] != reps.loc[1, "psa.recovery.effect_full_dose_qpr"]
    assert reps.loc[0, "psa.recovery.effect_full_dose_qpr"] == draw(params, psa_rng(0, 0))[
        "recovery.effect_full_dose_qpr"]


@pytest.mark.parametrize("scenario", ["local_coordinator", "partnership"])
def test_every_drawn_configuration_validates_including_the_extremes(scenario, make_params):
    from peersim.uncertainty import apply_draw

    params = make_params(f"scenario={scenario}", "shared_with=[kolding]")
    spec = params.uncertainty.parameters
    assert len(spec) >= 30, "the uncertain parameters of the model are listed"
    assert all(d.source for d in spec.values()), "every distribution states its source"
    rng = np.random.default_rng(0)
    for _ in range(40):
        apply_draw(params, draw(params, rng))
    apply_draw(params, {k: d.lo for k, d in spec.items()})
    apply_draw(params, {k: d.hi for k, d in spec.items()})


# -- bad input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("municipality", "neighbour"), [
    ("kolding", "fredericia"),        # a preset's documented default
    ("odder", "horsens"),             # land-border neighbours Aarhus, Skanderborg, Horsens: Horsens' centre is closest
    ("Høje-Taastrup", "ishoej"),      # any spelling
    ("laesoe", "frederikshavn"),      # an island: the nearest municipality
])
def test_auto_neighbour_is_the_closest_land_border_neighbour(municipality, neighbour):
    from peersim import load_config
    from peersim.experiments.compare.runs import neighbour_of
    params = load_config(["+experiment=compare_implementations", f"municipality={municipality}"])
    assert neighbour_of(params) == neighbour


def test_a_neighbour_is_given_by_any_spelling():
    from peersim import load_config
    from peersim.experiments.compare.runs import neighbour_of
    params = load_config(["+experiment=compare_implementations", "municipality=odder", "experiment.neighbour='Århus'"])
    assert neighbour_of(params) == "aarhus"


@pytest.mark.parametrize(("override", "must_name"), [
    ("experiment.replicatons=3", "experiment.replicatons"),
    ("experiment.replications=0", "experiment.replications"),
    ("experiment.arms=[local_coordinater]", "experiment.arms"),
    ("experiment.neighbour=atlantis", "experiment.neighbour"),
    ("experiment.neighbour=fredericia", "experiment.neighbour"),
])
def test_bad_experiment_input_fails_with_one_line_before_any_run(override, must_name, tmp_path):
    with pytest.raises(ConfigError) as err:
        run_experiment("compare_implementations", [*FAST, override], tmp_path)
    msg = str(err.value)
    assert must_name in msg and "\n" not in msg
    assert not any(tmp_path.iterdir()), "nothing is written before the input is valid"


@pytest.mark.parametrize(("override", "must_name"), [
    ("scenario=partnership", "experiment.arms=[...]"),
    ("scenario=local_coordinator", "experiment.arms=[...]"),
    ("shared_with=[kolding]", "experiment.neighbour"),
])
def test_an_override_of_what_the_arms_set_fails_with_one_line_before_any_run(override, must_name, tmp_path,
                                                                             monkeypatch):
    """Each arm sets its own scenario (and shared_with): a command-line value would be silently replaced."""
    import peersim.experiments._runner as runner

    monkeypatch.setattr(runner, "run_many", lambda *a, **k: pytest.fail("the arms ran"))
    monkeypatch.setattr(runner, "run_many_timed", lambda *a, **k: pytest.fail("the arms ran"))
    with pytest.raises(ConfigError) as err:
        run_experiment("compare_implementations", [*FAST, override], tmp_path)
    msg = str(err.value)
    assert override in msg and must_name in msg and "\n" not in msg
    assert "arm" in msg and "ignored" in msg
    assert not any(tmp_path.iterdir()), "nothing is written before the input is valid"


def test_the_default_scenario_is_no_override(small):
    out, _ = small
    assert (out / "comparison.md").is_file()
    assert json.loads((out / "comparison_summary.json").read_text())["overrides"] == ["years=2"]



def test_the_charts_are_drawn_from_the_tables(small, tmp_path):
    """The three charts (drawn with output.charts=true) come from the tables and the headline alone."""
    out, tables = small
    summary = json.loads((out / "comparison_summary.json").read_text())
    paths = save_charts(tables["replications"], tables["comparison"], tables["differences"], summary, tmp_path)
    assert [p.name for p in paths] == ["chart_net_municipal.png", "chart_net_municipal_budget.png",
                                       "chart_net_fund.png", "chart_difference_net_municipal.png"]
    paths += save_budget_charts(tables["budget_by_year"], tables["break_even"], summary, tmp_path)
    assert [p.name for p in paths[4:]] == ["chart_budget_municipal_by_year.png", "chart_budget_fund_by_year.png",
                                           "chart_break_even.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)

@pytest.fixture(scope="module")
def two_arms(tmp_path_factory):
    """Own and shared coordinator only, with a global override (coordinator.fte=2)."""
    out = tmp_path_factory.mktemp("compare_two")
    run_experiment("compare_implementations",
                   [*FAST, "experiment.replications=2", "experiment.arms=[local_coordinator,shared_coordinator]",
                    "coordinator.fte=2"], out)
    return out


def test_the_report_title_names_the_arms_that_ran(small, two_arms):
    title = (two_arms / "comparison.md").read_text().splitlines()[0]
    assert title == "# Fredericia: own local coordinator or coordinator shared with Kolding?"
    assert "partnership" not in title
    title = (small[0] / "comparison.md").read_text().splitlines()[0]
    assert title == "# Fredericia: own local coordinator, local partnership or coordinator shared with Kolding?"


def test_report_title_for_one_two_and_three_arms():
    assert report_title("Kolding", ["Local partnership"]) == "Kolding: local partnership"
    assert (report_title("Kolding", ["Own local coordinator", "Local partnership"])
            == "Kolding: own local coordinator or local partnership?")


def test_overrides_applied_to_every_arm_are_reported(two_arms):
    md = (two_arms / "comparison.md").read_text()
    line = next(ln for ln in md.splitlines() if ln.startswith("Applied to every arm"))
    assert "`coordinator.fte=2`" in line and "`years=2`" in line
    assert not any("experiment." in o for o in json.loads((two_arms / "comparison_summary.json").read_text())[
        "overrides"])
    reps = pd.read_parquet(two_arms / "replications.parquet")
    assert set(reps["arm"]) == {"local_coordinator", "shared_coordinator"}


def test_a_global_override_reaches_every_arm_including_the_partnership():
    keys, configs, _ = configs_for("experiment.replications=1", "coordinator.fte=2")
    assert {a: c.coordinator.fte for (a, _), c in zip(keys, configs, strict=True)} == {a: 2 for a in ARMS}
