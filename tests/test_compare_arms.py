"""compare_implementations: per-arm overrides, named arms, outcomes beyond money, pairing, stress settings.

Runs are short (2 years, a few replications, one process) so the file stays fast."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from peersim import ConfigError, load_config, run
from peersim.experiments import base_overrides, run_experiment
from peersim.experiments.compare.outcomes import outcome_figures, outcome_series, pairing_row
from peersim.experiments.compare.runs import build_configs
from peersim.experiments.compare.settings import override_list
from peersim.experiments.compare.stress import stress_table

FAST = ["years=2", "experiment.n_jobs=1", "experiment.progress=false", "output.charts=false"]
SHARED_FTE = "+experiment.arm_overrides.shared_coordinator.coordinator.fte=1.5"
LEAN = "+experiment.named_arms.partnership_lean={base:partnership,coordinator.fte:0.5}"


def configs_for(*overrides: str):
    params = load_config(["+experiment=compare_implementations", *FAST, *overrides])
    return build_configs(params, base_overrides([*FAST, *overrides]))


@pytest.fixture(scope="module")
def arms_run(tmp_path_factory):
    """Own coordinator and partnership, the shared arm at 1.5 FTE, a named lean partnership,
    and one stress setting; three replications."""
    out = tmp_path_factory.mktemp("compare_arms")
    run_experiment("compare_implementations", [*FAST, "experiment.replications=3", SHARED_FTE, LEAN,
                                               "+experiment.stress.half_fte.coordinator.fte=0.5",
                                               "experiment.stress_replications=2"], out)
    tables = {n: pd.read_parquet(out / f"{n}.parquet") for n in
              ("comparison", "differences", "replications", "outcomes_by_time", "pairing", "stress",
               "break_even", "budget_by_year")}
    return out, tables


# -- per-arm overrides and named arms: composition ------------------------------------------------
def test_an_arm_override_reaches_only_its_arm():
    keys, configs, _ = configs_for("experiment.replications=2", SHARED_FTE)
    plain_keys, plain, _ = configs_for("experiment.replications=2")
    assert keys == plain_keys
    for (arm, _), cfg, ref in zip(keys, configs, plain, strict=True):
        if arm == "shared_coordinator":
            assert cfg.coordinator.fte == 1.5 != ref.coordinator.fte
            assert cfg.municipalities == ref.municipalities and cfg.scenario == ref.scenario
        else:
            assert cfg == ref  # every other arm exactly as without the override


def test_a_named_arm_runs_its_base_with_its_overrides_and_the_built_in_arms_are_unchanged():
    keys, configs, _ = configs_for("experiment.replications=1", LEAN)
    by_arm = {a: c for (a, _), c in zip(keys, configs, strict=True)}
    assert list(by_arm) == ["local_coordinator", "partnership", "shared_coordinator", "partnership_lean"]
    assert by_arm["partnership_lean"].scenario.name == "partnership"
    assert by_arm["partnership_lean"].coordinator.fte == 0.5
    assert by_arm["partnership"].coordinator.fte == load_config(["scenario=partnership"]).coordinator.fte != 0.5
    assert by_arm["partnership_lean"].seed == by_arm["partnership"].seed


def test_an_arm_override_beats_a_command_line_override_of_the_same_key_for_that_arm_only():
    keys, configs, _ = configs_for("experiment.replications=1", "coordinator.fte=0.8", SHARED_FTE)
    assert {a: c.coordinator.fte for (a, _), c in zip(keys, configs, strict=True)} == {
        "local_coordinator": 0.8, "partnership": 0.8, "shared_coordinator": 1.5}


def test_overrides_written_as_a_mapping_nested_or_a_list_are_the_same():
    assert override_list({"coordinator.fte": 1.5}, "x") == ["coordinator.fte=1.5"]
    assert override_list({"coordinator": {"fte": 1.5}}, "x") == ["coordinator.fte=1.5"]
    assert override_list(["coordinator.fte=1.5"], "x") == ["coordinator.fte=1.5"]
    assert override_list({"recovery": "scale_up", "trial.on": True, "x.y": None, "z": [1, 2]}, "x") == [
        "recovery=scale_up", "trial.on=true", "x.y=null", "z=[1,2]"]
    with pytest.raises(ConfigError, match="output"):
        override_list({"output": {"charts": False}}, "x")


@pytest.mark.parametrize(("override", "must_name"), [
    ("+experiment.arm_overrides.shared_coordinator.coordinator.ftee=1.5", "experiment.arm_overrides.shared_coordinator"),
    ("+experiment.arm_overrides.shared_coordinator.coordinator.fte=lots", "experiment.arm_overrides.shared_coordinator"),
    ("+experiment.arm_overrides.shared_coordinator.coordinator.fte=-1", "experiment.arm_overrides.shared_coordinator"),
    ("+experiment.arm_overrides.partnership.scenario=local_coordinator", "experiment.arm_overrides.partnership"),
    ("+experiment.arm_overrides.partnership.seed=3", "experiment.arm_overrides.partnership"),
    ("+experiment.arm_overrides.partnership.years=5", "experiment.arm_overrides.partnership"),
    ("+experiment.arm_overrides.partnershp.coordinator.fte=1", "experiment.arm_overrides.partnershp"),
    ("+experiment.named_arms.lean.coordinator.fte=0.5", "experiment.named_arms.lean"),
    ("+experiment.named_arms.lean={base:partnershp}", "experiment.named_arms.lean"),
    ("+experiment.named_arms.partnership={base:partnership}", "experiment.named_arms.partnership"),
    ("+experiment.named_arms.lean={base:partnership,shared_with:[kolding]}", "experiment.named_arms.lean"),
    ("+experiment.named_arms.lean={base:partnership,coordinator.ftee:0.5}", "experiment.named_arms.lean"),
    ("+experiment.stress.half.coordinator.ftee=0.5", "experiment.stress.half"),
    ("+experiment.stress.half.seed=1", "experiment.stress.half"),
    ("experiment.arms=[local_coordinator,lean]", "experiment.arms"),
])
def test_a_bad_arm_or_stress_override_is_refused_in_one_line_before_any_run(override, must_name, tmp_path,
                                                                           monkeypatch):
    import peersim.experiments._runner as runner

    monkeypatch.setattr(runner, "run_many", lambda *a, **k: pytest.fail("the arms ran"))
    with pytest.raises(ConfigError) as err:
        run_experiment("compare_implementations", [*FAST, override], tmp_path)
    msg = str(err.value)
    assert must_name in msg and "\n" not in msg, msg
    assert not any(tmp_path.iterdir()), "nothing is written before the input is valid"


# -- per-arm overrides and named arms: results -------------------------------------------------------
def test_a_runs_result_follows_its_arm_override(arms_run):
    """The shared arm at 1.5 FTE has 1.5 x 2 years of coordinator hours for the two municipalities;
    the own coordinator keeps the default, and the lean partnership has half an FTE's hours."""
    _, t = arms_run
    reps = t["replications"]
    comp = t["comparison"].set_index("arm")
    hours = comp["coordinator_hours_total_mean"]
    # the shared arm's share: the whole run's hours x the municipality's share of started citizens
    shared = reps[reps["arm"] == "shared_coordinator"]
    whole = (shared["coordinator_hours_total"] / shared["share_of_started"]).to_numpy()
    own = reps.loc[reps["arm"] == "local_coordinator", "coordinator_hours_total"].to_numpy()
    assert np.allclose(whole, own * 1.5 / load_config([]).coordinator.fte)  # hours follow the FTE
    assert hours["partnership_lean"] > hours["partnership"]
    assert comp.loc["partnership_lean", "citizens_started_mean"] > comp.loc["partnership", "citizens_started_mean"]


