"""Targets and the validation report: definitions, statistics by hand, pass/fail, not available,
bad keys, the report's files."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from peersim import ConfigError, load_config
from peersim.experiments import run_experiment
from peersim.experiments.targets import (
    DERIVED,
    Z95,
    TargetSpec,
    check_specs,
    courses_per_year_first_3y,
    measure,
    measure_model_only,
    target_stats,
    volunteer_annual_loss_share,
)

# Cheap targets for the report tests: the partnership is the fastest scenario to simulate.
CHEAP = ["courses_per_year_partnership", "citizens_started_partnership", "volunteer_loss_partnership"]


def _validate(tmp_path: Path, *overrides: str) -> tuple[pd.DataFrame, Path]:
    out = tmp_path / "validate"
    table = run_experiment("validate", ["experiment.progress=false", "experiment.n_jobs=1", *overrides], out)
    return table, out


@pytest.fixture(scope="module")
def specs() -> dict[str, TargetSpec]:
    return load_config(["+experiment=validate"]).experiment.targets


# -- definitions -------------------------------------------------------------------------------
def test_every_defined_target_is_well_formed_and_sourced(specs):
    names = check_specs(specs, [])
    assert len(names) >= 8
    for name in names:
        s = specs[name]
        assert s.source.strip(), f"{name} has no source"
        assert s.lo <= s.value <= s.hi and s.lo < s.hi, name
        assert s.overrides and any(o.startswith("scenario=") for o in s.overrides), f"{name}: no scenario"
        assert s.unit, name


def test_targets_are_the_same_for_calibration_and_validation(specs):
    b = load_config(["+experiment=calibrate"]).experiment.targets
    assert specs == b, "calibration and validation must read the same target definitions"


def test_the_domain_figures_are_targets(specs):
    by_name = {n: (s.statistic, s.value, s.lo, s.hi) for n, s in specs.items()}
    assert by_name["courses_per_year_lc"][1] == 10.0 and by_name["courses_per_year_partnership"][1] == 2.0
    assert by_name["citizens_started_lc"][1] == 240.0 and by_name["citizens_started_partnership"][1] == 48.0
    assert by_name["success_rate_lc"][1] == 0.08
    assert by_name["effect_26w_lc"][2:] == (0.20, 0.25) and specs["effect_26w_lc"].divide_by == 11.9
    assert by_name["volunteer_loss_lc"][2:] == (0.20, 0.68)
    assert by_name["trial_difference"][1:] == (5.1, 2.4, 7.8)
    assert by_name["trial_cohens_d"][1:] == (0.43, 0.33, 0.53)


# -- statistics by hand --------------------------------------------------------------------------
def _fake_result(volunteers: pd.DataFrame, weeks: int, summary: dict | None = None, years: int = 5):
    return SimpleNamespace(volunteers=volunteers, summary=summary or {},
                           params=SimpleNamespace(weeks=weeks, years=years))


def test_volunteer_loss_by_hand():
    # trained at week 0: one leaves at week 52 (1 year on the books), one stays to week 104 (2 years),
    # one never finished training (not counted): 1 leaver in 3 volunteer-years
    v = pd.DataFrame({"ti_trained": pd.array([0, 0, None], dtype="Int32"),
                      "ti_left": pd.array([52, None, 3], dtype="Int32")})
    assert volunteer_annual_loss_share(_fake_result(v, 104)) == pytest.approx(1 - math.exp(-1 / 3))
    none_trained = pd.DataFrame({"ti_trained": pd.array([None], dtype="Int32"), "ti_left": pd.array([2], dtype="Int32")})
    assert math.isnan(volunteer_annual_loss_share(_fake_result(none_trained, 104)))


def test_courses_per_year_by_hand():
    assert courses_per_year_first_3y(_fake_result(pd.DataFrame(), 260, {"courses_started_first_3y": 30})) == 10.0
    assert courses_per_year_first_3y(_fake_result(pd.DataFrame(), 104, {"courses_started_first_3y": 8}, years=2)) == 4.0
    assert set(DERIVED) >= {"courses_per_year_first_3y", "volunteer_annual_loss_share"}


def test_target_stats_by_hand():
    spec = TargetSpec(statistic="x", divide_by=2.0, value=5.0, lo=4.0, hi=7.92)  # sd = 3.92 / 3.92 = 1
    rows = pd.DataFrame({"x": [8.0, 10.0, 12.0, None]})  # /2: 4, 5, 6 and one run without a value
    st = target_stats("t", spec, rows)
    assert st.n == 3 and st.mean == pytest.approx(5.0) and st.z == pytest.approx(0.0)
    assert st.se == pytest.approx(1.0 / math.sqrt(3))
    assert (st.lo90, st.hi90) == pytest.approx(tuple(np.percentile([4.0, 5.0, 6.0], [5, 95])))
    assert st.passed
    far = target_stats("t", TargetSpec(statistic="x", value=1.0, lo=0.0, hi=Z95), pd.DataFrame({"x": [3.0, 3.0]}))
    assert not far.passed and far.z == pytest.approx((3.0 - 1.0) / 0.5)
    explicit = TargetSpec(statistic="x", value=1.0, lo=0.0, hi=2.0, sd=0.25)
    assert target_stats("t", explicit, pd.DataFrame({"x": [1.5]})).z == pytest.approx(2.0)


def _same_figures(overrides: list[str]) -> None:
    params = load_config(overrides)
    full, lean = measure(params), measure_model_only(params)
    assert set(lean) <= set(full)
    for key, value in lean.items():
        same = value == full[key] or (isinstance(value, float) and math.isnan(value) and math.isnan(full[key]))
        assert same, f"{key}: {value} without economics, {full[key]} with"
    assert set(DERIVED) <= set(lean) and "trial_qpr_difference" not in lean


@pytest.mark.parametrize("scenario", ["local_coordinator", "partnership"])
def test_skipping_the_economics_layer_gives_the_same_figures(scenario):
    _same_figures([f"scenario={scenario}", "years=1", "seed=3"])


@pytest.mark.slow
def test_skipping_the_economics_layer_gives_the_same_trial_figures():
    params = load_config(["scenario=trial", "years=3"])
    full, lean = measure(params), measure_model_only(params)
    assert {k for k in full if k.startswith("trial_")} <= set(lean)
    assert all(lean[k] == full[k] for k in lean if isinstance(lean[k], int | float) and math.isfinite(lean[k]))


# -- the report ----------------------------------------------------------------------------------
def test_validation_report_lists_every_target_with_pass_or_fail_and_charts(tmp_path):
    # one target moved out of reach so that it must fail; the experiment still finishes normally
    table, out = _validate(tmp_path, "experiment.replications=3", f"experiment.select=[{','.join(CHEAP)}]",
                           "experiment.targets.courses_per_year_partnership.value=20",
                           "experiment.targets.courses_per_year_partnership.lo=19",
                           "experiment.targets.courses_per_year_partnership.hi=21")
    assert list(table["target"]) == CHEAP
    assert table.set_index("target").loc["courses_per_year_partnership", "result"] == "FAIL"
    assert set(table["result"]) <= {"pass", "FAIL"}
    md = (out / "validation.md").read_text(encoding="utf-8")
    for name in CHEAP:
        assert f"| {name} |" in md
    assert "**FAIL**" in md and "Failing targets" in md and "courses_per_year_partnership" in md
    for group in table["group"].unique():
        png = out / f"validation_{group}.png"
        assert png.is_file() and png.stat().st_size > 5000, png
        assert f"({png.name})" in md
    csv = pd.read_csv(out / "validation.csv")
    assert len(csv) == len(CHEAP) and list(pd.read_parquet(out / "validation.parquet")["target"]) == CHEAP
    reps = pd.read_parquet(out / "validation_replications.parquet")
    assert len(reps) == 3 * len(CHEAP) and list(reps["seed"].unique()) == [0, 1, 2]
    # the simulated mean is the mean of independent runs at seeds 0, 1, 2 (the target's overrides)
    from peersim import run

    params = load_config(["scenario=partnership", "municipality=fredericia", "years=5"])
    per_seed = []
    for seed in (0, 1, 2):
        params.seed = seed
        per_seed.append(run(params).summary["citizens_started_first_3y"])
    assert table.set_index("target").loc["citizens_started_partnership", "sim_mean"] == pytest.approx(np.mean(per_seed))


def test_a_target_whose_runs_cannot_be_set_up_is_not_available_not_faked(tmp_path):
    table, out = _validate(tmp_path, "experiment.replications=2", "output.charts=false",
                           "experiment.select=[courses_per_year_partnership]",
                           "experiment.targets.courses_per_year_partnership.overrides=['scenario=no_such_scenario']")
    row = table.iloc[0]
    assert row["result"] == "not available" and math.isnan(row["sim_mean"])
    assert "no_such_scenario" in row["reason"]
    md = (out / "validation.md").read_text(encoding="utf-8")
    assert "not available" in md and "no_such_scenario" in md


@pytest.mark.parametrize(("overrides", "must_name"), [
    (["experiment.select=[no_such_target]"], ["experiment.select", "no_such_target"]),
    (["experiment.select=[success_rate_lx]"], ["success_rate_lc"]),
    (["experiment.select=[courses_per_year_partnership]",
      "experiment.targets.courses_per_year_partnership.statistic=courses_per_yeer"],
     ["courses_per_yeer", "courses_per_year"]),
    (["experiment.select=[courses_per_year_partnership]", "experiment.targets.courses_per_year_partnership.lo=3"],
     ["courses_per_year_partnership"]),
    (["experiment.replications=1"], ["experiment.replications"]),
])
def test_bad_validation_input_fails_with_one_line(tmp_path, overrides, must_name):
    with pytest.raises(ConfigError) as info:
        run_experiment("validate", ["experiment.progress=false", "experiment.n_jobs=1", *overrides], tmp_path / "v")
    msg = str(info.value)
    assert "\n" not in msg.strip()
    for word in must_name:
        assert word in msg, (word, msg)
    assert not (tmp_path / "v" / "validation.md").exists()


def test_a_typo_in_a_target_field_fails_at_composition():
    with pytest.raises(ConfigError, match="valeu"):
        load_config(["+experiment=validate", "experiment.targets.success_rate_lc.valeu=0.1"])


@pytest.mark.slow
def test_default_validation_covers_every_target(tmp_path, specs):
    table, out = _validate(tmp_path, "experiment.replications=3")
    assert list(table["target"]) == list(specs)
    assert set(table["result"]) <= {"pass", "FAIL", "not available"}
    for group in {s.group for s in specs.values()}:
        assert (out / f"validation_{group}.png").is_file()


@pytest.mark.slow
def test_the_command_exits_0_when_a_target_fails(tmp_path):
    cmd = [sys.executable, "-c", "from peersim.cli import main; main()", "+experiment=validate",
           "experiment.replications=2", "experiment.select=[courses_per_year_partnership]",
           "experiment.targets.courses_per_year_partnership.value=20",
           "experiment.targets.courses_per_year_partnership.lo=19",
           "experiment.targets.courses_per_year_partnership.hi=21", f"hydra.run.dir={tmp_path / 'run'}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "FAIL" in done.stdout and (tmp_path / "run" / "validation.md").is_file()
