"""Refusals, faults and interrupts (docs/reliability.md): one line naming the key or path and what
to do, never a traceback; Ctrl-C stops within seconds; no worker outlives the command.

The command lines run as a user runs them (a subprocess in its own working directory), side by
side; the Python API's cases run in this process.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import CliRuns, cli_env

import peersim
from peersim import ConfigError
from peersim.cli_errors import stop_line
from peersim.lifeline import Interrupted
from peersim.refusals import os_error_line

LARGEST_SEED = 2**63 - 1


def _setup(root: Path) -> dict[str, Path]:
    broken = root / "broken_yaml"
    (broken / "calibrated").mkdir(parents=True)
    (broken / "calibrated" / "bad.yaml").write_text("seed: [1, 2\nfoo: : :\n", encoding="utf-8")
    shadow = root / "shadow"
    shadow.mkdir()
    (shadow / "config.yaml").write_text("seed: 3\n", encoding="utf-8")
    own = root / "own"
    own.mkdir()
    (own / "plain.yaml").write_text("seed: 4\n", encoding="utf-8")
    (own / "mine.yaml").write_text("defaults:\n  - config\n  - _self_\nseed: 4\nyears: 1\noutput:\n  charts: false\n",
                                   encoding="utf-8")
    return {"broken": broken, "shadow": shadow, "own": own}


# name -> (command line, exit code, words the one line must hold); {broken} etc. are folders of _setup
CASES = {
    "unwritable_run_folder": (["years=1", "hydra.run.dir=/proc/peersim_x/run"], 1, ["/proc/peersim_x", "hydra.run.dir"]),
    "broken_yaml": (["--config-dir", "{broken}", "+calibrated=bad", "years=1"], 2, ["bad.yaml", "line 2"]),
    "config_yaml_in_config_dir": (["--config-dir", "{shadow}", "years=1"], 2, ["config.yaml", "ignored"]),
    "config_name_without_schema": (["--config-dir", "{own}", "--config-name", "plain"], 2, ["defaults: [config"]),
    "config_name_without_schema_and_override": (["--config-dir", "{own}", "--config-name", "plain", "years=1"], 2,
                                                ["years", "defaults: [config"]),
    "missing_config_dir": (["--config-dir", "{own}/nope", "years=1"], 2, ["does not exist"]),
    "unquoted_non_ascii_path": (["years=1", "hydra.run.dir=outputs/København_Ø"], 2, ["quote", "København_Ø"]),
    "override_without_value": (["seed"], 2, ["key=value"]),
    "override_without_key": (["=7"], 2, ["needs a key"]),
    "config_dir_without_a_folder": (["years=1", "--config-dir"], 2, ["--config-dir needs a value"]),
    "empty_run_folder": (["years=1", "hydra.run.dir="], 2, ["hydra.run.dir is empty"]),
    "required_key_removed": (["~seed"], 2, ["seed is required"]),
    "list_given_a_text": (["years=1", "shared_with=kolding"], 2, ["shared_with takes a list"]),
    "largest_seed_of_an_experiment": (["experiment=compare_implementations", f"seed={LARGEST_SEED}",
                                       "experiment.replications=5", "years=1"], 2,
                                      [f"seed={LARGEST_SEED}", "experiment.replications=5"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> CliRuns:
    root = tmp_path_factory.mktemp("reliability")
    folders = _setup(root / "given")
    commands = {name: [a.format(**folders) for a in args] for name, (args, _, _) in CASES.items()}
    commands["own_config_name"] = ["--config-dir", str(folders["own"]), "--config-name", "mine",
                                   f"hydra.run.dir={root / 'mine_run'}"]
    launcher = CliRuns(root, commands)
    launcher.start(*commands)
    yield launcher
    launcher.close()


@pytest.mark.parametrize("case", list(CASES))
def test_a_refusal_is_one_line_naming_what_to_change_and_leaves_no_folder(runs, case):
    _, code, words = CASES[case]
    r = runs[case]
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, f"exit code {r.returncode}, stderr:\n{r.stderr[-3000:]}"
    assert len(lines) == 1 and lines[0].startswith("peersim: error:"), f"stderr was:\n{r.stderr[-3000:]}"
    for word in words:
        assert word in lines[0], f"{word!r} not in: {lines[0]}"
    assert list(r.cwd.iterdir()) == [], f"a refused command left {list(r.cwd.iterdir())}"


def test_a_config_name_that_builds_on_peersims_config_runs_with_its_values(runs):
    r = runs["own_config_name"]
    assert r.returncode == 0, r.stderr[-3000:]
    assert "seed 4 | 1 years" in r.stdout


# -- what stopped the command: one line and an exit code --------------------------------------
@pytest.mark.parametrize(("code", "words"), [
    (errno.EACCES, "may write"), (errno.EROFS, "read-only"), (errno.ENOSPC, "disk is full"),
    (errno.ENOTDIR, "is a file")])
def test_a_file_system_error_is_one_line_with_the_path_and_what_to_do(code, words):
    exc = OSError(code, os.strerror(code), "/data/run/summary.json")
    wrapped = RuntimeError("resolver failed")
    wrapped.__cause__ = exc
    line, status = stop_line(wrapped)
    assert status == 1 and "/data/run/summary.json" in line and words in line and "\n" not in line, line


def test_interrupts_say_what_was_kept():
    assert "3 of 10 runs" in stop_line(Interrupted(3, 10), experiment=True)[0]
    assert "finished jobs are kept" in stop_line(KeyboardInterrupt(), multirun=True)[0]
    assert "summary.json" in stop_line(KeyboardInterrupt())[0]
    assert stop_line(KeyboardInterrupt())[1] == 130
    assert stop_line(ZeroDivisionError()) is None  # a bug keeps its traceback


def test_a_full_disk_while_a_run_writes_is_one_line_and_no_traceback(monkeypatch, tmp_path, capsys):
    """Python gets the OSError with its path (RunResult.write); the command prints one line."""
    import peersim.cli
    import peersim.simulate as simulate

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "timeseries.csv"))

    monkeypatch.setattr(simulate, "write_tables", full)
    monkeypatch.setattr(sys, "argv", ["peersim", "years=1", "output.charts=false", f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(SystemExit) as stopped:
        peersim.cli.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 1
    assert len(err) == 1 and "timeseries.csv" in err[0] and "disk is full" in err[0], err


def test_a_read_only_working_directory_is_one_line(monkeypatch, tmp_path, capsys):
    """The default run folder (outputs/...) cannot be made: one line, exit code 1 (as root the
    folder would be writable, so the refusal of the file system is simulated)."""
    import peersim.cli
    import peersim.config

    def refuse(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(peersim.config.os, "makedirs", refuse)
    monkeypatch.setattr(sys, "argv", ["peersim", "years=1", "output.charts=false"])
    with pytest.raises(SystemExit) as stopped:
        peersim.cli.main()
    err = capsys.readouterr().err.strip().splitlines()
    assert stopped.value.code == 1
    assert len(err) == 1 and "read-only" in err[0] and "hydra.run.dir" in err[0], err


# -- the Python API ------------------------------------------------------------------------------
def _experiments():
    import peersim.experiments

    return peersim.experiments


def _with(change):
    params = peersim.load_config(["years=1", "output.charts=false"])
    change(params)
    return params


API_CASES = {
    "load_config(string)": (lambda: peersim.load_config("seed=7"), "['seed=7']"),
    "load_config(config_dirs=string)": (lambda: peersim.load_config([], config_dirs="d"), "config_dirs=['d']"),
    "load_config([7])": (lambda: peersim.load_config([7]), "overrides[0]"),
    "load_config(None)": (lambda: peersim.load_config(None), "list of overrides"),
    "load_config(config_dirs=[7])": (lambda: peersim.load_config([], config_dirs=[7]), "config_dirs[0]"),
    "load_config(missing config dir)": (lambda: peersim.load_config([], config_dirs=["/no/such/dir"]),
                                        "does not exist"),
    "load_config(['seed'])": (lambda: peersim.load_config(["seed"]), "key=value"),
    "run(None)": (lambda: peersim.run(None), "PeersimConfig"),
    "run(string)": (lambda: peersim.run("seed=7"), "list of overrides"),
    "run([7])": (lambda: peersim.run([7]), "overrides[0]"),
    "run(economics=1)": (lambda: peersim.run(["years=1"], economics=1), "economics"),
    "run(a largest seed experiment)": (lambda: peersim.load_config(
        ["experiment=validate", f"seed={LARGEST_SEED - 1}", "experiment.replications=3"]), "experiment.replications=3"),
    "run(experiment parameters)": (lambda: peersim.run(peersim.load_config(["experiment=validate"])),
                                   "run_experiment"),
    "run(infinite value)": (lambda: peersim.run(_with(lambda p: setattr(p.course, "attendance_concentration",
                                                                      float("inf")))), "finite"),
    "load_config(['experiment='])": (lambda: peersim.load_config(["experiment="]), "choose one of"),
    "run_experiment(None)": (lambda: _experiments().run_experiment(None), "name"),
    "run_experiment(overrides=string)": (lambda: _experiments().run_experiment("validate", "seed=1"), "['seed=1']"),
    "run_experiment(outdir=None)": (lambda: _experiments().run_experiment("validate", [], None), "outdir"),
    "run_experiment(outdir=7)": (lambda: _experiments().run_experiment("validate", [], 7), "outdir"),
}


@pytest.mark.parametrize("case", list(API_CASES))
def test_the_api_refuses_wrong_arguments_with_one_line(case):
    call, words = API_CASES[case]
    with pytest.raises(ConfigError) as refused:
        call()
    line = str(refused.value)
    assert words in line and "\n" not in line, line


def test_a_numpy_integer_seed_set_in_python_runs_as_the_same_int():
    import numpy as np

    a = peersim.run(_with(lambda p: setattr(p, "seed", np.int64(3))))
    b = peersim.run(_with(lambda p: setattr(p, "seed", 3)))
    assert a.summary["citizens_referred"] == b.summary["citizens_referred"]


def test_run_result_write_refuses_a_wrong_folder_with_one_line(tmp_path):
    result = peersim.run(["years=1", "output.charts=false"])
    with pytest.raises(ConfigError, match="outdir"):
        result.write(None)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError) as refused:  # Python's own error, with the path
        result.write(tmp_path / "file" / "run")
    assert "file" in str(refused.value)
    with pytest.raises(ConfigError, match="charts"):
        result.write(tmp_path / "ok", charts="yes")


def test_os_error_line_names_the_path():
    line = os_error_line(OSError(errno.EACCES, "Permission denied", "/srv/x"))
    assert line.startswith("cannot write /srv/x: permission denied;"), line


# -- interrupts ----------------------------------------------------------------------------------
EXPERIMENT = ["experiment=compare_implementations", "experiment.replications=400", "experiment.n_jobs=2",
              "output.charts=false", "years=2"]


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen, list[str]]:
    """The command, with its stderr read as it comes (the progress line has no newline)."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "peersim.cli", *args], cwd=cwd, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []

    def read() -> None:
        while chunk := proc.stderr.read(1):
            err.append(chunk)

    threading.Thread(target=read, daemon=True).start()
    return proc, err


