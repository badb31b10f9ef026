"""The charts of ``compare_implementations``, for a steering-group meeting.

One panel per arm (or per paired difference) with the distribution over replications, the mean
and the 90% interval (5th-95th percentile) marked, and zero drawn so that gain and loss read at a
glance. matplotlib is imported inside the functions: this module is imported whenever the
experiment schemas are registered (every ``peersim`` start).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments.compare.arms import arm_colors, paired
from peersim.experiments.compare.budget import years_range
from peersim.experiments.compare.report import dkk, pct
from peersim.io import save_figure

DIFF_COLOR = "#6a4c93"


def distribution_chart(panels: list[tuple[str, np.ndarray, str]], *, title: str, subtitle: str, xlabel: str,
                       below_zero: str = "below zero in {p} of replications"):
    """Stacked histograms sharing one x axis: per panel the mean (solid line), the 90% interval
    (shaded, 5th-95th percentile), zero (dashed) and the share of replications below zero."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

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
            text = f"mean {dkk(mean)}   90%: {dkk(p05)} to {dkk(p95)}   " + below_zero.format(p=pct(below))
            box = {"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 2}
            ax.text(0.01, 0.96, label, transform=ax.transAxes, va="top", fontsize=13, fontweight="bold", bbox=box)
            ax.text(0.01, 0.78, text, transform=ax.transAxes, va="top", fontsize=11, bbox=box)
        ax.axvline(0, color="#444444", linestyle="--", linewidth=1)
        ax.set_ylabel("Replications", fontsize=11)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
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
    """``chart_net_municipal.png`` (SØM view), ``chart_net_municipal_budget.png`` (budget view),
    ``chart_net_fund.png`` (arms with a fund contract) and
    ``chart_difference_net_municipal.png`` (paired differences); returns the paths written."""
    where = summary["municipality_label"]
    sub = (f"{where}, {summary['years']} years, {summary['replications']} replications per arm"
           f"{', parameter uncertainty drawn per replication' if summary['psa'] else ''}")
    labels = dict(zip(comparison["arm"], comparison["label"], strict=True))
    arms = list(comparison["arm"])
    colors = arm_colors(arms)
    written = []

    def panel(arm: str, key: str) -> tuple[str, np.ndarray, str]:
        return labels[arm], reps.loc[reps["arm"] == arm, key].to_numpy(dtype=float), colors[arm]

    fig = distribution_chart([panel(a, "net_municipal_dkk") for a in arms],
                             title=f"Municipal net result, SØM view: {where}", subtitle=sub,
                             xlabel="DKK, SØM view: every success's 5-year saving (also after the run) - outcome "
                                    "payments - own staff costs",
                             below_zero="net loss in {p} of replications")
    written.append(save_figure(fig, outdir / "chart_net_municipal.png", dpi=130))
    fig = distribution_chart([panel(a, "net_municipal_budget_dkk") for a in arms],
                             title=f"Municipal net result, budget view ({years_range(summary['years'])}): {where}",
                             subtitle=sub,
                             xlabel=f"DKK, budget view: savings - outcome payments - own staff costs paid in "
                                    f"programme {years_range(summary['years'])}",
                             below_zero="behind at the end of the run in {p} of replications")
    written.append(save_figure(fig, outdir / "chart_net_municipal_budget.png", dpi=130))

    funded = [a for a in arms if bool(comparison.loc[comparison["arm"] == a, "contract_active"].iloc[0])]
    if funded:
        fig = distribution_chart([panel(a, "fund_net_dkk") for a in funded],
                                 title=f"Fund net result per arm, every outcome payment: {where}",
                                 subtitle=sub + " (arms with a fund contract)",
                                 xlabel="DKK: outcome payments received (also those settled after the run) - "
                                        "costs financed",
                                 below_zero="the fund loses in {p} of replications")
        written.append(save_figure(fig, outdir / "chart_net_fund.png", dpi=130))

    contrasts = list(differences[["contrast", "arm_a", "arm_b"]].drop_duplicates().itertuples(index=False))
    if contrasts:
        panels = [(f"{labels[a]}  minus  {labels[b]}", paired(reps, a, b, "net_municipal_dkk"),
                   colors.get(a, DIFF_COLOR)) for _, a, b in contrasts]
        fig = distribution_chart(panels, title=f"Paired difference in the municipal net result, SØM view: {where}",
                                 subtitle=sub + "; same seed in both arms",
                                 xlabel="DKK, difference in the municipal net result, SØM view (first arm minus "
                                        "second)",
                                 below_zero="first arm worse in {p} of replications")
        written.append(save_figure(fig, outdir / "chart_difference_net_municipal.png", dpi=130))
    return written
