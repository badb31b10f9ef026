"""Global sensitivity analysis (Sobol', Morris): the pipeline recovers known indices of analytic
functions, screens out an inert parameter, runs the real model end to end, and rejects bad keys
with one line before any simulation.

The analytic tests use the same sampling, value transform, replication and analysis code as the
experiments; only the evaluation function differs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from peersim import ConfigError, load_config
from peersim.experiments import run_experiment
from peersim.experiments.sensitivity.design import ModelEvaluation, morris, sobol
from peersim.experiments.sensitivity.experiment import model_problem, run_sobol
from peersim.experiments.sensitivity.folder import reanalyse, write_result
from peersim.experiments.sensitivity.noise import morris_noise_floor, seed_noise_share, seed_noise_variance
from peersim.experiments.sensitivity.problem import Parameter, Problem, close_matches
from peersim.params import DistParams


# -- analytic functions (module level: picklable) -----------------------------------------------
def ishigami(values: dict[str, float], seed: int, a: float = 7.0, b: float = 0.1) -> dict[str, float]:
    x1, x2, x3 = values["x1"], values["x2"], values["x3"]
    return {"y": math.sin(x1) + a * math.sin(x2) ** 2 + b * x3**4 * math.sin(x1)}


def ishigami_exact(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Analytic first-order and total indices of the Ishigami function on [-pi, pi]^3."""
    pi = math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def linear_sum(values: dict[str, float], seed: int) -> dict[str, float]:
    return {"y": values["a"] + values["b"]}


def noisy_linear(values: dict[str, float], seed: int) -> dict[str, float]:
    """2a + b plus seed noise that is the same at every point for one seed (common random numbers)."""
    noise = np.random.default_rng(seed).normal(0.0, 0.3)
    return {"y": 2 * values["a"] + values["b"] + noise, "n": 3}


def with_inert(values: dict[str, float], seed: int) -> dict[str, float]:
    """x1 linear, x2 quadratic, x3 inert."""
    return {"y": 3 * values["x1"] + 5 * values["x2"] ** 2 + 0 * values["x3"]}


BUSY_CPU_SECONDS = 0.01


def busy(values: dict[str, float], seed: int) -> dict[str, float]:
    """a + b after spending BUSY_CPU_SECONDS of CPU time (a run with a known cost)."""
    import time

    end = time.process_time() + BUSY_CPU_SECONDS
    while time.process_time() < end:
        pass
    return {"y": values["a"] + values["b"]}


# -- Sobol' on analytic functions --------------------------------------------------------------
def test_ishigami_indices_match_the_analytic_values():
    s1_exact, st_exact = ishigami_exact()
    assert s1_exact == pytest.approx([0.3139, 0.4424, 0.0], abs=1e-3)
    assert st_exact == pytest.approx([0.5576, 0.4424, 0.2437], abs=1e-3)
    problem = Problem.uniform({"x1": (-math.pi, math.pi), "x2": (-math.pi, math.pi), "x3": (-math.pi, math.pi)})
    res = sobol(problem, ishigami, ["y"], base_samples=1024, seeds=[0], n_jobs=1, progress=False,
                resamples=200)
    t = res.indices.set_index("parameter").loc[["x1", "x2", "x3"]]
    assert t["S1"].to_numpy() == pytest.approx(s1_exact, abs=0.04)
    assert t["ST"].to_numpy() == pytest.approx(st_exact, abs=0.04)
    assert list(res.indices.sort_values("rank")["parameter"]) == ["x1", "x2", "x3"]  # by ST
    assert (t["ST_conf"] > 0).all() and (t["ST_conf"] < 0.1).all()
    assert res.settings["runs"] == 1024 * 5 == len(res.samples)


