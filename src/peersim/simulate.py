"""Run a configuration and get its tables: the Python API behind the ``peersim`` command.

    >>> from peersim import load_config, run
    >>> params = load_config(["scenario=partnership", "seed=7"])
    >>> result = run(params)
    >>> result.summary["courses_started"], result.timeseries.shape
    >>> result.write("my_run")          # the same files the command line writes
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import peersim
from peersim.config import as_dict, config_hash, load_config, resolve_shared_with
from peersim.course import courses_to_frame
from peersim.economics import evaluate
from peersim.folders import check_run_folder, clear_results
from peersim.io import begin_result, json_safe, save_figures, write_json, write_tables
from peersim.model import PeersimModel
from peersim.params import PeersimConfig, validate
from peersim.refusals import folder, override_list
from peersim.reporting import summarize
from peersim.validation import ConfigError


@dataclass
class RunResult:
    params: PeersimConfig
    summary: dict[str, Any]
    timeseries: pd.DataFrame
    citizens: pd.DataFrame
    volunteers: pd.DataFrame
    courses: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def write(self, outdir: str | os.PathLike, *, charts: bool | None = None,
              overwrite: bool | None = None) -> Path:
        """Write the run's files into ``outdir``; ``summary.json`` comes last, so a folder
        without it is an unfinished run, never a result. Arguments of the wrong kind are a
        ConfigError; a folder that cannot be written raises Python's own OSError (with its path),
        which the ``peersim`` command prints as one line.

        A folder holding another run's results (another configuration's ``summary.json``, an
        experiment's report, tables or charts of an unfinished run) raises ConfigError before
        anything is written, unless ``overwrite`` (default ``params.output.overwrite``) allows
        replacing them; the folder's earlier result files are removed first either way, so it
        never mixes two runs (:mod:`peersim.folders`)."""
        outdir = folder(outdir, "RunResult.write")
        for name, value in (("charts", charts), ("overwrite", overwrite)):
            if value is not None and not isinstance(value, bool):
                raise ConfigError(f"RunResult.write: {name} must be True, False or None, got {value!r}")
        check_run_folder(outdir, self.summary.get("config_hash"), key="outdir",
                         overwrite=self.params.output.overwrite if overwrite is None else overwrite,
                         how="pass overwrite=True (or set output.overwrite)")
        clear_results(outdir)
        out = begin_result(outdir, "summary.json")
        write_tables(out, {"timeseries": self.timeseries, "citizens": self.citizens,
                           "volunteers": self.volunteers, "courses": self.courses, **self.extra_tables},
                     self.params.output)
        if self.params.output.charts if charts is None else charts:
            from peersim.charts import run_charts  # matplotlib only when charts are drawn

            save_figures(out, run_charts(self.params, self.summary, self.timeseries, self.citizens,
                                         self.extra_tables))
        write_json(out / "config.json", as_dict(self.params))
        write_json(out / "summary.json", self.summary)
        return out


def run_summary(params: PeersimConfig) -> dict[str, Any]:
    """Only the flat summary of one run: what replication loops need."""
    return run(params).summary


def run(params: PeersimConfig | Sequence[str] = (), *, economics: bool = True) -> RunResult:
    """Simulate one configuration (parameters, or a list of overrides) and collect its tables.

    ``economics=False`` skips the economics layer (no economic keys or tables), for replication
    loops that need only the model's figures: it costs about as much as the simulation itself."""
    if not isinstance(economics, bool):
        raise ConfigError(f"run: economics must be True or False, got {economics!r}")
    if not isinstance(params, PeersimConfig):
        if params is None or isinstance(params, str | bytes) or not isinstance(params, Sequence):
            raise ConfigError("run: pass a PeersimConfig (from peersim.load_config) or a list of overrides, "
                              f"e.g. run(['seed=7']), got {params!r:.60} ({type(params).__name__})")
        params = load_config(override_list(params, "run"))
    else:  # values set in Python after load_config: the same checks as the command line's
        validate(resolve_shared_with(params))
    if params.experiment is not None:  # run() is one simulation; an experiment is many
        raise ConfigError("run: these parameters select an experiment; run it with "
                          "peersim.experiments.run_experiment(<name>, overrides, outdir), or set params.experiment = None")
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
    summary = json_safe(summary)
    if model.trial is not None:  # scenario=trial: the trial table and the trial_* keys
        from peersim.trial import trial_results

        table, trial_keys = trial_results(citizens, params.trial, model.trial.counts())
        extra["trial"] = table
        summary.update(json_safe(trial_keys))
    return RunResult(params, summary, ts, citizens, volunteers, courses, extra)
