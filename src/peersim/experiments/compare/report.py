"""The tables and the plain-language report of ``compare_implementations``.

:func:`comparison_table` summarises every arm over its replications (mean, 5th and 95th
percentile, probabilities of a net loss), :func:`differences_table` every contrast's paired
differences; :func:`report_markdown` writes ``comparison.md`` from those tables and the headline:
every number in it comes from the replications. The 90% interval is the 5th to the 95th
percentile over replications (``numpy.percentile``, linear interpolation); ``*_se`` is the
Monte-Carlo standard error of the mean (sd / sqrt(n)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.compare.arms import METRIC_KEYS, METRICS, paired
from peersim.experiments.compare.budget import comparison_columns, n_years, years_range

Q_LO, Q_HI = 5.0, 95.0


# -- statistics -------------------------------------------------------------------------------
def describe(values: np.ndarray) -> dict[str, float]:
    """Mean, Monte-Carlo standard error of the mean, 5th and 95th percentile (NaNs ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"mean": math.nan, "se": math.nan, "p05": math.nan, "p95": math.nan}
    se = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    lo, hi = np.percentile(v, [Q_LO, Q_HI])
    return {"mean": float(v.mean()), "se": se, "p05": float(lo), "p95": float(hi)}


def comparison_table(reps: pd.DataFrame, arms: list[str], labels: dict[str, str], *, years: int) -> pd.DataFrame:
    """One row per arm: for every metric its mean, 5th and 95th percentile (and the standard error
    of the two net results), the probabilities of a net loss, and the break-even years
    (:func:`~peersim.experiments.compare.budget.comparison_columns`)."""
    rows = []
    for arm in arms:
        sub = reps[reps["arm"] == arm]
        row: dict[str, Any] = {"arm": arm, "label": labels[arm], "municipality": sub["municipality"].iloc[0],
                               "replications": len(sub)}
        for key in METRIC_KEYS:
            d = describe(sub[key].to_numpy())
            row[f"{key}_mean"], row[f"{key}_p05"], row[f"{key}_p95"] = d["mean"], d["p05"], d["p95"]
            if key in ("net_municipal_dkk", "fund_net_dkk"):
                row[f"{key}_se"] = d["se"]
        row["prob_net_loss_municipality"] = float((sub["net_municipal_dkk"] < 0).mean())
        row["prob_net_loss_fund"] = float((sub["fund_net_dkk"] < 0).mean())
        row["prob_net_loss_municipality_budget"] = float((sub["net_municipal_budget_dkk"] < 0).mean())
        row["contract_active"] = bool(sub["contract_active"].all())
        row.update(comparison_columns(sub, reps, years, row["contract_active"]))
        rows.append(row)
    return pd.DataFrame(rows)


