"""What a calibration writes: the calibrated config, its tables and ``fit_report.md``.

:func:`write_calibrated_config` writes ``calibrated/<name>.yaml`` (a ``# @package _global_``
file: each fitted value with its unit and how it was calibrated); :func:`fit_tables` gives
``fit_report`` (one row per target) and ``fit_parameters`` (one row per parameter),
:func:`evaluations_table` ``fit_evaluations`` (every evaluated point), and
:func:`report_markdown` ``fit_report.md``. See :mod:`peersim.experiments.calibrate`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from peersim.experiments.calibrate.fit import Evaluation
from peersim.experiments.calibrate.parameters import CalibrateConfig, Parameter, format_value, sig
from peersim.experiments.targets import TargetSpec, describe_configuration
from peersim.io import write_text


def write_calibrated_config(path: Path, parameters: list[Parameter], fitted: dict[str, float], *,
                            names: list[str], method: str, replications: int, seeds: list[int],
                            objective: float, start_objective: float, name: str) -> str:
    """The fitted values as a ``# @package _global_`` config (``+calibrated=<name>``)."""
    tree: dict[str, Any] = {}
    for p in parameters:
        node = tree
        parts = p.key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = p
    how = (f"{'Nelder-Mead' if method == 'nelder-mead' else 'bounded Powell'} on common random numbers, "
           f"{replications} replications per point")
    lines = [
        "# @package _global_",
        f"# Calibrated parameter values ('{name}'), written by `peersim experiment=calibrate`",
        f"# (src/peersim/experiments/calibrate/). Fitted to the targets {', '.join(names)}",
        f"# (conf/experiment/_targets.yaml) with {how}, seeds {seeds[0]}-{seeds[-1]};",
        f"# weighted sum of squared standardised residuals {objective:.4g} at the fit ({start_objective:.4g} at the start).",
        f"# Load with: peersim --config-dir <the folder holding calibrated/> +calibrated={name}",
        "# (or copy this file into conf/calibrated/). Keys not listed keep their configured values.",
    ]

    def emit(node: dict[str, Any], indent: int) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(f"{' ' * indent}{k}:")
                emit(v, indent + 2)
            else:
                value = format_value(v, fitted[v.key])
                comment = (f"{v.unit}; calibrated: {', '.join(names)}, {how} "
                           f"(start {format_value(v, v.start)}, bounds {format_value(v, v.lo)}-{format_value(v, v.hi)})")
                lines.append(f"{' ' * indent}{k}: {value}   # {comment}")

    emit(tree, 0)
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return text


