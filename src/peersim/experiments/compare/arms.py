"""What ``compare_implementations`` compares: the arms, their labels, the metrics and the contrasts.

Shared by the runs, the tables and report, and the charts (each imports from here, never the
other way round). :func:`paired` gives the per-replication differences between two arms that
the differences table, the headline and the difference chart all use.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAME = "compare_implementations"
ARMS = ("local_coordinator", "partnership", "shared_coordinator")
ARM_LABELS = {
    "local_coordinator": "Own local coordinator",
    "partnership": "Local partnership",
    "shared_coordinator": "Coordinator shared with {neighbour}",
}
# Default neighbour per municipality preset, for the shared-coordinator arm. The presets are the
# trial municipalities plus Kolding; where a preset has no neighbouring preset, the nearest one of
# comparable size is used (documented in conf/experiment/compare_implementations.yaml).
DEFAULT_NEIGHBOURS = {
    "fredericia": "kolding",     # adjacent (Trekantområdet)
    "kolding": "fredericia",     # adjacent
    "rodovre": "gladsaxe",       # both western Copenhagen suburbs, a few km apart
    "gladsaxe": "rodovre",
    "helsingor": "gladsaxe",     # nearest preset in the Capital Region (its neighbours have no preset)
    "copenhagen": "rodovre",     # adjacent
    "generic": "fredericia",     # a mid-sized municipality (not a geographic neighbour)
}
# Paired differences reported between built-in arms: (name, minuend arm, subtrahend arm); a named
# arm is compared with its base arm (contrasts_of)
CONTRASTS = (
    ("local_coordinator - partnership", "local_coordinator", "partnership"),
    ("shared_coordinator - local_coordinator", "shared_coordinator", "local_coordinator"),
)
ARM_COLORS = {"local_coordinator": "#1b6ca8", "partnership": "#d1495b", "shared_coordinator": "#66a182"}
# colours of named arms, in the order they run
NAMED_COLORS = ("#e09f3e", "#7b5ea7", "#2a9d8f", "#8d6a4f", "#c2185b", "#607d8b")

# (key, unit, label): the outputs summarised per arm, all for the user's municipality
METRICS: tuple[tuple[str, str, str], ...] = (
    ("citizens_started", "persons", "Citizens who started a course"),
    ("citizens_completed", "persons", "Citizens who completed a course"),
    ("successes", "persons", "Attributable successes (SØM sense)"),
    ("volunteers_recruited", "persons", "Volunteers needed (recruited)"),
    ("volunteer_burnouts", "events", "Volunteer burnouts (pauses)"),
    ("mean_wait_weeks", "weeks", "Mean wait, referral to course start"),
    ("citizens_gave_up_waiting", "persons", "Citizens who gave up waiting"),
    ("courses", "courses", "Courses started"),
    ("volunteers_active_mean", "persons", "Active volunteers, mean over the weeks"),
    ("volunteers_active_end", "persons", "Active volunteers at the end"),
    ("coordinator_hours_total", "hours", "Coordinator hours, all activities"),
    ("coordinator_hours_admin", "hours", "Coordinator hours: administration"),
    ("coordinator_hours_course_formation", "hours", "Coordinator hours: forming courses"),
    ("coordinator_hours_course_running", "hours", "Coordinator hours: running courses"),
    ("coordinator_hours_supervision", "hours", "Coordinator hours: supervising volunteers"),
    ("coordinator_hours_recruitment", "hours", "Coordinator hours: recruiting volunteers"),
    ("coordinator_hours_training", "hours", "Coordinator hours: training volunteers"),
    ("coordinator_hours_intro_meetings", "hours", "Coordinator hours: intro meetings"),
    ("coordinator_hours_companionship", "hours", "Coordinator hours: companionship"),
    ("coordinator_hours_idle", "hours", "Coordinator hours: not used"),
    ("cost_total_dkk", "DKK", "Programme cost, all payers"),
    ("municipal_payments_dkk", "DKK", "Outcome payments to the fund"),
    ("cost_municipal_own_dkk", "DKK", "Municipality's own costs"),
    ("municipal_cost_dkk", "DKK", "Municipal cost (payments + own costs)"),
    ("savings_social_dkk", "DKK", "Savings: social services"),
    ("savings_health_dkk", "DKK", "Savings: health"),
    ("savings_employment_dkk", "DKK", "Savings: employment"),
    ("savings_total_dkk", "DKK", "Savings: total (SØM)"),
    ("net_municipal_dkk", "DKK", "Municipal net result, SØM view (savings after the run included)"),
    ("net_per_citizen_dkk", "DKK per started citizen", "Municipal net per started citizen, SØM view"),
    ("net_municipal_budget_dkk", "DKK", "Municipal net result, budget view (the run's years only)"),
    ("fund_net_dkk", "DKK", "Fund net result (every outcome payment, also after the run)"),
    ("fund_net_budget_dkk", "DKK", "Fund net result, budget view (the run's years only)"),
    ("fund_capital_outlay_dkk", "DKK", "Fund capital outlay (lowest point of its cumulative net)"),
)
METRIC_KEYS = tuple(m[0] for m in METRICS)


def contrasts_of(arms: list[str], bases: dict[str, str]) -> list[tuple[str, str, str]]:
    """The contrasts whose two arms ran: the built-in ones, then every named arm against its base
    (``bases``: arm -> built-in arm it runs)."""
    out = [(n, a, b) for n, a, b in CONTRASTS if a in arms and b in arms]
    out += [(f"{arm} - {bases[arm]}", arm, bases[arm]) for arm in arms
            if bases.get(arm, arm) != arm and bases[arm] in arms]
    return out


def arm_colors(arms: list[str]) -> dict[str, str]:
    """A colour per arm: the built-in arms' own, the named arms' in the order they run."""
    named = iter(NAMED_COLORS * (1 + len(arms) // len(NAMED_COLORS)))
    return {a: ARM_COLORS[a] if a in ARM_COLORS else next(named) for a in arms}


def paired(reps: pd.DataFrame, a: str, b: str, key: str) -> np.ndarray:
    """Per-replication differences ``a - b`` of ``key`` (rows matched on the replication number)."""
    wide = reps.pivot(index="replication", columns="arm", values=key)
    return (wide[a] - wide[b]).to_numpy(dtype=float)