def test_named_arms_appear_in_every_table_and_the_report(arms_run):
    out, t = arms_run
    for name in ("comparison", "replications", "outcomes_by_time", "stress", "break_even", "budget_by_year"):
        assert "partnership_lean" in set(t[name]["arm"]), name
    assert "partnership_lean - partnership" in set(t["differences"]["contrast"])
    assert "partnership_lean - partnership" in set(t["pairing"]["contrast"])
    md = (out / "comparison.md").read_text()
    assert "Local partnership (coordinator.fte=0.5)" in md
    summary = json.loads((out / "comparison_summary.json").read_text())
    assert summary["arm_settings"]["partnership_lean"]["overrides"] == ["coordinator.fte=0.5"]
    assert summary["arm_settings"]["shared_coordinator"]["overrides"] == ["coordinator.fte=1.5"]
    assert summary["arm_settings"]["local_coordinator"]["overrides"] == []
    assert "partnership_lean" in summary["arms"]


def test_the_report_says_which_overrides_each_arm_ran_with(arms_run):
    out, _ = arms_run
    md = (out / "comparison.md").read_text().splitlines()
    assert next(ln for ln in md if ln.startswith("Applied to every arm")).count("`years=2`") == 1
    row = next(ln for ln in md if ln.startswith("| Coordinator shared with Kolding (coordinator.fte=1.5)"))
    assert "`shared_with=[kolding]`" in row and row.endswith("`coordinator.fte=1.5` |")
    row = next(ln for ln in md if ln.startswith("| Own local coordinator (`local_coordinator`)"))
    assert row.endswith("| none |")