def test_indices_follow_the_parameter_distributions():
    """y = a + b: with a uniform on [0, 1] (var 1/12) and b triangular on [0, 1] with mode 0.5
    (var 1/24), S1 = 2/3 and 1/3; drawn uniformly on the same bounds, 1/2 each."""
    problem = Problem([Parameter("a", DistParams(dist="uniform", lo=0.0, hi=1.0)),
                       Parameter("b", DistParams(dist="triangular", lo=0.0, mode=0.5, hi=1.0))])
    res = sobol(problem, linear_sum, ["y"], base_samples=512, n_jobs=1, progress=False, resamples=100)
    s1 = res.indices.set_index("parameter")["S1"]
    assert s1["a"] == pytest.approx(2 / 3, abs=0.03) and s1["b"] == pytest.approx(1 / 3, abs=0.03)
    bounds_only = Problem(problem.parameters, distributions=False)
    res = sobol(bounds_only, linear_sum, ["y"], base_samples=512, n_jobs=1, progress=False, resamples=100)
    s1 = res.indices.set_index("parameter")["S1"]
    assert s1["a"] == pytest.approx(0.5, abs=0.03) and s1["b"] == pytest.approx(0.5, abs=0.03)


def test_common_random_numbers_leave_no_noise_in_the_indices():
    """The same seeds at every point shift a point's output by the same amount: an additive noise
    term then cancels exactly, S1 = 4/5 and 1/5 as without noise, and the seed sets agree."""
    problem = Problem.uniform({"a": (0.0, 1.0), "b": (0.0, 1.0)})
    res = sobol(problem, noisy_linear, ["y"], base_samples=256, seeds=[3, 4, 5], n_jobs=1, progress=False,
                resamples=100)
    t = res.indices.set_index("parameter")
    assert t.loc["a", "S1"] == pytest.approx(0.8, abs=0.03) and t.loc["b", "S1"] == pytest.approx(0.2, abs=0.03)
    assert t["ST_seed_se"].max() < 1e-9
    s = res.samples
    assert len(s) == 256 * 4 * 3 and list(s["seed"][:3]) == [3, 4, 5] and list(s["replicate"][:3]) == [0, 1, 2]
    assert res.stats.set_index("output").loc["y", "seed_noise_share"] == pytest.approx(0.0, abs=1e-12)
    assert res.notes == {} and not t["S1_seed_se"].isna().any()


def test_seed_noise_share_counts_only_luck_that_differs_between_points():
    """y[i, r] = f(i) + c(r) + e(i, r): the seed effect c (common random numbers) cancels; the
    share is Var(e) / (Var(e) + Var(f))."""
    rng = np.random.default_rng(1)
    f = rng.normal(0, 2.0, size=(4000, 1))           # parameters' part, variance 4
    c = np.array([[0.0, 10.0, -7.0]])                # luck shared by every point
    e = rng.normal(0, 1.0, size=(4000, 3))           # luck that differs between points, variance 1
    y = f + c + e
    assert seed_noise_variance(y) == pytest.approx(1.0, rel=0.05)
    assert seed_noise_share(y) == pytest.approx(1 / 5, abs=0.02)
    assert seed_noise_share(f + c) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(seed_noise_share(y[:, :1]))     # one seed set: not measurable
    # two independent draws of the mean of 3 runs differ with mean |.| = sqrt(2/pi) sqrt(2/3); step 2/3
    assert morris_noise_floor(y, 4) == pytest.approx(math.sqrt(2 / math.pi) * math.sqrt(2 / 3) * 1.5, rel=0.05)


def test_a_constant_output_is_reported_not_analysed(tmp_path):
    problem = Problem.uniform({"a": (0.0, 1.0), "b": (0.0, 1.0)})
    res = sobol(problem, noisy_linear, ["y", "n"], base_samples=16, seeds=[0], n_jobs=1, progress=False,
                resamples=20)
    assert res.notes == {"n": "did not vary across the sample"}
    assert res.indices[res.indices["output"] == "n"]["ST"].isna().all()
    write_result(res, tmp_path)
    md = (tmp_path / "sensitivity.md").read_text()
    assert "Not analysed: the output did not vary" in md
    assert (tmp_path / "sobol_y.png").is_file() and not (tmp_path / "sobol_n.png").exists()


def test_second_order_indices_are_written(tmp_path):
    """Ishigami's only interaction is x1-x3: S2(x1, x3) = ST1 - S1_1 ~ 0.244, the others ~0."""
    problem = Problem.uniform({"x1": (-math.pi, math.pi), "x2": (-math.pi, math.pi), "x3": (-math.pi, math.pi)})
    res = sobol(problem, ishigami, ["y"], base_samples=1024, second_order=True, n_jobs=1, progress=False,
                resamples=100)
    assert res.settings["runs"] == 1024 * 8
    s2 = res.second_order.set_index(["parameter", "other"])["S2"]
    assert s2[("x1", "x3")] == pytest.approx(0.244, abs=0.06)
    assert abs(s2[("x1", "x2")]) < 0.06 and abs(s2[("x2", "x3")]) < 0.06
    write_result(res, tmp_path, charts=False)
    assert set(pd.read_csv(tmp_path / "sobol_s2.csv").columns) == {"output", "parameter", "other", "S2", "S2_conf"}


