"""Calibration: fit parameters to targets, and write the fit as a config file peersim loads.

    peersim +experiment=calibrate                              # conf/experiment/calibrate.yaml
    peersim +experiment=calibrate 'experiment.parameters=[recovery.effect_full_dose_qpr,recovery.success_improvement_qpr]' \\
        experiment.replications=20
    peersim --config-dir <that run folder> +calibrated=fit     # the fitted values, in any run
    peersim --config-dir <that run folder> +calibrated=fit +experiment=validate

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
"""

from __future__ import annotations

import difflib
import math
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments import Experiment
from peersim.experiments.targets import (
    RunSet,
    TargetSpec,
    TargetStats,
    check_specs,
    describe_configuration,
    plan_run_sets,
    probe_statistics,
    replicate,
    seeds_for,
    target_stats,
)
from peersim.params import ConfigError, PeersimConfig
from peersim.io import begin_result, save_figure, write_tables, write_text

METHODS = ("nelder-mead", "powell")
# objective of a point at which a target could not be measured (e.g. no citizen started)
UNMEASURED_PENALTY = 1e6


@dataclass
class CalibrateConfig:
    """``+experiment=calibrate`` (conf/experiment/calibrate.yaml)."""

    targets: dict[str, TargetSpec] = field(default_factory=dict)   # the target definitions (_targets.yaml)
    select: list[str] = field(default_factory=list)                # targets to fit
    parameters: list[str] = field(default_factory=list)            # dotted keys to fit
    bounds: dict[str, Any] = field(default_factory=dict)           # key -> [lo, hi] (checked here: ints welcome)
    start: dict[str, float] = field(default_factory=dict)          # key -> start (default: configured value)
    weights: dict[str, float] = field(default_factory=dict)        # target -> weight (default 1)
    replications: int = 16
    method: str = "nelder-mead"
    max_evaluations: int = 60
    initial_step: float = 0.2
    xtol: float = 0.01
    ftol: float = 0.05
    fresh_seed_check: bool = True
    name: str = "fit"
    n_jobs: int = 0
    progress: bool = True


# -- parameters ----------------------------------------------------------------------------------
@dataclass
class Parameter:
    key: str
    lo: float
    hi: float
    start: float
    configured: float
    is_int: bool
    unit: str
    bounds_from: str

    def to_unit(self, x: float) -> float:
        return (x - self.lo) / (self.hi - self.lo)

    def from_unit(self, u: float) -> float:
        """The parameter value at ``u`` in [0, 1], as it will be written: integers rounded, others
        to 6 significant digits, so the written config reproduces every evaluated point exactly."""
        x = self.lo + min(max(float(u), 0.0), 1.0) * (self.hi - self.lo)
        return float(round(x)) if self.is_int else _sig(x)


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "defaults":
                continue
            out.update(_flatten(v, f"{prefix}{k}."))
    else:
        out[prefix[:-1]] = node
    return out


