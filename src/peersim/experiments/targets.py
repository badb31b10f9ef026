"""Targets: published figures the model should reproduce, defined once for calibration and validation.

A target is a figure from docs/domain.md (or a paper) together with the conditions it is measured
under: the overrides of the runs (``scenario=local_coordinator municipality=fredericia years=5``),
the statistic of one run (a ``summary.json`` key, or a derived statistic of the run's tables
listed in :data:`DERIVED`), an optional divisor (``divide_by: 11.9`` turns QPR-15 points into
standard deviations), the target value, an acceptance interval and its source.

The definitions live in ``conf/experiment/_targets.yaml``, which both ``experiment=calibrate``
and ``experiment=validate`` include as ``experiment.targets``; a target is selected by name
(``experiment.select=[...]``) and any field can be changed on the command line
(``experiment.targets.success_rate_lc.value=0.1``).

Why these rules:

* **One statistic per run, then across replications.** Each replication gives one value; a
  target is compared with the mean over replications, and the 5th-95th percentiles of the
  replications show the run-to-run spread (the "90% interval").
* **Pass** means the simulated mean lies inside the acceptance interval. For the trial the
  interval is the trial's own 95% confidence interval; for "about N" figures it is a stated
  tolerance (an assumption written next to it).
* **Standardised residual** ``z = (mean - value) / sd``. Unless a target gives ``sd``, the
  acceptance interval is read as a 95% interval of a normal: ``sd = (hi - lo) / 3.92``. A
  target at the edge of its interval thus has ``|z|`` about 2, and calibration minimises
  ``sum(weight * z**2)``.
* **Shared runs.** Targets with the same overrides are measured on the same runs (one run set),
  so courses, citizens, success and volunteer loss of the local coordinator cost one set of
  replications. Every run set uses the same seeds (common random numbers).
* **Only what is needed.** A run set whose statistics are all model figures (not costs or
  savings) skips the economics layer, which costs more than the simulation itself.
* **Not available.** A target whose runs cannot be composed (e.g. a scenario that does not exist
  in this version) is reported as not available, with the reason; it is never given a value.
  A statistic that no run produces is an error (a typo), found by one probe run before the
  replications.

Volunteer loss (:func:`volunteer_annual_loss_share`) is measured among trained volunteers as the
share of a cohort lost within 12 months at the simulated leaving rate: leavers divided by
volunteer-years from the end of training to leaving or the end of the run gives a yearly hazard
``h``, and ``1 - exp(-h)`` is the share lost in a year. Volunteers on a burnout pause still count
as volunteers (they may return); trainees who never finish are not counted.
"""

from __future__ import annotations

import copy
import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.base import compose_variant
from peersim.params import PeersimConfig
from peersim.validation import ConfigError

__all__ = [
    "DERIVED", "RunSet", "TargetSpec", "TargetStats", "check_specs", "describe_configuration", "measure",
    "measure_model_only", "plan_run_sets", "probe_statistics", "replicate", "seeds_for", "target_stats",
]

# z for a two-sided 95% interval: the default reading of an acceptance interval
Z95 = 1.959963984540054


@dataclass
class TargetSpec:
    """One target (a node of ``experiment.targets``; see the module docstring)."""

    group: str = "other"            # chart and report group (capacity, success, effect, volunteers, trial)
    description: str = ""
    overrides: list[str] = field(default_factory=list)  # the conditions the target is measured under
    statistic: str = ""             # a summary.json key or a name in DERIVED
    divide_by: float = 1.0          # the statistic is divided by this (e.g. the QPR-15 SD, to get SD units)
    value: float = 0.0              # the target value, in the unit after divide_by
    lo: float = 0.0                 # acceptance interval
    hi: float = 0.0
    sd: float | None = None         # scale of the standardised residual; None: (hi - lo) / 3.92
    unit: str = ""
    source: str = ""

    def scale(self) -> float:
        return float(self.sd) if self.sd is not None else (self.hi - self.lo) / (2 * Z95)


# -- derived statistics ------------------------------------------------------------------------
@dataclass(frozen=True)
class Derived:
    fn: Callable[[Any], float]
    unit: str
    description: str


def courses_per_year_first_3y(result: Any) -> float:
    """Courses begun per year over the first three operating years (or the whole run if shorter)."""
    years = min(3, int(result.params.years))
    return float(result.summary["courses_started_first_3y"]) / years