# -- Morris ------------------------------------------------------------------------------------
def test_morris_ranks_the_inert_parameter_last_and_sees_the_nonlinear_one():
    problem = Problem.uniform({"x1": (0.0, 1.0), "x2": (0.0, 1.0), "x3": (0.0, 1.0)})
    res = morris(problem, with_inert, ["y"], trajectories=30, levels=4, n_jobs=1, progress=False,
                 resamples=100)
    t = res.indices.set_index("parameter")
    assert list(res.indices.sort_values("rank")["parameter"])[-1] == "x3"
    assert t.loc["x3", "mu_star"] == 0 and t.loc["x3", "sigma"] == 0
    # a linear effect over the full range: |EE| = 3 everywhere; the quadratic one varies
    assert t.loc["x1", "mu_star"] == pytest.approx(3.0) and t.loc["x1", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert t.loc["x2", "sigma"] > 0.5
    assert res.settings["runs"] == 30 * 4


# -- keys and ranges ---------------------------------------------------------------------------
def test_close_matches_find_reordered_words():
    keys = ["net_municipal_dkk", "municipal_cost_dkk", "citizens_started", "volunteer_burnouts"]
    assert close_matches("municipal_net_dkk", keys)[0] == "net_municipal_dkk"
    assert close_matches("volunteer_burnout", keys)[0] == "volunteer_burnouts"


def test_model_problem_takes_chosen_keys_bounds_and_distributions(make_params):
    params = make_params("+experiment=sobol", "experiment.bounds={volunteers.burnout_threshold:[0.5,0.9]}",
                         "experiment.parameters=[volunteers.burnout_threshold,volunteers.supervision_buffer]")
    params.uncertainty.parameters = {"volunteers.supervision_buffer": DistParams(
        dist="triangular", lo=0.0, mode=0.4, hi=0.7, source="test")}
    problem = model_problem(params, params.experiment)
    assert problem.names == ["volunteers.burnout_threshold", "volunteers.supervision_buffer"]
    x = problem.values(np.array([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]]))
    assert x[:, 0] == pytest.approx([0.5, 0.7, 0.9])
    # triangular median: F(mode) = 0.4/0.7 > 0.5, so it lies left of the mode, at sqrt(0.5 x 0.7 x 0.4)
    assert x[:, 1] == pytest.approx([0.0, math.sqrt(0.5 * 0.7 * 0.4), 0.7], abs=1e-6)


@pytest.fixture
def no_design_runs(monkeypatch):
    import peersim.experiments._runner as runner

    monkeypatch.setattr(runner, "run_many", lambda *a, **k: pytest.fail("the design ran"))
    monkeypatch.setattr(runner, "run_many_timed", lambda *a, **k: pytest.fail("the design ran"))