def keys_set_per_variant() -> dict[str, list[str]]:
    """Dotted keys that a scenario file or a municipality preset sets, with the files setting them:
    they differ by scenario or place, so one fitted value cannot stand for all of them."""
    import yaml

    from peersim.config import conf_dir

    found: dict[str, list[str]] = {}
    root = conf_dir()
    for path in sorted((root / "scenario").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in _flatten(data):
            if not key.startswith("scenario."):
                found.setdefault(key, []).append(f"conf/scenario/{path.name}")
    for path in sorted((root / "municipality").glob("*.yaml")):
        if path.stem.startswith("_"):
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in _flatten(data):
            found.setdefault(f"municipality.{key}", []).append(f"conf/municipality/{path.name}")
    return found


def unit_of(key: str) -> str:
    """The unit of a parameter, from the comment of its default in conf/<group>/ (the text before
    the first ';', '(' or '. '), e.g. 'QPR-15 points'."""
    from peersim.config import conf_dir

    parts = key.split(".")
    folder = conf_dir() / parts[0]
    files = ([folder / "default.yaml", *sorted(folder.glob("*.yaml"))] if folder.is_dir()
             else [conf_dir() / "config.yaml"])
    pattern = re.compile(rf"^\s*{re.escape(parts[-1])}:\s*[^#\n]*#\s*(?P<comment>.*)$")
    for path in files:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            m = pattern.match(line)
            if m:
                text = re.split(r";|\(|\. ", m["comment"], maxsplit=1)[0].strip().rstrip(".")
                if text:
                    return text
    return f"unit as in conf/{parts[0]}/"


def resolve_parameters(cfg: CalibrateConfig, params: PeersimConfig, specs: dict[str, TargetSpec],
                       names: list[str]) -> list[Parameter]:
    """Check every key, its bounds and start; ConfigError (one line) for the first problem."""
    from peersim.uncertainty import get_value, numeric_keys, with_values

    if not cfg.parameters:
        raise ConfigError("experiment.parameters: no parameters to fit; give e.g. "
                          "experiment.parameters=[recovery.effect_full_dose_qpr]")
    if len(set(cfg.parameters)) != len(cfg.parameters):
        raise ConfigError(f"experiment.parameters: a key is listed twice: {cfg.parameters}")
    for key in cfg.start:
        if key not in cfg.parameters:
            raise ConfigError(f"experiment.start: '{key}' is not in experiment.parameters ({', '.join(cfg.parameters)})")
    known = numeric_keys(params)
    per_variant = keys_set_per_variant()
    set_by_targets = {o.lstrip("+~").split("=", 1)[0]: n for n in names for o in specs[n].overrides}
    out = []
    for key in cfg.parameters:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"experiment.parameters: '{key}' is not a numeric parameter{guess}")
        if key in ("seed", "years"):
            raise ConfigError(f"experiment.parameters: '{key}' is not a model parameter to fit")
        if key in per_variant:
            raise ConfigError(
                f"experiment.parameters: '{key}' is set per scenario or place ({', '.join(per_variant[key])}), so one "
                "fitted value cannot be written for every run; fit a key the scenarios share")
        if key in set_by_targets:
            raise ConfigError(f"experiment.parameters: '{key}' is set by the overrides of target "
                              f"{set_by_targets[key]}, so fitting it there would have no effect")
        configured = get_value(params, key)
        if key in cfg.bounds:
            b = cfg.bounds[key]
            if (not isinstance(b, list | tuple) or len(b) != 2
                    or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in b)):
                raise ConfigError(f"experiment.bounds.{key} must be [lo, hi] (two numbers), got {b!r}")
            b = [float(x) for x in b]
            source = "experiment.bounds"
        elif key in params.uncertainty.parameters:
            d = params.uncertainty.parameters[key]
            b = [d.lo * configured, d.hi * configured] if d.relative else [d.lo, d.hi]
            source = "conf/uncertainty/default.yaml"
        else:
            raise ConfigError(f"experiment.bounds: no range for '{key}' (and none in conf/uncertainty/); give "
                              f"'experiment.bounds={{{key}:[lo,hi]}}'")
        if len(b) != 2 or not b[0] < b[1]:
            raise ConfigError(f"experiment.bounds.{key} must be [lo, hi] with lo < hi, got {b}")
        for end in b:  # inside the parameter's allowed range (one line naming the key otherwise)
            try:
                with_values(params, {key: end})
            except ConfigError as exc:
                raise ConfigError(f"experiment.bounds.{key}: {exc}") from None
        start = float(cfg.start.get(key, configured))
        if not b[0] <= start <= b[1]:
            raise ConfigError(f"experiment.start.{key}: {start} is outside the bounds [{b[0]}, {b[1]}] ({source})")
        is_int = isinstance(configured, int) and not isinstance(configured, bool)
        out.append(Parameter(key, float(b[0]), float(b[1]), start, float(configured), is_int, unit_of(key), source))
    return out


def _check_options(cfg: CalibrateConfig, names: list[str]) -> None:
    if cfg.replications < 2:
        raise ConfigError(f"experiment.replications must be >= 2 (an interval needs replications), got {cfg.replications}")
    if cfg.method not in METHODS:
        raise ConfigError(f"experiment.method={cfg.method!r} is not allowed; choose one of: {', '.join(METHODS)}")
    if cfg.max_evaluations < len(cfg.parameters) + 2:
        raise ConfigError(f"experiment.max_evaluations must be >= {len(cfg.parameters) + 2} "
                          f"(parameters + 2), got {cfg.max_evaluations}")
    if not 0 < cfg.initial_step <= 0.5:
        raise ConfigError(f"experiment.initial_step must be in (0, 0.5] (share of each range), got {cfg.initial_step}")
    if not (cfg.xtol > 0 and cfg.ftol > 0):
        raise ConfigError(f"experiment.xtol and experiment.ftol must be > 0, got {cfg.xtol}, {cfg.ftol}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", cfg.name):
        raise ConfigError(f"experiment.name={cfg.name!r}: use letters, digits, '_' and '-' (it names calibrated/<name>.yaml)")
    for target, w in cfg.weights.items():
        if target not in names:
            raise ConfigError(f"experiment.weights: '{target}' is not a selected target ({', '.join(names)})")
        if not (w > 0 and math.isfinite(w)):
            raise ConfigError(f"experiment.weights.{target} must be > 0, got {w}")


