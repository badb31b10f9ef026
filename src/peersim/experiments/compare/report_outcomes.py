"""Sections of ``comparison.md`` beyond money: what each arm ran with, what citizens, volunteers and
the coordinator got, and how much the pairing of the arms helps. Every number comes from the
comparison, differences and pairing tables (:mod:`~.outcomes`)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from peersim.experiments.compare.report import dkk, num

# (key, label, digits) of the outcomes section
OUTCOME_ROWS = (
    ("citizens_started", "Citizens who started a course", 0),
    ("citizens_completed", "Citizens who completed a course", 0),
    ("successes", "Attributable successes (SØM sense)", 0),
    ("mean_wait_weeks", "Mean wait, referral to course (weeks)", 1),
    ("citizens_gave_up_waiting", "Citizens who gave up waiting", 0),
    ("courses", "Courses started", 0),
    ("volunteers_active_mean", "Active volunteers, mean over the weeks", 1),
    ("volunteers_active_end", "Active volunteers at the end", 1),
    ("volunteer_burnouts", "Volunteer burnouts (pauses)", 1),
    ("coordinator_hours_total", "Coordinator hours, all activities", 0),
    ("coordinator_hours_course_running", "  of which running courses", 0),
    ("coordinator_hours_supervision", "  of which supervising volunteers", 0),
    ("coordinator_hours_recruitment", "  of which recruiting volunteers", 0),
    ("coordinator_hours_training", "  of which training volunteers", 0),
    ("coordinator_hours_idle", "  of which not used", 0),
)


def _cell(row: pd.Series, key: str, digits: int) -> str:
    return f"{num(row[f'{key}_mean'], digits)} ({num(row[f'{key}_p05'], digits)} to {num(row[f'{key}_p95'], digits)})"


def outcome_lines(summary: dict[str, Any], comparison: pd.DataFrame, differences: pd.DataFrame) -> list[str]:
    """The outcomes per arm (mean and 90% interval) and each contrast's paired difference."""
    arms = {r["arm"]: r for _, r in comparison.iterrows()}
    contrasts = list(dict.fromkeys(differences["contrast"]))
    lines = ["## Citizens, volunteers and the coordinator", "",
             f"Per arm over the run's {summary['years']} years in {summary['municipality_label']}: mean (90% of "
             "replications); the last columns give the paired difference between two arms (mean, 90% interval). "
             "In a shared arm the volunteers and the coordinator's hours are the municipality's share (by citizens "
             "started). `comparison.csv` and `differences.csv` have every activity of the coordinator.", "",
             "| | " + " | ".join(r["label"] for r in arms.values()) + "".join(f" | {c}" for c in contrasts) + " |",
             "|---|" + "---|" * (len(arms) + len(contrasts))]
    for key, label, digits in OUTCOME_ROWS:
        cells = [_cell(r, key, digits) for r in arms.values()]
        for c in contrasts:
            d = differences[(differences["contrast"] == c) & (differences["metric"] == key)]
            cells.append("" if d.empty else f"{num(d['mean'].iloc[0], digits)} ({num(d['p05'].iloc[0], digits)} "
                                             f"to {num(d['p95'].iloc[0], digits)})")
        lines.append(f"| {label.strip() if not label.startswith('  ') else '&nbsp;&nbsp;' + label.strip()} | "
                     + " | ".join(cells) + " |")
    return [*lines, "", "Charts over time (median, 50% and 90% bands): `chart_citizens_started_by_year.png`, "
            "`chart_successes_by_year.png`, `chart_volunteers_active_by_month.png`; table `outcomes_by_time.csv`.",
            ""]


def pairing_lines(pairing: pd.DataFrame) -> list[str]:
    """One line per contrast: how much the common random numbers reduce the variance of the
    difference in the municipal net result (SØM view)."""
    if pairing.empty:
        return []
    lines = ["## How much the pairing helps", "",
             "Every arm runs replication r with the same seed, so a difference between two arms is measured "
             "replication by replication. Variance of the paired difference in the municipal net result (SØM "
             "view) against the sum of the two arms' variances (what independent seeds would give); the factor "
             "is their ratio (above 1: pairing needs that many times fewer replications for the same precision). "
             "`pairing.csv` has further metrics.", ""]
    for _, r in pairing[pairing["metric"] == "net_municipal_dkk"].dropna(subset=["var_paired"]).iterrows():
        f, c = r["variance_reduction_factor"], r["correlation"]
        lines.append(f"- {r['contrast']}: correlation {num(c, 2)}; standard deviation of the difference "
                     f"{dkk(math.sqrt(r['var_paired']))} DKK paired vs "
                     f"{dkk(math.sqrt(r['var_independent']))} DKK "
                     f"independent; variance reduction factor {num(f, 2)}")
    return [*lines, ""]


def pairing_summary(pairing: pd.DataFrame) -> dict[str, Any]:
    """``comparison_summary.json``'s ``pairing``: per contrast and metric the factor and correlation."""
    out: dict[str, Any] = {}
    for _, r in pairing.iterrows():
        out.setdefault(r["contrast"], {})[r["metric"]] = {
            "variance_reduction_factor": r["variance_reduction_factor"], "correlation": r["correlation"],
            "var_paired": r["var_paired"], "var_independent": r["var_independent"]}
    return out