@pytest.mark.parametrize(("overrides", "must_name"), [
    (["experiment.parameters=[volunteers.burnout_treshold]"], "did you mean volunteers.burnout_threshold"),
    (["experiment.outputs=[municipal_net_dkk]"], "did you mean net_municipal_dkk"),
    (["experiment.base_samples=100"], "power of 2"),
    # an option of another experiment: the message lists this experiment's own options
    (["experiment.trajectories=5"], "allowed keys in experiment (experiment=sobol): parameters,"),
])
def test_bad_keys_on_the_command_line_fail_with_one_line_before_any_run(overrides, must_name, tmp_path,
                                                                         no_design_runs):
    with pytest.raises(ConfigError) as err:
        run_experiment("sobol", ["years=1", *overrides], tmp_path)
    msg = str(err.value)
    assert must_name in msg and "\n" not in msg, msg
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("settings", "must_name"), [
    ({"parameters": ["coordinator.fte"]}, "'coordinator.fte' has no range; list it in conf/uncertainty"),
    ({"parameters": ["volunteers.supervision_bufer"]}, "did you mean volunteers.supervision_buffer"),
    ({"outputs": ["scenario"]}, "'scenario' is not numeric"),
    ({"outputs": ["citizens_started", "citizens_start"]},
     "unknown output 'citizens_start'; did you mean citizens_started"),
    ({"bounds": {"volunteers.supervision_buffer": [0.5, 1.5]}},
     "experiment.bounds.volunteers.supervision_buffer: volunteers.supervision_buffer must be between 0.0 and 1.0"),
    ({"bounds": {"volunteers.burnout": [0.5, 0.9]}}, "'volunteers.burnout' is not a numeric parameter"),
    ({"bounds": {"volunteers.supervision_buffer": [0.5, 0.1]}}, "must be [lo, hi] with numbers lo < hi"),
])
def test_bad_settings_fail_with_one_line_before_any_run(settings, must_name, make_params, tmp_path, no_design_runs):
    from peersim.params import validate

    params = make_params("+experiment=sobol", "years=1")
    params.uncertainty.parameters = {"volunteers.supervision_buffer": DistParams(
        dist="triangular", lo=0.0, mode=0.4, hi=0.7, source="test")}
    for key, value in settings.items():
        setattr(params.experiment, key, value)
    with pytest.raises(ConfigError) as err:
        run_sobol(validate(params), [], tmp_path)
    msg = str(err.value)
    assert must_name in msg and "\n" not in msg, msg
    assert not list(tmp_path.iterdir())


def test_morris_levels_must_be_even(tmp_path):
    with pytest.raises(ConfigError, match="experiment.levels must be even"):
        run_experiment("morris", ["experiment.levels=5"], tmp_path)


def test_a_sampled_value_out_of_range_stops_before_the_runs(make_params):
    params = make_params("years=1")
    params.uncertainty.parameters = {}
    fn = ModelEvaluation(params, {"volunteers.supervision_buffer": True})  # multiplier: 0.4 x 3 > 1
    problem = Problem([Parameter("volunteers.supervision_buffer", DistParams(lo=0.5, hi=3.0, relative=True))])
    with pytest.raises(ConfigError, match="supervision_buffer must be between 0.0 and 1.0.*sampled value"):
        sobol(problem, fn, ["citizens_started"], base_samples=8, n_jobs=1, progress=False)


# -- the real model, end to end ----------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_sobol(tmp_path_factory):
    out = tmp_path_factory.mktemp("sobol")
    overrides = ["years=1", "seed=3", "experiment.base_samples=4", "experiment.replications_per_point=2",
                 "experiment.bootstrap_resamples=50", "experiment.n_jobs=2",
                 "experiment.bounds={volunteers.burnout_threshold:[0.5,0.9],coordinator.fte:[0.5,1.5]}",
                 "experiment.parameters=[volunteers.burnout_threshold,coordinator.fte]",
                 "experiment.outputs=[net_municipal_dkk,citizens_started,volunteer_burnouts]"]
    result = run_experiment("sobol", overrides, out)
    return out, result


def test_tiny_model_sobol_writes_tables_charts_and_report(tiny_sobol):
    out, res = tiny_sobol
    ind = pd.read_parquet(out / "sobol_indices.parquet")
    assert list(ind.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "S1_seed_se",
                                 "ST_seed_se", "rank", "verdict", "precise"]
    assert len(ind) == 3 * 2 and set(ind["parameter"]) == {"volunteers.burnout_threshold", "coordinator.fte"}
    assert pd.read_csv(out / "sobol_indices.csv").shape == ind.shape
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 4 * (2 + 2) * 2 and set(samples["seed"]) == {3, 4}
    assert samples["coordinator.fte"].between(0.5, 1.5).all()
    assert samples["u:coordinator.fte"].between(0, 1).all()
    for k in res.outputs:
        if k not in res.notes:
            assert (out / f"sobol_{k}.png").stat().st_size > 10_000
    md = (out / "sensitivity.md").read_text()
    assert "## net_municipal_dkk" in md and "32 model runs" in md
    design = json.loads((out / "sensitivity.json").read_text())
    assert design["runs"] == 32 and design["seeds"] == [3, 4]


