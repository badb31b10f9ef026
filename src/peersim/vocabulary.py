"""The programme's vocabulary: the names and the scale that the simulation and the economics
layer share.

Both sides must agree on them (the simulation records a citizen's subgroup and a coordinator's
hours by activity; the economics layer prices them), so they are defined once, here. This module
imports nothing: the economics layer stays a pure layer that never loads the model.
"""

from __future__ import annotations

SUBGROUPS = ("significant", "reduced", "mild")
"""The citizens' subgroups by how much their mental health reduces their everyday functioning
(the SØM savings per success differ by subgroup)."""

IMPLEMENTATIONS = ("local_coordinator", "partnership")
"""How a municipality runs the programme: its own local coordinator, or a local partnership."""

ACTIVITIES = (
    "admin", "course_formation", "course_running", "supervision", "recruitment", "training",
    "intro_meetings", "companionship", "idle",
)
"""What a coordinator's weekly hours are spent on (the weekly table's ``hours_<activity>``)."""

WEEKS_PER_YEAR = 52
"""The model's calendar: a step is a week and a year is 52 of them."""

QPR_MAX = 60.0
"""The top of the QPR-15 scale (15 items scored 0-4): scores are kept within 0-60."""
