"""Experiments: many runs behind one command, ``peersim experiment=<name> experiment.<key>=...``.

One module (or subpackage) per experiment, each with an ``EXPERIMENTS`` list of
:class:`~peersim.experiments.base.Experiment` (what an experiment is: :mod:`.base`). This package
is their registry: it lists them, finds the one a configuration selected, runs one from Python
(:func:`run_experiment`) and registers their schemas in Hydra's ConfigStore, as
``experiment_schema/<name>``, when it is imported (Hydra's own idiom for structured configs).
Composing a configuration that selects an experiment needs that registration: the ``peersim``
command, ``peersim.load_config`` and :func:`run_experiment` import this package first.

To add an experiment: a module with its schema, its ``run`` and ``EXPERIMENTS``; its options in
``conf/experiment/<name>.yaml``; its import in the list below.
Modules keep heavy imports (SALib, matplotlib, scipy.optimize) inside functions: every experiment
module is imported whenever a configuration is composed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore

from peersim.config import EXPERIMENT_SCHEMA_GROUP, load_config
from peersim.experiments import calibrate, compare, rollout, sensitivity, validate
from peersim.experiments.base import Experiment, base_overrides, compose_variant
from peersim.params import PeersimConfig
from peersim.refusals import folder, override_list
from peersim.validation import ConfigError

__all__ = ["Experiment", "all_experiments", "base_overrides", "compose_variant", "find", "register_schemas",
           "run_experiment"]

_MODULES = (compare, validate, calibrate, sensitivity, rollout)
_EXPERIMENTS: dict[str, Experiment] = {exp.name: exp for module in _MODULES for exp in module.EXPERIMENTS}


def all_experiments() -> dict[str, Experiment]:
    """Every experiment, by name."""
    return dict(_EXPERIMENTS)


def register_schemas() -> None:
    """Store every experiment's schema in Hydra's ConfigStore (``experiment_schema/<name>``)."""
    cs = ConfigStore.instance()
    for exp in _EXPERIMENTS.values():
        cs.store(group=EXPERIMENT_SCHEMA_GROUP, name=exp.name, node=exp.schema)


def find(params: PeersimConfig) -> Experiment:
    """The experiment ``params`` selected."""
    for exp in _EXPERIMENTS.values():
        if isinstance(params.experiment, exp.schema):
            return exp
    raise ConfigError(f"experiment: no experiment takes a {type(params.experiment).__name__}")


def run_experiment(name: str, overrides: Sequence[str] = (), outdir: str | Path = ".") -> Any:
    """The Python API of ``peersim experiment=<name> <overrides>``, writing into ``outdir``."""
    if not isinstance(name, str) or not name:
        raise ConfigError(f"run_experiment: name must be an experiment's name, e.g. 'validate'; choose one of: "
                          f"{', '.join(_EXPERIMENTS)}; got {name!r}")
    overrides = override_list(overrides, "run_experiment")
    out = folder(outdir, "run_experiment")
    params = load_config([f"experiment={name}", *overrides])
    out.mkdir(parents=True, exist_ok=True)  # OSError (with the path) if it cannot be made
    return find(params).run(params, base_overrides(overrides), out)


register_schemas()
