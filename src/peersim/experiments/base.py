"""What an experiment is, and how it composes variants of the user's configuration.

An experiment is many runs behind one command (``peersim experiment=<name> experiment.<key>=...``):
a typed schema (a dataclass; ``conf/experiment/<name>.yaml`` extends it, so a typo in
``experiment.*`` fails before anything runs) and a ``run`` function::

    run(params, overrides, outdir) -> result

``params`` is the composed, validated configuration (``params.experiment`` is the experiment's
dataclass); ``overrides`` are the user's command-line overrides without the ``experiment`` ones
and without Hydra's (:func:`base_overrides`), so that an experiment can compose its own variants
of the user's configuration (:func:`compose_variant`); ``outdir`` is where it writes its files,
through :mod:`peersim.io`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peersim.config import load_config
from peersim.params import PeersimConfig


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name (the option of the ``experiment`` config group), its schema, the
    function that runs it, and one line for ``--help`` and the docs."""

    name: str
    schema: type
    run: Callable[[PeersimConfig, list[str], Path], Any]
    description: str = ""


def override_key(override: str) -> str:
    """``+experiment.x=1`` -> ``experiment.x``."""
    return override.lstrip("+~").split("=", 1)[0]


def base_overrides(overrides: Sequence[str]) -> list[str]:
    """The user's overrides without the experiment's own and without Hydra's."""
    out = []
    for o in overrides:
        key = override_key(o)
        if key == "experiment" or key.startswith(("experiment.", "hydra.", "hydra/")) or key == "hydra":
            continue
        out.append(o)
    return out


def compose_variant(overrides: Sequence[str], variant: Sequence[str] = ()) -> PeersimConfig:
    """The user's configuration with a variant's overrides on top (the variant wins), as a
    plain one-run configuration (``experiment`` is None)."""
    variant_keys = {override_key(v) for v in variant}
    kept = [o for o in base_overrides(overrides) if override_key(o) not in variant_keys]
    params = load_config([*kept, *variant])
    params.experiment = None
    return params
