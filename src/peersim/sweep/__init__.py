"""Sweeps (``peersim -m ...``): one tidy table per sweep, resume, failures, launchers.

    peersim -m scenario=local_coordinator,partnership seed='range(0,20)'
    peersim -m scenario=local_coordinator,partnership seed='range(0,20)' hydra.sweep.dir=multirun/cmp
    peersim -m hydra/launcher=slurm hydra.launcher.partition=<name> seed='range(0,100)'
    python -m peersim.sweep multirun/cmp          # rebuild the table and charts of a sweep folder

A sweep is a folder (``hydra.sweep.dir``) with one sub-folder per job, named by the job's
overrides (``scenario=partnership,seed=3``, see :func:`job_subdir`), so that a job finds its own
folder again whatever its number in a later, larger or reordered sweep.

**The table.** At the end of a sweep (a Hydra callback, :class:`SweepCallback`) every job's
``summary.json`` is gathered into ``sweep_summary.csv`` and ``sweep_summary.parquet`` at the
sweep's root: one row per job with ``job_num``, ``job_dir``, ``status`` (``ok``, ``failed``,
``incomplete``: started but neither finished nor failed, e.g. killed; ``missing``: part of the
sweep but never started; ``corrupt``: its folder cannot be read, a row all the same), ``error``, ``skipped`` (its result was reused from an earlier run of
the sweep), the job's overrides as typed columns (``seed`` an integer,
``volunteers.burnout_threshold`` a float) and every key of its ``summary.json``. The sweep's
charts (``sweep_chart_*.png``) are drawn from that table alone.

**Resume.** A job whose folder already holds a ``summary.json`` whose ``config_hash`` equals
the hash of the job's own resolved configuration is not run again: it prints that it was
skipped. Any other job starts from an emptied folder (every file of an earlier attempt, hidden
temporary files too; Hydra's ``.hydra/`` and the log stay: :func:`peersim.folders.clear_job_folder`),
so a folder never mixes two configurations.

**Size.** Before Hydra starts, the ``peersim`` command counts a sweep's jobs from its parsed
overrides without expanding them (:mod:`~peersim.sweep.size`) and refuses a sweep over
``$PEERSIM_MAX_SWEEP_JOBS`` (default 1,000,000) jobs or with an empty range.

**Failures.** Hydra 1.3 catches a job's exception into its ``JobReturn``; the basic sweeper then
re-raises the first failed job's exception once the batch is done, which ends the sweep before
``on_multirun_end`` (no table, the other jobs' results unreported). So a job in a sweep catches
its own error instead: it writes ``error.txt`` (the error and its traceback) into its folder,
prints one line and returns normally; the table marks it ``failed`` with the error, the end of
the sweep prints which jobs failed, and ``peersim`` exits with code 1. A job that dies without
running Python's error handling (killed by SLURM for time or memory, a crashed worker) makes
the launcher itself raise; ``peersim`` then still gathers the table (see :func:`end_of_command`)
and those jobs show as ``incomplete`` or ``missing``. Re-running the sweep runs exactly them.

**Launchers.** Sweeps run on peersim's own launcher by default (``hydra/launcher=peersim``,
conf/hydra/peersim.yaml; :mod:`~peersim.sweep.pool`): worker processes forked from the command on
every core of this machine, each job's configuration derived from one composition per shape of
the sweep (:mod:`~peersim.sweep.derive`) and run as Hydra runs a job
(:mod:`~peersim.sweep.hydra_job`). ``hydra/launcher=joblib`` is Hydra's own parallel launcher,
``hydra/launcher=slurm`` sends the same jobs to SLURM with peersim's defaults from
``conf/hydra/launcher/slurm.yaml``, ``submitit_local`` runs them through submitit on this machine
(all at once: a way to test the cluster path, not to compute).

**Modules.** :mod:`~peersim.sweep.jobs` (a job's folder, resume and failures; the launchers),
:mod:`~peersim.sweep.pool`, :mod:`~peersim.sweep.derive` and :mod:`~peersim.sweep.hydra_job`
(peersim's launcher),
:mod:`~peersim.sweep.table` (the table), :mod:`~peersim.sweep.size` (how many jobs),
:mod:`~peersim.sweep.charts` (the charts) and
:mod:`~peersim.sweep.end` (the end of a sweep: the Hydra callback, the report, ``python -m
peersim.sweep``). Their public names are all importable from ``peersim.sweep``.
"""

from peersim.sweep.charts import CHART_METRICS, CHART_PREFIX, TOP_LEVEL_OVERRIDES, swept_keys, write_charts
from peersim.sweep.end import SweepCallback, SweepReport, end_of_command, finish, main
from peersim.sweep.jobs import (
    ERROR,
    MAX_NAME_BYTES,
    NO_OVERRIDES,
    SKIPPED,
    SUBDIR_RESOLVER,
    SUMMARY,
    job_subdir,
    launcher_options,
    override_key,
    run_job,
    summary_hash,
)
from peersim.sweep.table import (
    TABLE,
    SweepOutput,
    csv_locale_of,
    expected_jobs,
    gather,
    job_dirs,
    output_of,
    typed_overrides,
    write_table,
)

__all__ = [
    "CHART_METRICS",
    "CHART_PREFIX",
    "ERROR",
    "MAX_NAME_BYTES",
    "NO_OVERRIDES",
    "SKIPPED",
    "SUBDIR_RESOLVER",
    "SUMMARY",
    "TABLE",
    "TOP_LEVEL_OVERRIDES",
    "SweepCallback",
    "SweepOutput",
    "SweepReport",
    "csv_locale_of",
    "end_of_command",
    "expected_jobs",
    "finish",
    "gather",
    "job_dirs",
    "job_subdir",
    "launcher_options",
    "main",
    "output_of",
    "override_key",
    "run_job",
    "summary_hash",
    "swept_keys",
    "typed_overrides",
    "write_charts",
    "write_table",
]
