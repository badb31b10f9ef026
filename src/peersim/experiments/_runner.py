"""Run many configurations, in parallel, with progress: the replication loop of experiments.

Hydra costs ~0.1 s a job and ~1.2 s to start a joblib pool, so an experiment runs its
replications inside one job: :func:`run_many` takes a list of validated configurations and
returns one summary row per configuration, in order, using ``n_jobs`` worker processes
(:func:`run_many_timed` also returns the CPU time the runs took, workers included).
Progress (runs done, rate, time left) goes to stderr. Ctrl-C ends the workers at once and raises
:class:`~peersim.lifeline.Interrupted` (how many runs had finished); a worker ends itself when the
command is killed (:func:`peersim.lifeline.end_with`).

Where a pool cannot or should not start, the runs happen in this process, one after another, with
the same configurations (hence the same seeds and results) in the same order
(:func:`in_process_reason`):

- inside a sweep's worker (``peersim -m +experiment=... key=a,b``): the sweep already keeps every
  core busy with one job per worker, so a pool per job would only oversubscribe them; and a
  joblib (loky) or daemonic worker cannot start the fork server at all;
- when a plain script calls the API at its top level without an ``if __name__ == "__main__":``
  guard: every worker of a fork server or spawn pool imports the main script again, which would
  start the experiment again in each worker (Python refuses: ``RuntimeError``, then
  ``BrokenProcessPool``). Forking instead would not re-import the script, but would copy the
  locks of this process's threads (pyarrow's, the BLAS pools) into children that can then
  deadlock, so the runs stay in this process and one line on stderr says how to use every core.
"""

from __future__ import annotations

import ast
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


SWEEP_WORKER_ENV = "PEERSIM_SWEEP_WORKER"  # "1" in the worker processes of a sweep's launcher


def in_sweep_worker() -> bool:
    """This process is a sweep's worker: ``$PEERSIM_SWEEP_WORKER`` is ``1``, or it is a joblib
    (loky) worker, or a daemonic process (which may not start children)."""
    import multiprocessing

    if os.environ.get(SWEEP_WORKER_ENV) == "1":
        return True
    me = multiprocessing.current_process()
    if me.daemon or type(me).__name__ == "LokyProcess":
        return True
    return multiprocessing.get_start_method(allow_none=True) == "loky"


def _guard_lines(path: str) -> list[tuple[int, int]] | None:
    """The line ranges of the ``if __name__ == "__main__":`` blocks at the top level of a
    script; None if it cannot be read as Python source."""
    try:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None
    ranges = []
    for node in tree.body:
        if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
            continue
        sides = [node.test.left, *node.test.comparators]
        names = {s.id for s in sides if isinstance(s, ast.Name)}
        texts = {s.value for s in sides if isinstance(s, ast.Constant)}
        if names == {"__name__"} and texts == {"__main__"} and isinstance(node.test.ops[0], ast.Eq):
            ranges.append((node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno))
    return ranges


def unguarded_main_call() -> str | None:
    """The main script, if this call comes from its top level outside an
    ``if __name__ == "__main__":`` block (the workers of a pool would run that line again);
    else None (``python -c``, an interactive session, a guarded call, a call from a function
    that the script calls inside its guard)."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if main is None or not path:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals is main.__dict__:
            guards = _guard_lines(str(path))
            if guards is None or any(a <= frame.f_lineno <= b for a, b in guards):
                return None
            return str(path)
        frame = frame.f_back
    return None


def in_process_reason() -> str | None:
    """Why the runs must happen in this process rather than in a pool, or None."""
    if in_sweep_worker():
        return "sweep worker"
    script = unguarded_main_call()
    if script is not None:
        return f"unguarded script {script}"
    return None


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
    reason = in_process_reason() if jobs > 1 else None
    if reason is not None:
        jobs = 1
        if reason.startswith("unguarded script"):
            script = reason.removeprefix("unguarded script ")
            sys.stderr.write(f"peersim: running the {len(items)} runs in this process, one after another: "
                             f"{os.path.basename(script)} calls peersim outside an "
                             f"`if __name__ == \"__main__\":` block (put the call in one to use every core)\n")
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