def test_tiny_model_sobol_reanalysis_from_samples_gives_the_same_indices(tiny_sobol):
    """The samples table is enough to redo the analysis (the recipe in sensitivity.md)."""
    from SALib.analyze import sobol as sa

    out, res = tiny_sobol
    s = pd.read_parquet(out / "samples.parquet")
    y = s.groupby("point")["citizens_started"].mean().to_numpy()
    names = ["volunteers.burnout_threshold", "coordinator.fte"]
    si = sa.analyze({"num_vars": 2, "names": names, "bounds": [[0, 1]] * 2}, y, calc_second_order=False,
                    num_resamples=10, seed=0)
    t = res.indices[res.indices["output"] == "citizens_started"].set_index("parameter").loc[names]
    assert t["ST"].to_numpy() == pytest.approx(si["ST"]) and t["S1"].to_numpy() == pytest.approx(si["S1"])


def test_reanalyse_redoes_the_analysis_from_the_folder(tiny_sobol, tmp_path):
    """reanalyse() rebuilds the indices from samples and sensitivity.json without running the model;
    a lower confidence level gives the same indices with narrower intervals."""
    import shutil

    out, res = tiny_sobol
    copy_dir = tmp_path / "copy"
    shutil.copytree(out, copy_dir)
    again = reanalyse(copy_dir, conf_level=0.5, charts=False)
    before = res.indices.set_index(["output", "parameter"])
    after = pd.read_parquet(copy_dir / "sobol_indices.parquet").set_index(["output", "parameter"])
    assert after["ST"].to_numpy() == pytest.approx(before["ST"].to_numpy(), nan_ok=True)
    both = before[["ST_conf"]].join(after[["ST_conf"]].rename(columns={"ST_conf": "after"}))
    both = both[both["ST_conf"] > 1e-6]  # (an index that is exactly 0 has a zero-width interval)
    assert len(both) and (both["after"] < both["ST_conf"]).all(), both
    assert again.settings["conf_level"] == 0.5 and "50% CI" in (copy_dir / "sensitivity.md").read_text()
    assert json.loads((copy_dir / "sensitivity.json").read_text())["conf_level"] == 0.5