def differences_table(reps: pd.DataFrame, contrasts: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Paired differences for every contrast (``contrasts_of``): one row per contrast and metric."""
    rows = []
    for name, a, b in contrasts:
        for key, unit, label in METRICS:
            diff = paired(reps, a, b, key)
            d = describe(diff)
            valid = diff[~np.isnan(diff)]
            rows.append({"contrast": name, "arm_a": a, "arm_b": b, "metric": key, "unit": unit, "label": label,
                         "mean": d["mean"], "se": d["se"], "p05": d["p05"], "p95": d["p95"],
                         "prob_positive": float((valid > 0).mean()) if valid.size else math.nan,
                         "replications": int(valid.size)})
    return pd.DataFrame(rows, columns=["contrast", "arm_a", "arm_b", "metric", "unit", "label", "mean", "se",
                                       "p05", "p95", "prob_positive", "replications"])


# -- numbers as text --------------------------------------------------------------------------
def dkk(v: float) -> str:
    """Whole thousands of DKK with a thousands separator (simulated amounts are not exact to the krone)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{round(v, -3):,.0f}"


def num(v: float, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:,.{digits}f}"


def pct(p: float) -> str:
    return "n/a" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{100 * p:.0f}%"


# -- the plain-language report ----------------------------------------------------------------
REPORT_ROWS = (
    ("citizens_started", "Citizens who started a course", 0, False),
    ("citizens_completed", "Citizens who completed a course", 0, False),
    ("successes", "Attributable successes (SØM sense)", 0, False),
    ("volunteers_recruited", "Volunteers needed (recruited)", 0, False),
    ("volunteer_burnouts", "Volunteer burnouts (pauses)", 0, False),
    ("mean_wait_weeks", "Mean wait, referral to course (weeks)", 1, False),
    ("cost_total_dkk", "Programme cost, all payers (DKK)", 0, True),
    ("municipal_payments_dkk", "Outcome payments to the fund (DKK)", 0, True),
    ("cost_municipal_own_dkk", "Municipality's own costs (DKK)", 0, True),
    ("savings_social_dkk", "Savings: social services (DKK)", 0, True),
    ("savings_health_dkk", "Savings: health (DKK)", 0, True),
    ("savings_employment_dkk", "Savings: employment (DKK)", 0, True),
    ("net_municipal_budget_dkk", "**Municipal net result, budget view: {span} (DKK)**", 0, True),
    ("net_municipal_dkk", "**Municipal net result, SØM view: savings after the run included (DKK)**", 0, True),
    ("net_per_citizen_dkk", "Municipal net per started citizen, SØM view (DKK)", 0, False),
    ("fund_net_budget_dkk", "Fund net result, budget view: {span} (DKK)", 0, True),
    ("fund_net_dkk", "Fund net result, every outcome payment (also after the run) (DKK)", 0, True),
    ("fund_capital_outlay_dkk", "Fund capital outlay: the most it is out of pocket (DKK)", 0, True),
)


def _cell(row: pd.Series, key: str, digits: int, money: bool) -> str:
    f = dkk if money else (lambda v: num(v, digits))
    return f"{f(row[f'{key}_mean'])} ({f(row[f'{key}_p05'])} to {f(row[f'{key}_p95'])})"


def report_title(where: str, labels: list[str]) -> str:
    """``<where>: A, B or C?``: the arms that ran, by their labels (one arm: no question)."""
    names = [label[:1].lower() + label[1:] for label in labels]
    if len(names) == 1:
        return f"{where}: {names[0]}"
    return f"{where}: {', '.join(names[:-1])} or {names[-1]}?"


def overrides_line(summary: dict[str, Any]) -> str:
    """The command-line overrides applied to every arm (the arms differ only in their scenario)."""
    overrides = summary.get("overrides") or []
    if not overrides:
        return "Applied to every arm: no command-line overrides (peersim's defaults besides each arm's scenario)."
    return ("Applied to every arm (command-line overrides): " + ", ".join(f"`{o}`" for o in overrides) + ".")


def arm_settings_lines(summary: dict[str, Any]) -> list[str]:
    """Which overrides each arm ran with (its implementation and its own), after those of every arm."""
    if not summary.get("arm_settings"):
        return []
    lines = ["| Arm | Implementation | Overrides for this arm only |", "|---|---|---|"]
    for name, s in summary.get("arm_settings", {}).items():
        own = ", ".join(f"`{o}`" for o in s["overrides"]) or "none"
        impl = ", ".join(f"`{o}`" for o in s["implementation"])
        lines.append(f"| {s['label']} (`{name}`) | {impl} | {own} |")
    return [*lines, ""]


def _year(v: float, window_years: int) -> str:
    return f"not within {n_years(window_years)}" if v is None or math.isnan(v) else f"year {v:.0f}"


def break_even_line(be: dict[str, Any], window_years: int, *, verb: str = "break-even") -> str:
    """"break-even in year X (90%: Y to Z); P(break-even within 5 years) = p" (within the window
    when it is shorter than 5 years)."""
    x = _year(be["p50"], window_years)
    if be["p05"] is None or math.isnan(be["p05"]):  # at least 95% of replications never break even
        return (f"no {verb} within {n_years(window_years)} in {pct(1 - be['prob_within_run'])} of replications; "
                + (f"P({verb} within 5 years) = {pct(be['prob_within_5_years'])}" if window_years >= 5 else
                   f"P({verb} within {n_years(window_years)}) = {pct(be['prob_within_run'])}"))
    text = (f"{verb} {'in ' if x.startswith('year') else ''}{x} (90%: {_year(be['p05'], window_years)} to "
            f"{_year(be['p95'], window_years)}); ")
    if window_years >= 5:
        return text + f"P({verb} within 5 years) = {pct(be['prob_within_5_years'])}"
    return text + f"P({verb} within {n_years(window_years)}) = {pct(be['prob_within_run'])}"


def break_even_lines(summary: dict[str, Any], comparison: pd.DataFrame) -> list[str]:
    """The report's first lines: per arm when the municipality's budget and the fund break even."""
    years = summary["years"]
    fund_window = int(comparison["fund_window_years"].iloc[0]) if "fund_window_years" in comparison else years
    lines = []
    for arm, a in summary["arms"].items():
        pay = a["payback_fund"]
        fund = ("no fund contract (the municipality carries every cost)" if not a["contract_active"] else
                f"capital outlay {dkk(a['fund_capital_outlay_dkk']['mean'])} DKK (90%: "
                f"{dkk(a['fund_capital_outlay_dkk']['p05'])} to {dkk(a['fund_capital_outlay_dkk']['p95'])}); "
                + break_even_line({**pay, "prob_within_run": pay["prob_paid_back"]}, fund_window))
        lines += [f"**{a['label']}**", "",
                  f"- Municipality, budget view: "
                  f"{break_even_line(a['break_even_municipality'], years)}",
                  f"- Fund: {fund}", ""]
    return lines


def report_markdown(summary: dict[str, Any], comparison: pd.DataFrame, differences: pd.DataFrame,
                    sections: list[str] | None = None) -> str:
    """``comparison.md``: when each party breaks even, what each arm ran with, a table of every arm,
    one paragraph of findings and ``sections`` (lines: outcomes beyond money, pairing, stress), all
    generated."""
    where = summary["municipality_label"]
    years = summary["years"]
    arms = {r["arm"]: r for _, r in comparison.iterrows()}
    head = "| | " + " | ".join(r["label"] for r in arms.values()) + " |"
    lines = [
        f"# {report_title(where, [r['label'] for r in arms.values()])}",
        "",
        *break_even_lines(summary, comparison),
        f"Break-even: the first programme year from which the cumulative net stays at or above zero; "
        f"the municipality's within the run's {n_years(years)} (budget view: what is paid and saved in those "
        f"years), the fund's when its outcome payments, some settled after the run, have paid back its outlay. "
        "Median over replications (90%: 5th to 95th percentile); `break_even.csv` gives every year.",
        "",
        f"Simulated with peersim over {summary['years']} years, {summary['replications']} replications per arm "
        f"(seeds {summary['seeds'][0]}-{summary['seeds'][1]}, the same seeds in every arm)"
        + (", with the uncertain parameters drawn anew in each replication." if summary["psa"]
           else ", parameters at their defaults (only chance varies).")
        + " Each cell: mean (90% of replications between the two numbers). Amounts in DKK, rounded to "
          "thousands. Two views of money: the **budget view** counts what is paid and saved in the run's "
          f"{years_range(years)}; the **SØM view** counts every success's 5-year saving (discounted to its course "
          "start), also the part that arrives after the run, as the published figures do. Savings rows: SØM view.",
        "",
        overrides_line(summary),
        "",
        *arm_settings_lines(summary),
        head,
        "|---|" + "---|" * len(arms),
    ]
    for key, label, digits, money in REPORT_ROWS:
        label = label.format(span=years_range(years))
        lines.append(f"| {label} | " + " | ".join(_cell(r, key, digits, money) for r in arms.values()) + " |")
    lines.append(f"| Chance of a municipal net loss, budget view ({years_range(years)}) | "
                 + " | ".join(pct(r["prob_net_loss_municipality_budget"]) for r in arms.values()) + " |")
    lines.append("| Chance of a municipal net loss, SØM view | "
                 + " | ".join(pct(r["prob_net_loss_municipality"]) for r in arms.values()) + " |")
    lines.append("| Chance the fund loses money | "
                 + " | ".join(pct(r["prob_net_loss_fund"]) if r["contract_active"] else "no fund contract"
                              for r in arms.values()) + " |")
    lines += ["", "## Findings", "", findings(summary, arms), ""]
    if any(a["base"] == "shared_coordinator" for a in summary.get("arm_settings", {}).values()) or \
            "shared_coordinator" in arms:
        lines += [
            "In the shared arm the coordinator, the volunteers and the fund's costs serve both municipalities; "
            f"the figures above are {where}'s: its own citizens, successes, savings, payments and staff time, "
            "and its share (by citizens started) of what the two share.", ""]
    lines += list(sections or [])
    lines += ["Files: `comparison.csv` (this table), `differences.csv` (paired differences), "
              "`replications.csv` (every replication), `outcomes_by_time.csv`, `pairing.csv`, `break_even.csv` (the break-even year's distribution and "
              "P(break-even by year k)), `budget_by_year.csv` (the cumulative net by year: median, 50% and 90% "
              "bands), `comparison_summary.json`, `chart_*.png`.", ""]
    return "\n".join(lines)


def findings(summary: dict[str, Any], arms: dict[str, pd.Series]) -> str:
    """One paragraph of plain findings, generated from the numbers."""
    where = summary["municipality_label"]
    years = summary["years"]
    s: list[str] = []

    def m(arm: str, key: str) -> float:
        return float(arms[arm][f"{key}_mean"])

    def interval(arm: str, key: str) -> str:
        return f"{dkk(arms[arm][f'{key}_p05'])} to {dkk(arms[arm][f'{key}_p95'])}"

    if "local_coordinator" in arms and "partnership" in arms:
        s.append(f"Over {years} years an own local coordinator starts on average "
                 f"{m('local_coordinator', 'citizens_started'):.0f} citizens in {where} and a local partnership "
                 f"{m('partnership', 'citizens_started'):.0f}, with {m('local_coordinator', 'successes'):.0f} and "
                 f"{m('partnership', 'successes'):.0f} attributable successes.")
        s.append(f"In the budget view (what is paid and saved in {years_range(years)}) the municipality's net "
                 f"result is {dkk(m('local_coordinator', 'net_municipal_budget_dkk'))} DKK with its own coordinator "
                 f"(90%: {interval('local_coordinator', 'net_municipal_budget_dkk')}) and "
                 f"{dkk(m('partnership', 'net_municipal_budget_dkk'))} DKK with a partnership "
                 f"(90%: {interval('partnership', 'net_municipal_budget_dkk')}).")
        s.append(f"In the SØM view (every success's 5-year saving, also after the run) it is "
                 f"{dkk(m('local_coordinator', 'net_municipal_dkk'))} DKK with "
                 f"its own coordinator (90%: {interval('local_coordinator', 'net_municipal_dkk')}) and "
                 f"{dkk(m('partnership', 'net_municipal_dkk'))} DKK with a partnership "
                 f"(90%: {interval('partnership', 'net_municipal_dkk')}).")
        d = summary["differences"].get("local_coordinator - partnership", {}).get("net_municipal_dkk")
        if d:
            better = "better" if d["mean"] >= 0 else "worse"
            s.append(f"Replication by replication (SØM view), the own coordinator leaves the municipality "
                     f"{dkk(abs(d['mean']))} DKK {better} off on average (90%: {dkk(d['p05'])} to "
                     f"{dkk(d['p95'])}) and comes out ahead in "
                     f"{pct(summary['prob_local_coordinator_higher_municipal_net'])} of replications.")
        s.append(f"The municipality makes a net loss in the SØM view in "
                 f"{pct(arms['local_coordinator']['prob_net_loss_municipality'])} of replications with its own "
                 f"coordinator and in "
                 f"{pct(arms['partnership']['prob_net_loss_municipality'])} with a partnership; in the budget view "
                 f"after {n_years(years)} in {pct(arms['local_coordinator']['prob_net_loss_municipality_budget'])} and "
                 f"{pct(arms['partnership']['prob_net_loss_municipality_budget'])}.")
    phrase = {"local_coordinator": "an own coordinator", "shared_coordinator": "a shared coordinator"}
    for arm in ("local_coordinator", "shared_coordinator"):
        if arm in arms and arms[arm]["contract_active"]:
            s.append(f"With {phrase[arm]} the fund's net result is "
                     f"{dkk(m(arm, 'fund_net_dkk'))} DKK on average and it loses money in "
                     f"{pct(arms[arm]['prob_net_loss_fund'])} of replications.")
            break
    if "shared_coordinator" in arms:
        neighbour = summary.get("neighbour_label") or summary.get("neighbour")
        s.append(f"Sharing the coordinator with {neighbour}, {where} starts "
                 f"{m('shared_coordinator', 'citizens_started'):.0f} citizens and its net result is "
                 f"{dkk(m('shared_coordinator', 'net_municipal_dkk'))} DKK "
                 f"(90%: {interval('shared_coordinator', 'net_municipal_dkk')}).")
        d = summary["differences"].get("shared_coordinator - local_coordinator", {}).get("net_municipal_dkk")
        if d:
            s.append(f"Compared with an own coordinator that is {dkk(abs(d['mean']))} DKK "
                     f"{'more' if d['mean'] >= 0 else 'less'} for {where} on average "
                     f"(90%: {dkk(d['p05'])} to {dkk(d['p95'])}), higher in "
                     f"{pct(summary.get('prob_shared_higher_municipal_net'))} of replications.")
    if "partnership" in arms and "local_coordinator" not in arms:
        s.append(f"A local partnership starts on average {m('partnership', 'citizens_started'):.0f} citizens; the "
                 f"municipality's net result is {dkk(m('partnership', 'net_municipal_dkk'))} DKK.")
    ses = [float(r["net_municipal_dkk_se"]) for r in arms.values() if not math.isnan(float(r["net_municipal_dkk_se"]))]
    if ses:
        s.append(f"The means are precise to about {dkk(max(ses))} DKK (largest Monte-Carlo standard error of a "
                 "mean municipal net result).")
    return " ".join(s)
