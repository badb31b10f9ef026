"""Charts over time per arm of ``compare_implementations``: the median and the 50% and 90% bands
across replications of each series of :data:`~.outcomes.SERIES` (``outcomes_by_time``).

One panel per arm, sharing both axes so the arms compare at a glance. matplotlib is imported
inside the functions (this module is imported whenever the experiment schemas are registered).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from peersim.experiments.compare.arms import arm_colors
from peersim.experiments.compare.outcomes import SERIES
from peersim.io import save_figures

FILES = {"citizens_started": "chart_citizens_started_by_year.png", "successes": "chart_successes_by_year.png",
         "volunteers_active": "chart_volunteers_active_by_month.png"}


def band_chart(table: pd.DataFrame, series: str, *, title: str, subtitle: str, ylabel: str, years: int):
    """One panel per arm: the median of ``series`` by period and its 50% and 90% bands."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    sub = table[table["series"] == series]
    arms = list(dict.fromkeys(sub["arm"]))
    colors = arm_colors(arms)
    monthly = (sub["period"] == "month").any()
    fig = Figure(figsize=(11, 1.6 + 2.6 * len(arms)), layout="constrained")
    axes = fig.subplots(len(arms), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, arm in zip(axes, arms, strict=True):
        t = sub[sub["arm"] == arm].sort_values("index")
        x = (t["index"].to_numpy() - 0.5) / 12 if monthly else t["index"].to_numpy()
        c = colors[arm]
        ax.fill_between(x, t["p05"], t["p95"], color=c, alpha=0.18, linewidth=0, label="90% of replications",
                        step=None)
        ax.fill_between(x, t["p25"], t["p75"], color=c, alpha=0.40, linewidth=0, label="50% of replications")
        ax.plot(x, t["p50"], color=c, linewidth=2.2, marker=None if monthly else "o", markersize=4, label="median")
        ax.set_title(t["label"].iloc[0], loc="left", fontsize=12.5, fontweight="bold")
        ax.set_ylabel(ylabel, fontsize=11)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=11)
    axes[0].legend(loc="upper left", fontsize=10, framealpha=0.9, ncols=3)
    axes[0].set_ylim(0, axes[0].get_ylim()[1] * 1.25)  # room for the legend above the bands
    ax = axes[-1]
    if monthly:
        ax.set_xlim(0, years)
        ax.set_xticks(range(0, years + 1))
        ax.set_xlabel("Programme year (monthly means; tick = start of the year)", fontsize=11)
    else:
        ax.set_xticks(range(1, years + 1))
        ax.set_xlabel("Programme year", fontsize=11)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=14)
    return fig


def save_outcome_charts(table: pd.DataFrame, summary: dict[str, Any], outdir: Path) -> list[Path]:
    """``chart_citizens_started_by_year.png``, ``chart_successes_by_year.png`` and
    ``chart_volunteers_active_by_month.png``."""
    where = summary["municipality_label"]
    sub = (f"{where}, {summary['years']} years, {summary['replications']} replications per arm: "
           "median (line), 50% and 90% of replications (bands)")
    figures = {}
    for key, _, unit, title in SERIES:
        figures[FILES[key]] = band_chart(table, key, title=title, subtitle=sub, ylabel=f"Number of {unit}"
                                         if unit == "persons" else unit, years=summary["years"])
    return save_figures(outdir, figures)
