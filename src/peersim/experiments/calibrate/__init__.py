"""Calibration: fit parameters to targets, and write the fit as a config file peersim loads.

    peersim experiment=calibrate                              # conf/experiment/calibrate.yaml
    peersim experiment=calibrate 'experiment.parameters=[recovery.effect_full_dose_qpr,recovery.success_improvement_qpr]' \\
        experiment.replications=20
    peersim --config-dir <that run folder> +calibrated=fit     # the fitted values, in any run
    peersim --config-dir <that run folder> +calibrated=fit experiment=validate

**What is fitted.** ``experiment.parameters`` are dotted parameter keys; each has bounds
(``experiment.bounds``, else the plausible range of its distribution in
``conf/uncertainty/default.yaml``) and a start (``experiment.start``, else its configured value).
The targets (``experiment.select``, defined once in ``conf/experiment/_targets.yaml``, see
:mod:`peersim.experiments.targets`) are measured at each parameter point over
``experiment.replications`` runs per run set, and the fit minimises the weighted sum of squared
standardised residuals ``sum_i w_i ((mean_i - target_i) / sd_i)^2``.

**Common random numbers.** Every parameter point is simulated with the same seeds (``seed``,
``seed + 1``, ...), and peersim draws each mechanism from its own named random stream, so two
nearby points differ by the parameter change, not by fresh noise. The objective is then a
deterministic function of the parameters: smooth-ish, with small steps where a citizen or a
course flips. The fit is conditional on the seed set, so the report also gives the objective
at the fit on fresh seeds (``experiment.fresh_seed_check``); a large gap means the replications
are too few for the fit to generalise.

**Why Nelder-Mead (the default; ``experiment.method=powell`` is the alternative).** The CRN
objective has no usable gradient (the small steps make finite differences meaningless at fine
scales) and each evaluation costs a batch of simulations, so the method must be derivative-free
and frugal. Nelder-Mead on the parameters scaled to [0, 1] by their bounds (so one tolerance
fits all), with an initial simplex a fifth of each range wide, moves by comparisons only, steps
over the small plateaus, handles a few (up to ~5) parameters in a few dozen evaluations, and
scipy clips it to the bounds. Bounded Powell does line searches parameter by parameter: good
when the parameters act on separate targets, but its Brent steps can stall on plateaus.
Simulation-based inference (ABC, synthetic likelihood) would give posterior uncertainty but
needs thousands of evaluations; that is beyond a command that should finish in minutes on a
laptop. Evaluations are cached by parameter values (integer parameters are rounded first), so
a revisited point costs nothing, and every evaluated point is written to
``fit_evaluations.csv``.

**Which keys may be fitted.** A numeric key shared by every scenario: keys that a scenario
file sets (``conf/scenario/*.yaml``, e.g. ``coordinator.fte``), that a municipality preset sets,
or that a target's overrides set cannot be written as one value for every run, so they are
refused with one line; so are ``seed`` and ``years``.

**Outputs.** ``calibrated/<name>.yaml`` (a ``# @package _global_`` file: each fitted value with
its unit and "calibrated: <targets>, <how>"; load it with ``--config-dir <run folder>
+calibrated=<name>``, ``load_config([...], config_dirs=[folder])``, or copy it into
``conf/calibrated/``), ``fit_report.md``, ``fit_report.csv``/``.parquet`` (one row per
target: target, interval, simulated mean and 90% interval at the start and at the fit,
standardised residuals, on fresh seeds), ``fit_parameters.csv``/``.parquet`` (one row per
parameter: start, fitted, bounds, unit), ``fit_evaluations.csv``/``.parquet`` and
``chart_calibration.png`` (objective and parameters by evaluation).

**Modules.** :mod:`~.parameters` (the settings and the parameters: keys, bounds, starts, units),
:mod:`~.fit` (the objective on common random numbers, its runs, the optimiser), :mod:`~.report`
(the calibrated config, the tables and ``fit_report.md``) and :mod:`~.chart`
(``chart_calibration.png``); this package runs them in order (:func:`run_calibrate`) and exposes
the experiment (``EXPERIMENTS``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from peersim.experiments.base import Experiment
from peersim.experiments.calibrate.chart import plot_trace
from peersim.experiments.calibrate.fit import UNMEASURED_PENALTY, Evaluation, Objective, minimise
from peersim.experiments.calibrate.parameters import (
    METHODS,
    CalibrateConfig,
    Parameter,
    check_options,
    format_value,
    keys_set_per_variant,
    resolve_parameters,
    sig,
    unit_of,
)
from peersim.experiments.calibrate.report import (
    evaluations_table,
    fit_tables,
    report_markdown,
    write_calibrated_config,
)
from peersim.experiments.targets import check_specs, plan_run_sets, probe_statistics, seeds_for
from peersim.io import begin_result, write_tables, write_text
from peersim.params import PeersimConfig

__all__ = [
    "EXPERIMENTS", "METHODS", "UNMEASURED_PENALTY", "CalibrateConfig", "Evaluation", "FitResult", "Objective",
    "Parameter", "fit_tables", "keys_set_per_variant", "minimise", "plot_trace", "resolve_parameters",
    "run_calibrate", "unit_of", "write_calibrated_config",
]


@dataclass
class FitResult:
    parameters: list[Parameter]
    fitted: dict[str, float]
    start: Evaluation
    best: Evaluation
    fresh: Evaluation | None
    report: pd.DataFrame
    parameter_table: pd.DataFrame
    evaluations: pd.DataFrame
    config_path: Path
    message: str


def run_calibrate(params: PeersimConfig, overrides: list[str], outdir: Path) -> FitResult:
    """The ``calibrate`` experiment: check, fit, report, write the calibrated config."""
    cfg: CalibrateConfig = params.experiment
    names = check_specs(cfg.targets, cfg.select)
    check_options(cfg, names)
    parameters = resolve_parameters(cfg, params, cfg.targets, names)
    run_sets = plan_run_sets(cfg.targets, names, overrides, strict=True)
    start_values = {p.key: (float(round(p.start)) if p.is_int else sig(p.start)) for p in parameters}
    probe_statistics(run_sets, cfg.targets, values=start_values)
    seeds = seeds_for(params.seed, cfg.replications)
    t0 = time.perf_counter()
    obj = Objective(parameters, run_sets, cfg.targets, names, cfg.weights, seeds, n_jobs=cfg.n_jobs,
                    progress=cfg.progress, max_evaluations=cfg.max_evaluations)
    start = obj.evaluate(start_values)
    best, message = minimise(obj, parameters, cfg)
    fresh = None
    if cfg.fresh_seed_check:
        fresh = obj.evaluate(best.values, seeds=seeds_for(params.seed, cfg.replications, offset=cfg.replications))
    seconds = time.perf_counter() - t0
    fitted = {p.key: (int(round(best.values[p.key])) if p.is_int else best.values[p.key]) for p in parameters}

    begin_result(outdir, "fit_report.md")
    config_path = outdir / "calibrated" / f"{cfg.name}.yaml"
    config_text = write_calibrated_config(
        config_path, parameters, fitted, names=names, method=cfg.method, replications=cfg.replications,
        seeds=seeds, objective=best.objective, start_objective=start.objective, name=cfg.name)
    report, ptable = fit_tables(parameters, cfg.targets, names, cfg.weights, start, best, fresh)
    evals = evaluations_table(obj.history, parameters, names)
    write_tables(outdir, {"fit_report": report, "fit_parameters": ptable, "fit_evaluations": evals},
                 params.output)
    if params.output.charts:
        plot_trace(obj, parameters, outdir / "chart_calibration.png")
    md = report_markdown(report, ptable, cfg=cfg, charts=params.output.charts, seeds=seeds, start=start, best=best,
                         fresh=fresh, message=message, n_evals=len(obj.history), seconds=seconds,
                         config_text=config_text, overrides=overrides)
    write_text(outdir / "fit_report.md", md)

    for p in parameters:
        print(f"  {p.key} = {format_value(p, fitted[p.key])}  (start {format_value(p, p.start)}, "
              f"bounds {format_value(p, p.lo)}-{format_value(p, p.hi)}) {p.unit}")
    for _, r in report.iterrows():
        print(f"  {r['target']}: {r['fit_mean']:.4g} (target {r['target_value']:.4g}, z {r['fit_z']:+.2f})")
    print(f"calibration: objective {start.objective:.4g} -> {best.objective:.4g} in {len(obj.history)} evaluations; "
          f"config: {config_path}\n  use it: peersim --config-dir {outdir} +calibrated={cfg.name}")
    return FitResult(parameters, fitted, start, best, fresh, report, ptable, evals, config_path, message)


EXPERIMENTS = [Experiment("calibrate", CalibrateConfig, run_calibrate,
                          "fit parameters to targets with common random numbers; writes calibrated/<name>.yaml")]
