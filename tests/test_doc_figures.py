"""Figures quoted in docs/planning.md's capacity table are what ``experiments/capacity_check.py``
prints (the command named beside the table), within the rounding the table uses.

The table is read from the doc, so a change of defaults that moves the figures fails here with the
new values to paste in."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLANNING = REPO / "docs" / "planning.md"


def _doc_rows() -> dict[str, list[str]]:
    rows = {}
    for line in PLANNING.read_text(encoding="utf-8").splitlines():
        for label in ("local coordinator", "partnership"):
            if line.startswith(f"| {label} |"):
                rows[label.replace(" ", "_")] = [c.strip() for c in line.strip("|").split("|")][1:]
    return rows


def _printed(out: str) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {}
    current = None
    for line in out.splitlines():
        if m := re.match(r"(\w+) \(\d+ seeds\)", line):
            current = figures.setdefault(m.group(1), {})
        elif current is not None and (m := re.match(r"\s+(\w+)\s+mean\s+(-?[\d.]+)", line)):
            current[m.group(1)] = float(m.group(2))
        elif current is not None and (m := re.search(r"courses per year in years 1-3: ([\d.]+)", line)):
            current["courses_per_year"] = float(m.group(1))
    return figures


def _number(cell: str) -> float:
    return float(re.match(r"-?[\d.]+", cell).group(0))


@pytest.mark.slow
def test_the_capacity_table_is_what_capacity_check_prints():
    out = subprocess.run([sys.executable, "experiments/capacity_check.py"], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=600).stdout
    printed, rows = _printed(out), _doc_rows()
    assert set(rows) == {"local_coordinator", "partnership"}, rows
    for scenario, cells in rows.items():
        p = printed[scenario]
        courses, started, fidelity, success, effect = cells[:5]
        got = {"courses a year": (_number(courses), p["courses_per_year"], 0.05),
               "citizens started in 3 years": (_number(started), p["citizens_started_first_3y"], 0.5),
               "fidelity": (_number(fidelity), p["fidelity_mean"], 0.005),
               "success rate (%)": (_number(success), 100 * p["success_rate"], 0.5 + 0.5),  # printed to 2 decimals
               "effect 26 weeks (points)": (_number(effect), p["qpr_effect_attributable_26w_mean"], 0.05)}
        wrong = {k: (doc, round(now, 3)) for k, (doc, now, tol) in got.items() if abs(doc - now) > tol}
        assert not wrong, f"docs/planning.md, {scenario}: (in the doc, printed now) {wrong}\n{out}"


TRIAL = REPO / "docs" / "trial.md"


@pytest.mark.slow
def test_the_trial_figures_are_what_trial_check_prints():
    """docs/trial.md, What the model gives: the bold difference and d, the SD, the SAU mean and the
    recruitment weeks, against ``python experiments/trial_check.py --seeds 40``."""
    out = subprocess.run([sys.executable, "experiments/trial_check.py", "--seeds", "40"], cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=600).stdout
    mean = {m.group(1): float(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+mean\s+(-?[\d.]+)", out, re.M)}
    text = TRIAL.read_text(encoding="utf-8").split("## What the model gives", 1)[1].split("\n\n", 2)[1]
    text = " ".join(text.split())
    doc = {"trial_qpr_difference": (r"the difference \*\*([\d.]+) points\*\*", 0.05),
           "trial_cohens_d": (r"\*\*d ([\d.]+)\*\*", 0.005),
           "trial_qpr_sd": (r"end-of-course SD is ([\d.]+)", 0.05),
           "trial_qpr_mean_sau": (r"the SAU mean ([\d.]+)", 0.05),
           "trial_recruitment_weeks": (r"recruitment takes (\d+) weeks", 0.5)}
    wrong = {}
    for key, (pattern, tol) in doc.items():
        found = re.search(pattern, text)
        assert found, f"docs/trial.md no longer says {pattern!r}"
        if abs(float(found.group(1)) - mean[key]) > tol:
            wrong[key] = (float(found.group(1)), mean[key])
    assert not wrong, f"docs/trial.md: (in the doc, printed now) {wrong}\n{out}"
