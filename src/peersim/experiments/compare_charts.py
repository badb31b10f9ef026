"""Charts and the plain-language report of ``compare_implementations`` (see :mod:`.compare`).

Charts are for a steering-group meeting: one panel per arm (or per paired difference) with the
distribution over replications, the mean and the 90% interval (5th-95th percentile) marked, and
zero drawn so that gain and loss read at a glance. The report (``comparison.md``) is generated
from the tables: every number in it comes from the replications.

matplotlib is imported inside the functions: this module is imported whenever the experiment
schemas are registered (every ``peersim`` start).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ARM_COLORS = {"local_coordinator": "#1b6ca8", "partnership": "#d1495b", "shared_coordinator": "#66a182"}
DIFF_COLOR = "#6a4c93"


def _dkk(v: float) -> str:
    """Whole thousands of DKK with a thousands separator (simulated amounts are not exact to the krone)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{round(v, -3):,.0f}"


def _num(v: float, digits: int = 0) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:,.{digits}f}"


def _pct(p: float) -> str:
    return "n/a" if p is None or (isinstance(p, float) and math.isnan(p)) else f"{100 * p:.0f}%"


# -- charts -----------------------------------------------------------------------------------
def distribution_chart(panels: list[tuple[str, np.ndarray, str]], *, title: str, subtitle: str, xlabel: str,
                       below_zero: str = "below zero in {p} of replications"):
    """Stacked histograms sharing one x axis: per panel the mean (solid line), the 90% interval
    (shaded, 5th-95th percentile), zero (dashed) and the share of replications below zero."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    n = len(panels)
    fig = Figure(figsize=(11, 1.9 + 2.3 * n), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    finite = [v[np.isfinite(v)] for _, v, _ in panels]
    every = np.concatenate([v for v in finite if v.size] or [np.zeros(1)])
    lo, hi = float(every.min()), float(every.max())
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    pad = 0.04 * (hi - lo)
    lo, hi = min(lo - pad, 0.0 - pad), max(hi + pad, 0.0 + pad)
    bins = np.linspace(lo, hi, 41)
    for ax, (label, _, color), v in zip(axes, panels, finite, strict=True):
        if v.size:
            ax.hist(v, bins=bins, color=color, alpha=0.75, edgecolor="white", linewidth=0.5)
            mean = float(v.mean())
            p05, p95 = np.percentile(v, [5, 95])
            ax.axvspan(p05, p95, color=color, alpha=0.12, zorder=0)
            ax.axvline(mean, color="black", linewidth=2)
            below = float((v < 0).mean())
            text = f"mean {_dkk(mean)}   90%: {_dkk(p05)} to {_dkk(p95)}   " + below_zero.format(p=_pct(below))
            box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2}
            ax.text(0.01, 0.96, label, transform=ax.transAxes, va="top", fontsize=13, fontweight="bold", bbox=box)
            ax.text(0.01, 0.78, text, transform=ax.transAxes, va="top", fontsize=11, bbox=box)
        ax.axvline(0, color="#444444", linestyle="--", linewidth=1)
        ax.set_ylabel("Replications", fontsize=11)
        ax.set_ylim(0, ax.get_ylim()[1] * 1.45)
        ax.tick_params(labelsize=11)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    axes[-1].set_xlabel(xlabel, fontsize=12)
    axes[-1].set_xlim(lo, hi)
    fig.suptitle(title, fontsize=15, fontweight="bold")
    legend = "black line: mean;  shaded: 90% of replications (5th-95th percentile);  dashed: zero"
    axes[0].set_title(f"{subtitle}\n{legend}", fontsize=10.5, color="#555555")
    return fig


def save_charts(reps: pd.DataFrame, comparison: pd.DataFrame, differences: pd.DataFrame,
                summary: dict[str, Any], outdir: Path) -> list[Path]:
    """``chart_net_municipal.png``, ``chart_net_fund.png`` (arms with a fund contract) and
    ``chart_difference_net_municipal.png`` (paired differences); returns the paths written."""
    from peersim.experiments.compare import CONTRASTS, paired

    where = summary["municipality_label"]
    sub = (f"{where}, {summary['years']} years, {summary['replications']} replications per arm"
           f"{', parameter uncertainty drawn per replication' if summary['psa'] else ''}")
    labels = dict(zip(comparison["arm"], comparison["label"], strict=True))
    arms = list(comparison["arm"])
    written = []

    def panel(arm: str, key: str) -> tuple[str, np.ndarray, str]:
        return labels[arm], reps.loc[reps["arm"] == arm, key].to_numpy(dtype=float), ARM_COLORS[arm]

    fig = distribution_chart([panel(a, "net_municipal_dkk") for a in arms],
                             title=f"Municipal net result per arm: {where}", subtitle=sub,
                             xlabel="DKK over the run: SØM savings - outcome payments - own staff costs",
                             below_zero="net loss in {p} of replications")
    written.append(save_figure(fig, outdir / "chart_net_municipal.png", dpi=130))

    funded = [a for a in arms if bool(comparison.loc[comparison["arm"] == a, "contract_active"].iloc[0])]
    if funded:
        fig = distribution_chart([panel(a, "fund_net_dkk") for a in funded],
                                 title=f"Fund net result per arm: {where}",
                                 subtitle=sub + " (arms with a fund contract)",
                                 xlabel="DKK over the run: outcome payments received - costs financed",
                                 below_zero="the fund loses in {p} of replications")
        written.append(save_figure(fig, outdir / "chart_net_fund.png", dpi=130))

    contrasts = [(name, a, b) for name, a, b in CONTRASTS if a in arms and b in arms]
    if contrasts:
        panels = [(f"{labels[a]}  minus  {labels[b]}", paired(reps, a, b, "net_municipal_dkk"),
                   ARM_COLORS.get(a, DIFF_COLOR)) for _, a, b in contrasts]
        fig = distribution_chart(panels, title=f"Paired difference in the municipal net result: {where}",
                                 subtitle=sub + "; same seed in both arms",
                                 xlabel="DKK, difference in the municipal net result (first arm minus second)",
                                 below_zero="first arm worse in {p} of replications")
        written.append(save_figure(fig, outdir / "chart_difference_net_municipal.png", dpi=130))
    return written


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
    ("net_municipal_dkk", "**Municipal net result (DKK)**", 0, True),
    ("net_per_citizen_dkk", "Municipal net per started citizen (DKK)", 0, False),
    ("fund_net_dkk", "Fund net result (DKK)", 0, True),
)


def _cell(row: pd.Series, key: str, digits: int, money: bool) -> str:
    f = _dkk if money else (lambda v: _num(v, digits))
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


def report_markdown(summary: dict[str, Any], comparison: pd.DataFrame, differences: pd.DataFrame) -> str:
    """``comparison.md``: a table of every arm and one paragraph of findings, all generated."""
    where = summary["municipality_label"]
    arms = {r["arm"]: r for _, r in comparison.iterrows()}
    head = "| | " + " | ".join(r["label"] for r in arms.values()) + " |"
    lines = [
        f"# {report_title(where, [r['label'] for r in arms.values()])}",
        "",
        f"Simulated with peersim over {summary['years']} years, {summary['replications']} replications per arm "
        f"(seeds {summary['seeds'][0]}-{summary['seeds'][1]}, the same seeds in every arm)"
        + (", with the uncertain parameters drawn anew in each replication." if summary["psa"]
           else ", parameters at their defaults (only chance varies).")
        + " Each cell: mean (90% of replications between the two numbers). Amounts in DKK, rounded to "
          "thousands; savings in the SØM view (5-year savings per success, discounted).",
        "",
        overrides_line(summary),
        "",
        head,
        "|---|" + "---|" * len(arms),
    ]
    for key, label, digits, money in REPORT_ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(r, key, digits, money) for r in arms.values()) + " |")
    lines.append("| Chance of a municipal net loss | "
                 + " | ".join(_pct(r["prob_net_loss_municipality"]) for r in arms.values()) + " |")
    lines.append("| Chance the fund loses money | "
                 + " | ".join(_pct(r["prob_net_loss_fund"]) if r["contract_active"] else "no fund contract"
                              for r in arms.values()) + " |")
    lines += ["", "## Findings", "", findings(summary, arms), ""]
    if "shared_coordinator" in arms:
        lines += [
            "In the shared arm the coordinator, the volunteers and the fund's costs serve both municipalities; "
            f"the figures above are {where}'s: its own citizens, successes, savings, payments and staff time, "
            "and its share (by citizens started) of what the two share.", ""]
    lines += ["Files: `comparison.csv` (this table), `differences.csv` (paired differences), "
              "`replications.csv` (every replication), `comparison_summary.json`, `chart_*.png`.", ""]
    return "\n".join(lines)


def findings(summary: dict[str, Any], arms: dict[str, pd.Series]) -> str:
    """One paragraph of plain findings, generated from the numbers."""
    where = summary["municipality_label"]
    years = summary["years"]
    s: list[str] = []

    def m(arm: str, key: str) -> float:
        return float(arms[arm][f"{key}_mean"])

    def interval(arm: str, key: str) -> str:
        return f"{_dkk(arms[arm][f'{key}_p05'])} to {_dkk(arms[arm][f'{key}_p95'])}"

    if "local_coordinator" in arms and "partnership" in arms:
        s.append(f"Over {years} years an own local coordinator starts on average "
                 f"{m('local_coordinator', 'citizens_started'):.0f} citizens in {where} and a local partnership "
                 f"{m('partnership', 'citizens_started'):.0f}, with {m('local_coordinator', 'successes'):.0f} and "
                 f"{m('partnership', 'successes'):.0f} attributable successes.")
        s.append(f"The municipality's net result is {_dkk(m('local_coordinator', 'net_municipal_dkk'))} DKK with "
                 f"its own coordinator (90%: {interval('local_coordinator', 'net_municipal_dkk')}) and "
                 f"{_dkk(m('partnership', 'net_municipal_dkk'))} DKK with a partnership "
                 f"(90%: {interval('partnership', 'net_municipal_dkk')}).")
        d = summary["differences"].get("local_coordinator - partnership", {}).get("net_municipal_dkk")
        if d:
            better = "better" if d["mean"] >= 0 else "worse"
            s.append(f"Replication by replication, the own coordinator leaves the municipality "
                     f"{_dkk(abs(d['mean']))} DKK {better} off on average (90%: {_dkk(d['p05'])} to "
                     f"{_dkk(d['p95'])}) and comes out ahead in "
                     f"{_pct(summary['prob_local_coordinator_higher_municipal_net'])} of replications.")
        s.append(f"The municipality makes a net loss in "
                 f"{_pct(arms['local_coordinator']['prob_net_loss_municipality'])} of replications with its own "
                 f"coordinator and in "
                 f"{_pct(arms['partnership']['prob_net_loss_municipality'])} with a partnership.")
    phrase = {"local_coordinator": "an own coordinator", "shared_coordinator": "a shared coordinator"}
    for arm in ("local_coordinator", "shared_coordinator"):
        if arm in arms and arms[arm]["contract_active"]:
            s.append(f"With {phrase[arm]} the fund's net result is "
                     f"{_dkk(m(arm, 'fund_net_dkk'))} DKK on average and it loses money in "
                     f"{_pct(arms[arm]['prob_net_loss_fund'])} of replications.")
            break
    if "shared_coordinator" in arms:
        neighbour = summary.get("neighbour_label") or summary.get("neighbour")
        s.append(f"Sharing the coordinator with {neighbour}, {where} starts "
                 f"{m('shared_coordinator', 'citizens_started'):.0f} citizens and its net result is "
                 f"{_dkk(m('shared_coordinator', 'net_municipal_dkk'))} DKK "
                 f"(90%: {interval('shared_coordinator', 'net_municipal_dkk')}).")
        d = summary["differences"].get("shared_coordinator - local_coordinator", {}).get("net_municipal_dkk")
        if d:
            s.append(f"Compared with an own coordinator that is {_dkk(abs(d['mean']))} DKK "
                     f"{'more' if d['mean'] >= 0 else 'less'} for {where} on average "
                     f"(90%: {_dkk(d['p05'])} to {_dkk(d['p95'])}), higher in "
                     f"{_pct(summary.get('prob_shared_higher_municipal_net'))} of replications.")
    if "partnership" in arms and "local_coordinator" not in arms:
        s.append(f"A local partnership starts on average {m('partnership', 'citizens_started'):.0f} citizens; the "
                 f"municipality's net result is {_dkk(m('partnership', 'net_municipal_dkk'))} DKK.")
    ses = [float(r["net_municipal_dkk_se"]) for r in arms.values() if not math.isnan(float(r["net_municipal_dkk_se"]))]
    if ses:
        s.append(f"The means are precise to about {_dkk(max(ses))} DKK (largest Monte-Carlo standard error of a "
                 "mean municipal net result).")
    return " ".join(s)
