"""The ``peersim`` command, run as a user runs it: a subprocess in its own working directory.

The command lines of the default suite are started side by side when the module's first test
needs them (they are independent processes); each test then waits for its own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import CliRuns

from peersim import load_config, run

SUMMARY_KEYS = {
    "scenario", "municipality", "seed", "weeks", "courses_started", "citizens_referred", "citizens_started",
    "citizens_completed", "citizens_gave_up_waiting", "mean_wait_weeks", "volunteers_recruited",
    "volunteers_active_end", "volunteer_burnouts", "volunteers_left", "fidelity_mean", "qpr_change_mean",
    "qpr_effect_attributable_mean", "successes", "peersim_version", "config_hash",
}
CHARTS = ("chart_referrals_waiting.png", "chart_course_starts.png", "chart_volunteers.png", "chart_qpr.png")
BAD = {
    "unknown_scenario": ["scenario=nope"],
    "typo_in_key": ["volunteers.burnout_treshold=0.6"],
    "wrong_type": ["seed=abc"],
    "negative_hours": ["coordinator.fte=-1"],
}
BAD_SWEEPS = {
    "bad_second_value_in_sweep": ["-m", "course.max_participants=8,0", "years=1", "output.charts=false"],
    "bad_type_in_sweep": ["-m", "seed=1,abc", "years=1", "output.charts=false"],
    "sweep_without_multirun": ["seed=1,2", "years=1", "output.charts=false"],
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> CliRuns:
    root = tmp_path_factory.mktemp("cli")
    commands = {
        "default": [],  # the default run, from a working directory that is not the repository
        "redirected": [f"hydra.run.dir={root / 'redirected' / 'here'}", "seed=3", "years=1",
                       "scenario=partnership", "output.charts=false"],
        "multirun": ["-m", "seed=1,2", "years=1", "output.charts=false",
                     f"hydra.sweep.dir={root / 'multirun' / 'sweep'}"],
        **BAD,
        **BAD_SWEEPS,
    }
    launcher = CliRuns(root, commands)
    launcher.start("default", "redirected", "multirun", *BAD)  # independent: run them side by side
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def default_dir(cli) -> Path:
    r = cli["default"]
    assert r.returncode == 0, f"`peersim` failed ({r.returncode}):\n{r.stderr[-2000:]}"
    found = sorted((r.cwd / "outputs").glob("*/*"))
    assert len(found) == 1, f"expected one run folder under outputs/, found {found}"
    return found[0]


def test_default_run_exits_0_and_writes_every_output(cli, default_dir):
    names = {p.name for p in default_dir.iterdir()}
    expected = {"summary.json", "timeseries.parquet", "timeseries.csv", "citizens.parquet", "volunteers.parquet",
                *CHARTS}
    assert expected <= names, f"missing: {sorted(expected - names)}"
    assert (default_dir / ".hydra" / "config.yaml").is_file(), "the resolved config (.hydra/) is missing"
    for chart in CHARTS:
        assert (default_dir / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{chart} is not a PNG"
    assert "local_coordinator" in default_dir.name and "fredericia" in default_dir.name, default_dir.name
    assert str(default_dir.name) in cli["default"].stdout, "the command does not say where it wrote"


def test_default_summary_has_the_documented_keys(default_dir):
    summary = json.loads((default_dir / "summary.json").read_text(encoding="utf-8"))
    missing = SUMMARY_KEYS - set(summary)
    assert not missing, f"summary.json lacks {sorted(missing)}"
    assert (summary["scenario"], summary["municipality"], summary["seed"]) == ("local_coordinator", "fredericia", 0)
    assert summary["weeks"] == 52 * load_config([]).years


def test_default_timeseries_has_one_row_per_week_and_named_columns(default_dir):
    ts = pd.read_parquet(default_dir / "timeseries.parquet")
    summary = json.loads((default_dir / "summary.json").read_text(encoding="utf-8"))
    assert len(ts) == summary["weeks"] and ts["week"].tolist() == list(range(1, summary["weeks"] + 1))
    assert {"cum_courses_started", "cum_citizens_started"} <= set(ts.columns)
    for prefix in ("n_", "new_", "cum_"):
        assert any(c.startswith(prefix) for c in ts.columns), f"no {prefix}* columns"
    for c in ts.columns:
        if c.startswith("new_"):
            assert "cum_" + c.removeprefix("new_") in ts.columns, f"{c} has no running total"
    assert len(pd.read_csv(default_dir / "timeseries.csv")) == len(ts)
    assert ts["cum_courses_started"].iloc[-1] == summary["courses_started"]


def test_hydra_run_dir_redirects_outputs_and_the_cli_matches_the_python_api(cli):
    r = cli["redirected"]
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.cwd / "here"
    assert (out / "summary.json").is_file(), f"nothing written to hydra.run.dir: {list(r.cwd.rglob('*'))[:20]}"
    assert not (r.cwd / "outputs").exists(), "outputs/ created although hydra.run.dir was given"
    assert not list(out.glob("*.png")), "charts written with output.charts=false"
    from_cli = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    from_api = run(["seed=3", "years=1", "scenario=partnership", "output.charts=false"]).summary
    assert from_cli == from_api, "the command line and the Python API disagree on the same config"


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_nonzero_with_one_error_line_and_no_output(cli, case):
    r = cli[case]
    assert r.returncode != 0, f"{BAD[case]} was accepted"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peersim: error:"), f"stderr was:\n{r.stderr}"
    key = BAD[case][0].split("=")[0]
    assert key in lines[0], f"the error does not name {key!r}: {lines[0]}"
    assert list(r.cwd.iterdir()) == [], f"bad input created {list(r.cwd.iterdir())}"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_SWEEPS))
def test_bad_value_anywhere_in_a_sweep_stops_before_any_job(cli, case):
    r = cli[case]
    lines = r.stderr.strip().splitlines()
    assert r.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("peersim: error:"), f"stderr was:\n{r.stderr[-1500:]}"
    assert list(r.cwd.iterdir()) == [], f"bad input created {list(r.cwd.rglob('*'))[:10]}"


def test_tiny_multirun_completes(cli):
    r = cli["multirun"]
    assert r.returncode == 0, r.stderr[-2000:]
    sweep = r.cwd / "sweep"
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(jobs) == 2, f"expected 2 job folders, found {jobs}"
    seeds = sorted(json.loads((j / "summary.json").read_text(encoding="utf-8"))["seed"] for j in jobs)
    assert seeds == [1, 2]