# -- the objective -------------------------------------------------------------------------------
@dataclass
class Evaluation:
    index: int
    values: dict[str, float]
    objective: float
    stats: dict[str, TargetStats]
    seconds: float


class Objective:
    """The CRN objective with a cache: ``Objective(...)(u)`` for a point of the unit cube."""

    def __init__(self, parameters: list[Parameter], run_sets: list[RunSet], specs: dict[str, TargetSpec],
                 names: list[str], weights: dict[str, float], seeds: list[int], *, n_jobs: int,
                 progress: bool, max_evaluations: int) -> None:
        self.parameters, self.run_sets, self.specs, self.names = parameters, run_sets, specs, names
        self.weights = {n: float(weights.get(n, 1.0)) for n in names}
        self.seeds, self.n_jobs, self.progress, self.max_evaluations = seeds, n_jobs, progress, max_evaluations
        self.cache: dict[tuple[float, ...], Evaluation] = {}
        self.history: list[Evaluation] = []

    def values_at(self, u: np.ndarray) -> dict[str, float]:
        return {p.key: p.from_unit(ui) for p, ui in zip(self.parameters, u, strict=True)}

    def evaluate(self, values: dict[str, float], *, seeds: list[int] | None = None) -> Evaluation:
        """The objective at ``values`` on the shared seeds (cached and recorded), or on other
        ``seeds`` (the fresh-seed check: neither cached nor recorded)."""
        key = tuple(round(values[p.key], 12) for p in self.parameters)
        if seeds is None and key in self.cache:
            return self.cache[key]
        t0 = time.perf_counter()
        label = (f"calibrate {len(self.history) + 1:>3}/{self.max_evaluations}" if seeds is None
                 else "calibrate, fresh seeds")
        rows = replicate(self.run_sets, seeds or self.seeds, values=values, n_jobs=self.n_jobs,
                         label=label, progress=self.progress)
        stats = {}
        for rs in self.run_sets:
            for name in rs.targets:
                stats[name] = target_stats(name, self.specs[name], rows[rs.overrides])
        total = 0.0
        for name in self.names:
            st = stats[name]
            total += self.weights[name] * st.z ** 2 if st.available else UNMEASURED_PENALTY
        ev = Evaluation(len(self.history) + 1, dict(values), float(total), stats, time.perf_counter() - t0)
        if seeds is None:
            self.cache[key] = ev
            self.history.append(ev)
            if self.progress:
                shown = ", ".join(f"{k.rsplit('.', 1)[-1]}={v:.4g}" for k, v in values.items())
                print(f"  evaluation {ev.index}: objective {total:.4g} at {shown}", file=sys.stderr)
        return ev

    def __call__(self, u: np.ndarray) -> float:
        return self.evaluate(self.values_at(np.asarray(u, dtype=float))).objective


def minimise(obj: Objective, parameters: list[Parameter], cfg: CalibrateConfig) -> tuple[Evaluation, str]:
    """Run the optimiser on the unit cube; the best evaluated point and scipy's message."""
    from scipy.optimize import minimize

    k = len(parameters)
    u0 = np.array([p.to_unit(p.start) for p in parameters])
    bounds = [(0.0, 1.0)] * k
    if cfg.method == "nelder-mead":
        simplex = [u0]
        for j in range(k):
            step = np.zeros(k)
            step[j] = cfg.initial_step if u0[j] + cfg.initial_step <= 1.0 else -cfg.initial_step
            simplex.append(u0 + step)
        res = minimize(obj, u0, method="Nelder-Mead", bounds=bounds,
                       options={"initial_simplex": np.array(simplex), "xatol": cfg.xtol, "fatol": cfg.ftol,
                                "maxfev": cfg.max_evaluations, "adaptive": k > 2})
    else:
        # Powell's ftol is relative: scale the absolute tolerance by the objective at the start
        start_objective = obj.history[0].objective if obj.history else 1.0
        res = minimize(obj, u0, method="Powell", bounds=bounds,
                       options={"xtol": cfg.xtol, "ftol": cfg.ftol / max(start_objective, 1.0),
                                "maxfev": cfg.max_evaluations, "direc": np.eye(k) * cfg.initial_step})
    best = min(obj.history, key=lambda e: e.objective)
    return best, str(res.message)