def fit_tables(parameters: list[Parameter], specs: dict[str, TargetSpec], names: list[str],
               weights: dict[str, float], start: Evaluation, best: Evaluation,
               fresh: Evaluation | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``fit_report`` (one row per target) and ``fit_parameters`` (one row per parameter)."""
    rows = []
    for n in names:
        s, a, b = specs[n], start.stats[n], best.stats[n]
        f = fresh.stats[n] if fresh is not None else None
        rows.append({
            "target": n, "group": s.group, "overrides": " ".join(s.overrides), "statistic": s.statistic,
            "unit": s.unit, "weight": weights.get(n, 1.0), "target_value": s.value, "acceptance_lo": s.lo,
            "acceptance_hi": s.hi, "residual_sd": s.scale(),
            "start_mean": a.mean, "start_z": a.z,
            "fit_mean": b.mean, "fit_lo90": b.lo90, "fit_hi90": b.hi90, "fit_mc_se": b.se, "fit_z": b.z,
            "fit_in_interval": bool(b.passed),
            "fresh_mean": f.mean if f else math.nan, "fresh_z": f.z if f else math.nan,
            "source": s.source,
        })
    prows = []
    for p in parameters:
        x = best.values[p.key]
        prows.append({
            "parameter": p.key, "unit": p.unit, "configured": p.configured, "start": p.start,
            "fitted": sig(x), "lo": p.lo, "hi": p.hi, "bounds_from": p.bounds_from,
            "at_bound": bool(abs(p.to_unit(x)) < 1e-3 or abs(p.to_unit(x) - 1) < 1e-3),
        })
    return pd.DataFrame(rows), pd.DataFrame(prows)


def evaluations_table(history: list[Evaluation], parameters: list[Parameter], names: list[str]) -> pd.DataFrame:
    """``fit_evaluations``: every evaluated point, its objective, and each target's mean and z."""
    return pd.DataFrame([
        {"evaluation": e.index, **{p.key: e.values[p.key] for p in parameters}, "objective": e.objective,
         **{f"mean:{n}": e.stats[n].mean for n in names}, **{f"z:{n}": e.stats[n].z for n in names},
         "seconds": e.seconds}
        for e in history])


def report_markdown(report: pd.DataFrame, ptable: pd.DataFrame, *, cfg: CalibrateConfig, charts: bool,
                    seeds: list[int], start: Evaluation, best: Evaluation, fresh: Evaluation | None, message: str,
                    n_evals: int, seconds: float, config_text: str, overrides: list[str]) -> str:
    """``fit_report.md``: the parameters, the targets at the start and at the fit, notes, the config."""
    def f(x: float) -> str:
        if x is None or not math.isfinite(x):
            return "-"
        return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.4g}"

    method = "Nelder-Mead" if cfg.method == "nelder-mead" else "bounded Powell"
    lines = [
        f"# peersim calibration '{cfg.name}'",
        "",
        f"Configuration: {describe_configuration(overrides)}; "
        f"each target under its own overrides on top. {method} on the parameters scaled to their bounds, "
        f"{cfg.replications} replications per point with the same seeds {seeds[0]}-{seeds[-1]} at every point "
        f"(common random numbers); {n_evals} evaluations in {seconds:.0f} s. Optimiser: {message}",
        "",
        f"Objective (weighted sum of squared standardised residuals): **{f(start.objective)} at the start, "
        f"{f(best.objective)} at the fit**"
        + (f", {f(fresh.objective)} at the fit on fresh seeds {seeds[-1] + 1}-{seeds[-1] + len(seeds)}" if fresh else "")
        + ".",
        "",
        "## Parameters",
        "",
        "| parameter | unit | start | fitted | bounds | bounds from |",
        "|---|---|---|---|---|---|",
    ]
    for _, r in ptable.iterrows():
        flag = " (at a bound)" if r["at_bound"] else ""
        lines.append(f"| `{r['parameter']}` | {r['unit']} | {f(r['start'])} | **{f(r['fitted'])}**{flag} | "
                     f"{f(r['lo'])} - {f(r['hi'])} | {r['bounds_from']} |")
    lines += [
        "",
        "## Targets",
        "",
        "| target | measured under | target (acceptance) | weight | start: mean (z) | fit: mean | fit: 90% interval | fit: z | fresh seeds: mean (z) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in report.iterrows():
        fresh_txt = f"{f(r['fresh_mean'])} ({r['fresh_z']:+.2f})" if math.isfinite(r["fresh_z"]) else "-"
        lines.append(
            f"| {r['target']} | `{r['overrides']}` | {f(r['target_value'])} ({f(r['acceptance_lo'])} - {f(r['acceptance_hi'])}) "
            f"{r['unit']} | {r['weight']:g} | {f(r['start_mean'])} ({r['start_z']:+.2f}) | {f(r['fit_mean'])} | "
            f"{f(r['fit_lo90'])} - {f(r['fit_hi90'])} | {r['fit_z']:+.2f} | {fresh_txt} |")
    notes = []
    if len(ptable) > len(report):
        notes.append(f"More parameters ({len(ptable)}) than targets ({len(report)}): the fit is not identified; "
                     "several parameter values fit equally well and the one found depends on the start.")
    if ptable["at_bound"].any():
        notes.append("A parameter ended at a bound: the targets pull it further; widen experiment.bounds or "
                     "question the target.")
    far = report[report["fit_z"].abs() > 2]
    if len(far):
        notes.append("Still far from the target at the fit (|z| > 2): "
                     + ", ".join(f"{r['target']} (z {r['fit_z']:+.1f})" for _, r in far.iterrows())
                     + ". The parameters may not reach it within the bounds, the targets may conflict, or the "
                     "search started where the target does not respond to the parameters (a plateau, e.g. "
                     "capacity limited by demand rather than hours); try another experiment.start.")
    if fresh is not None and fresh.objective > 2 * best.objective + len(report):
        notes.append("The objective on fresh seeds is much larger than at the fit: the fit follows the noise of "
                     "its seeds; raise experiment.replications.")
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += [
        "",
        "## The written config",
        "",
        f"`calibrated/{cfg.name}.yaml` (load it with `peersim --config-dir <this folder> +calibrated={cfg.name}`):",
        "",
        "```yaml",
        config_text.rstrip(),
        "```",
        "",
        "z = (mean - target) / sd with sd = (hi - lo) / 3.92 unless the target sets sd; the 90% interval is the "
        "5th-95th percentile of the replications. fit_evaluations.csv lists every evaluated point.",
        "",
    ]
    if charts:
        lines += ["![calibration](chart_calibration.png)", ""]
    return "\n".join(lines)
