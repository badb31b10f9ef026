"""One result per folder, exact resume, bounded sweeps and a table that survives bad job folders
(issue 15: "nothing lost, nothing mixed"; peersim.folders, peersim.sweep).

Fast checks through the Python API and the sweep's functions; the command lines that take
several seconds (a reused run folder end to end, a sweep resumed after its configuration
changed, a sweep killed mid-way and resumed) are marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli_env, start_cli

from peersim import folders, sweep
from peersim.cli import precheck
from peersim.config import config_hash
from peersim.sweep.size import MAX_JOBS_ENV, check_sweep_size, range_ends
from peersim.validation import ConfigError

YEARS = "years=1"
OLD_RUN_FILES = ["chart_trial.png", "trial.csv", "trial.parquet", "cashflow.csv", ".timeseries.csv.a1b2c3d4"]


def _one_line(exc: BaseException, *words: str) -> None:
    text = str(exc)
    assert "\n" not in text and all(w in text for w in words), text


def _stale_run(folder: Path, config_hash: str = "0123456789abcdef") -> None:
    """A folder holding another configuration's finished run, with files the new run would not
    write (a trial's table and chart, economics tables, a killed write's temporary file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in OLD_RUN_FILES:
        (folder / name).write_text("old", encoding="utf-8")
    (folder / "summary.json").write_text(json.dumps({"config_hash": config_hash, "seed": 0}), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# A run folder holds one run (Python API)
# ---------------------------------------------------------------------------------------------

def test_writing_another_run_into_a_folder_is_refused_and_nothing_is_touched(default_run, tmp_path):
    _stale_run(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigError) as err:
        default_run.write(tmp_path, charts=False)
    _one_line(err.value, "outdir", str(tmp_path), "overwrite")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_overwrite_replaces_every_file_of_the_earlier_run(default_run, tmp_path):
    _stale_run(tmp_path)
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")   # not peersim's: kept
    default_run.write(tmp_path, charts=False, overwrite=True)
    names = {p.name for p in tmp_path.iterdir()}
    assert not names & {"chart_trial.png", "trial.csv", "trial.parquet", ".timeseries.csv.a1b2c3d4"}, names
    assert (tmp_path / "cashflow.csv").read_text(encoding="utf-8") != "old"
    assert "notes.txt" in names
    assert folders.stored_hash(tmp_path) == default_run.summary["config_hash"]


def test_the_same_configuration_rewrites_its_folder_and_a_failed_run_is_replaced(default_run, tmp_path):
    default_run.write(tmp_path, charts=False)
    (tmp_path / "chart_volunteers.png").write_text("old", encoding="utf-8")
    default_run.write(tmp_path, charts=False)  # the same run again: allowed, cleared first
    assert not (tmp_path / "chart_volunteers.png").exists()
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "error.txt").write_text("ZeroDivisionError: boom\n", encoding="utf-8")
    (failed / "citizens.csv").write_text("half", encoding="utf-8")
    default_run.write(failed, charts=False)
    assert not (failed / "error.txt").exists() and (failed / "summary.json").is_file()


def test_leftovers_of_an_unfinished_run_are_refused_and_user_files_are_not_results(tmp_path):
    (tmp_path / "README.md").write_text("my notes", encoding="utf-8")
    (tmp_path / ".gitignore").write_text("*", encoding="utf-8")
    folders.check_run_folder(tmp_path, "abc", overwrite=False)  # nothing of peersim's
    (tmp_path / "citizens.parquet").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        folders.check_run_folder(tmp_path, "abc", overwrite=False)
    _one_line(err.value, "hydra.run.dir", "unfinished", "output.overwrite=true")
    assert [p.name for p in folders.result_files(tmp_path)] == ["citizens.parquet"]


def test_an_experiments_result_needs_overwrite(tmp_path):
    (tmp_path / "comparison_summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "calibrated").mkdir()
    with pytest.raises(ConfigError, match="another result"):
        folders.check_run_folder(tmp_path, None, overwrite=False)
    folders.check_run_folder(tmp_path, None, overwrite=True)
    folders.clear_results(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_output_overwrite_is_not_part_of_the_configuration(make_params):
    a, b = make_params(YEARS), make_params(YEARS, "output.overwrite=true")
    assert b.output.overwrite and config_hash(a) == config_hash(b)


# ---------------------------------------------------------------------------------------------
# Resume is exact (a job's folder)
# ---------------------------------------------------------------------------------------------

def test_a_job_that_runs_again_starts_from_an_empty_folder(tmp_path, make_params):
    job = tmp_path / "seed=0"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- seed=0\n", encoding="utf-8")
    (job / "cli.log").write_text("", encoding="utf-8")
    _stale_run(job)
    for name in ("courses.csv", "chart_qpr.png", "error.txt", ".skipped", ".summary.json.zz99yy88"):
        (job / name).write_text("old", encoding="utf-8")
    seen = []

    def record(p, out, overrides):
        seen.append(sorted(x.name for x in out.iterdir()))
        (out / "summary.json").write_text(json.dumps({"config_hash": config_hash(p)}), encoding="utf-8")

    assert sweep.run_job(job, lambda: make_params(YEARS), [YEARS], record) == "ok"
    assert seen == [[".hydra", "cli.log"]]
    assert (job / ".hydra" / "overrides.yaml").is_file()


# ---------------------------------------------------------------------------------------------
# A sweep's size is counted, not expanded
# ---------------------------------------------------------------------------------------------

def _parsed(*overrides: str):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(list(overrides))


def test_a_huge_sweep_is_refused_before_it_is_expanded():
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        precheck(["-m", "seed=range(0,1e9)", "scenario=local_coordinator,partnership"])
    assert time.perf_counter() - t0 < 5, "the sweep was expanded before it was counted"
    _one_line(err.value, "2,000,000,000 jobs", "1,000,000", MAX_JOBS_ENV)


def test_an_empty_range_is_refused_naming_the_override():
    with pytest.raises(ConfigError) as err:
        precheck(["-m", "seed=range(5,0)", YEARS])
    _one_line(err.value, "seed=range(5,0)", "empty")


def test_the_job_limit_can_be_set(monkeypatch):
    monkeypatch.setenv(MAX_JOBS_ENV, "3")
    with pytest.raises(ConfigError, match="4 jobs"):
        check_sweep_size(_parsed("seed=0,1", "scenario=local_coordinator,partnership"))
    assert check_sweep_size(_parsed("seed=0,1,2", YEARS)) == 3
    monkeypatch.setenv(MAX_JOBS_ENV, "many")
    with pytest.raises(ConfigError, match=MAX_JOBS_ENV):
        check_sweep_size(_parsed("seed=0,1"))


@pytest.mark.parametrize("sweep_text", ["range(0,7)", "range(3)", "range(10,0,-3)", "range(0.5,0.81,0.1)",
                                        "range(1,2)", "range(0,1,0.25)"])
def test_a_ranges_ends_and_length_are_computed_as_hydra_lists_them(sweep_text):
    (ov,) = _parsed(f"x={sweep_text}")
    values = list(ov.sweep_string_iterator())
    assert check_sweep_size([ov]) == len(values)
    assert range_ends(ov) == ([values[0]] if len(values) == 1 else [values[0], values[-1]])


# ---------------------------------------------------------------------------------------------
# The sweep table survives bad job folders
# ---------------------------------------------------------------------------------------------

def _job(sweep_dir: Path, name: str, num: int, overrides_yaml: str, summary_text: str | None) -> None:
    d = sweep_dir / name
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(overrides_yaml, encoding="utf-8")
    (d / ".hydra" / "hydra.yaml").write_text(f"hydra:\n  job:\n    num: {num}\n", encoding="utf-8")
    if summary_text is not None:
        (d / "summary.json").write_text(summary_text, encoding="utf-8")


def test_bad_job_folders_are_corrupt_rows_and_the_table_is_written(tmp_path, capsys):
    _job(tmp_path, "seed=0", 0, "- seed=0\n", json.dumps({"citizens_started": 7}))
    _job(tmp_path, "seed=1", 1, "- seed=1\n", "[1, 2]")
    _job(tmp_path, "seed=2", 2, "- [seed=2\n: {", json.dumps({"citizens_started": 9}))
    _job(tmp_path, "seed=3", 3, "seed: 3\n", None)
    _job(tmp_path, "seed=4", 4, "- seed=4\n", "{not json")
    assert sweep.main([str(tmp_path)]) == 1
    df = pd.read_parquet(tmp_path / "sweep_summary.parquet")
    assert df["status"].tolist() == ["ok", "corrupt", "corrupt", "corrupt", "corrupt"]
    assert df["job_num"].tolist() == [0, 1, 2, 3, 4]
    errors = df["error"].tolist()
    assert "summary.json holds a list" in errors[1]
    assert "overrides.yaml" in errors[2] and "overrides.yaml" in errors[3]
    assert "unreadable summary.json" in errors[4]
    assert "4 of 5 jobs did not finish" in capsys.readouterr().err


def test_two_sweeps_into_one_folder_each_count_the_jobs_they_reused(tmp_path, monkeypatch):
    for num, marker in enumerate(["this", "other", None, ""]):
        _job(tmp_path, f"seed={num}", num, f"- seed={num}\n", json.dumps({"citizens_started": 7}))
        if marker is not None:
            (tmp_path / f"seed={num}" / sweep.SKIPPED).write_text(marker, encoding="utf-8")
    monkeypatch.setenv("PEERSIM_SWEEP_RUN_ID", "this")
    assert sweep.finish(tmp_path, quiet=True).skipped == 2  # its own marker, and one without an id
    monkeypatch.delenv("PEERSIM_SWEEP_RUN_ID")
    assert sweep.finish(tmp_path, quiet=True).skipped == 3  # by hand: every marker


# ---------------------------------------------------------------------------------------------
# Through the command line
# ---------------------------------------------------------------------------------------------

def _cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "peersim.cli", *args], cwd=cwd, env=cli_env(),
                          capture_output=True, text=True, timeout=300)


def test_the_command_refuses_a_used_folder_before_hydra_writes_into_it(default_run, tmp_path):
    folder = tmp_path / "x"
    default_run.write(folder, charts=False)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    r = _cli([f"hydra.run.dir={folder}", "seed=5", YEARS, "output.charts=false"], tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "hydra.run.dir" in lines[0] and "output.overwrite=true" in lines[0], r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert not (folder / ".hydra").exists(), "Hydra wrote its provenance into a refused folder"


def test_a_run_folder_named_with_an_interpolation_is_resolved_and_refused_first(default_run, tmp_path):
    """``hydra.run.dir=runs/s${seed}`` names the folder of seed 5's run: it is resolved before
    Hydra starts, so another run's results there are refused before ``.hydra/`` is written."""
    folder = tmp_path / "runs" / "s5"
    default_run.write(folder, charts=False)  # seed 1's results, in the folder seed 5 would use
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    r = _cli(["hydra.run.dir=runs/s${seed}", "seed=5", YEARS, "output.charts=false"], tmp_path)
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "runs/s5" in lines[0] and "output.overwrite=true" in lines[0], r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert not (folder / ".hydra").exists(), "Hydra wrote its provenance into a refused folder"


def test_the_command_refuses_a_huge_sweep_with_one_line_and_makes_no_folder(tmp_path):
    r = _cli(["-m", "seed=range(0,1e9)"], tmp_path)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "1,000,000,000 jobs" in lines[0], r.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], "a sweep folder was made for a refused sweep"


@pytest.mark.slow
def test_a_replaced_run_that_fails_says_so_and_a_fixed_run_replaces_it(default_run, tmp_path):
    folder = tmp_path / "x"
    default_run.write(folder, charts=False)
    (folder / "chart_old.png").write_text("old", encoding="utf-8")
    (folder / "timeseries.parquet").unlink()
    (folder / "timeseries.parquet").mkdir()  # an obstacle: writing the new run's table fails
    r = _cli([f"hydra.run.dir={folder}", "seed=5", YEARS, "output.charts=false", "output.overwrite=true"], tmp_path)
    assert r.returncode != 0
    names = {p.name for p in folder.iterdir()}
    assert "error.txt" in names and "summary.json" not in names, names
    assert not names & {"citizens.csv", "chart_old.png", "cashflow.parquet", "config.json"}, names
    assert (folder / "error.txt").read_text(encoding="utf-8").splitlines()[0].startswith(("IsADirectoryError",
                                                                                           "PermissionError"))
    assert "seed=5" in (folder / ".hydra" / "overrides.yaml").read_text(encoding="utf-8")
    (folder / "timeseries.parquet").rmdir()
    r = _cli([f"hydra.run.dir={folder}", "seed=5", YEARS, "output.csv=false", "output.charts=false"], tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not (folder / "error.txt").exists()
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8"))["seed"] == 5
    assert not list(folder.glob("*.csv"))


# ---------------------------------------------------------------------------------------------
# Sweeps resumed: after a configuration change, after a kill
# ---------------------------------------------------------------------------------------------

def _files(folder: Path) -> dict[str, Path]:
    """A sweep's files by relative path, without Hydra's provenance, logs and the skip markers."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if p.is_dir() or ".hydra" in rel.parts or p.suffix == ".log" or p.name in (".skipped", "multirun.yaml"):
            continue
        out[rel.as_posix()] = p
    return out


def _same_content(a: Path, b: Path) -> None:
    if a.suffix == ".parquet":
        x, y = pd.read_parquet(a), pd.read_parquet(b)
    elif a.suffix == ".csv":
        x, y = pd.read_csv(a), pd.read_csv(b)
    elif a.suffix == ".json":
        assert json.loads(a.read_text(encoding="utf-8")) == json.loads(b.read_text(encoding="utf-8")), a
        return
    else:  # charts: that they are there is compared, not their pixels
        return
    if "skipped" in x.columns:  # the table: which jobs the last run reused differs by design
        x, y = x.drop(columns="skipped"), y.drop(columns="skipped")
    pd.testing.assert_frame_equal(x, y, obj=str(a))


def _same_sweep(resumed: Path, reference: Path) -> None:
    got, want = _files(resumed), _files(reference)
    assert sorted(got) == sorted(want)
    for rel, path in want.items():
        _same_content(got[rel], path)


@pytest.mark.slow
def test_a_sweep_resumed_after_its_configuration_changed_holds_only_the_new_files(tmp_path):
    base = ["-m", "seed=0,1", YEARS, "hydra/launcher=basic", "hydra.sweep.dir=sw"]
    first = start_cli([*base, "output.charts=true"], tmp_path / "a")
    ref = start_cli([*base, "output.csv=false"], tmp_path / "ref")
    assert first.wait()[0] == 0, first.output
    job = tmp_path / "a" / "sw" / "seed=0,years=1"
    assert (job / "courses.csv").is_file() and list(job.glob("chart_*.png"))
    (job / "courses.csv").write_text("old sessions\n", encoding="utf-8")
    (job / ".timeseries.csv.k1ll3d00").write_text("half a table", encoding="utf-8")  # a killed write
    again = start_cli([*base, "output.csv=false"], tmp_path / "a")
    assert again.wait()[0] == 0, again.output
    assert ref.wait()[0] == 0, ref.output
    assert "skipped" not in again.stdout, "a job with a changed configuration was skipped"
    names = {p.name for p in job.iterdir()}
    assert not {n for n in names if n.endswith((".csv", ".png")) or n.startswith(".timeseries")}, names
    _same_sweep(tmp_path / "a" / "sw", tmp_path / "ref" / "sw")


@pytest.mark.slow
def test_a_sweep_killed_mid_way_and_resumed_equals_a_clean_sweep(tmp_path):
    args = ["-m", "years=1,12", "seed=0,1", "output.charts=true", "hydra/launcher=basic", "hydra.sweep.dir=sw"]
    ref = start_cli(args, tmp_path / "ref")
    killed = start_cli(args, tmp_path / "k")
    second = tmp_path / "k" / "sw" / "seed=1,years=1" / "summary.json"
    deadline = time.monotonic() + 240
    while not second.exists() and killed.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(killed.proc.pid, signal.SIGKILL)
    killed.wait()
    sw = tmp_path / "k" / "sw"
    done = {p.parent.name for p in sw.glob("*/summary.json")}
    assert done >= {"seed=0,years=1", "seed=1,years=1"} and "seed=1,years=12" not in done, done
    third = sw / "seed=0,years=12"
    third.mkdir(exist_ok=True)
    (third / ".citizens.parquet.k1ll3d00").write_text("half a table", encoding="utf-8")  # a killed write
    assert not (sw / "sweep_summary.parquet").exists()
    resumed = start_cli(args, tmp_path / "k")
    assert resumed.wait()[0] == 0, resumed.output
    assert ref.wait()[0] == 0, ref.output
    assert "skipped seed=0,years=1" in resumed.stdout and "skipped seed=1,years=1" in resumed.stdout
    assert not (third / ".citizens.parquet.k1ll3d00").exists()
    _same_sweep(sw, tmp_path / "ref" / "sw")
