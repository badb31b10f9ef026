"""What the parameter evidence register covers and how it is divided.

Every leaf of the composed configuration is a parameter of the register unless it is a run
setting (:data:`SETTINGS`, listed apart without evidence) or lives in a folder of ``conf/`` that
holds no model parameters (:data:`EXCLUDED_GROUPS`). Values kept only to compare results with
(:data:`COMPARISON_ONLY`) are rows, but are not counted as model inputs. The rows fall into the
sections of :data:`SECTIONS`, in that order.
"""

from __future__ import annotations

import fnmatch

# Folders of conf/ that are not parameters of the model (or only feed a column of the register)
EXCLUDED_GROUPS = ("uncertainty", "experiment", "hydra")

# Leaves of the configuration that are run settings, not parameters with evidence behind them.
SETTINGS: dict[str, str] = {
    "seed": "random seed of a run; the same configuration and seed give identical outputs",
    "output.*": "which files a run, an experiment or a sweep writes",
    "scenario.name": "name of the selected scenario",
    "scenario.implementation": "which implementation model the scenario is (selects its costs)",
    "scenario.description": "one-line description of the scenario",
    "municipality.name": "name of the selected municipality preset",
    "municipality.label": "the municipality's name as printed",
    "municipality.coordinator_group": "municipalities with the same group share one coordinator",
    "shared_with": "neighbouring municipalities served by the same coordinator in a run",
    "extra_municipalities": "further municipalities simulated in the same run",
    "economics.mode": "which economic calculation a run reports (simulated or expected)",
    "trial.enabled": "simulate the randomised trial (set by scenario=trial)",
    "trial.sites.*": "the trial municipalities: copies of the municipality presets (set by scenario=trial)",
    "trial.ci_level": "confidence level of the simulated trial's intervals",
    "trial.ci_method": "interval method for the difference between the simulated trial's arms",
    "trial.published.source": "citation of the trial's published outcome",
}

# Values the configuration carries only to compare results with, never as inputs of a run
COMPARISON_ONLY: dict[str, str] = {
    "trial.published.*": "the trial's published outcome, shown next to the simulated trial",
}

# Sections of docs/parameters.md in order: section -> title (a row's section is its conf group)
SECTIONS: dict[str, str] = {
    "run": "Run",
    "referral": "Referral",
    "coordinator": "Coordinator",
    "course": "Course",
    "volunteers": "Volunteers",
    "recovery": "Recovery",
    "companionship": "Companionship",
    "fidelity": "Fidelity",
    "economics": "Economics",
    "trial": "Trial",
    "municipality": "Municipality presets",
    "scenario": "Scenarios",
}


def is_setting(key: str) -> bool:
    """Whether a dotted key is a run setting (:data:`SETTINGS`) rather than a parameter."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in SETTINGS)


def is_comparison_only(key: str) -> bool:
    """Whether a dotted key is kept only to compare results with (:data:`COMPARISON_ONLY`)."""
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in COMPARISON_ONLY)
