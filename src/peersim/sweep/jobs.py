"""One job of a sweep: its folder, resume and failures; the launchers a sweep can use.

A job's folder is named by its overrides (:func:`job_subdir`, through the ``peersim_subdir``
resolver of ``hydra.sweep.subdir``), so a job finds its own folder again in a later, larger or
reordered sweep. :func:`run_job` (called by the ``peersim`` command in multirun mode) skips a job
whose ``summary.json`` holds the hash of its own configuration, starts any other job in an
emptied folder (:func:`peersim.folders.clear_job_folder`: only ``.hydra/`` and the log stay), and
records an error in ``error.txt`` instead of raising (see :mod:`peersim.sweep`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

import peersim
from peersim.config import conf_dir, config_hash
from peersim.experiments import find
from peersim.folders import clear_job_folder, failure_text, one_line, record_failure, stored_hash
from peersim.io import write_json, write_text
from peersim.params import PeersimConfig

SUMMARY = "summary.json"
ERROR = "error.txt"
SKIPPED = ".skipped"            # this job's result was reused by the last run of the sweep (holds its RUN_ID)
RUN_ID_ENV = "PEERSIM_SWEEP_RUN_ID"  # set for its jobs by the sweep running them (end.SweepCallback)
SUBDIR_RESOLVER = "peersim_subdir"
NO_OVERRIDES = "default"        # the folder of a job without overrides
MAX_NAME_BYTES = 140            # longer folder names are shortened and made unique with a hash


# ---------------------------------------------------------------------------------------------
# Job folders
# ---------------------------------------------------------------------------------------------

def job_subdir(override_dirname: Any) -> str:
    """A job's folder name from Hydra's ``override_dirname`` (its sorted overrides).

    A job without overrides gets ``default`` (not the sweep's root, where the table lives);
    ``/`` in a value would nest folders and becomes ``%2F``. A name longer than
    ``MAX_NAME_BYTES`` (file systems stop at 255 bytes, encrypted ones at 143) first loses the
    leading parts of its dotted keys (``experiment.replications=3`` -> ``replications=3``),
    then its tail; either way it ends in ``~`` and a hash of the whole name, so it stays unique
    and the same in every run of the sweep.
    """
    name = str(override_dirname or "").replace("/", "%2F") or NO_OVERRIDES
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    short = ",".join(_short_item(item) for item in name.split(","))
    raw = short.encode()[: MAX_NAME_BYTES - len(digest)]
    return raw.decode(errors="ignore") + digest


def _short_item(item: str) -> str:
    key, sep, value = item.partition("=")
    return f"{key.lstrip('+~').rsplit('.', 1)[-1]}{sep}{value}" if sep else item


# Hydra resolves hydra.sweep.subdir in whichever process runs the job; registered resolvers
# travel there with Hydra's singleton state (joblib and submitit workers alike).
OmegaConf.register_new_resolver(SUBDIR_RESOLVER, job_subdir, replace=True)


def _launcher_conf_dir() -> Path:
    return conf_dir() / "hydra" / "launcher"


def launcher_options() -> list[str]:
    """The names ``hydra/launcher=`` accepts: the plugins' and peersim's own files."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()
    names = {n.removesuffix(".yaml") for n in ConfigStore.instance().repo.get("hydra", {}).get("launcher", {})}
    names |= {p.stem for p in _launcher_conf_dir().glob("*.yaml")}
    return sorted(n for n in names if not n.startswith("_"))


# ---------------------------------------------------------------------------------------------
# One job of a sweep (called by the peersim command in multirun mode)
# ---------------------------------------------------------------------------------------------

def override_key(override: str) -> str:
    """``+output.charts=true`` -> ``output.charts``."""
    return override.lstrip("+~").split("=", 1)[0]


def summary_hash(folder: Path) -> str | None:
    """The ``config_hash`` in ``folder/summary.json``, or None (absent, unreadable, no hash)."""
    return stored_hash(folder)


def run_job(out: Path, make_params: Callable[[], PeersimConfig], overrides: Sequence[str],
            run_one: Callable[[PeersimConfig, Path, list[str]], None]) -> str:
    """Run one job of a sweep into ``out``, or skip it if it is already done; never raise.

    ``make_params`` composes and validates the job's configuration; ``run_one`` runs it and
    writes its files. Per-run charts are off unless ``output.charts`` was set on the command
    line (a sweep's charts come from its table). Returns ``ok``, ``skipped`` or ``failed``.
    """
    overrides = list(overrides)
    name = out.name
    try:
        params = make_params()
        if params.experiment is None and "output.charts" not in {override_key(o) for o in overrides}:
            params.output.charts = False
        digest = config_hash(params)
        if summary_hash(out) == digest:
            write_text(out / SKIPPED, os.environ.get(RUN_ID_ENV, ""))
            # one write, flushed: a sweep's workers share the terminal, and a line must not be split
            print(f"peersim: skipped {name}: already done with the same configuration\n", end="", flush=True)
            return "skipped"
        clear_job_folder(out)  # every file of an earlier attempt, hidden temporary files too
        run_one(params, out, overrides)
        if params.experiment is not None:
            _mark_experiment_done(out, params, digest)
        return "ok"
    except (Exception, SystemExit) as exc:  # SystemExit: code that ends "the run" ends only this job
        message = one_line(exc)
        record_failure(out, failure_text(exc, message, f"overrides: {' '.join(overrides) or '(none)'}\nfolder: {out}\n\n"))
        print(f"peersim: job {name} failed: {message} (details in {out / ERROR})\n", end="", file=sys.stderr, flush=True)
        return "failed"


def _mark_experiment_done(out: Path, params: PeersimConfig, digest: str) -> None:
    """An experiment's folder counts as done like a run's: a ``summary.json`` with the hash."""
    path = out / SUMMARY
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return  # the experiment's own file: leave it; the job will simply run again next time
    if not isinstance(data, dict) or data.get("config_hash") == digest:
        return
    data = {"experiment": find(params).name, "peersim_version": peersim.__version__, **data,
            "config_hash": digest}
    write_json(path, data)
