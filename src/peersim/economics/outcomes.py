"""What the economics needs to know about citizens: counts, successes and achieved payment targets.

A success's savings start at its *onset*: the success week, but not before the citizen's
intervention (course plus companionship) is over, ``ti_start + savings.onset_weeks_after_start``.
Payment targets on QPR-15 are measured at the end of the course; the proxy target on success
("less contact with psychiatry") is counted at the onset of savings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from peersim.economics.params import EconomicsParams, PaymentTarget
from peersim.economics.tables import Table, TableLike, codes, column, concat, empty, isin

SUCCESS_COLUMNS = ("municipality", "subgroup", "start_week", "onset_week", "count")
ACHIEVEMENT_COLUMNS = ("municipality", "target", "week", "count")


@dataclass(frozen=True)
class Outcomes:
    """Citizen outcomes, possibly fractional (expected mode); ``count`` columns are citizens.

    ``successes`` (``SUCCESS_COLUMNS``) and ``achievements`` (``ACHIEVEMENT_COLUMNS``) are tables of
    numpy columns; DataFrames with the same columns work too.
    """

    n_referred: float
    n_started: float
    n_completed: float
    started_by_municipality: dict[str, float]
    successes: TableLike
    achievements: TableLike

    @property
    def n_successes(self) -> float:
        return float(column(self.successes, "count").sum())


def empty_table(columns: tuple[str, ...]) -> Table:
    return empty(columns, strings=("municipality", "subgroup", "target"))


def onset_weeks(ti_start: np.ndarray, ti_success: np.ndarray, params: EconomicsParams) -> np.ndarray:
    """Week in which savings start: the later of the success week and the end of the intervention."""
    return np.maximum(ti_success, ti_start + params.savings.onset_weeks_after_start).round()


def _qualifies(cit: Table, target: PaymentTarget) -> tuple[np.ndarray, np.ndarray]:
    """(mask of citizens achieving ``target``, week of achievement)."""
    in_groups = isin(cit["subgroup"], target.subgroups)
    if target.basis == "success":
        mask = cit["success"] & in_groups
        return mask, cit["onset_week"]
    if target.basis == "qpr_change":
        gain = cit["qpr_end_course"] - cit["qpr_baseline"]
    else:  # "qpr_effect": the attributable part only
        gain = cit["qpr_effect_end_course"]
    measured = cit["started"] & ~np.isnan(cit["ti_course_end"])
    with np.errstate(invalid="ignore"):
        mask = measured & in_groups & (gain >= target.threshold_qpr)
    return mask, cit["ti_course_end"]


def outcomes_from_citizens(cit: Table, params: EconomicsParams) -> Outcomes:
    """Outcomes of a run from the checked citizens table (one row per referred citizen)."""
    cit = {**cit, "onset_week": onset_weeks(cit["ti_start"], cit["ti_success"], params)}
    won = cit["success"]
    successes = {
        "municipality": cit["municipality"][won],
        "subgroup": cit["subgroup"][won],
        "start_week": cit["ti_start"][won],
        "onset_week": cit["onset_week"][won],
        "count": np.ones(int(won.sum())),
    }
    parts = []
    for name, target in params.contract.targets.items():
        mask, week = _qualifies(cit, target)
        if mask.any() and target.share > 0:
            n = int(mask.sum())
            parts.append({
                "municipality": cit["municipality"][mask],
                "target": np.full(n, name, dtype=object),
                "week": week[mask],
                "count": np.full(n, target.share),
            })
    started = cit["started"]
    names, code = codes(cit["municipality"][started])
    counts = np.bincount(code, minlength=len(names)).tolist()
    return Outcomes(
        n_referred=float(len(started)),
        n_started=float(started.sum()),
        n_completed=float((started & cit["completed"]).sum()),
        started_by_municipality={str(m): float(n) for m, n in zip(names.tolist(), counts, strict=True)},
        successes=successes if won.any() else empty_table(SUCCESS_COLUMNS),
        achievements=concat(parts, ACHIEVEMENT_COLUMNS) if parts else empty_table(ACHIEVEMENT_COLUMNS),
    )