def volunteer_annual_loss_share(result: Any) -> float:
    """Share of trained volunteers lost within a year (see the module docstring); NaN if no
    volunteer was ever trained."""
    v = result.volunteers
    trained = v[v["ti_trained"].notna()]
    if trained.empty:
        return math.nan
    start = trained["ti_trained"].astype(float)
    end = trained["ti_left"].astype(float).fillna(float(result.params.weeks))
    exposure_years = float((end - start).clip(lower=0.0).sum()) / 52.0
    leavers = int(trained["ti_left"].notna().sum())
    if exposure_years <= 0:
        return math.nan
    return 1.0 - math.exp(-leavers / exposure_years)


DERIVED: dict[str, Derived] = {
    "courses_per_year_first_3y": Derived(
        courses_per_year_first_3y, "courses per year",
        "courses begun per year in the first three operating years"),
    "volunteer_annual_loss_share": Derived(
        volunteer_annual_loss_share, "share per year",
        "share of trained volunteers lost within a year (leavers per volunteer-year, as 1 - exp(-rate))"),
}


def measure(params: PeersimConfig, *, economics: bool = True) -> dict[str, Any]:
    """One run's summary (as ``summary.json``) plus every derived statistic (module level so
    that worker processes can receive it). ``economics=False`` skips the economics layer, which
    costs about as much as the simulation itself: for run sets whose targets need only model
    figures (decided by the probe run); tests check that both agree on those figures."""
    from peersim.simulate import run

    result = run(params, economics=economics)
    row = dict(result.summary)
    for name, d in DERIVED.items():
        row[name] = d.fn(result)
    return row


def measure_model_only(params: PeersimConfig) -> dict[str, Any]:
    """:func:`measure` without the economics layer."""
    return measure(params, economics=False)


def _measure_item(item: tuple[PeersimConfig, bool]) -> dict[str, Any]:
    params, model_only = item
    return measure_model_only(params) if model_only else measure(params)


def describe_configuration(overrides: Sequence[str]) -> str:
    """'the defaults' or 'the defaults with `a` `b`', and the extra config folders searched (where
    a ``+calibrated=<name>`` came from): the first line of a report."""
    from peersim.config import search_dirs

    text = "the defaults" if not overrides else "the defaults with " + " ".join(f"`{o}`" for o in overrides)
    extra = search_dirs()
    if extra:
        text += " (extra config folders: " + ", ".join(f"`{e.removeprefix('file://')}`" for e in extra) + ")"
    return text


# -- checking and planning ---------------------------------------------------------------------
def check_specs(specs: dict[str, TargetSpec], select: Sequence[str], where: str = "experiment") -> list[str]:
    """The selected target names (all if ``select`` is empty), each well formed; ConfigError otherwise."""
    if not specs:
        raise ConfigError(f"{where}.targets: no targets are defined")
    names = list(select) if select else list(specs)
    for name in names:
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            guess = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"{where}.select: unknown target '{name}'{guess}; defined targets: {', '.join(specs)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}.select: a target is listed twice: {names}")
    for name in names:
        s = specs[name]
        key = f"{where}.targets.{name}"
        if not s.statistic:
            raise ConfigError(f"{key}.statistic: no statistic set (a summary.json key or one of: {', '.join(DERIVED)})")
        if not (s.lo <= s.value <= s.hi) or not s.lo < s.hi:
            raise ConfigError(f"{key}: needs lo < hi and lo <= value <= hi, got value {s.value}, interval [{s.lo}, {s.hi}]")
        if s.divide_by == 0 or not math.isfinite(s.divide_by):
            raise ConfigError(f"{key}.divide_by must be a non-zero number, got {s.divide_by}")
        if s.sd is not None and not s.sd > 0:
            raise ConfigError(f"{key}.sd must be > 0 (or null for (hi - lo) / 3.92), got {s.sd}")
    return names


@dataclass
class RunSet:
    """Targets measured on the same runs: one composed configuration, replicated over seeds."""

    overrides: tuple[str, ...]
    targets: list[str]
    params: PeersimConfig | None = None
    reason: str = ""                # why the runs are not available (params is None)
    model_only: bool = False        # every statistic is a model figure: skip the economics layer

    @property
    def label(self) -> str:
        return " ".join(self.overrides) or "(the configuration as given)"


def plan_run_sets(specs: dict[str, TargetSpec], names: Sequence[str], user_overrides: Sequence[str],
                  *, strict: bool) -> list[RunSet]:
    """Group the targets by their overrides and compose each group's configuration on top of the
    user's (the target's overrides win). With ``strict``, a group that cannot be composed is a
    ConfigError; otherwise it is kept with the reason (reported as not available)."""
    sets: dict[tuple[str, ...], RunSet] = {}
    for name in names:
        key = tuple(specs[name].overrides)
        sets.setdefault(key, RunSet(key, [])).targets.append(name)
    for rs in sets.values():
        try:
            rs.params = compose_variant(user_overrides, list(rs.overrides))
        except ConfigError as exc:
            if strict:
                raise ConfigError(f"target {rs.targets[0]} ({rs.label}): {exc}") from None
            rs.reason = f"its runs ({rs.label}) cannot be set up: {exc}"
            continue
        trial = rs.params.trial
        extra = [m.name for m in rs.params.municipalities if m.name not in trial.sites] if trial.enabled else []
        if extra:  # the command line's municipality joins the trial (docs/trial.md, What it does: Sites)
            print(f"note: {', '.join(extra)} (the command line's municipality) is a site of the trial in the runs "
                  f"of {', '.join(rs.targets)}, besides the published trial's {len(trial.sites)} sites")
    return list(sets.values())


