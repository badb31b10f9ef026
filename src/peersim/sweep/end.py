"""The end of a sweep: its table and charts written, what happened printed, the exit code.

:class:`SweepCallback` (Hydra's ``on_multirun_end``, registered as
``hydra.callbacks.sweep_summary``) calls :func:`finish`; when a sweep ends without reaching it (a
launcher error, Ctrl-C) the ``peersim`` command calls :func:`end_of_command`, which gathers the
table then. ``python -m peersim.sweep <folder>`` (:func:`main`) does the same by hand for any
sweep folder.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from peersim.sweep.charts import write_charts
from peersim.sweep.jobs import ERROR, RUN_ID_ENV, SKIPPED
from peersim.sweep.table import TABLE, expected_jobs, gather, output_of, write_table


@dataclass
class SweepReport:
    sweep_dir: Path
    counts: dict[str, int] = field(default_factory=dict)   # status -> jobs of the last sweep
    skipped: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (job_dir, status, error)
    tables: list[Path] = field(default_factory=list)   # sweep_summary.csv and/or .parquet
    charts: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def finish(sweep_dir: str | os.PathLike, *, interrupted: bool = False, quiet: bool = False) -> SweepReport:
    """Gather the table, draw the charts, print what happened; the report of the last sweep.

    Counts and failures cover the jobs of the last sweep into the folder (from its
    ``multirun.yaml``) when they can be known, otherwise every job folder.
    """
    sweep_dir = Path(sweep_dir)
    expected = expected_jobs(sweep_dir)
    df = gather(sweep_dir, expected=expected)
    report = SweepReport(sweep_dir)
    if not df.empty:
        output = output_of(sweep_dir)
        report.tables = write_table(sweep_dir, df, output)
        try:
            report.charts = write_charts(sweep_dir, df) if output.charts else []
        except Exception as exc:  # a chart must not cost the table or the exit code
            print(f"peersim: sweep charts not drawn: {type(exc).__name__}: {exc}", file=sys.stderr)
    mine = df[df["job_dir"].isin({name for name, _ in expected})] if expected is not None else df
    report.counts = mine["status"].value_counts().to_dict()
    report.skipped = _skipped_by_this_run(sweep_dir, mine)
    bad = mine[mine["status"] != "ok"]
    report.problems = [(r.job_dir, r.status, r.error or "") for r in bad.itertuples()]
    if not quiet:
        _print_report(report, len(mine), interrupted)
    return report


def _skipped_by_this_run(sweep_dir: Path, df: Any) -> int:
    """Jobs this sweep reused. A job's ``.skipped`` holds the id of the sweep that reused it
    (``$PEERSIM_SWEEP_RUN_ID``), so that two sweeps into one folder at once each count their
    own; outside a sweep (``python -m peersim.sweep``) every marker counts, and so does a marker
    without an id (a job process that did not inherit the variable)."""
    reused = df[(df["status"] == "ok") & df["skipped"]]
    run_id = os.environ.get(RUN_ID_ENV)
    if not run_id:
        return len(reused)

    def mine(job_dir: str) -> bool:
        try:
            return (sweep_dir / job_dir / SKIPPED).read_text(encoding="utf-8").strip() in (run_id, "")
        except OSError:
            return False

    return sum(mine(d) for d in reused["job_dir"])


def _print_report(report: SweepReport, total: int, interrupted: bool) -> None:
    ok = report.counts.get("ok", 0)
    parts = [f"{ok} ok" + (f" ({report.skipped} skipped: already done)" if report.skipped else "")]
    parts += [f"{n} {status}" for status, n in sorted(report.counts.items()) if status != "ok"]
    where = (f"{report.sweep_dir / TABLE}." + "/.".join(p.suffix.lstrip(".") for p in report.tables)
             if report.tables else report.sweep_dir)
    head = "peersim sweep stopped early" if interrupted else "peersim sweep"
    print(f"{head}: {total} jobs: {', '.join(parts)}; table: {where}")
    for chart in report.charts:
        print(f"  chart: {chart}")
    if report.problems:
        print(f"peersim: error: {len(report.problems)} of {total} jobs did not finish "
              f"(re-run the same command with hydra.sweep.dir={report.sweep_dir} to run just those):",
              file=sys.stderr)
        for job_dir, status, error in report.problems[:20]:
            detail = f": {error}" if error else ""
            hint = f" ({report.sweep_dir / job_dir / ERROR})" if status == "failed" else ""
            print(f"  {status} {job_dir}{detail}{hint}", file=sys.stderr)
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more (see the table's status column)", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()


# The sweep running in this process: set by the callback, read by the peersim command.
_CURRENT: dict[str, Any] = {}


class SweepCallback(Callback):
    """Registered in conf/hydra/peersim.yaml (``hydra.callbacks.sweep_summary``); acts in multirun only."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        import uuid

        _CURRENT.clear()
        _CURRENT.update(sweep_dir=Path(str(config.hydra.sweep.dir)), started=time.time())
        os.environ[RUN_ID_ENV] = uuid.uuid4().hex  # inherited by the jobs' processes

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        _CURRENT.update(sweep_dir=sweep_dir, report=finish(sweep_dir))


def end_of_command() -> SweepReport | None:
    """The report of this process's sweep, gathering it now if the sweep ended without
    reaching ``on_multirun_end`` (a launcher error, Ctrl-C); None outside a sweep."""
    if "sweep_dir" not in _CURRENT:
        return None
    if "report" not in _CURRENT:
        try:
            _CURRENT["report"] = finish(_CURRENT["sweep_dir"], interrupted=True)
        except Exception as exc:  # never hide the error that stopped the sweep
            print(f"peersim: could not gather {_CURRENT['sweep_dir']}: {exc}", file=sys.stderr)
            return None
    return _CURRENT["report"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m peersim.sweep <sweep_dir> [...]``: rebuild the table and charts by hand."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m peersim.sweep",
        description="Gather the jobs of a peersim sweep folder into sweep_summary.csv/.parquet "
                    "and draw its charts.")
    parser.add_argument("sweep_dir", nargs="+", type=Path, help="a sweep's hydra.sweep.dir")
    args = parser.parse_args(argv)
    code = 0
    for folder in args.sweep_dir:
        if not folder.is_dir():
            print(f"peersim: error: no sweep folder {folder}", file=sys.stderr)
            code = 2
            continue
        if finish(folder).failed:
            code = max(code, 1)
    return code

