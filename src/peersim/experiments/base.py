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

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from peersim.config import load_config
from peersim.params import PeersimConfig
from peersim.uncertainty import apply_draw, draw
from peersim.validation import ConfigError


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


def paired_replications(bases: dict[str, PeersimConfig], seed: int, replications: int, psa: bool,
                        psa_rng: Callable[[int], np.random.Generator], what: str,
                        ) -> Iterator[tuple[int, dict[str, float], str, PeersimConfig]]:
    """Replication ``r`` of every variant in ``bases`` (arms, plans), in replication-major order:
    ``(r, draw, name, config)`` with the seed ``seed + r`` in every variant (common random numbers)
    and, with ``psa``, one draw of the uncertain parameters per replication (from ``psa_rng(r)``,
    with the first variant's distributions) applied to each. ``what`` names a variant in the
    one-line error of a draw that does not validate."""
    first = next(iter(bases.values()))
    for r in range(replications):
        values = draw(first, psa_rng(r)) if psa else {}
        for name, base in bases.items():
            try:
                cfg = apply_draw(base, values) if values else copy.deepcopy(base)
            except ConfigError as exc:
                raise ConfigError(f"experiment.psa: replication {r}, {what} {name}: the drawn parameters do "
                                  f"not validate: {exc}") from None
            cfg.seed = seed + r
            yield r, values, name, cfg