def probe_statistics(run_sets: Sequence[RunSet], specs: dict[str, TargetSpec], *,
                     values: dict[str, float] | None = None) -> None:
    """One run per available run set; every target's statistic must be in it (ConfigError naming
    the key and close matches otherwise). Runs before the replications, so a typo costs a second.
    Also decides whether the set's replications may skip the economics layer."""
    from peersim.uncertainty import with_values

    for rs in run_sets:
        if rs.params is None:
            continue
        params = with_values(rs.params, values) if values else rs.params
        row = measure_model_only(params)
        rs.model_only = all(specs[name].statistic in row for name in rs.targets)
        if not rs.model_only:
            row = measure(params)
        for name in rs.targets:
            stat = specs[name].statistic
            if stat not in row:
                numeric = [k for k, v in row.items() if isinstance(v, int | float) or v is None]
                close = difflib.get_close_matches(stat, numeric, n=3)
                guess = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ConfigError(
                    f"experiment.targets.{name}.statistic: '{stat}' is not a summary key of {rs.label} "
                    f"nor a derived statistic ({', '.join(DERIVED)}){guess}")
            value = row[stat]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ConfigError(f"experiment.targets.{name}.statistic: '{stat}' is not numeric (it is {value!r})")


# -- replications and statistics ---------------------------------------------------------------
def seeds_for(base: int, replications: int, offset: int = 0) -> list[int]:
    """The seeds every run set and every parameter point share (common random numbers)."""
    return [base + offset + r for r in range(replications)]


def replicate(run_sets: Sequence[RunSet], seeds: Sequence[int], *, values: dict[str, float] | None = None,
              n_jobs: int | None = None, label: str = "targets", progress: bool = True) -> dict[tuple[str, ...], pd.DataFrame]:
    """Every available run set at every seed (with ``values`` set, if given), in one parallel batch;
    one DataFrame of rows (summary + derived statistics) per run set."""
    from peersim.experiments._runner import run_many
    from peersim.uncertainty import with_values

    items: list[tuple[PeersimConfig, bool]] = []
    spans: dict[tuple[str, ...], tuple[int, int]] = {}
    for rs in run_sets:
        if rs.params is None:
            continue
        base = with_values(rs.params, values) if values else rs.params
        first = len(items)
        for seed in seeds:
            p = copy.deepcopy(base)
            p.seed = int(seed)
            items.append((p, rs.model_only))
        spans[rs.overrides] = (first, len(items))
    rows = run_many(items, n_jobs=n_jobs, label=label, progress=progress, fn=_measure_item)
    return {key: rows.iloc[a:b].reset_index(drop=True) for key, (a, b) in spans.items()}


@dataclass
class TargetStats:
    """A target measured over replications."""

    name: str
    values: np.ndarray              # one value per replication (NaN where the run had none)
    mean: float
    lo90: float
    hi90: float
    se: float
    n: int
    z: float
    passed: bool

    @property
    def available(self) -> bool:
        return self.n > 0


def target_stats(name: str, spec: TargetSpec, rows: pd.DataFrame) -> TargetStats:
    """Mean, 90% interval (5th-95th percentile of replications), Monte Carlo standard error,
    standardised residual and pass/fail of one target from its run set's rows."""
    raw = pd.to_numeric(rows[spec.statistic], errors="coerce").to_numpy(dtype=float) if len(rows) else np.array([])
    values = raw / spec.divide_by
    ok = values[np.isfinite(values)]
    if ok.size == 0:
        nan = math.nan
        return TargetStats(name, values, nan, nan, nan, nan, 0, nan, False)
    mean = float(ok.mean())
    lo90, hi90 = (float(x) for x in np.percentile(ok, [5, 95]))
    se = float(ok.std(ddof=1) / math.sqrt(ok.size)) if ok.size > 1 else math.nan
    z = (mean - spec.value) / spec.scale()
    return TargetStats(name, values, mean, lo90, hi90, se, int(ok.size), float(z), spec.lo <= mean <= spec.hi)
