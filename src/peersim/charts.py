"""Charts of one run. Each function takes DataFrames and returns a matplotlib Figure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

if TYPE_CHECKING:
    from peersim.simulate import RunResult

PERIOD = 4  # weeks per bar in period charts (about a month)
COLORS = {
    "programme": "#1b6ca8", "counterfactual": "#9a9a9a", "waiting": "#d1495b",
    "referred": "#66a182", "courses": "#1b6ca8", "citizens": "#edae49",
}
VOLUNTEER_STATES = (
    ("n_volunteers_leading", "leading a course", "#1b6ca8"),
    ("n_volunteers_available", "available", "#66a182"),
    ("n_volunteers_resting", "resting", "#a5d8a0"),
    ("n_volunteers_in_training", "in training", "#edae49"),
    ("n_volunteers_recruited", "recruited, awaiting training", "#f4d58d"),
    ("n_volunteers_burned_out", "paused (burnout)", "#d1495b"),
)


def _years_axis(ax, weeks: int) -> None:
    years = int(np.ceil(weeks / 52))
    ax.set_xlim(0, weeks)
    ax.set_xticks([52 * y for y in range(years + 1)])
    ax.set_xticklabels([str(y) for y in range(years + 1)])
    ax.set_xlabel("Years since launch")
    ax.grid(alpha=0.3)


def _title(fig: Figure, title: str, subtitle: str) -> None:
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, ha="left")
    fig.text(0.01, 0.905, subtitle, fontsize=9, color="#555555", ha="left")


def referrals_and_waiting(ts: pd.DataFrame, label: str = "") -> Figure:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    period = (ts["week"] - 1) // PERIOD
    ref = ts.groupby(period)["new_citizens_referred"].sum()
    ax.bar(ref.index * PERIOD + PERIOD / 2, ref.values, width=PERIOD * 0.85,
           color=COLORS["referred"], alpha=0.7, label=f"referred per {PERIOD} weeks")
    ax.plot(ts["week"], ts["n_waiting"], color=COLORS["waiting"], lw=2, label="on the waiting list")
    gave = ts["cum_citizens_gave_up"]
    ax.plot(ts["week"], gave, color=COLORS["waiting"], lw=1.2, ls="--", label="gave up waiting (cumulative)")
    ax.set_ylabel("Citizens")
    _years_axis(ax, len(ts))
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    _title(fig, "Referrals and waiting list", label)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def course_starts(ts: pd.DataFrame, label: str = "") -> Figure:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.step(ts["week"], ts["cum_courses_started"], where="post", color=COLORS["courses"], lw=2,
            label="courses started (cumulative, left axis)")
    ax.set_ylabel("Courses")
    ax2 = ax.twinx()
    ax2.plot(ts["week"], ts["cum_citizens_started"], color=COLORS["citizens"], lw=2,
             label="citizens started (cumulative, right axis)")
    ax2.set_ylabel("Citizens")
    _years_axis(ax, len(ts))
    per_year = ts.groupby("year")["new_courses_started"].sum()
    for y, n in per_year.items():
        ax.annotate(f"{n}/yr", (52 * (y - 0.5), 0), textcoords="offset points", xytext=(0, 4),
                    ha="center", fontsize=8, color="#333333")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=9, frameon=False)
    _title(fig, "Courses and citizens started", label)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def volunteer_pool(ts: pd.DataFrame, label: str = "") -> Figure:
    fig, ax = plt.subplots(figsize=(9, 4.5))
    cols = [c for c, _, _ in VOLUNTEER_STATES]
    ax.stackplot(ts["week"], ts[cols].T.values, labels=[lab for _, lab, _ in VOLUNTEER_STATES],
                 colors=[col for _, _, col in VOLUNTEER_STATES], alpha=0.9)
    ax.plot(ts["week"], ts["cum_volunteer_burnouts"], color="black", lw=1, ls=":",
            label="burnouts (cumulative)")
    ax.set_ylabel("Volunteers")
    _years_axis(ax, len(ts))
    ax.legend(loc="upper left", fontsize=8, frameon=False, ncol=2)
    _title(fig, "Volunteer pool by state", label)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def qpr_over_time(ts: pd.DataFrame, citizens: pd.DataFrame, label: str = "") -> Figure:
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    ax.plot(ts["week"], ts["qpr_mean_started"], color=COLORS["programme"], lw=2, label="with the programme")
    ax.plot(ts["week"], ts["qpr_cf_mean_started"], color=COLORS["counterfactual"], lw=2, ls="--",
            label="same citizens, service as usual")
    ax.set_ylabel("Mean QPR-15 (0-60)")
    ax.set_title("Citizens followed after starting a course", fontsize=10)
    _years_axis(ax, len(ts))
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    st = citizens[citizens["started"]]
    points = ["referral", "end of course", "26 weeks later"]
    prog = [st["qpr_baseline"].mean(), st["qpr_end_course"].mean(), st["qpr_26w"].mean()]
    cf = [st["qpr_baseline"].mean(), st["qpr_cf_end_course"].mean(), st["qpr_cf_26w"].mean()]
    x = np.arange(3)
    ax2.plot(x, prog, "o-", color=COLORS["programme"], lw=2, label="with the programme")
    ax2.plot(x, cf, "o--", color=COLORS["counterfactual"], lw=2, label="service as usual")
    for xi, a, b in zip(x[1:], prog[1:], cf[1:], strict=True):
        if np.isfinite(a) and np.isfinite(b):
            ax2.annotate(f"+{a - b:.1f}", (xi, a), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax2.set_xticks(x, points)
    ax2.set_ylabel("Mean QPR-15 (0-60)")
    ax2.set_title("Same citizens at three moments", fontsize=10)
    ax2.grid(alpha=0.3)
    _title(fig, "Personal recovery (QPR-15) with the programme and without", label)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def save_run_charts(result: RunResult, out: Path) -> list[Path]:
    s = result.summary
    places = " + ".join(m.label for m in result.params.municipalities)
    label = (f"{result.params.scenario.description}; {places}, seed {s['seed']}, "
             f"{s['years']} years")
    figs = {
        "chart_referrals_waiting.png": referrals_and_waiting(result.timeseries, label),
        "chart_course_starts.png": course_starts(result.timeseries, label),
        "chart_volunteers.png": volunteer_pool(result.timeseries, label),
        "chart_qpr.png": qpr_over_time(result.timeseries, result.citizens, label),
    }
    if "cashflow" in result.extra_tables:
        from peersim.economics import cumulative_cashflow_chart

        figs["chart_economics.png"] = cumulative_cashflow_chart(
            result.extra_tables["cashflow"],
            title=f"Costs, payments and savings: {result.params.scenario.name.replace('_', ' ')}, {places}")
    paths = []
    for name, fig in figs.items():
        path = out / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