# -- outcomes beyond money -------------------------------------------------------------------------
def test_outcome_figures_of_one_municipality_equal_the_run_summary(make_params):
    result = run(make_params("years=2", "output.charts=false"))
    name = result.params.municipality.name
    f = outcome_figures(result, name, 1.0)
    s = result.summary
    assert f["citizens_gave_up_waiting"] == s["citizens_gave_up_waiting"]
    assert f["courses"] == s["courses_started"]
    assert f["volunteers_active_end"] == s["volunteers_active_end"]
    assert f["coordinator_hours_total"] == pytest.approx(s["coordinator_hours_total"])
    acts = sum(v for k, v in f.items() if k.startswith("coordinator_hours_") and k != "coordinator_hours_total")
    assert acts == pytest.approx(f["coordinator_hours_total"])  # the activities add up to the hours budget
    series = outcome_series(result, name, 1.0)
    assert series["citizens_started"].sum() == s["citizens_started"]
    assert series["successes"].sum() == s["successes"]
    assert series["citizens_started"].shape == (2,) and series["volunteers_active"].shape == (24,)
    weekly = result.timeseries["n_volunteers_active"].to_numpy(dtype=float)
    assert series["volunteers_active"][0] == pytest.approx(weekly[:5].mean())  # weeks 1-5 are month 1
    half = outcome_figures(result, name, 0.5)
    assert half["volunteers_active_mean"] == pytest.approx(0.5 * f["volunteers_active_mean"])
    assert half["citizens_gave_up_waiting"] == f["citizens_gave_up_waiting"]  # counted exactly, not shared


def test_outcomes_and_their_paired_differences_are_in_the_tables(arms_run):
    out, t = arms_run
    comp, diff, reps = t["comparison"], t["differences"], t["replications"]
    for key in ("citizens_gave_up_waiting", "courses", "volunteers_active_mean", "volunteers_active_end",
                "coordinator_hours_supervision", "coordinator_hours_idle"):
        assert f"{key}_p05" in comp and key in set(diff["metric"])
    d = diff[(diff["contrast"] == "local_coordinator - partnership") & (diff["metric"] == "courses")]
    wide = reps.pivot(index="replication", columns="arm", values="courses")
    assert d["mean"].iloc[0] == pytest.approx((wide["local_coordinator"] - wide["partnership"]).mean())
    md = (out / "comparison.md").read_text()
    assert "## Citizens, volunteers and the coordinator" in md and "Citizens who gave up waiting" in md
    summary = json.loads((out / "comparison_summary.json").read_text())
    assert "courses" in summary["arms"]["partnership"] and "courses" in summary["differences"][
        "local_coordinator - partnership"]


def test_the_bands_over_time_match_the_replications(arms_run):
    _, t = arms_run
    bt = t["outcomes_by_time"]
    sub = bt[(bt["arm"] == "local_coordinator") & (bt["series"] == "citizens_started")]
    assert list(sub["index"]) == [1, 2]
    # per replication the yearly counts add up to its citizens started, so do the means
    reps = t["replications"]
    assert sub["mean"].sum() == pytest.approx(reps.loc[reps["arm"] == "local_coordinator", "citizens_started"].mean())
    assert (sub["p05"] <= sub["p25"]).all() and (sub["p25"] <= sub["p50"]).all() and (sub["p75"] <= sub["p95"]).all()


