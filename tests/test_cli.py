"""The ``peersim`` command, run as a user runs it: a subprocess in its own working directory.

The command lines of the default suite are started side by side when the module's first test
needs them (they are independent processes); each test then waits for its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CliRuns, cli_env

import peersim.config
from peersim import ConfigError, load_config, run
from peersim.config import compose_config
from peersim.precheck import _is_value_sweep, _sweep_plan, precheck

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
    "group_given_a_number": ["volunteers=3"],
    # rejected by the experiment itself, after Hydra has made the run folder: it is removed again
    "bad_experiment_input": ["+experiment=compare_implementations", "experiment.neighbour=fredericia"],
}
BAD_SWEEPS = {
    "bad_second_value_in_sweep": ["-m", "course.max_participants=8,0", "years=1", "output.charts=false"],
    "bad_type_in_sweep": ["-m", "seed=1,abc", "years=1", "output.charts=false"],
    "sweep_without_multirun": ["seed=1,2", "years=1", "output.charts=false"],
}
# A bad value inside a long sweep, and a bad option of a config group in a sweep: (command line,
# the override that alone gives the same error in one run). Value sweeps are checked on one
# composed config, group sweeps by composing each option: either way the same line, exit code 2.
_SEEDS = [str(s) for s in range(40)]
BAD_LONG_SWEEPS = {
    "bad_seed_in_a_long_sweep": (["-m", f"seed={','.join([*_SEEDS[:20], 'x', *_SEEDS[20:]])}", "years=1",
                                  "output.charts=false"], "seed=x"),
    "bad_threshold_in_a_sweep": (["-m", "volunteers.burnout_threshold=0.5,-1,0.7", "seed=0,1,2", "years=1"],
                                 "volunteers.burnout_threshold=-1"),
    "bad_option_in_a_group_sweep": (["-m", "scenario=local_coordinator,partnership,nope", "seed=0,1", "years=1"],
                                    "scenario=nope"),
}
# A tiny experiment, run from an empty working directory: its folder is named after it
EXPERIMENT = ["+experiment=compare_implementations", "experiment.replications=2", "experiment.n_jobs=1",
              "experiment.arms=[local_coordinator]", "output.charts=false", "experiment.progress=false",
              "years=1", "municipality=kolding"]


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
        **{name: args for name, (args, _) in BAD_LONG_SWEEPS.items()},
        "experiment": EXPERIMENT,
        "print_hydra_config": ["--cfg", "hydra", "--resolve"],
    }
    launcher = CliRuns(root, commands)
    launcher.start("default", "redirected", "multirun", *BAD, *BAD_LONG_SWEEPS, "experiment")  # side by side
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
    assert re.fullmatch(r"\d{2}-\d{2}-\d{2}_local_coordinator_fredericia_seed0", default_dir.name), default_dir.name
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


def test_the_hydra_config_prints_resolved(cli):
    """``--cfg hydra --resolve`` shows Hydra's own settings without the job's, so the run folder's
    name cannot be filled in: it shows placeholders instead of failing."""
    r = cli["print_hydra_config"]
    assert r.returncode == 0, r.stderr[-2000:]
    assert re.search(r"dir: outputs/\S+_scenario_municipality_seedX", r.stdout), r.stdout[:2000]


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_nonzero_with_one_error_line_and_no_output(cli, case):
    r = cli[case]
    assert r.returncode != 0, f"{BAD[case]} was accepted"
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peersim: error:"), f"stderr was:\n{r.stderr}"
    key = BAD[case][-1].split("=")[0]
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


@pytest.mark.parametrize("case", list(BAD_LONG_SWEEPS))
def test_a_bad_value_in_a_long_sweep_stops_with_the_one_line_of_a_single_run(cli, case):
    args, alone = BAD_LONG_SWEEPS[case]
    r = cli[case]
    with pytest.raises(ConfigError) as single:
        load_config([alone])
    assert r.returncode == 2, r.output
    assert r.stderr.strip().splitlines() == [f"peersim: error: {single.value}"], r.output
    assert alone.split("=")[0] in r.stderr
    assert list(r.cwd.iterdir()) == [], f"bad input created {list(r.cwd.rglob('*'))[:10]}"


# ---------------------------------------------------------------------------------------------
# The pre-check of sweeps, in this process
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def compositions(monkeypatch) -> list[list[str]]:
    """The override lists peersim.config.compose_config is called with (during the test)."""
    calls: list[list[str]] = []
    compose = peersim.config.compose_config

    def counted(overrides=(), **kwargs):
        calls.append(list(overrides))
        return compose(overrides, **kwargs)

    monkeypatch.setattr(peersim.config, "compose_config", counted)
    return calls


def test_sweeps_over_values_are_checked_on_one_composition(compositions):
    seeds = ",".join(str(s) for s in range(100))
    thresholds = ",".join(f"{0.4 + 0.01 * i:.2f}" for i in range(50))
    precheck(["-m", f"seed={seeds}", f"volunteers.burnout_threshold={thresholds}", "course.sessions=8,10",
              "scenario=partnership", "years=1", "output.charts=false,true", "hydra.sweep.dir=/nowhere"])
    assert len(compositions) == 1, compositions


def test_sweeps_over_groups_and_additions_compose_every_option(compositions):
    precheck(["-m", "scenario=local_coordinator,partnership,trial", "+experiment=validate,compare_implementations",
              "seed=1,2"])
    assert len(compositions) == 1 + 2 + 1, compositions  # the first job, each further option, seeds on the first
    assert ["scenario=trial", "+experiment=validate", "seed=1"] in compositions


# (key, a good value, a value to check after it): each must pass or fail exactly as in one run
# (each case composes twice, about a second here: the rarer ones run with the slow tests)
_slow = pytest.mark.slow
SWEEP_VALUES = [
    ("seed", "1", "x"), ("seed", "1", "-3"),
    ("volunteers.burnout_threshold", "0.5", "nan"), ("volunteers.burnout_threshold", "0.5", "1"),
    ("course.max_participants", "8", "3"),  # below course.min_participants_to_start: a check across keys
    ("output.charts", "false", "maybe"),
    ("scenario.implementation", "partnership", "foo"),
    ("scenario", "local_coordinator", "nope"),
    *(pytest.param(*case, marks=_slow) for case in [
        ("seed", "1", "1.5"), ("seed", "1", "null"), ("seed", "1", "${years}"), ("seed", "1", "[1]"),
        ("volunteers.burnout_threshold", "0.5", "abc"), ("volunteers.burnout_threshold", "0.5", "6"),
        ("shared_with", "[]", "[atlantis]"), ("+experiment", "validate", "nope")]),
]


def _value_id(case) -> str:
    key, _, value = case.values if hasattr(case, "values") else case
    return f"{key}={value}"


@pytest.mark.parametrize(("key", "good", "value"), SWEEP_VALUES, ids=[_value_id(c) for c in SWEEP_VALUES])
def test_a_value_in_a_sweep_passes_or_fails_as_in_one_run(key, good, value):
    try:
        load_config([f"{key}={value}"])
        alone = None
    except ConfigError as exc:
        alone = str(exc)
    try:
        precheck(["-m", f"{key}={good},{value}", "years=1"])
        swept = None
    except ConfigError as exc:
        swept = str(exc)
    assert swept == alone


def test_only_plain_values_are_set_on_the_composed_config():
    argv = ["seed=1,2", "volunteers.burnout_threshold=0.5,0.6", "scenario=local_coordinator,partnership",
            "shared_with=[],[kolding]", "coordinator=default", "coordinator.fte=1,2", "course.sessions=8,10",
            "course.sessions=9", "output.charts=false,true", "hydra.launcher.n_jobs=1,2", "municipality.name=a,b"]
    base, sweeps = _sweep_plan(argv, multirun=True)
    cfg = compose_config([o for o in base if not o.startswith("hydra")], return_hydra_config=True)
    groups = set(cfg.hydra.runtime.choices) | {"experiment", "calibrated"}
    plain = {alternatives[0].split("=")[0] for pos, alternatives in sweeps
             if _is_value_sweep(pos, alternatives, base, cfg, groups)}
    # a group; a list; a key whose group is also overridden; a key overridden twice; Hydra's own
    assert plain == {"seed", "volunteers.burnout_threshold", "output.charts", "municipality.name"}
    assert not _is_value_sweep(0, ["seed=1", "seed=2"], ["seed=1"], cfg, None), "groups unknown: compose"


# ---------------------------------------------------------------------------------------------
# Where a run writes
# ---------------------------------------------------------------------------------------------

RUN_DIR = r"outputs/\d{4}-\d{2}-\d{2}/\d{2}-\d{2}-\d{2}_"


@pytest.mark.parametrize(("overrides", "name"), [
    ([], "local_coordinator_fredericia_seed0"),
    (["scenario=partnership", "municipality=kolding", "seed=7"], "partnership_kolding_seed7"),
    (["+experiment=validate"], "validate_fredericia"),
    (["+experiment=calibrate"], "calibrate_fredericia"),  # not experiment.name, the fit's name
    (["+experiment=compare_implementations", "municipality=copenhagen", "seed=3"],
     "compare_implementations_copenhagen"),
])
def test_a_run_folder_says_what_ran(overrides, name):
    run_dir = compose_config(overrides, return_hydra_config=True).hydra.run.dir
    assert re.fullmatch(RUN_DIR + name, run_dir), run_dir


def test_hydra_run_dir_on_the_command_line_wins_for_an_experiment_too():
    cfg = compose_config(["+experiment=validate", "hydra.run.dir=somewhere/else"], return_hydra_config=True)
    assert cfg.hydra.run.dir == "somewhere/else"


def test_an_experiment_writes_into_a_folder_named_after_it(cli):
    r = cli["experiment"]
    assert r.returncode == 0, r.output
    found = sorted((r.cwd / "outputs").glob("*/*"))
    assert len(found) == 1, found
    assert re.fullmatch(r"\d{2}-\d{2}-\d{2}_compare_implementations_kolding", found[0].name), found[0].name
    assert (found[0] / "comparison_summary.json").is_file()
    assert found[0].name in r.stdout


def test_two_runs_started_together_write_into_two_folders(tmp_path):
    """Runs started in the same second with the same name claim separate folders (``_2``)."""
    cmd = [sys.executable, "-m", "peersim.cli", "years=1", "output.charts=false", "output.csv=false"]
    procs = [subprocess.Popen([*cmd, f"coordinator.fte={fte}"], cwd=tmp_path, env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for fte in (0.5, 2.0)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-1500:] for _, e in outs]
    folders = sorted((tmp_path / "outputs").glob("*/*"))
    assert len(folders) == 2, folders
    ftes = sorted(json.loads((f / "config.json").read_text(encoding="utf-8"))["coordinator"]["fte"] for f in folders)
    assert ftes == [0.5, 2.0]
    for f in folders:  # each folder's Hydra record is its own run's
        fte = json.loads((f / "config.json").read_text(encoding="utf-8"))["coordinator"]["fte"]
        assert f"coordinator.fte={fte}" in (f / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")


def test_the_console_names_what_else_was_set_and_warns_of_an_incomplete_trial(tmp_path, capsys):
    from peersim.cli import _run_one

    params = load_config(["scenario=trial", "years=1", "output.charts=false", "output.csv=false"])
    _run_one(params, tmp_path / "t", ["scenario=trial", "years=1", "coordinator.fte=2", "output.charts=false"])
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "coordinator.fte=2" in first and "output.charts" not in first, first
    assert "trial: randomised" in out and "Cohen's d" in out
    assert "warning: the trial is incomplete" in out  # one year cannot randomise 296 citizens


def test_help_lists_every_option_a_user_selects(tmp_path):
    """``peersim --help`` is peersim's own page: every option of the selectable groups, every
    launcher, every mechanism group, and none of the schema's internal entries."""
    from peersim.config import conf_dir, group_options
    from peersim.sweep import launcher_options

    r = subprocess.run([sys.executable, "-m", "peersim.cli", "--help"], cwd=tmp_path, env=cli_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    text = r.stdout
    for group in ("scenario", "municipality", "experiment"):
        for option in group_options(group):
            assert option in text, f"--help does not list {group}={option}"
    for launcher in launcher_options():
        assert launcher in text, f"--help does not list hydra/launcher={launcher}"
    mechanisms = [g.name for g in conf_dir().iterdir() if g.is_dir() and group_options(g.name) == ["default"]]
    for group in mechanisms:
        assert group in text, f"--help does not name the group {group}"
    assert "schema" not in text and list(tmp_path.iterdir()) == []


def test_a_folder_the_user_gave_is_kept_when_the_run_stops_and_printing_makes_none(tmp_path):
    """Only folders peersim made are removed after bad input; ``-chydra`` (argparse's joined
    form of --cfg) prints without claiming a run folder."""
    mine = tmp_path / "mine"
    mine.mkdir()
    bad = ["+experiment=compare_implementations", "experiment.neighbour=fredericia", f"hydra.run.dir={mine}"]
    r = subprocess.run([sys.executable, "-m", "peersim.cli", *bad], cwd=tmp_path, env=cli_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "experiment.neighbour" in r.stderr, r.stderr[-1500:]
    assert mine.is_dir(), "the folder given with hydra.run.dir was deleted"
    r = subprocess.run([sys.executable, "-m", "peersim.cli", "-chydra", "--resolve"], cwd=mine, env=cli_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1500:]
    assert not (mine / "outputs").exists(), "printing the config claimed a run folder"


def test_the_console_shows_the_money_in_both_views_and_the_fund(tmp_path, capsys):
    from peersim.cli import _run_one

    for scenario in ("local_coordinator", "partnership"):
        overrides = [f"scenario={scenario}", "years=2", "output.charts=false", "output.csv=false"]
        _run_one(load_config(overrides), tmp_path / scenario, overrides)
        out = capsys.readouterr().out
        s = json.loads((tmp_path / scenario / "summary.json").read_text(encoding="utf-8"))
        assert f"municipality, budget view: net after 2 years {s['net_municipal_budget_dkk']:,.0f} DKK" in out
        assert f"municipality, SØM view (every success's 5-year saving, also after the run): net " \
               f"{s['net_municipal_dkk']:,.0f} DKK" in out
        assert ("fund: net" in out) == (scenario == "local_coordinator"), out
