"""Charts of one run. Each function takes DataFrames and returns a matplotlib Figure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from peersim.economics import cumulative_cashflow_chart  # noqa: E402

if TYPE_CHECKING:
    from peersim.params import PeersimConfig

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


def trial_outcome(citizens: pd.DataFrame, table: pd.DataFrame, label: str = "") -> Figure:
    """The simulated trial: QPR-15 at the end of the course by arm, and the difference with its
    confidence interval next to the published one (``trial.csv``)."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [3, 2]})
    measured = citizens[citizens["ti_trial_measured"].notna()]
    bins = np.arange(0, 62, 4)
    for arm, name, color in (("sau", "service as usual (SAU)", COLORS["counterfactual"]),
                             ("peer", "PEER + service as usual", COLORS["programme"])):
        x = measured.loc[measured["trial_arm"] == arm, "qpr_trial"].dropna()
        if x.empty:
            continue
        ax.hist(x, bins=bins, histtype="stepfilled" if arm == "sau" else "step", lw=2, color=color,
                alpha=0.45 if arm == "sau" else 1.0, label=f"{name}: n {len(x)}, mean {x.mean():.1f}")
        ax.axvline(x.mean(), color=color, lw=1.5, ls="--")
    ax.set_xlabel("QPR-15 at the end of the course (0-60)")
    ax.set_ylabel("Participants")
    ax.set_title("Distribution by arm (intention to treat)", fontsize=10)
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.grid(alpha=0.3)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend
    t = table.set_index("figure")
    for y, col, color, lab in ((1, "simulated", COLORS["programme"], "simulated (this run)"),
                               (0, "published", COLORS["waiting"], "published trial")):
        v, lo, hi = (t.loc["qpr_difference", c] for c in (col, f"{col}_ci_low", f"{col}_ci_high"))
        if not np.isfinite(v):
            continue
        err = [[v - lo], [hi - v]] if np.isfinite(lo) and np.isfinite(hi) else None
        ax2.errorbar(v, y, xerr=err, fmt="o", color=color, capsize=5, ms=7)
        d, sd = t.loc["cohens_d", col], t.loc["qpr_sd", col]
        ax2.annotate(f"{v:.1f} [{lo:.1f}, {hi:.1f}]\nd {d:.2f}, SD {sd:.1f}", (v, y), textcoords="offset points",
                     xytext=(0, 12), ha="center", fontsize=9, color=color)
    ax2.axvline(0, color="#333333", lw=0.8)
    ax2.set_yticks([1, 0], ["simulated\n(this run)", "published\n(Poulsen et al. 2025)"])
    ax2.set_ylim(-0.6, 1.8)
    ax2.set_xlabel("Difference PEER - SAU, QPR-15 points (95% CI)")
    ax2.set_title("Difference in means, Cohen's d and pooled SD", fontsize=10)
    ax2.grid(alpha=0.3, axis="x")
    _title(fig, "The randomised trial: personal recovery (QPR-15) at the end of the course", label)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def run_charts(params: PeersimConfig, summary: dict[str, Any], timeseries: pd.DataFrame,
               citizens: pd.DataFrame, extra_tables: dict[str, pd.DataFrame]) -> dict[str, Figure]:
    """The charts of one run, by file name (the economics chart when the run has its cash flow,
    the trial's when it is a trial)."""
    places = " + ".join(m.label for m in params.municipalities)
    label = (f"{params.scenario.description}; {places}, seed {summary['seed']}, "
             f"{summary['years']} years")
    figs = {
        "chart_referrals_waiting.png": referrals_and_waiting(timeseries, label),
        "chart_course_starts.png": course_starts(timeseries, label),
        "chart_volunteers.png": volunteer_pool(timeseries, label),
        "chart_qpr.png": qpr_over_time(timeseries, citizens, label),
    }
    if "cashflow" in extra_tables:
        figs["chart_economics.png"] = cumulative_cashflow_chart(
            extra_tables["cashflow"],
            title=f"Costs, payments and savings: {params.scenario.name.replace('_', ' ')}, {places}",
            run_years=params.years)
    if "trial" in extra_tables:
        figs["chart_trial.png"] = trial_outcome(citizens, extra_tables["trial"], label)
    return figs
