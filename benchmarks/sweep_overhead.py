"""peersim benchmark: what a sweep costs against the same runs in a one-core Python loop.

    python benchmarks/sweep_overhead.py [--seeds 20] [--big 200] [--launcher peersim] [--json out.json]

For ``peersim -m scenario=local_coordinator,partnership seed=range(0,<seeds>)`` (2 x seeds jobs)
and for a sweep of ``--big`` jobs (the two scenarios x big/2 seeds), on this machine's cores:

- the loop: one fresh Python process that imports peersim and, per job, runs
  ``run(load_config([...])).write(folder, charts=False)`` into its own folder, one after another
  on one core (start-up and imports included, as a user's script pays them);
- the sweep: the ``peersim -m ...`` command, wall time from start to exit (start-up, checking,
  every job's folder and files, the sweep's table and charts);
- the ratio sweep / loop (the aim: at most 1.0, better 0.7), and the CPU seconds each used (the
  sweep's with its workers'), which depend less on what else runs on the machine;
- the first job: seconds from the command's start until the first job's folder holds its
  ``summary.json`` (polled every 20 ms);
- the resume: the same command again into the same folder (every job skipped), against
  ``python -m peersim.sweep <folder>`` (a process that reads every job's folder and writes the
  table and charts: what reading the sweep's table costs).

A machine reference (10 million Python additions) is printed first and the load average after
each sweep; on a shared machine run it twice and compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = ("local_coordinator", "partnership")
LOOP = """
import sys
from pathlib import Path
from peersim import load_config, run
root, n = Path(sys.argv[1]), int(sys.argv[2])
for seed in range(n):
    for scenario in {scenarios!r}:
        folder = root / f"scenario={{scenario}},seed={{seed}}"
        run(load_config([f"scenario={{scenario}}", f"seed={{seed}}"])).write(folder, charts=False)
"""


def _peersim() -> list[str]:
    exe = shutil.which("peersim") or str(Path(sys.executable).with_name("peersim"))
    return [exe] if Path(exe).exists() else [sys.executable, "-m", "peersim.cli"]


def python_reference() -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(10_000_000):
        x += i
    return time.perf_counter() - t0


def _cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and theirs."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loop_seconds(seeds: int, tmp: Path) -> tuple[float, float]:
    """The same runs from one Python process on one core, start-up and imports included: wall
    and CPU seconds."""
    c0, t0 = _cpu(), time.perf_counter()
    subprocess.run([sys.executable, "-c", LOOP.format(scenarios=SCENARIOS), str(tmp / "loop"), str(seeds)],
                   check=True, capture_output=True, cwd=tmp)
    return time.perf_counter() - t0, _cpu() - c0


def _first_summary(sweep_dir: Path) -> bool:
    try:
        return any((d / "summary.json").is_file() for d in sweep_dir.iterdir())
    except OSError:
        return False


def sweep_seconds(seeds: int, tmp: Path, name: str, extra: list[str]) -> dict:
    """The sweep command's wall time and the seconds until its first job finished."""
    sweep_dir = tmp / name
    cmd = [*_peersim(), "-m", f"scenario={','.join(SCENARIOS)}", f"seed=range(0,{seeds})",
           f"hydra.sweep.dir={sweep_dir}", *extra]
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    while proc.poll() is None:
        if first is None and _first_summary(sweep_dir):
            first = time.perf_counter() - t0
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    err = proc.stderr.read()
    cpu = _cpu() - c0
    if proc.returncode != 0:
        raise SystemExit(f"the sweep failed ({proc.returncode}):\n{err}")
    if first is None:
        first = wall
    jobs = sum(1 for d in sweep_dir.iterdir() if (d / "summary.json").is_file())
    if jobs != 2 * seeds:
        raise SystemExit(f"the sweep wrote {jobs} summaries, expected {2 * seeds}")
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=tmp, check=True, capture_output=True)
    resume = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "peersim.sweep", str(sweep_dir)], cwd=tmp, check=True, capture_output=True)
    gather = time.perf_counter() - t0
    return {"jobs": 2 * seeds, "seconds": wall, "cpu_seconds": cpu, "first_job_seconds": first,
            "resume_seconds": resume, "gather_seconds": gather, "load_average": os.getloadavg()[0]}


def measure(seeds: int, extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        loop, loop_cpu = loop_seconds(seeds, tmp)
        sweep = sweep_seconds(seeds, tmp, "sweep", extra)
    return {**sweep, "loop_seconds": loop, "loop_cpu_seconds": loop_cpu, "ratio": sweep["seconds"] / loop}


def report(r: dict, label: str) -> None:
    print(f"  {label}: {r['jobs']} jobs: sweep {r['seconds']:.1f} s, one-core loop {r['loop_seconds']:.1f} s, "
          f"ratio {r['ratio']:.2f} (CPU: sweep {r['cpu_seconds']:.1f} s, loop {r['loop_cpu_seconds']:.1f} s); "
          f"first job done after {r['first_job_seconds']:.1f} s; "
          f"resume (all skipped) {r['resume_seconds']:.1f} s, reading the table "
          f"(python -m peersim.sweep) {r['gather_seconds']:.1f} s; load average {r['load_average']:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description="peersim sweep overhead against a one-core loop")
    ap.add_argument("--seeds", type=int, default=20, help="seeds per scenario of the small sweep")
    ap.add_argument("--big", type=int, default=200, help="jobs of the large sweep (0 skips it)")
    ap.add_argument("--launcher", default=None, help="hydra/launcher=<this> (default: peersim's default)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    args = ap.parse_args()
    extra = [f"hydra/launcher={args.launcher}"] if args.launcher else []
    print(f"peersim sweep overhead on Python {platform.python_version()}, {os.cpu_count()} cores, "
          f"launcher {args.launcher or 'default'}; 10 million Python additions {python_reference():.2f} s")
    out = {"small": measure(args.seeds, extra)}
    report(out["small"], f"2 x {args.seeds}")
    if args.big > 0:
        out["big"] = measure(args.big // 2, extra)
        report(out["big"], f"2 x {args.big // 2}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**out, "launcher": args.launcher, "python": platform.python_version()}, fh, indent=2)


if __name__ == "__main__":
    main()
