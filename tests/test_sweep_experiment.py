"""Experiments inside sweeps and in plain scripts: the replications run in-process where a pool
cannot start (a sweep's worker, an unguarded script) with the same results as the pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from peersim.experiments import _runner

BIN = Path(sys.executable).parent
SMALL = ["years=1", "municipality=generic", "municipality.population=5000"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (_runner.SWEEP_WORKER_ENV, "PEERSIM_COMMAND_PID")}
    env.update(extra)
    return env


def test_sweep_worker_variable_is_recognised(monkeypatch):
    monkeypatch.delenv(_runner.SWEEP_WORKER_ENV, raising=False)
    assert not _runner.in_sweep_worker()
    monkeypatch.setenv(_runner.SWEEP_WORKER_ENV, "0")
    assert not _runner.in_sweep_worker()
    monkeypatch.setenv(_runner.SWEEP_WORKER_ENV, "1")
    assert _runner.in_sweep_worker()
    assert _runner.in_process_reason() == "sweep worker"


def test_joblib_worker_is_recognised():
    from joblib import Parallel, delayed

    flags = Parallel(n_jobs=2)(delayed(_runner.in_sweep_worker)() for _ in range(2))
    assert flags == [True, True]


def test_guard_lines_of_a_script(tmp_path):
    script = tmp_path / "s.py"
    script.write_text(textwrap.dedent("""\
        import os
        x = 1
        if __name__ == "__main__":
            y = 2
            z = 3
        if "__main__" == __name__:
            w = 4
        if __name__ != "__main__":
            v = 5
        """), encoding="utf-8")
    assert _runner._guard_lines(str(script)) == [(4, 5), (7, 7)]
    (tmp_path / "bad.py").write_text("def (:\n", encoding="utf-8")
    assert _runner._guard_lines(str(tmp_path / "bad.py")) is None


def test_in_process_rows_equal_the_pools(monkeypatch):
    """Same configurations, same seeds: the in-process rows equal the pool's, in order."""
    from peersim import load_config

    configs = [load_config([*SMALL, f"seed={s}"]) for s in (0, 1, 2)]
    monkeypatch.delenv(_runner.SWEEP_WORKER_ENV, raising=False)
    pooled = _runner.run_many(configs, n_jobs=2, progress=False)
    monkeypatch.setenv(_runner.SWEEP_WORKER_ENV, "1")
    inline = _runner.run_many(configs, n_jobs=2, progress=False)
    assert list(inline["seed"]) == [0, 1, 2]
    assert pooled.drop(columns=["run_seconds"], errors="ignore").equals(
        inline.drop(columns=["run_seconds"], errors="ignore"))




def _script(guarded: bool) -> str:
    body = (f'summary = run_experiment("compare_implementations", {["experiment.replications=2", *SMALL]!r}, "out/")\n'
            'print("NET", summary["arms"]["local_coordinator"]["net_municipal_dkk"]["mean"])\n')
    head = "from peersim.experiments import run_experiment\n"
    if guarded:
        return head + 'if __name__ == "__main__":\n' + textwrap.indent(body, "    ")
    return head + body


@pytest.mark.slow
def test_plain_script_without_guard_runs(tmp_path):
    """`python file.py` without a __main__ guard: runs (in-process, one line says so), and gives
    what the guarded script gives with its pool."""
    results = {}
    for guarded in (False, True):
        folder = tmp_path / ("guarded" if guarded else "plain")
        folder.mkdir()
        (folder / "run.py").write_text(_script(guarded), encoding="utf-8")
        proc = subprocess.run([sys.executable, "run.py"], cwd=folder, capture_output=True, text=True,
                              env=_env(), timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        note = "calls peersim outside an `if __name__" in proc.stderr
        assert note is not guarded, proc.stderr[-2000:]
        results[guarded] = [ln for ln in proc.stdout.splitlines() if ln.startswith("NET ")]
        summary = json.loads((folder / "out" / "comparison_summary.json").read_text(encoding="utf-8"))
        assert summary["n_jobs"] >= 1
    assert results[False] == results[True] and results[False]


def _arms(folder: Path) -> dict:
    return json.loads((folder / "comparison_summary.json").read_text(encoding="utf-8"))["arms"]


@pytest.mark.slow
def test_experiment_inside_a_two_job_sweep(tmp_path):
    """`peersim -m +experiment=compare_implementations seed=0,1` on the default (joblib)
    launcher: both jobs finish, each equals the same experiment run alone (with its pool), and
    the sweep table holds every arm's headline figures."""
    sweep = tmp_path / "sweep"
    args = ["+experiment=compare_implementations", "experiment.replications=2", *SMALL]
    proc = subprocess.run([str(BIN / "peersim"), "-m", *args, "seed=0,1", f"hydra.sweep.dir={sweep}"],
                          cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 jobs: 2 ok" in proc.stdout
    alone = tmp_path / "alone"
    proc = subprocess.run([str(BIN / "peersim"), *args, "seed=1", f"hydra.run.dir={alone}"],
                          cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (job,) = [p for p in sweep.iterdir() if p.is_dir() and "seed=1" in p.name]
    assert _arms(job) == _arms(alone)

    import pandas as pd

    table = pd.read_csv(sweep / "sweep_summary.csv")
    assert list(table["status"]) == ["ok", "ok"]
    for arm, figures in _arms(job).items():
        row = table[table["seed"] == 1].iloc[0]
        assert row[f"{arm}_citizens_started"] == pytest.approx(figures["citizens_started"]["mean"])
        assert row[f"{arm}_net_municipal_dkk"] == pytest.approx(figures["net_municipal_dkk"]["mean"])
        assert row[f"{arm}_net_municipal_budget_dkk"] == pytest.approx(figures["net_municipal_budget_dkk"]["mean"])
    assert (table["replications"] == 2).all()
