"""Run a configuration and get its tables: the Python API behind the ``peersim`` command.

    >>> from peersim import load_config, run
    >>> params = load_config(["scenario=partnership", "seed=7"])
    >>> result = run(params)
    >>> result.summary["courses_started"], result.timeseries.shape
    >>> result.write("my_run")          # the same files the command line writes
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import peersim
from peersim.config import as_dict, config_hash, load_config, resolve_shared_with
from peersim.course import courses_to_frame
from peersim.economics import evaluate
from peersim.model import PeersimModel
from peersim.params import PeersimConfig, validate
from peersim.reporting import summarize
from peersim.tables import write_csv


@dataclass
class RunResult:
    params: PeersimConfig
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    citizens: pd.DataFrame
    volunteers: pd.DataFrame
    courses: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, outdir: str | os.PathLike, *, charts: bool | None = None) -> Path:
        """Write the run's files into ``outdir``; ``summary.json`` comes last, so a folder
        without it is an unfinished run, never a result."""
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").unlink(missing_ok=True)
        o = self.params.output
        tables = {"timeseries": self.timeseries, "citizens": self.citizens,
                  "volunteers": self.volunteers, "courses": self.courses, **self.extra_tables}
        for name, df in tables.items():
            if o.parquet:
                _atomic(out / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
            if o.csv or not o.parquet:
                _atomic(out / f"{name}.csv", lambda p, df=df: write_csv(df, p, o.csv_locale))
        if o.charts if charts is None else charts:
            from peersim.charts import save_run_charts

            save_run_charts(self, out)
        _atomic(out / "config.json", lambda p: p.write_text(json.dumps(as_dict(self.params), indent=2)))
        _atomic(out / "summary.json", lambda p: p.write_text(json.dumps(self.summary, indent=2)))
        return out


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _atomic(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _clean(value: Any) -> Any:
    """JSON-safe scalars: NaN becomes null, numpy numbers become Python numbers."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_summary(params: PeersimConfig) -> dict[str, Any]:
    """Only the flat summary of one run: what replication loops need."""
    return run(params).summary


def run(params: PeersimConfig | Sequence[str] = (), *, economics: bool = True) -> RunResult:
    """Simulate one configuration (parameters, or a list of overrides) and collect its tables.

    ``economics=False`` skips the economics layer (no economic keys or tables), for replication
    loops that need only the model's figures: it costs about as much as the simulation itself."""
    if not isinstance(params, PeersimConfig):
        params = load_config(list(params))
    else:  # values set in Python after load_config: the same checks as the command line's
        validate(resolve_shared_with(params))
    model = PeersimModel(params)
    model.run()
    muni_names = [m.name for m in model.municipality_list]
    ts = model.timeseries()
    citizens = model.citizens.to_frame(muni_names)
    volunteers = model.volunteers.to_frame([c.name for c in model.coordinator_list])
    courses = courses_to_frame(model.courses, muni_names)
    summary: dict[str, Any] = {
        "scenario": params.scenario.name,
        "implementation": params.scenario.implementation,
        "municipality": "+".join(muni_names),
        "seed": params.seed,
        "years": params.years,
        "weeks": params.weeks,
    }
    summary.update(summarize(ts, citizens, volunteers, courses))
    extra: dict[str, pd.DataFrame] = {}
    if economics:
        econ = evaluate(ts, citizens, params.economics, weeks=params.weeks,
                        implementation=params.scenario.implementation)
        for key, value in econ.summary.items():
            if key in summary and summary[key] != value:
                key = f"economics_{key}"  # e.g. the standard offer's success rate in expected mode
            summary[key] = value
        extra = {"cashflow": econ.cashflow, "costs_by_category": econ.costs_by_category,
                 "savings_by_subgroup": econ.savings_by_subgroup, "payments": econ.payments}
    summary["peersim_version"] = peersim.__version__
    summary["config_hash"] = config_hash(params)
    summary = {k: _clean(v) for k, v in summary.items()}
    if model.trial is not None:  # scenario=trial: the trial table and the trial_* keys
        from peersim.trial import trial_results

        table, trial_keys = trial_results(citizens, params.trial, model.trial.counts())
        extra["trial"] = table
        summary.update({k: _clean(v) for k, v in trial_keys.items()})
    return RunResult(params, summary, ts, citizens, volunteers, courses, extra)
