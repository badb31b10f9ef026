"""What ``experiment=calibrate`` fits: its settings, the parameters with bounds, start and unit.

:func:`resolve_parameters` checks every key of ``experiment.parameters`` (a numeric key shared by
every scenario, with bounds and a start inside them) and :func:`check_options` the other
settings; both stop with one line before anything runs. A :class:`Parameter` maps its value to
the unit interval the optimiser works on and back, rounded as the calibrated config will write
it (:func:`sig`, :func:`format_value`). See :mod:`peersim.experiments.calibrate`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from peersim.config import conf_dir
from peersim.experiments.targets import TargetSpec
from peersim.params import PeersimConfig
from peersim.uncertainty import get_value, numeric_keys, with_values
from peersim.validation import ConfigError

# -- the settings --------------------------------------------------------------------------------
METHODS = ("nelder-mead", "powell")


@dataclass
class CalibrateConfig:
    """``experiment=calibrate`` (conf/experiment/calibrate.yaml)."""

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

    def seeds_used(self) -> tuple[int, str]:
        """``seed + r`` at every point, and as many fresh seeds after them for the fresh-seed check
        (checked by :func:`peersim.params.validate`)."""
        if self.fresh_seed_check:
            return 2 * self.replications, (f"experiment.replications={self.replications} and "
                                           "experiment.fresh_seed_check=true (twice as many seeds)")
        return self.replications, f"experiment.replications={self.replications}"


def check_options(cfg: CalibrateConfig, names: list[str]) -> None:
    """The settings besides the parameters (replications, method, tolerances, name, weights)."""
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
        return float(round(x)) if self.is_int else sig(x)


def sig(x: float, digits: int = 6) -> float:
    """``x`` to ``digits`` significant digits."""
    return float(f"{x:.{digits}g}")


def format_value(p: Parameter, x: float) -> str:
    """A value of ``p`` as the calibrated config writes it."""
    return str(int(round(x))) if p.is_int else repr(sig(x))


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