# -- outputs -------------------------------------------------------------------------------------
def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def _format_value(p: Parameter, x: float) -> str:
    return str(int(round(x))) if p.is_int else repr(_sig(x))


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
        f"# Calibrated parameter values ('{name}'), written by `peersim +experiment=calibrate`",
        f"# (src/peersim/experiments/calibrate.py). Fitted to the targets {', '.join(names)}",
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
                value = _format_value(v, fitted[v.key])
                comment = (f"{v.unit}; calibrated: {', '.join(names)}, {how} "
                           f"(start {_format_value(v, v.start)}, bounds {_format_value(v, v.lo)}-{_format_value(v, v.hi)})")
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
            "fitted": _sig(x), "lo": p.lo, "hi": p.hi, "bounds_from": p.bounds_from,
            "at_bound": bool(abs(p.to_unit(x)) < 1e-3 or abs(p.to_unit(x) - 1) < 1e-3),
        })
    return pd.DataFrame(rows), pd.DataFrame(prows)


def _markdown(report: pd.DataFrame, ptable: pd.DataFrame, *, cfg: CalibrateConfig, charts: bool, seeds: list[int],
              start: Evaluation, best: Evaluation, fresh: Evaluation | None, message: str,
              n_evals: int, seconds: float, config_text: str, overrides: list[str]) -> str:
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


def plot_trace(obj: Objective, parameters: list[Parameter], path: Path) -> None:
    """Objective and the parameters (as a share of their bounds) by evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = obj.history
    x = [e.index for e in hist]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8.5, 6.5), sharex=True)
    a1.plot(x, [max(e.objective, 1e-6) for e in hist], "o-", ms=3, color="#34495e")
    best = min(hist, key=lambda e: e.objective)
    a1.plot([best.index], [max(best.objective, 1e-6)], "*", ms=14, color="#c0392b", label="best")
    a1.set_yscale("log")
    a1.set_ylabel("objective (sum of w z^2, log scale)")
    a1.set_title("Calibration: objective and parameters by evaluation")
    a1.legend(fontsize=8)
    for p in parameters:
        a2.plot(x, [p.to_unit(e.values[p.key]) for e in hist], "o-", ms=3,
                label=f"{p.key} [{_format_value(p, p.lo)}, {_format_value(p, p.hi)}]")
    a2.set_ylim(-0.05, 1.05)
    a2.set_ylabel("position within bounds (0 = lo, 1 = hi)")
    a2.set_xlabel("evaluation (parameter point simulated)")
    a2.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path)


# -- the experiment ------------------------------------------------------------------------------
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
    _check_options(cfg, names)
    parameters = resolve_parameters(cfg, params, cfg.targets, names)
    run_sets = plan_run_sets(cfg.targets, names, overrides, strict=True)
    start_values = {p.key: (float(round(p.start)) if p.is_int else _sig(p.start)) for p in parameters}
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
    evals = pd.DataFrame([
        {"evaluation": e.index, **{p.key: e.values[p.key] for p in parameters}, "objective": e.objective,
         **{f"mean:{n}": e.stats[n].mean for n in names}, **{f"z:{n}": e.stats[n].z for n in names},
         "seconds": e.seconds}
        for e in obj.history])
    write_tables(outdir, {"fit_report": report, "fit_parameters": ptable, "fit_evaluations": evals},
                 params.output)
    if params.output.charts:
        plot_trace(obj, parameters, outdir / "chart_calibration.png")
    md = _markdown(report, ptable, cfg=cfg, charts=params.output.charts, seeds=seeds, start=start, best=best, fresh=fresh, message=message,
                   n_evals=len(obj.history), seconds=seconds, config_text=config_text, overrides=overrides)
    write_text(outdir / "fit_report.md", md)

    for p in parameters:
        print(f"  {p.key} = {_format_value(p, fitted[p.key])}  (start {_format_value(p, p.start)}, "
              f"bounds {_format_value(p, p.lo)}-{_format_value(p, p.hi)}) {p.unit}")
    for _, r in report.iterrows():
        print(f"  {r['target']}: {r['fit_mean']:.4g} (target {r['target_value']:.4g}, z {r['fit_z']:+.2f})")
    print(f"calibration: objective {start.objective:.4g} -> {best.objective:.4g} in {len(obj.history)} evaluations; "
          f"config: {config_path}\n  use it: peersim --config-dir {outdir} +calibrated={cfg.name}")
    return FitResult(parameters, fitted, start, best, fresh, report, ptable, evals, config_path, message)


EXPERIMENTS = [Experiment("calibrate", CalibrateConfig, run_calibrate,
                          "fit parameters to targets with common random numbers; writes calibrated/<name>.yaml")]

__all__ = ["CalibrateConfig", "FitResult", "Parameter", "keys_set_per_variant", "run_calibrate", "unit_of"]
