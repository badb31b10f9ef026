"""Run many configurations, in parallel, with progress: the replication loop of experiments.

Hydra costs ~0.1 s a job and ~1.2 s to start a joblib pool, so an experiment runs its
replications inside one job: :func:`run_many` takes a list of validated configurations and
returns one summary row per configuration, in order, using ``n_jobs`` worker processes.
Progress (runs done, rate, time left) goes to stderr.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from peersim.params import PeersimConfig


def default_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` <= 0 or None means every core this process may use."""
    if n_jobs and n_jobs > 0:
        return n_jobs
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def summarize_one(params: PeersimConfig) -> dict[str, Any]:
    """One run's flat summary (no tables written, no charts)."""
    from peersim.simulate import run_summary

    return run_summary(params)


def _context():
    """Workers fork from a single-threaded server that has peersim imported already.

    Forking the experiment's own process would copy the locks of its threads (pyarrow's and the
    BLAS pools), which can deadlock a child; a fresh spawn would import numpy, pandas and Mesa
    again for every pool. The fork server is started once per process and reused.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["peersim.simulate", "peersim.experiments._runner"])
    return ctx


def _chunk(fn: Callable[[Any], dict[str, Any]], items: list[Any]) -> list[dict[str, Any]]:
    return [fn(x) for x in items]


class Progress:
    """A small progress line on stderr: ``label: 40/200 runs, 12.3/s, ~13 s left``."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        import time

        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.done = 0
        self.t0 = self._last = time.perf_counter()

    def update(self, n: int) -> None:
        import time

        self.done += n
        now = time.perf_counter()
        if not self.enabled or (now - self._last < 0.5 and self.done < self.total):
            return
        self._last = now
        rate = self.done / max(now - self.t0, 1e-9)
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        end = "\n" if self.done >= self.total else ""
        sys.stderr.write(f"\r{self.label}: {self.done}/{self.total} runs, {rate:.1f}/s, "
                         f"~{left:.0f} s left   {end}")
        sys.stderr.flush()


def run_many(configs: Sequence[PeersimConfig], *, n_jobs: int | None = None,
             label: str = "peersim", progress: bool = True,
             fn: Callable[[Any], dict[str, Any]] = summarize_one) -> pd.DataFrame:
    """``fn`` (by default: simulate and summarise) applied to every configuration, in order,
    on ``n_jobs`` processes; one row per configuration."""
    items = list(configs)
    jobs = min(default_jobs(n_jobs), max(1, len(items)))
    bar = Progress(len(items), label, progress)
    rows: list[dict[str, Any]] = []
    if jobs == 1:
        for x in items:
            rows.append(fn(x))
            bar.update(1)
        return pd.DataFrame(rows)
    size = max(1, min(16, len(items) // (jobs * 8) or 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as pool:
        futures = [pool.submit(_chunk, fn, c) for c in chunks]
        for fut in futures:
            part = fut.result()
            rows.extend(part)
            bar.update(len(part))
    return pd.DataFrame(rows)