def _wait_for(err: list[str], text: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while text not in "".join(err):
        assert proc.poll() is None, f"the command ended early: {''.join(err)[-2000:]}"
        assert time.monotonic() < end, f"no {text!r} on stderr within {timeout} s"
        time.sleep(0.1)


def _left_after(pid: int, seconds: float) -> list[int]:
    """The command's processes still there after waiting up to ``seconds`` for them to end."""
    end = time.monotonic() + seconds
    while (left := _workers_of(pid)) and time.monotonic() < end:
        time.sleep(0.2)
    return left


def _workers_of(pid: int) -> list[int]:
    """Processes that belong to the command ``pid`` (they inherit PEERSIM_COMMAND_PID=pid)."""
    marker = f"PEERSIM_COMMAND_PID={pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != pid:
            try:
                env = (entry / "environ").read_bytes()
                state = (entry / "stat").read_text().split(")")[-1].split()[0]
            except OSError:
                continue
            if marker in env.split(b"\0") and state != "Z":
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc as on Linux")
def test_ctrl_c_stops_an_experiment_within_seconds_with_one_line(tmp_path):
    proc, err = _start(EXPERIMENT, tmp_path)
    _wait_for(err, " runs, ", proc)  # the replications are running
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    took = time.monotonic() - t0
    time.sleep(0.3)  # the reader thread gets the last line
    text = "".join(err)
    assert proc.returncode == 130, text[-3000:]
    assert took < 5, f"Ctrl-C took {took:.1f} s"
    assert "Traceback" not in text, text[-3000:]
    last = text.strip().splitlines()[-1]
    assert last.startswith("peersim: interrupted (Ctrl-C) after ") and "of 1200 runs" in last, last
    assert _left_after(proc.pid, 3) == [], "worker processes outlived the interrupted command by 3 s"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc as on Linux")
def test_no_worker_outlives_a_killed_experiment(tmp_path):
    proc, err = _start(EXPERIMENT, tmp_path)
    _wait_for(err, " runs, ", proc)
    workers = _workers_of(proc.pid)
    assert workers, "no worker processes found to watch"
    proc.kill()
    proc.wait()
    assert _left_after(proc.pid, 5) == [], "workers outlived the killed command by 5 s"


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (a sweep's workers forked from the command carry the
    command's environment as it was at its start, without PEERSIM_COMMAND_PID)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _still_there(pids: list[int], seconds: float) -> list[int]:
    end = time.monotonic() + seconds
    while True:
        left = []
        for p in pids:
            try:
                state = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                left.append(p)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.2)


def _kill_when_workers_run(args: list[str], tmp_path: Path, launcher: list[str], started) -> None:
    proc, err = _start([*args, *launcher], tmp_path / "cwd")
    end = time.monotonic() + 90
    while not started(proc) and time.monotonic() < end:
        assert proc.poll() is None, "".join(err)[-2000:]
        time.sleep(0.05)
    assert proc.poll() is None, "the sweep ended before it could be killed"
    workers = sorted(set(_children(proc.pid)) | set(_workers_of(proc.pid)))
    assert workers, "no worker processes found to watch"
    proc.kill()
    proc.wait()
    assert _still_there(workers, 5) == [], "sweep workers outlived the killed command by 5 s"
    assert _left_after(proc.pid, 5) == [], "sweep workers outlived the killed command by 5 s"


SWEEP_AT_START = ["-m", "years=50", "seed=1,2,3,4", "output.charts=false", "hydra.launcher.n_jobs=2"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc as on Linux")
def test_no_worker_outlives_a_sweep_killed_as_its_workers_start(tmp_path):
    """Workers that never got a job are ended too: peersim's (forked, each watching the command
    from its start: peersim.lifeline.end_with) and joblib's (peersim.lifeline.reap_when_gone)."""
    args = [*SWEEP_AT_START, f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    _kill_when_workers_run(args, tmp_path / "peersim", [], lambda proc: len(_pool_workers(proc.pid)) >= 2)
    _kill_when_workers_run(args, tmp_path / "joblib", ["hydra/launcher=joblib"],
                           lambda proc: any(p != proc.pid for p in _loky_workers(proc.pid)))


def _pool_workers(pid: int) -> list[int]:
    """Children of the command that are Python processes like it (not the reaper's new session)."""
    out = []
    for child in _children(pid):
        try:
            if Path(f"/proc/{child}/cmdline").read_bytes() == Path(f"/proc/{pid}/cmdline").read_bytes():
                out.append(child)
        except OSError:
            continue
    return out


def _loky_workers(pid: int) -> list[int]:
    out = []
    for worker in _workers_of(pid):
        try:
            if b"loky" in Path(f"/proc/{worker}/cmdline").read_bytes():
                out.append(worker)
        except OSError:
            continue
    return out


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc as on Linux")
@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib"]], ids=["peersim", "joblib"])
def test_no_worker_outlives_a_killed_sweep(tmp_path, launcher):
    """The sweep is killed while its jobs run (a joblib worker that never got a job idles until
    joblib's idle timeout ends it: docs/reliability.md)."""
    sweep = tmp_path / "sweep"
    args = ["-m", "years=50", "municipality=copenhagen", "seed=1,2,3,4,5,6,7,8", "output.charts=false",
            "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"]

    def running(proc) -> bool:
        if sweep.is_dir() and any(p.is_dir() for p in sweep.iterdir()):
            time.sleep(1)
            return True
        return False

    _kill_when_workers_run(args, tmp_path, launcher, running)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc as on Linux")
def test_ctrl_c_ends_a_sweeps_workers_and_still_writes_its_table(tmp_path):
    sweep = tmp_path / "sweep"
    proc, err = _start(["-m", "years=50", "municipality=copenhagen", "seed=1,2,3,4,5,6", "output.charts=false",
                        "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"], tmp_path / "cwd")
    end = time.monotonic() + 90
    while len(_pool_workers(proc.pid)) < 2 or not list(sweep.glob("*/.hydra/overrides.yaml")):
        assert proc.poll() is None, "".join(err)[-2000:]
        assert time.monotonic() < end, "no job started within 90 s"
        time.sleep(0.1)
    workers = _pool_workers(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    assert time.monotonic() - t0 < 5, "Ctrl-C took more than 5 s"
    time.sleep(0.3)
    assert proc.returncode == 130, "".join(err)[-3000:]
    assert _still_there(workers, 3) == [], "workers outlived the interrupted sweep by 3 s"
    out = proc.stdout.read()
    assert (sweep / "sweep_summary.csv").is_file(), out[-2000:] + "".join(err)[-3000:]
    assert "peersim sweep stopped early" in out, out[-2000:]
