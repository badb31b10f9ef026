"""Experiments: many runs behind one command, ``peersim +experiment=<name> experiment.<key>=...``.

Each module of this package may define ``EXPERIMENTS``, a list of :class:`Experiment`. An
experiment has a typed schema (a dataclass, stored in Hydra's ConfigStore as
``experiment_schema/<name>`` so that ``conf/experiment/<option>.yaml`` can extend it and a typo
in ``experiment.*`` fails before anything runs) and a ``run`` function::

    run(params, overrides, outdir) -> None

``params`` is the composed, validated configuration (``params.experiment`` is the experiment's
dataclass); ``overrides`` are the user's command-line overrides without the ``experiment`` ones
and without Hydra's, so that an experiment can compose its own variants of the user's
configuration (``compose_variant``); ``outdir`` is where it writes its tables and charts.
Modules keep heavy imports (SALib, matplotlib, scipy.optimize) inside functions: every
experiment module is imported when the schema is registered.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peersim.params import ConfigError, PeersimConfig

SCHEMA_GROUP = "experiment_schema"


@dataclass(frozen=True)
class Experiment:
    name: str
    schema: type
    run: Callable[[PeersimConfig, list[str], Path], Any]
    description: str = ""


def all_experiments() -> dict[str, Experiment]:
    """Every experiment defined in this package, by name."""
    found: dict[str, Experiment] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for exp in getattr(module, "EXPERIMENTS", ()):
            found[exp.name] = exp
    return found


def register_schemas() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for exp in all_experiments().values():
        cs.store(group=SCHEMA_GROUP, name=exp.name, node=exp.schema)


def find(params: PeersimConfig) -> Experiment:
    for exp in all_experiments().values():
        if isinstance(params.experiment, exp.schema):
            return exp
    raise ConfigError(f"experiment: no experiment takes a {type(params.experiment).__name__}")


def base_overrides(overrides: Sequence[str]) -> list[str]:
    """The user's overrides without the experiment's own and without Hydra's."""
    out = []
    for o in overrides:
        key = o.lstrip("+~").split("=", 1)[0]
        if key == "experiment" or key.startswith(("experiment.", "hydra.", "hydra/")) or key == "hydra":
            continue
        out.append(o)
    return out


def compose_variant(overrides: Sequence[str], variant: Sequence[str] = ()) -> PeersimConfig:
    """The user's configuration with a variant's overrides on top (the variant wins), as a
    plain one-run configuration (``experiment`` is None)."""
    from peersim.config import load_config

    variant_keys = {v.lstrip("+~").split("=", 1)[0] for v in variant}
    kept = [o for o in base_overrides(overrides) if o.lstrip("+~").split("=", 1)[0] not in variant_keys]
    params = load_config([*kept, *variant])
    params.experiment = None
    return params


def run_experiment(name: str, overrides: Sequence[str] = (), outdir: str | Path = ".") -> Any:
    """The Python API of ``peersim +experiment=<name> <overrides>``, writing into ``outdir``."""
    from peersim.config import load_config

    params = load_config([f"+experiment={name}", *overrides])
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    return find(params).run(params, base_overrides(overrides), out)
