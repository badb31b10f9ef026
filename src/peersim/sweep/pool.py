"""peersim's own launcher of a sweep's jobs (``hydra/launcher=peersim``, the default): long-lived
worker processes that got peersim with the command, each job's configuration derived, not composed.

Hydra's joblib launcher starts its workers as new Python processes (each pays Python's start-up
and peersim's imports, 2-3 s) and composes every job's configuration from scratch in them
(0.2-0.5 s a job, more than a 5-year run). Here instead:

- the workers are forked from the ``peersim`` command itself once Hydra has composed the sweep
  (Linux; elsewhere Python's ``forkserver``, which imports peersim once), so a worker starts in
  milliseconds with everything imported; ``hydra.launcher.n_jobs`` of them (-1: every core this
  process may use), never more than there are jobs;
- each worker composes the first job of each shape of the sweep and derives the others by
  setting their values (:class:`peersim.sweep.derive.JobConfigs`);
- a job then runs exactly as under any Hydra launcher (``hydra.core.utils.run_job``: its folder,
  ``.hydra/``, its log, the callbacks), one job per task handed out as workers become free;
- a worker sets ``PEERSIM_SWEEP_WORKER=1`` (an experiment inside a sweep then runs its
  replications in its own process instead of starting a pool of its own), ignores Ctrl-C and
  ends when the command ends (:func:`peersim.lifeline.end_with`); Ctrl-C or an error in the
  command ends the workers at once. A worker that dies (killed by the system) ends the launch:
  the jobs it did not finish show as ``incomplete`` or ``missing`` in the table.

A sweep of one job runs in the command's own process (an experiment in it may use every core).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

WORKER_ENV = "PEERSIM_SWEEP_WORKER"
PRECOMPOSE_SECONDS = 2.0  # composing shapes in the command before the first job starts, at most
PRECOMPOSE_JOBS = 1000    # the jobs whose shapes are looked at for that

log = logging.getLogger(__name__)

# In a worker: what every job of the sweep shares (set once, by _init_worker)
_STATE: dict[str, Any] = {}


def cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def workers_for(n_jobs: int | None, jobs: int) -> int:
    """How many worker processes: ``n_jobs`` (-1 every core, -2 all but one, as joblib counts),
    at least 1 and at most ``jobs``."""
    n = cores() if n_jobs is None else int(n_jobs)
    if n < 0:
        n = max(1, cores() + 1 + n)
    return max(1, min(n, jobs))


def _init_worker(hydra_context: Any, configs: Any, task_function: Any, singleton_state: Any, owner: int) -> None:
    from peersim.lifeline import end_with

    os.environ[WORKER_ENV] = "1"
    end_with(owner)
    _prepare(hydra_context, configs, task_function, singleton_state)


def _prepare(hydra_context: Any, configs: Any, task_function: Any, singleton_state: Any) -> None:
    from hydra.core.singleton import Singleton
    from hydra.core.utils import setup_globals

    setup_globals()
    if singleton_state is not None:
        Singleton.set_state(singleton_state)
    _STATE.update(context=hydra_context, task=task_function, configs=configs)


def _ready(hydra_context: Any, config: Any, jobs: Sequence[Sequence[str]]) -> Any:
    """What every worker needs, made once here so that forked workers inherit it: the shapes of
    the first jobs composed (for up to :data:`PRECOMPOSE_SECONDS`; a worker composes any other
    shape when it meets it) and peersim's model imported, unless every job's folder holds a
    ``summary.json`` already (a re-run of a finished sweep: its jobs are likely to be skipped)."""
    from peersim.sweep.derive import JobConfigs

    configs = JobConfigs(hydra_context.config_loader, config)
    groups = configs.groups
    seen: set[tuple] = set()
    t0 = time.perf_counter()
    for overrides in jobs[:PRECOMPOSE_JOBS]:
        if time.perf_counter() - t0 > PRECOMPOSE_SECONDS:
            break
        rough = tuple(_rough_shape(o, groups) for o in overrides)  # parsing every job costs ms each
        if rough not in seen:
            seen.add(rough)
            configs.prepare(overrides)
    if not _all_done(config, jobs):
        import peersim.simulate  # noqa: F401  (the model, Mesa)
    return configs


def _rough_shape(override: str, groups: set[str]) -> str:
    """An override with the value of a plain ``key=value`` left out: jobs alike in this are
    very likely one shape (:mod:`peersim.sweep.derive` decides; this only saves parsing)."""
    key = override.split("=", 1)[0]
    if key.startswith(("+", "~", "hydra")) or "/" in key or "@" in key or key in groups:
        return override
    return key


def _all_done(config: Any, jobs: Sequence[Sequence[str]]) -> bool:
    """Whether every job's folder (named as ``hydra.sweep.subdir`` by default names it) holds a
    ``summary.json``; False when that cannot be told without composing."""
    from omegaconf import OmegaConf

    from peersim.sweep.jobs import SUBDIR_RESOLVER, SUMMARY, job_subdir

    subdir = OmegaConf.to_container(config.hydra.sweep)["subdir"]
    if subdir != "${" + SUBDIR_RESOLVER + ":${hydra.job.override_dirname}}":
        return False
    dirname = config.hydra.job.config.override_dirname
    if (dirname.kv_sep, dirname.item_sep) != ("=", ","):
        return False
    exclude = set(dirname.exclude_keys)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    for overrides in jobs:
        kept = sorted(o for o in overrides
                      if not o.startswith("hydra") and o.lstrip("+~").split("=", 1)[0] not in exclude)
        if not (sweep_dir / job_subdir(",".join(kept)) / SUMMARY).is_file():
            return False
    return True


def run_one(idx: int, overrides: Sequence[str]) -> Any:
    """Run job number ``idx`` in this process, as Hydra's launchers do
    (:func:`peersim.sweep.hydra_job.run_job`); its ``JobReturn`` without the two configurations
    (the command does not read them)."""
    from hydra.core.utils import JobReturn, JobStatus
    from omegaconf import open_dict, read_write

    from peersim.sweep.hydra_job import run_job

    try:
        sweep_config, task_cfg = _STATE["configs"].job_config(overrides)
    except Exception as exc:  # cannot be composed: a failed job, reported by the sweeper after the batch
        return JobReturn(overrides=list(overrides), status=JobStatus.FAILED, _return_value=exc)
    with read_write(sweep_config.hydra), open_dict(sweep_config):
        sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{idx}"
        sweep_config.hydra.job.num = idx
    ret = run_job(_STATE["context"], sweep_config, task_cfg, _STATE["task"])
    ret.cfg = ret.hydra_cfg = None
    return ret


def _context() -> multiprocessing.context.BaseContext:
    """Fork where it is safe and cheap (Linux: the workers get the command's imports for free);
    elsewhere a fork server that imports peersim once."""
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["peersim.cli", "peersim.simulate", "peersim.sweep"])
    return ctx


def launch(hydra_context: Any, config: Any, task_function: Any, job_overrides: Sequence[Sequence[str]],
           initial_job_idx: int, n_jobs: int | None) -> list[Any]:
    """Run a batch of jobs; their ``JobReturn`` in the batch's order."""
    from hydra.core.singleton import Singleton
    from hydra.core.utils import configure_log, filter_overrides, setup_globals

    setup_globals()
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    sweep_dir = Path(str(config.hydra.sweep.dir))
    sweep_dir.mkdir(parents=True, exist_ok=True)
    jobs = [list(o) for o in job_overrides]
    n = workers_for(n_jobs, len(jobs))
    log.info(f"peersim launcher: {len(jobs)} jobs on {n} worker process{'es' if n > 1 else ''}, "
             f"sweep output dir: {sweep_dir}")
    for idx, overrides in enumerate(jobs):
        log.info(f"\t#{initial_job_idx + idx} : {' '.join(filter_overrides(overrides))}")
    if len(jobs) == 1:
        from peersim.sweep.derive import JobConfigs

        _prepare(hydra_context, JobConfigs(hydra_context.config_loader, config), task_function, None)
        return [run_one(initial_job_idx, jobs[0])]
    configs = _ready(hydra_context, config, jobs)
    state = Singleton.get_state()
    executor = ProcessPoolExecutor(max_workers=n, mp_context=_context(), initializer=_init_worker,
                                   initargs=(hydra_context, configs, task_function, state, os.getpid()))
    results: list[Any] = [None] * len(jobs)
    try:
        futures: dict[Future, int] = {executor.submit(run_one, initial_job_idx + i, o): i for i, o in enumerate(jobs)}
        _warm_up_end_of_sweep()  # the workers exist now (forked at the first submit)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in done:
                results[futures[f]] = f.result()  # a worker that died: BrokenProcessPool, the launch ends
    except BaseException:
        _end_workers(executor)
        raise
    executor.shutdown(wait=True)
    return results


def _warm_up_end_of_sweep() -> None:
    """Import what the end of the sweep needs (matplotlib for its charts: 1-3 s on the
    development machine) in a thread of the command while the workers run, instead of after."""
    import threading

    def imports() -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
            import pyarrow.parquet  # noqa: F401
        except Exception:  # noqa: BLE001 - only a head start: the end of the sweep imports them itself
            pass

    threading.Thread(target=imports, name="peersim-sweep-warm-up", daemon=True).start()


def _end_workers(executor: ProcessPoolExecutor) -> None:
    """End the workers now (Ctrl-C, a dead worker): queued jobs are not started."""
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for p in processes:
        try:
            p.kill()
        except (OSError, ValueError, AttributeError):
            pass
    executor.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        try:
            p.join(timeout=2)
        except (OSError, ValueError, AttributeError, AssertionError):
            pass