def test_reanalyse_reads_danish_csv_samples(tiny_sobol, tmp_path):
    """A folder written with ``output.csv_locale=da`` and no Parquet is reanalysed from its
    semicolon-separated samples and keeps writing them that way."""
    from peersim.io import TableFormats

    _, res = tiny_sobol
    write_result(res, tmp_path, output=TableFormats(parquet=False, csv=True, csv_locale="da"), charts=False)
    assert (tmp_path / "samples.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    again = reanalyse(tmp_path, charts=False)
    assert again.indices["ST"].to_numpy() == pytest.approx(res.indices["ST"].to_numpy(), nan_ok=True)
    header = (tmp_path / "sobol_indices.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert ";" in header and "," not in header


def test_bootstrap_intervals_are_reproducible_with_sample_seed_0():
    """The confidence intervals do not depend on numpy's global random state."""
    problem = Problem.uniform({"x1": (-math.pi, math.pi), "x2": (-math.pi, math.pi), "x3": (-math.pi, math.pi)})
    runs = []
    for state in (1, 2):
        np.random.seed(state)
        runs.append(sobol(problem, ishigami, ["y"], base_samples=64, sample_seed=0, n_jobs=1, progress=False,
                          resamples=50).indices)
    pd.testing.assert_frame_equal(runs[0], runs[1])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cpu_seconds_count_the_worker_processes(n_jobs):
    """The cost figure is the runs' CPU time wherever they ran: pool workers are children of the
    fork server, so the experiment's own RUSAGE_CHILDREN never saw them (2 workers reported 0.001
    CPU-seconds per run where 1 process reported 0.047)."""
    problem = Problem.uniform({"a": (0.0, 1.0), "b": (0.0, 1.0)})
    res = sobol(problem, busy, ["y"], base_samples=8, seeds=[0], n_jobs=n_jobs, progress=False, resamples=10)
    s = res.settings
    assert s["runs"] == 8 * 4 and s["n_jobs"] == n_jobs
    per_run = s["cpu_seconds"] / s["runs"]
    assert BUSY_CPU_SECONDS <= per_run < 3 * BUSY_CPU_SECONDS, s


def test_tiny_model_sobol_cpu_per_run_matches_one_run_in_this_process(tiny_sobol):
    """With 2 workers, sensitivity.md's CPU-seconds per run is about what one run costs here."""
    import time

    out, res = tiny_sobol
    design = json.loads((out / "sensitivity.json").read_text())
    assert {"seconds", "cpu_seconds", "n_jobs", "runs"} <= set(design) and design["n_jobs"] == 2
    fn = ModelEvaluation(load_config(["years=1", "seed=3"]), {})
    values = {"volunteers.burnout_threshold": 0.7, "coordinator.fte": 1.0}
    fn(values, 3)  # warm up
    c0 = time.process_time()
    for seed in (3, 4, 5):
        fn(values, seed)
    here = (time.process_time() - c0) / 3
    per_run = design["cpu_seconds"] / design["runs"]
    assert 0.4 * here < per_run < 4 * here, (per_run, here)
    md = (out / "sensitivity.md").read_text()
    assert f"{per_run:.3f} CPU-seconds per run" in md


def test_same_seed_same_indices(tiny_sobol, tmp_path):
    """Rerunning the design point by point in one process reproduces the pooled runs exactly."""
    out, res = tiny_sobol
    s = pd.read_parquet(out / "samples.parquet")
    fn = ModelEvaluation(load_config(["years=1", "seed=3"]), {})
    row = s.iloc[5]
    again = fn({"volunteers.burnout_threshold": row["volunteers.burnout_threshold"],
                "coordinator.fte": row["coordinator.fte"]}, int(row["seed"]))
    assert again["citizens_started"] == row["citizens_started"]
    assert again["net_municipal_dkk"] == pytest.approx(row["net_municipal_dkk"])


@pytest.mark.slow
def test_tiny_model_morris_runs_end_to_end(tmp_path):
    overrides = ["years=1", "experiment.trajectories=4", "experiment.bootstrap_resamples=50",
                 "experiment.bounds={volunteers.burnout_threshold:[0.5,0.9],coordinator.fte:[0.5,1.5]}",
                 "experiment.parameters=[volunteers.burnout_threshold,coordinator.fte]"]
    res = run_experiment("morris", overrides, tmp_path)
    ind = pd.read_csv(tmp_path / "morris_indices.csv")
    assert {"mu", "mu_star", "mu_star_conf", "sigma"} <= set(ind.columns)
    assert len(pd.read_parquet(tmp_path / "samples.parquet")) == 4 * 3 * 2
    assert (tmp_path / "morris_citizens_started.png").is_file() and (tmp_path / "sensitivity.md").is_file()
    assert res.settings["runs"] == 24


@pytest.mark.parametrize("name", ["sobol", "morris"])
def test_the_progress_line_can_be_switched_off(name, make_params):
    from peersim import load_config

    assert load_config([f"+experiment={name}"]).experiment.progress is True
    assert load_config([f"+experiment={name}", "experiment.progress=false"]).experiment.progress is False


# -- the package -------------------------------------------------------------------------------
def test_the_package_keeps_its_public_names_and_experiments():
    """``peersim.experiments.sensitivity`` still offers what the README and reports name
    (``reanalyse``, ``sobol``, ``Problem``, ...), and the experiments package finds both experiments."""
    import peersim.experiments.sensitivity as sens
    from peersim.experiments import all_experiments

    assert {"Problem", "Parameter", "sobol", "morris", "reanalyse", "write_result", "ModelEvaluation",
            "model_problem", "run_sobol", "run_morris", "close_matches", "EXPERIMENTS"} <= set(sens.__all__)
    assert all(hasattr(sens, name) for name in sens.__all__)
    found = all_experiments()
    assert found["sobol"].schema is sens.SobolExperiment and found["morris"].run is sens.run_morris


def test_the_modules_import_each_other_without_cycles():
    """Each module imports its siblings directly (never the package, whose ``__init__`` imports
    them all), function-level imports included, and the sibling imports form no cycle."""
    import ast
    from graphlib import TopologicalSorter
    from pathlib import Path

    import peersim.experiments.sensitivity as sens

    package = sens.__name__
    folder = Path(sens.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        if path.stem == "__init__":
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        assert package not in imported, f"{path.name} imports the package {package} itself"
        graph[path.stem] = {m.rsplit(".", 1)[1] for m in imported if m.rsplit(".", 1)[0] == package}
    assert len(graph) >= 8
    tuple(TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
