"""Run many configurations, in parallel, with progress: the replication loop of experiments.

Hydra costs ~0.1 s a job and ~1.2 s to start a joblib pool, so an experiment runs its
replications inside one job: :func:`run_many` takes a list of validated configurations and
returns one summary row per configuration, in order, using ``n_jobs`` worker processes
(:func:`run_many_timed` also returns the CPU time the runs took, workers included).
Progress (runs done, rate, time left) goes to stderr. Ctrl-C ends the workers at once and raises
:class:`~peersim.lifeline.Interrupted` (how many runs had finished); a worker ends itself when the
command is killed (:func:`peersim.lifeline.end_with`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pandas as pd

from peersim.lifeline import Interrupted, end_with
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
    ctx.set_forkserver_preload(["peersim.simulate", "peersim.experiments._runner", "peersim.lifeline"])
    return ctx


def _chunk(fn: Callable[[Any], dict[str, Any]], items: list[Any]) -> tuple[list[dict[str, Any]], float]:
    """``fn`` on every item, in a worker, and the CPU time this worker spent on them.

    The worker measures itself: pool workers are children of the fork server, not of the
    experiment's process, so ``RUSAGE_CHILDREN`` there never sees their CPU time."""
    c0 = time.process_time()
    rows = [fn(x) for x in items]
    return rows, time.process_time() - c0


class Progress:
    """A small progress line on stderr: ``label: 40/200 runs, 12.3/s, ~13 s left``."""

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        import time

        self.total, self.label, self.enabled = total, label, enabled and total > 0
        self.done = 0
        self.t0 = self._last = time.perf_counter()
        self._open = False  # a progress line without its newline

    def end(self) -> None:
        """End an unfinished progress line (before a message on stderr)."""
        if self._open:
            sys.stderr.write("\n")
            self._open = False

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
        self._open = not end
        sys.stderr.flush()


def run_many_timed(configs: Sequence[PeersimConfig], *, n_jobs: int | None = None,
                   label: str = "peersim", progress: bool = True,
                   fn: Callable[[Any], dict[str, Any]] = summarize_one) -> tuple[pd.DataFrame, float]:
    """``fn`` (by default: simulate and summarise) applied to every configuration, in order,
    on ``n_jobs`` processes; one row per configuration, and the CPU-seconds spent: this
    process's own (``time.process_time``) plus what each worker measured around its runs."""
    items = list(configs)
    jobs = min(default_jobs(n_jobs), max(1, len(items)))
    bar = Progress(len(items), label, progress)
    rows: list[dict[str, Any]] = []
    c0 = time.process_time()
    if jobs == 1:
        try:
            for x in items:
                rows.append(fn(x))
                bar.update(1)
        except KeyboardInterrupt:
            bar.end()
            raise Interrupted(len(rows), len(items)) from None
        return pd.DataFrame(rows), time.process_time() - c0
    size = max(1, min(16, len(items) // (jobs * 8) or 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    worker_cpu = 0.0
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=end_with,
                               initargs=(os.getpid(),))
    futures = []
    try:
        futures += [pool.submit(_chunk, fn, c) for c in chunks]
        for fut in futures:
            part, cpu = fut.result()
            rows.extend(part)
            worker_cpu += cpu
            bar.update(len(part))
    except KeyboardInterrupt:  # Ctrl-C: end the workers now, say how far it came
        done = sum(len(c) for c, f in zip(chunks, futures, strict=False) if f.done() and not f.cancelled())
        _stop(pool)
        bar.end()
        raise Interrupted(done, len(items)) from None
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown()
    return pd.DataFrame(rows), time.process_time() - c0 + worker_cpu


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool at once: cancel what has not started and terminate the workers (they ignore
    SIGINT and would otherwise finish their chunks first)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=2)


def run_many(configs: Sequence[PeersimConfig], *, n_jobs: int | None = None,
             label: str = "peersim", progress: bool = True,
             fn: Callable[[Any], dict[str, Any]] = summarize_one) -> pd.DataFrame:
    """``fn`` (by default: simulate and summarise) applied to every configuration, in order,
    on ``n_jobs`` processes; one row per configuration (:func:`run_many_timed` without the time)."""
    return run_many_timed(configs, n_jobs=n_jobs, label=label, progress=progress, fn=fn)[0]
