"""Group courses: a plain record, not an agent, and how a course's fidelity emerges.

A course has two volunteer leaders, at most ``max_participants`` citizens, a fixed number of
weekly sessions, a start week and a fidelity level (0-1) that emerges from its drivers when it
is formed (see :func:`course_fidelity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from peersim.params import FidelityParams


@dataclass
class Course:
    """One group course: where and by whom it runs, its leaders and participants (rows of the
    volunteers' and citizens' registries), its fidelity, and what happened to it (sessions held,
    leader changes, its end). The attendance of each session is drawn when it starts
    (:meth:`peersim.citizen.CitizenRegistry.start_course`); :mod:`peersim.course_lifecycle`
    runs it from start to end."""

    course_id: int
    municipality: int
    coordinator: int
    start_week: int
    sessions_planned: int
    fidelity: float
    leaders: np.ndarray                      # volunteer rows, always two while running
    participants: np.ndarray                 # citizen rows enrolled at the start
    sessions_held: int = 0
    end_week: int = -1
    cancelled: bool = False
    leader_changes: int = 0
    history: list[int] = field(default_factory=list)  # every volunteer who led it
    attendance: list[int] = field(default_factory=list)  # participants attending each session (drawn at the start)
    empty_after: int = 10**9                 # sessions held when the last participant has dropped out

    @property
    def running(self) -> bool:
        return self.end_week < 0


def course_fidelity(fp: FidelityParams, *, training_quality: float, supervision_level: float,
                    role_support: float, leader_courses_led: Sequence[float],
                    rng: np.random.Generator) -> float:
    """Fidelity of a new course from its drivers: the leaders' training, the supervision they get
    (relative to the standard), the coordinator's safety-net role and the leaders' experience
    (each leader's courses led relative to ``experience_courses_for_full``, at most 1, averaged)."""
    full = fp.experience_courses_for_full
    experience = sum(min(1.0, led / full) for led in leader_courses_led) / len(leader_courses_led)
    value = (
        fp.weight_training * training_quality
        + fp.weight_supervision * supervision_level
        + fp.weight_role_support * role_support
        + fp.weight_experience * experience
        + fp.noise_sd * rng.standard_normal()
    )
    return float(min(1.0, max(0.0, value)))


def courses_to_frame(courses: list[Course], municipality_names: list[str]) -> pd.DataFrame:
    """The courses table: one row per course started."""
    return pd.DataFrame({
        "course_id": [c.course_id for c in courses],
        "municipality": [municipality_names[c.municipality] for c in courses],
        "start_week": [c.start_week for c in courses],
        "end_week": [c.end_week if c.end_week >= 0 else None for c in courses],
        "participants": [int(c.participants.size) for c in courses],
        "sessions_held": [c.sessions_held for c in courses],
        "fidelity": [c.fidelity for c in courses],
        "cancelled": [c.cancelled for c in courses],
        "leader_changes": [c.leader_changes for c in courses],
    })
