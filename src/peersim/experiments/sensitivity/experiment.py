"""``peersim experiment=sobol`` and ``experiment=morris``: their settings (schemas), the
parameters they analyse (from conf/uncertainty and ``experiment.*``), the run with the peersim
model as the evaluation function, and the findings printed at the end. See docs/sensitivity.md."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peersim.experiments.base import Experiment
from peersim.experiments.sensitivity.analysis import SensitivityResult, influential
from peersim.experiments.sensitivity.design import ModelEvaluation, morris, sobol
from peersim.experiments.sensitivity.folder import write_result
from peersim.experiments.sensitivity.noise import NOISY
from peersim.experiments.sensitivity.problem import Parameter, Problem, close_matches
from peersim.experiments.sensitivity.report import fmt, raise_n
from peersim.params import DistParams, PeersimConfig
from peersim.validation import ConfigError, between

DEFAULT_OUTPUTS = ["net_municipal_dkk", "citizens_started", "volunteer_burnouts"]


# -- experiment schemas (values and their sources live in conf/experiment/*.yaml) -------------
@dataclass
class _SensitivityCommon:
    parameters: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=lambda: list(DEFAULT_OUTPUTS))
    # {dotted.key: [lo, hi]}; typed Any (default None) so that ``experiment.bounds={k: [lo, hi]}``
    # works without Hydra's ``+`` (a typed dict is closed to new keys once composed)
    bounds: Any = None
    distributions: bool = True
    replications_per_point: int = field(default=2, metadata=between(1, 10_000))
    sample_seed: int = field(default=0, metadata=between(0, 2**32 - 1))
    bootstrap_resamples: int = field(default=1000, metadata=between(10, 1_000_000))
    conf_level: float = field(default=0.95, metadata=between(0.5, 0.999))
    n_jobs: int = field(default=0, metadata=between(0, 4096))
    progress: bool = True

    def seeds_used(self) -> tuple[int, str]:
        """Every point runs with ``seed + r`` (checked by :func:`peersim.params.validate`)."""
        return self.replications_per_point, f"experiment.replications_per_point={self.replications_per_point}"

    def validate(self) -> None:
        if not self.outputs:
            raise ConfigError("experiment.outputs is empty; name at least one numeric key of summary.json, "
                              f"e.g. [{','.join(DEFAULT_OUTPUTS)}]")
        if self.bounds is None:
            self.bounds = {}
        if not isinstance(self.bounds, dict):
            raise ConfigError(f"experiment.bounds must map parameter keys to [lo, hi], e.g. "
                              f"{{volunteers.burnout_threshold:[0.5,0.9]}}, got {self.bounds!r}")
        for key, b in self.bounds.items():
            ok = (isinstance(b, list | tuple) and len(b) == 2
                  and all(isinstance(v, int | float) and not isinstance(v, bool) for v in b))
            if not ok or not b[0] < b[1]:
                raise ConfigError(f"experiment.bounds.{key} must be [lo, hi] with numbers lo < hi, got {b!r}")
            self.bounds[key] = [float(b[0]), float(b[1])]


@dataclass
class SobolExperiment(_SensitivityCommon):
    base_samples: int = field(default=32, metadata=between(2, 2**24))
    second_order: bool = False

    def validate(self) -> None:
        super().validate()
        n = self.base_samples
        if n & (n - 1):
            lo = 1 << (n.bit_length() - 1)
            raise ConfigError(f"experiment.base_samples must be a power of 2 (the Sobol' sequence is balanced "
                              f"only then), got {n}; use {lo} or {2 * lo}")


@dataclass
class MorrisExperiment(_SensitivityCommon):
    trajectories: int = field(default=20, metadata=between(2, 1_000_000))
    levels: int = field(default=4, metadata=between(2, 1000))

    def validate(self) -> None:
        super().validate()
        if self.levels % 2:
            raise ConfigError(f"experiment.levels must be even (Morris' step of p/(2(p-1)) levels visits "
                              f"every level equally only then), got {self.levels}")


# -- the model's parameters to analyse, the run, the findings ---------------------------------
def model_problem(params: PeersimConfig, settings: _SensitivityCommon) -> Problem:
    """The parameters to analyse: the chosen keys (or every uncertain one) with their
    distributions from ``uncertainty.parameters``, ``experiment.bounds`` taking precedence."""
    from peersim.uncertainty import get_value, numeric_keys, with_values

    spec: dict[str, DistParams] = dict(params.uncertainty.parameters)
    numeric = numeric_keys(params)
    for key, (lo, hi) in (settings.bounds or {}).items():
        if key not in numeric:
            close = close_matches(key, numeric)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ConfigError(f"experiment.bounds: '{key}' is not a numeric parameter{hint}")
        for v in (lo, hi):
            try:
                with_values(params, {key: v})
            except ConfigError as exc:
                raise ConfigError(f"experiment.bounds.{key}: {exc}") from None
        spec[key] = DistParams(dist="uniform", lo=float(lo), hi=float(hi),
                               source=f"experiment.bounds (configured value {get_value(params, key)})")
    keys = list(dict.fromkeys(settings.parameters)) or list(spec)
    if not keys:
        raise ConfigError("experiment.parameters: nothing to analyse; conf/uncertainty/default.yaml lists no "
                          "parameter and experiment.bounds is empty")
    for key in keys:
        if key in spec:
            continue
        if key in numeric:
            raise ConfigError(f"experiment.parameters: '{key}' has no range; list it in conf/uncertainty/default.yaml "
                              f"or add 'experiment.bounds={{{key}:[lo,hi]}}'")
        close = close_matches(key, list(spec) + [k for k in numeric if k not in spec])
        hint = f"did you mean {', '.join(close)}?" if close else f"parameters with a range: {', '.join(spec)}"
        raise ConfigError(f"experiment.parameters: unknown parameter '{key}'; {hint}")
    return Problem([Parameter(k, spec[k]) for k in keys], distributions=settings.distributions)


def _context(params: PeersimConfig) -> str:
    names = "+".join(m.name for m in params.municipalities)
    return f"Scenario {params.scenario.name}, {names}, {params.years} years."


def _vague(row: Any) -> str:
    return "" if row["precise"] else ", imprecise"


def _print_findings(result: SensitivityResult, out: Path) -> None:
    for k in result.outputs:
        if k in result.notes:
            print(f"  {k}: not analysed ({result.notes[k]})")
            continue
        table = result.indices[result.indices["output"] == k]
        rows, _ = influential(table, result.method)
        if result.method == "sobol":
            top = ", ".join(f"{r['parameter']} (ST {r['ST']:.2f}±{r['ST_conf']:.2f}{_vague(r)})" for r in rows[:3])
        else:
            top = ", ".join(f"{r['parameter']} (mu* {fmt(r['mu_star'])}{_vague(r)})" for r in rows[:3])
        imprecise = int((table["verdict"] == "imprecise").sum())
        if imprecise:
            top += f"; {imprecise} more not estimated precisely: {raise_n(result.method, result.settings)}"
        share = float(result.stats.set_index("output").loc[k, "seed_noise_share"])
        luck = (f" [seed noise {share:.0%} of its variance: mostly luck, raise replications_per_point]"
                if math.isfinite(share) and share > NOISY else "")
        print(f"  {k}: {top or 'no influential parameter'}{luck}")
    s = result.settings
    print(f"  {s['runs']} runs in {s['seconds']:.0f} s; report: {out / 'sensitivity.md'}")


def _run(params: PeersimConfig, outdir: Path, method: str) -> SensitivityResult:
    settings = params.experiment
    base = copy.deepcopy(params)
    base.experiment = None
    problem = model_problem(base, settings)
    relative = {p.name: p.dist.relative for p in problem.parameters}
    fn = ModelEvaluation(base, relative)
    seeds = [base.seed + r for r in range(settings.replications_per_point)]
    common = dict(seeds=seeds, sample_seed=settings.sample_seed, resamples=settings.bootstrap_resamples,
                  conf_level=settings.conf_level, n_jobs=settings.n_jobs or None, progress=settings.progress)
    if method == "sobol":
        result = sobol(problem, fn, settings.outputs, base_samples=settings.base_samples,
                       second_order=settings.second_order, **common)
    else:
        result = morris(problem, fn, settings.outputs, trajectories=settings.trajectories,
                        levels=settings.levels, **common)
    write_result(result, outdir, context=_context(base), output=params.output, charts=params.output.charts)
    _print_findings(result, Path(outdir))
    return result


def run_sobol(params: PeersimConfig, overrides: list[str], outdir: Path) -> SensitivityResult:
    """``peersim experiment=sobol``: Sobol' indices of the chosen outputs."""
    return _run(params, outdir, "sobol")


def run_morris(params: PeersimConfig, overrides: list[str], outdir: Path) -> SensitivityResult:
    """``peersim experiment=morris``: Morris screening of the chosen outputs."""
    return _run(params, outdir, "morris")


EXPERIMENTS = [
    Experiment("sobol", SobolExperiment, run_sobol,
               "Sobol' first-order and total indices of chosen outputs over the uncertain parameters"),
    Experiment("morris", MorrisExperiment, run_morris,
               "Morris elementary-effects screening of chosen outputs over the uncertain parameters"),
]
