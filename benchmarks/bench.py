"""peersim benchmark: replications per second on one core, and the whole-process time of `peersim`.

    python benchmarks/bench.py [--reps 40] [--scenario local_coordinator] [--compare-reps 20] [--national] [--json out.json]

Replications are full 5-year runs of the scenario, timed three ways: the simulation with the
citizens' recovery pass; with the result tables; and with tables and economics (no files, no
charts), as an experiment's replication loop does them. Each is the best of three rounds. A
machine reference (pure-Python and small-numpy speed) is printed first, so figures from
different machines can be compared. The process time is `peersim` from the command line
(interpreter start, Hydra, simulation, Parquet/CSV and the PNG charts), median of three.
The comparison experiment (``experiment=compare_implementations``, Fredericia, 5 years, no charts)
is timed end to end on 1 and on 2 worker processes: a replication there is one seed run in every arm.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from peersim import __version__, load_config, run
from peersim.model import PeersimModel


def machine_reference() -> dict:
    """How fast this machine runs Python and small numpy calls, so that figures measured on
    different machines can be compared: seconds for 10 million pure-Python additions, and
    microseconds for one small numpy operation (a 40-element multiply)."""
    import numpy as np

    loops = []
    for _ in range(3):
        t0 = time.perf_counter()
        x = 0
        for i in range(10_000_000):
            x += i
        loops.append(time.perf_counter() - t0)
    a = np.ones(40)
    ops = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(100_000):
            a * 0.5
        ops.append((time.perf_counter() - t0) / 100_000 * 1e6)
    return {"python_loop_seconds": min(loops), "numpy_small_op_us": min(ops)}


def _per_run(fn, params, reps: int, rounds: int = 3) -> float:
    """Seconds per call of ``fn(params)`` over seeds 0..reps-1, the best of ``rounds`` (the
    machine's background load only ever slows a round down)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for seed in range(reps):
            params.seed = seed
            fn(params)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def _simulate(params) -> None:
    model = PeersimModel(params)
    model.run()
    model.timeseries()  # the citizens' recovery pass and the weekly table


def replications_per_second(overrides: list[str], reps: int) -> dict:
    params = load_config(overrides)
    run(params)  # warm-up (imports, caches)
    sim = _per_run(_simulate, params, reps)
    tables = _per_run(lambda p: run(p, economics=False), params, reps)
    full = _per_run(run, params, reps)
    return {"seconds_per_replication": full, "replications_per_second": 1.0 / full,
            "simulation_only_seconds": sim, "simulation_replications_per_second": 1.0 / sim,
            "with_tables_seconds": tables}


def process_time(overrides: list[str]) -> float:
    exe = shutil.which("peersim")
    cmd = [exe] if exe else [sys.executable, "-m", "peersim.cli"]
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(3):
            t0 = time.perf_counter()
            subprocess.run([*cmd, *overrides, f"hydra.run.dir={tmp}/run{i}"], check=True,
                           capture_output=True, cwd=tmp)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def comparison_rate(reps: int, n_jobs: int) -> dict:
    """Replications (one seed through every arm) per second through ``compare_implementations``,
    end to end: composing the arms, the replication loop on ``n_jobs`` processes, the tables."""
    import contextlib
    import io

    from peersim.experiments import run_experiment

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        s = run_experiment("compare_implementations",
                           [f"experiment.replications={reps}", f"experiment.n_jobs={n_jobs}",
                            "output.charts=false", "experiment.progress=false"], tmp)
        wall = time.perf_counter() - t0
    arms = len(s["arms"])
    return {"n_jobs": n_jobs, "replications": reps, "arms": arms, "seconds": wall,
            "replications_per_second": reps / wall, "runs_per_second": reps * arms / wall}


def national_run(years: int = 10) -> dict:
    """One run of a national roll-out: 98 municipalities of 60,000 inhabitants (about the Danish
    total; docs/domain.md, Places), each with its own coordinator, over ``years``."""
    import copy
    import resource

    params = load_config([f"years={years}", "municipality=generic", "municipality.population=60000"])
    extras = []
    for i in range(97):
        m = copy.deepcopy(params.municipality)
        m.name, m.label, m.coordinator_group = f"municipality_{i + 2}", f"Municipality {i + 2}", f"coordinator_{i + 2}"
        extras.append(m)
    params.extra_municipalities = extras
    t0 = time.perf_counter()
    result = run(params)
    seconds = time.perf_counter() - t0
    s = result.summary
    return {"seconds": seconds, "years": years, "municipalities": 98, "citizens_referred": s["citizens_referred"],
            "courses_started": s["courses_started"],
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


_PLAN_RUN = """
import json, resource, sys, time
from peersim import load_config
from peersim.rollout.result import run_plan
params = load_config(sys.argv[1:])
t0, c0 = time.perf_counter(), time.process_time()
s = run_plan(params).summary
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0,
                  "municipalities": s["rollout_municipalities"], "coordinators": s["rollout_coordinators"],
                  "citizens_started": s["rollout_citizens_started"],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def plan_run(overrides: list[str]) -> dict:
    """One roll-out plan (``peersim.rollout.result.run_plan``) in a fresh process: wall and CPU
    time of the plan (not the start-up), and the process's peak memory."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _PLAN_RUN, *overrides], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def rollout_scaling() -> dict:
    """The national plan (10 years); time against the number of municipalities (the largest n,
    each with its own coordinator, all from 2024, 10 years) and against years (national_own)."""
    from peersim import municipalities as M

    largest = [m.cli_name for m in sorted(M.all_municipalities(), key=lambda m: -m.population)]
    by_n = {}
    for n in (10, 25, 50, 98):
        wave = "{year:2024,municipalities:[" + ",".join(largest[:n]) + "]}"
        by_n[n] = plan_run([f"rollout.waves=[{wave}]", "years=10"])
    by_years = {y: plan_run(["rollout=national_own", f"years={y}"]) for y in (5, 10, 20)}
    return {"national_10_years": plan_run(["rollout=national", "years=10"]), "by_municipalities": by_n,
            "by_years": by_years}


def rollout_replications(reps: int, n_jobs: int) -> dict:
    """``experiment=rollout`` with one plan (national, 10 years): ``reps`` replications on ``n_jobs`` cores."""
    import tempfile

    from peersim.experiments import run_experiment

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_experiment("rollout", ["years=10", f"experiment.replications={reps}", "experiment.plans=[national]",
                                   f"experiment.n_jobs={n_jobs}", "output.charts=false", "experiment.progress=false"],
                       tmp)
        return {"replications": reps, "n_jobs": n_jobs, "seconds": time.perf_counter() - t0}


def _print_rollout(r: dict) -> None:
    nat = r["national_10_years"]
    print(f"  national roll-out plan (rollout=national, {nat['municipalities']} municipalities in "
          f"{nat['coordinators']} coordinator groups, 10 years): {nat['seconds']:.1f} s "
          f"({nat['cpu_seconds']:.1f} s CPU), peak memory {nat['max_rss_mb']:.0f} MB")
    print("  by municipalities (own coordinators, 10 years): " + ", ".join(
        f"{n}: {v['cpu_seconds']:.1f} s CPU" for n, v in r["by_municipalities"].items()))
    print("  by years (national_own): " + ", ".join(
        f"{y}: {v['cpu_seconds']:.1f} s CPU" for y, v in r["by_years"].items()))


def main() -> None:
    ap = argparse.ArgumentParser(description="peersim benchmark")
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--scenario", default="local_coordinator")
    ap.add_argument("--compare-reps", type=int, default=20,
                    help="replications of the comparison experiment per timing (0 skips it)")
    ap.add_argument("--national", action="store_true",
                    help="also time one national run (98 municipalities, 10 years)")
    ap.add_argument("--rollout", action="store_true",
                    help="also time roll-out plans: the national plan, and scaling with municipalities and years")
    ap.add_argument("--rollout-reps", type=int, default=0,
                    help="replications of experiment=rollout (national, 10 years) on 2 cores (0 skips it)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    overrides = [f"scenario={args.scenario}"]
    print(f"peersim {__version__} on Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"{platform.machine()}; scenario {args.scenario}, 5 years")
    ref = machine_reference()
    print(f"  this machine: 10 million Python additions {ref['python_loop_seconds']:.2f} s, "
          f"a small numpy operation {ref['numpy_small_op_us']:.2f} us")
    r = replications_per_second(overrides, args.reps)
    print(f"  one core, simulation (with the recovery pass): {r['simulation_replications_per_second']:.1f} "
          f"replications/s ({1000 * r['simulation_only_seconds']:.0f} ms each)")
    print(f"  one core, with the tables: {1000 * r['with_tables_seconds']:.0f} ms each; "
          f"with tables and economics (what an experiment runs): {r['replications_per_second']:.1f} "
          f"replications/s ({1000 * r['seconds_per_replication']:.0f} ms each)")
    p = process_time(overrides)
    print(f"  whole process `peersim scenario={args.scenario}` (with files and charts): {p:.2f} s")
    compare = []
    for n_jobs in (1, 2) if args.compare_reps > 0 else ():
        c = comparison_rate(args.compare_reps, n_jobs)
        compare.append(c)
        print(f"  compare_implementations on {n_jobs} core{'s' if n_jobs > 1 else ''}: "
              f"{c['replications_per_second']:.2f} replications/s ({c['arms']} arms each, "
              f"{c['runs_per_second']:.1f} runs/s; {c['replications']} replications in {c['seconds']:.1f} s)")
    national = None
    if args.national:
        national = national_run()
        print(f"  national roll-out ({national['municipalities']} municipalities, {national['years']} years, "
              f"{national['citizens_referred']:,} citizens referred, {national['courses_started']:,} courses): "
              f"one run in {national['seconds']:.1f} s, {national['max_rss_mb']:.0f} MB")
    rollout = None
    if args.rollout:
        rollout = rollout_scaling()
        _print_rollout(rollout)
    if args.rollout_reps > 0:
        rr = rollout_replications(args.rollout_reps, 2)
        rollout = {**(rollout or {}), "replications": rr}
        print(f"  experiment=rollout, national 10 years: {rr['replications']} replications on 2 cores in "
              f"{rr['seconds']:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**r, **ref, "process_seconds": p, "compare_implementations": compare, "national": national,
                       "rollout": rollout,
                       "scenario": args.scenario,
                       "python": platform.python_version(), "version": __version__}, fh, indent=2)


if __name__ == "__main__":
    main()
