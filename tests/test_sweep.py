"""Sweeps: the aggregate table, resume, failures and the launchers (peersim.sweep).

The command lines run as a user runs them (subprocesses, each in its own working directory),
started side by side when the module's first test needs them: a three-job sweep on the default
launcher (peersim's) with one job made to fail, then the same sweep resumed into the same folder; an
unknown launcher; and (slow: a fresh Python process per job) a sweep through submitit_local. The
rest are checks of the table, the folder names and the job wrapper without Hydra's launchers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import Cli, CliRuns, start_cli

from peersim import sweep
from peersim.config import config_hash

YEARS = "years=1"  # short runs: these tests check the plumbing, not the model


def sweep_args(*extra: str) -> list[str]:
    return ["-m", YEARS, "hydra.sweep.dir=sw", *extra]


# A sweep of three seeds on the default launcher (peersim's) in which the second job fails: its
# folder holds a directory where the run writes its time series table, so writing its outputs
# fails (as a full disk or a read-only folder would). It is then resumed (``resumed``) after the
# obstacle is gone and the third job's summary.json was deleted: only those two jobs run again.
SEEDS = ["scenario=partnership", "seed=1,2,3"]
JOB = "scenario=partnership,seed={},years=1"
FAILING, DELETED, KEPT = JOB.format(2), JOB.format(3), JOB.format(1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> CliRuns:
    root = tmp_path_factory.mktemp("sweeps")
    (root / "default" / "sw" / FAILING / "timeseries.parquet").mkdir(parents=True)
    launcher = CliRuns(root, {
        "default": sweep_args(*SEEDS),
        "unknown_launcher": sweep_args("seed=1,2", "hydra/launcher=slurm_typo"),
        "submitit_local": sweep_args("scenario=local_coordinator,partnership", "seed=1", "output.charts=true",
                                     "hydra/launcher=submitit_local"),
    })
    launcher.start("default", "unknown_launcher")  # independent: side by side
    yield launcher
    launcher.close()


@pytest.fixture(scope="module")
def resumed(runs) -> tuple[Cli, int]:
    """The default sweep run again into the same folder, once the first run has ended."""
    first = runs["default"]
    first.wait()
    folder = first.cwd / "sw"
    (folder / FAILING / "timeseries.parquet").rmdir()
    (folder / DELETED / "summary.json").unlink()
    kept = (folder / KEPT / "summary.json").stat().st_mtime_ns
    again = start_cli(sweep_args(*SEEDS, "hydra/launcher=basic"), first.cwd)  # any launcher resumes; basic starts fastest
    again.wait()
    return again, kept


def table(r: Cli) -> pd.DataFrame:
    return pd.read_parquet(r.cwd / "sw" / "sweep_summary.parquet")


def _ran(r: Cli) -> set[str]:
    """Job folders a sweep actually ran (each run prints its outputs folder)."""
    return {Path(line.split("outputs: ", 1)[1]).name for line in r.stdout.splitlines()
            if line.strip().startswith("outputs: ")}


def _skipped(r: Cli) -> set[str]:
    return {line.split("skipped ", 1)[1].split(":", 1)[0] for line in r.stdout.splitlines()
            if line.startswith("peersim: skipped ")}


def _check_rows_match_summaries(df: pd.DataFrame, folder: Path) -> None:
    for job in df.itertuples():
        summary = json.loads((folder / job.job_dir / "summary.json").read_text(encoding="utf-8"))
        row = df[df["job_dir"] == job.job_dir].iloc[0]
        for key, value in summary.items():
            assert key in df.columns, f"summary key {key} missing from the table"
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert row[key] == pytest.approx(value, nan_ok=True), key
            elif value is not None:
                assert row[key] == value, key


# ---------------------------------------------------------------------------------------------
# Through the command line
# ---------------------------------------------------------------------------------------------

def test_a_failed_job_is_reported_and_the_others_are_kept(runs):
    r = runs["default"]
    assert r.returncode == 1, r.output
    df = table(r).set_index("job_dir")
    assert df["status"].to_dict() == {KEPT: "ok", FAILING: "failed", DELETED: "ok"}
    assert df.loc[FAILING, "error"].startswith("IsADirectoryError"), df.loc[FAILING, "error"]
    assert df.loc[KEPT, "citizens_started"] > 0 and pd.isna(df.loc[FAILING, "citizens_started"])
    error_txt = (r.cwd / "sw" / FAILING / "error.txt").read_text(encoding="utf-8")
    assert error_txt.splitlines()[0] == df.loc[FAILING, "error"] and "Traceback" in error_txt
    assert not (r.cwd / "sw" / FAILING / "summary.json").exists()
    assert "1 of 3 jobs did not finish" in r.stderr and FAILING in r.stderr, r.output


def test_resume_skips_finished_jobs_and_reruns_only_the_unfinished(resumed):
    again, kept = resumed
    assert again.returncode == 0, again.output
    assert _ran(again) == {FAILING, DELETED}
    assert _skipped(again) == {KEPT}
    folder = again.cwd / "sw"
    assert (folder / KEPT / "summary.json").stat().st_mtime_ns == kept, "a finished job was re-run"
    assert not (folder / FAILING / "error.txt").exists(), "the earlier failure was left behind"
    df = table(again).set_index("job_dir")
    assert df["status"].to_dict() == {KEPT: "ok", FAILING: "ok", DELETED: "ok"}
    assert df["skipped"].to_dict() == {KEPT: True, FAILING: False, DELETED: False}
    assert "3 jobs: 3 ok (1 skipped: already done)" in again.stdout


def _check_table(r: Cli, jobs: list[str]) -> pd.DataFrame:
    assert r.returncode == 0, r.output
    df = table(r)
    assert df["job_dir"].tolist() == jobs and (df["status"] == "ok").all()
    assert df["job_num"].tolist() == list(range(len(jobs)))
    assert df["seed"].dtype.kind == "i" and df["years"].dtype.kind == "i"  # overrides, typed
    assert df["scenario"].map(type).eq(str).all()
    _check_rows_match_summaries(df, r.cwd / "sw")
    csv = pd.read_csv(r.cwd / "sw" / "sweep_summary.csv")
    assert csv.shape == df.shape and list(csv.columns) == list(df.columns)
    return df


def test_the_table_has_one_typed_row_per_job_and_every_summary_key(resumed):
    df = _check_table(resumed[0], [JOB.format(s) for s in (1, 2, 3)])
    assert df["seed"].tolist() == [1, 2, 3]
    assert (resumed[0].cwd / "sw" / "sweep_chart_seeds.png").read_bytes()[:4] == b"\x89PNG"


def test_jobs_in_a_sweep_write_no_per_run_charts_unless_asked(resumed):
    plain = resumed[0].cwd / "sw"
    assert len(list(plain.glob("*/summary.json"))) == 3
    assert not list(plain.glob("*/chart_*.png")), "per-run charts written inside a sweep"


@pytest.mark.slow
def test_a_tiny_sweep_through_submitit_local_completes(runs):
    r = runs["submitit_local"]
    _check_table(r, ["scenario=local_coordinator,seed=1,years=1", "scenario=partnership,seed=1,years=1"])
    asked = r.cwd / "sw"
    assert len({p.parent for p in asked.glob("*/chart_*.png")}) == 2, "output.charts=true gave no charts"


def test_an_unknown_launcher_stops_with_one_line(runs):
    r = runs["unknown_launcher"]
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("peersim: error: hydra/launcher=slurm_typo"), r.output
    assert " peersim," in lines[0] and "joblib" in lines[0] and "submitit_slurm" in lines[0]
    assert list(r.cwd.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# Without launchers
# ---------------------------------------------------------------------------------------------

def test_job_folder_names_are_safe_stable_and_unique():
    assert sweep.job_subdir("") == "default"
    assert sweep.job_subdir("seed=3,scenario=partnership") == "seed=3,scenario=partnership"
    assert "/" not in sweep.job_subdir("municipality.name=a/b")
    long_a = ",".join(f"coordinator.key_{i}=0.{i}" for i in range(40))
    long_b = long_a.replace("key_39=0.39", "key_39=0.38")
    a, b = sweep.job_subdir(long_a), sweep.job_subdir(long_b)
    assert len(a.encode()) <= sweep.MAX_NAME_BYTES and a != b and a == sweep.job_subdir(long_a)


def test_overrides_become_typed_values():
    typed = sweep.typed_overrides(["seed=3", "volunteers.burnout_threshold=0.6", "scenario=partnership",
                                   "+output.charts=true", "shared_with=[helsingor]", "~years"])
    assert typed == {"seed": 3, "volunteers.burnout_threshold": 0.6, "scenario": "partnership",
                     "output.charts": True, "shared_with": "[helsingor]"}
    assert type(typed["seed"]) is int and type(typed["volunteers.burnout_threshold"]) is float


def _fake_job(sweep_dir: Path, name: str, num: int, overrides: list[str], summary: dict | None,
              error: str | None = None) -> None:
    d = sweep_dir / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides), encoding="utf-8")
    (d / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {num}\n", encoding="utf-8")
    if summary is not None:
        (d / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if error is not None:
        (d / "error.txt").write_text(f"{error}\n\nTraceback ...\n", encoding="utf-8")


def test_gather_types_columns_and_marks_every_status(tmp_path):
    _fake_job(tmp_path, "fte=1,seed=0", 1, ["seed=0", "coordinator.fte=1"], {"citizens_started": 10, "x": 1.5})
    _fake_job(tmp_path, "fte=0.5,seed=0", 0, ["seed=0", "coordinator.fte=0.5"], {"citizens_started": 7, "x": 2})
    _fake_job(tmp_path, "fte=2,seed=0", 2, ["seed=0", "coordinator.fte=2"], None, error="ValueError: boom")
    _fake_job(tmp_path, "fte=3,seed=0", 3, ["seed=0", "coordinator.fte=3"], None)
    df = sweep.gather(tmp_path)
    assert df["job_num"].tolist() == [0, 1, 2, 3]
    assert df["status"].tolist() == ["ok", "ok", "failed", "incomplete"]
    assert df["error"].tolist()[2] == "ValueError: boom"
    assert df["coordinator.fte"].dtype == float and df["coordinator.fte"].tolist() == [0.5, 1, 2, 3]
    assert df["seed"].dtype.kind == "i"
    assert df["citizens_started"].tolist()[:2] == [7, 10] and df["citizens_started"].isna().tolist()[2:] == [True] * 2
    assert df["x"].dtype == float
    assert df.attrs["overrides"] == ["seed", "coordinator.fte"]
    assert sweep.swept_keys(df) == ["coordinator.fte"]
    paths = sweep.write_table(tmp_path, df)
    back = pd.read_parquet(paths[1])
    assert back["status"].tolist() == df["status"].tolist()


def test_the_sweep_table_follows_the_sweeps_csv_locale(tmp_path):
    """A sweep with ``output.csv_locale=da`` (in its multirun.yaml) gathers into a Danish CSV."""
    from peersim.tables import read_csv

    _fake_job(tmp_path, "seed=0", 0, ["seed=0"], {"citizens_started": 7, "x": 1.5})
    assert sweep.csv_locale_of(tmp_path) == "en"  # no multirun.yaml: pandas' defaults
    (tmp_path / "multirun.yaml").write_text("output:\n  csv_locale: da\n", encoding="utf-8")
    assert sweep.csv_locale_of(tmp_path) == "da"
    csv_path = sweep.write_table(tmp_path, sweep.gather(tmp_path))[0]
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.split(b"\n")[0] and b"1,5" in raw
    assert read_csv(csv_path, "da")["x"].tolist() == [1.5]


def test_finish_reports_failures_and_writes_the_table(tmp_path, capsys):
    _fake_job(tmp_path, "seed=0", 0, ["seed=0"], {"citizens_started": 7})
    _fake_job(tmp_path, "seed=1", 1, ["seed=1"], None, error="RuntimeError: no")
    report = sweep.finish(tmp_path)
    assert report.failed and report.counts == {"ok": 1, "failed": 1}
    assert (tmp_path / "sweep_summary.csv").is_file() and (tmp_path / "sweep_summary.parquet").is_file()
    err = capsys.readouterr().err
    assert "1 of 2 jobs did not finish" in err and "seed=1: RuntimeError: no" in err
    assert sweep.main([str(tmp_path)]) == 1


def test_python_m_peersim_sweep_rebuilds_a_sweeps_table(tmp_path):
    """``python -m peersim.sweep <folder>`` (the package's __main__) gathers a folder by hand."""
    import subprocess
    import sys

    _fake_job(tmp_path, "seed=0", 0, ["seed=0"], {"citizens_started": 7})
    _fake_job(tmp_path, "seed=1", 1, ["seed=1"], None, error="RuntimeError: no")
    r = subprocess.run([sys.executable, "-m", "peersim.sweep", str(tmp_path), str(tmp_path / "nowhere")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr  # a missing folder outranks a failed job
    assert "no sweep folder" in r.stderr and "seed=1: RuntimeError: no" in r.stderr
    assert pd.read_parquet(tmp_path / "sweep_summary.parquet")["status"].tolist() == ["ok", "failed"]

def test_run_job_records_a_failure_instead_of_raising(tmp_path, make_params, capsys):
    params = make_params(YEARS)

    def boom(p, out, overrides):
        raise RuntimeError("the model broke")

    assert sweep.run_job(tmp_path, lambda: params, ["seed=0"], boom) == "failed"
    text = (tmp_path / "error.txt").read_text(encoding="utf-8")
    assert text.startswith("RuntimeError: the model broke") and "Traceback" in text
    assert "the model broke" in capsys.readouterr().err


def test_run_job_skips_a_job_done_with_the_same_configuration(tmp_path, make_params):
    seen = []

    def record(p, out, overrides):
        seen.append(p.output.charts)
        (out / "summary.json").write_text(json.dumps({"config_hash": config_hash(p)}), encoding="utf-8")

    assert sweep.run_job(tmp_path, lambda: make_params(YEARS), [YEARS], record) == "ok"
    assert seen == [False], "per-run charts stayed on inside a sweep"
    assert sweep.run_job(tmp_path, lambda: make_params(YEARS), [YEARS], record) == "skipped"
    assert len(seen) == 1 and (tmp_path / sweep.SKIPPED).exists()
    # another configuration in the same folder runs (and clears what the earlier one left)
    assert sweep.run_job(tmp_path, lambda: make_params(YEARS, seed=5), [YEARS], record) == "ok"
    assert len(seen) == 2 and not (tmp_path / sweep.SKIPPED).exists()
    # charts on when the command line says so
    assert sweep.run_job(tmp_path, lambda: make_params(YEARS, "output.charts=true"),
                         [YEARS, "output.charts=true"], record) == "ok"
    assert seen[-1] is True


def test_jobs_of_the_last_sweep_without_a_folder_are_missing(tmp_path):
    """A job that never started (e.g. a cluster job that never ran) is a row of its own, found
    from the sweep's multirun.yaml as Hydra's basic sweeper expands it."""
    (tmp_path / "multirun.yaml").write_text(
        "hydra:\n"
        "  sweeper: {_target_: hydra._internal.core_plugins.basic_sweeper.BasicSweeper, params: null}\n"
        "  sweep: {dir: x, subdir: '${peersim_subdir:${hydra.job.override_dirname}}'}\n"
        "  overrides: {task: ['seed=0,1', 'years=1', 'output.charts=true']}\n"
        "  job: {config: {override_dirname: {kv_sep: '=', item_sep: ',', exclude_keys: [output.charts]}}}\n",
        encoding="utf-8")
    _fake_job(tmp_path, "seed=0,years=1", 0, ["seed=0", "years=1", "output.charts=true"], {"citizens_started": 7})
    assert [name for name, _ in sweep.expected_jobs(tmp_path)] == ["seed=0,years=1", "seed=1,years=1"]
    df = sweep.gather(tmp_path)
    assert df[["job_num", "job_dir", "status", "seed"]].values.tolist() == [
        [0, "seed=0,years=1", "ok", 0], [1, "seed=1,years=1", "missing", 1]]
    report = sweep.finish(tmp_path, quiet=True)
    assert report.failed and report.counts == {"ok": 1, "missing": 1}