def test_outcome_charts_are_drawn(arms_run, tmp_path):
    from peersim.experiments.compare.outcome_charts import save_outcome_charts

    out, t = arms_run
    summary = json.loads((out / "comparison_summary.json").read_text())
    paths = save_outcome_charts(t["outcomes_by_time"], summary, tmp_path)
    assert [p.name for p in paths] == ["chart_citizens_started_by_year.png", "chart_successes_by_year.png",
                                       "chart_volunteers_active_by_month.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in paths)


# -- pairing ---------------------------------------------------------------------------------------------
def test_pairing_row_by_hand():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = a + np.array([0.0, 1.0, 0.0, 1.0])  # strongly correlated
    r = pairing_row(a, b)
    # var(a) = 5/3; var(b) = var([1,3,3,5]) = 8/3; var(a-b) = var([0,-1,0,-1]) = 1/3
    assert r["var_independent"] == pytest.approx(13 / 3)
    assert r["var_paired"] == pytest.approx(1 / 3)
    assert r["variance_reduction_factor"] == pytest.approx(13.0)
    assert r["correlation"] == pytest.approx(np.corrcoef(a, b)[0, 1])
    # independent arms: var(a - b) = var(a) + var(b) - 2 cov, so the factor is 1 / (1 - 2 cov / (va + vb))
    assert np.isnan(pairing_row(a[:1], b[:1])["variance_reduction_factor"])


def test_pairing_table_agrees_with_the_replications(arms_run):
    out, t = arms_run
    p = t["pairing"]
    reps = t["replications"]
    row = p[(p["contrast"] == "shared_coordinator - local_coordinator") & (p["metric"] == "net_municipal_dkk")].iloc[0]
    wide = reps.pivot(index="replication", columns="arm", values="net_municipal_dkk")
    d = (wide["shared_coordinator"] - wide["local_coordinator"]).to_numpy()
    assert row["var_paired"] == pytest.approx(np.var(d, ddof=1))
    md = (out / "comparison.md").read_text()
    assert "## How much the pairing helps" in md
    assert sum(ln.startswith("- ") and "variance reduction factor" in ln for ln in md.splitlines()) == 3


# -- stress settings ---------------------------------------------------------------------------------
def test_stress_settings_rerun_the_comparison_and_say_whether_the_preference_changes(arms_run):
    out, t = arms_run
    st = t["stress"]
    # the default settings (conf/experiment/compare_implementations.yaml), then the user's own
    assert list(dict.fromkeys(st["setting"])) == ["as run", "scale_up", "no_health_savings", "half_fte"]
    assert set(st.loc[st["setting"] != "as run", "replications"]) == {2}
    comp = t["comparison"].set_index("arm")
    as_run = st[st["setting"] == "as run"].set_index("arm")
    assert as_run["net_municipal_dkk_mean"].to_dict() == pytest.approx(comp["net_municipal_dkk_mean"].to_dict())
    assert st.groupby("setting")["preferred_som"].sum().tolist() == [1, 1, 1, 1]
    md = (out / "comparison.md").read_text()
    assert "## The decision under other assumptions" in md and "half_fte: `coordinator.fte=0.5`" in md
    summary = json.loads((out / "comparison_summary.json").read_text())
    assert summary["stress"]["half_fte"]["overrides"] == ["coordinator.fte=0.5"]
    assert summary["stress"]["scale_up"]["overrides"] == ["recovery=scale_up"]


def test_the_stress_preference_by_hand():
    def reps(values):
        return pd.DataFrame([{"arm": a, "replication": r, "citizens_started": 1.0, "successes": 0.0,
                              "net_municipal_dkk": v, "net_municipal_budget_dkk": -v}
                             for a, vs in values.items() for r, v in enumerate(vs)])

    labels = {"x": "X", "y": "Y"}
    main = reps({"x": [1.0, 3.0], "y": [0.0, 1.0]})      # x preferred (SØM), y (budget)
    other = reps({"x": [0.0, 0.0], "y": [2.0, 2.0]})     # y preferred (SØM), x (budget)
    t = stress_table(main, [("other", ["coordinator.fte=0.5"], other)], labels, [])
    pref = t.set_index(["setting", "arm"])
    assert pref.loc[("as run", "x"), "preferred_som"] and pref.loc[("as run", "y"), "preferred_budget"]
    assert pref.loc[("other", "y"), "preferred_som"] and pref.loc[("other", "x"), "preferred_budget"]
    assert t.loc[t["setting"] == "other", "preference_changes_som"].all()
    assert not t.loc[t["setting"] == "as run", "preference_changes_som"].any()


def test_a_stress_setting_reaches_every_arm_and_an_arms_own_override_still_wins():
    params = load_config(["+experiment=compare_implementations", *FAST, SHARED_FTE])
    keys, configs, _ = build_configs(params, base_overrides(FAST), setting=["coordinator.fte=0.5", "course.sessions=10"],
                                     setting_name="half", replications=2)
    assert len(configs) == 2 * 3
    assert {a: c.coordinator.fte for (a, _), c in zip(keys, configs, strict=True)} == {
        "local_coordinator": 0.5, "partnership": 0.5, "shared_coordinator": 1.5}
    assert {c.course.sessions for c in configs} == {10}
