"""A single run's folder: its name and claiming it (the resolvers of ``hydra.run.dir``).

``conf/hydra/peersim.yaml`` names a run's folder ``outputs/<date>/<time>_<name>`` with
``peersim_run_name`` (:func:`run_name`) and claims it with ``peersim_run_dir`` (:func:`run_dir`):
the peersim command creates the folder when Hydra names it, so two runs started in the same second
get ``<name>`` and ``<name>_2`` instead of sharing one. :mod:`peersim.config` registers both
resolvers when it is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

RUN_NAME_RESOLVER = "peersim_run_name"


def run_name(experiment: Any, scenario: Any, municipality: Any, seed: Any, rollout: Any = None) -> str:
    """The name of a run's folder (``hydra.run.dir`` in conf/hydra/peersim.yaml, after the time):
    ``<scenario>_<municipality>_seed<seed>`` for one simulation, ``<experiment>_<municipality>``
    for ``experiment=<experiment>`` (many runs, over scenarios and seeds). ``experiment`` is the
    option selected in the ``experiment`` group (``hydra.runtime.choices.experiment``), or None;
    ``rollout`` the roll-out plan selected (``rollout_<plan>_seed<seed>``; ``none``: no plan)."""
    if experiment not in (None, ""):
        return f"{experiment}_{municipality}"
    if rollout not in (None, "", "none"):
        return f"rollout_{rollout}_seed{seed}"
    return f"{scenario}_{municipality}_seed{seed}"


RUN_DIR_RESOLVER = "peersim_run_dir"
_claimed_run_dirs: dict[str, str] = {}
claim_run_dirs = False  # set by the peersim command for a single run (not for -m, --cfg, --help)


def run_dir(path: str) -> str:
    """The folder of a single run (``hydra.run.dir``): ``path``, or ``path_2``, ``path_3``, ...
    when a run started in the same second with the same name already has it. The peersim command
    claims the folder by creating it (an atomic step), so two runs started together never share
    one; elsewhere (composing a config in Python, printing it) nothing is created."""
    if not claim_run_dirs:
        return path
    if path in _claimed_run_dirs:  # Hydra resolves hydra.run.dir more than once
        return _claimed_run_dirs[path]
    parent = Path(path).parent
    new = []  # the folders above it this claim creates (outputs/, outputs/<date>/)
    while not parent.exists() and parent != parent.parent:
        new.append(parent)
        parent = parent.parent
    candidate, i = path, 1
    while True:
        try:
            os.makedirs(candidate)
            break
        except FileExistsError:
            i += 1
            candidate = f"{path}_{i}"
    _claimed_run_dirs[path] = candidate
    created_run_dir_parents[str(Path(candidate).resolve())] = [p.resolve() for p in new]
    return candidate


created_run_dir_parents: dict[str, list[Path]] = {}  # a claimed run folder -> the folders made for it


def forget_claimed_run_dirs() -> None:
    """Start a new command: folders claimed before (in this process) are not reused."""
    _claimed_run_dirs.clear()
    created_run_dir_parents.clear()


def register_resolvers() -> None:
    """Make ``peersim_run_name`` and ``peersim_run_dir`` known to OmegaConf (idempotent)."""
    OmegaConf.register_new_resolver(RUN_NAME_RESOLVER, run_name, replace=True)
    OmegaConf.register_new_resolver(RUN_DIR_RESOLVER, run_dir, replace=True)
