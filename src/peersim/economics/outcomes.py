"""What the economics needs to know about citizens: counts, successes and achieved payment targets.

A success's savings start at its *onset*: the success week, but not before the citizen's
intervention (course plus companionship) is over, ``ti_start + savings.onset_weeks_after_start``.
Payment targets on QPR-15 are measured at the end of the course; the proxy target on success
("less contact with psychiatry") is counted at the onset of savings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from peersim.economics.params import EconomicsParams, PaymentTarget

SUCCESS_COLUMNS = ("municipality", "subgroup", "start_week", "onset_week", "count")
ACHIEVEMENT_COLUMNS = ("municipality", "target", "week", "count")


@dataclass(frozen=True)
class Outcomes:
    """Citizen outcomes, possibly fractional (expected mode); ``count`` columns are citizens."""

    n_referred: float
    n_started: float
    n_completed: float
    started_by_municipality: dict[str, float]
    successes: pd.DataFrame
    achievements: pd.DataFrame

    @property
    def n_successes(self) -> float:
        return float(self.successes["count"].sum())


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object" if c in ("municipality", "subgroup", "target") else "float64")
                         for c in columns})


def onset_weeks(ti_start: np.ndarray, ti_success: np.ndarray, params: EconomicsParams) -> np.ndarray:
    """Week in which savings start: the later of the success week and the end of the intervention."""
    return np.maximum(ti_success, ti_start + params.savings.onset_weeks_after_start).round()


def _qualifies(cit: pd.DataFrame, target: PaymentTarget) -> tuple[np.ndarray, np.ndarray]:
    """(mask of citizens achieving ``target``, week of achievement)."""
    in_groups = cit["subgroup"].isin(target.subgroups).to_numpy()
    if target.basis == "success":
        mask = cit["success"].to_numpy() & in_groups
        return mask, cit["onset_week"].to_numpy()
    if target.basis == "qpr_change":
        gain = cit["qpr_end_course"].to_numpy() - cit["qpr_baseline"].to_numpy()
    else:  # "qpr_effect": the attributable part only
        gain = cit["qpr_effect_end_course"].to_numpy()
    measured = cit["started"].to_numpy() & ~np.isnan(cit["ti_course_end"].to_numpy())
    with np.errstate(invalid="ignore"):
        mask = measured & in_groups & (gain >= target.threshold_qpr)
    return mask, cit["ti_course_end"].to_numpy()


def outcomes_from_citizens(cit: pd.DataFrame, params: EconomicsParams) -> Outcomes:
    """Outcomes of a run from the checked citizens table (one row per referred citizen)."""
    cit = cit.assign(onset_week=onset_weeks(cit["ti_start"].to_numpy(), cit["ti_success"].to_numpy(), params))
    won = cit[cit["success"]]
    successes = pd.DataFrame({
        "municipality": won["municipality"].to_numpy(),
        "subgroup": won["subgroup"].to_numpy(),
        "start_week": won["ti_start"].to_numpy(),
        "onset_week": won["onset_week"].to_numpy(),
        "count": np.ones(len(won)),
    })
    frames = []
    for name, target in params.contract.targets.items():
        mask, week = _qualifies(cit, target)
        if mask.any() and target.share > 0:
            frames.append(pd.DataFrame({
                "municipality": cit["municipality"].to_numpy()[mask],
                "target": name,
                "week": week[mask],
                "count": np.full(int(mask.sum()), target.share),
            }))
    achievements = pd.concat(frames, ignore_index=True) if frames else empty_frame(ACHIEVEMENT_COLUMNS)
    started = cit[cit["started"]]
    return Outcomes(
        n_referred=float(len(cit)),
        n_started=float(len(started)),
        n_completed=float((cit["started"] & cit["completed"]).sum()),
        started_by_municipality={str(k): float(v) for k, v in started.groupby("municipality").size().items()},
        successes=successes if len(successes) else empty_frame(SUCCESS_COLUMNS),
        achievements=achievements,
    )
