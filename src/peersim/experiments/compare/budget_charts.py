"""The budget-view charts of ``compare_implementations``: money year by year, and when it breaks even.

* :func:`fan_chart`: per arm one panel with the cumulative net by programme year over the
  replications (median line, 50% and 90% bands), zero, and the end of the run marked;
* :func:`break_even_chart`: P(break-even by year k) per arm, the municipality (within the run) and
  the fund (its payback), with the share that never breaks even in the legend.

Both take the tables ``budget_by_year`` and ``break_even`` (:mod:`~.budget`) and return Figures;
matplotlib is imported inside the functions (this module is imported at every ``peersim`` start).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from peersim.experiments.compare.arms import arm_colors
from peersim.experiments.compare.budget import n_years
from peersim.experiments.compare.report import pct
from peersim.io import save_figure

WHO = {"municipality": "Municipality", "fund": "Fund"}


def _year_axis(ax, last_year: int) -> None:
    """One tick a year (every other beyond 20 years): integer programme years only."""
    from matplotlib.ticker import MultipleLocator

    ax.xaxis.set_major_locator(MultipleLocator(1 if last_year <= 20 else 2))


def _millions(ax) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: f"{y / 1e6:,.1f} m"))


def fan_chart(table: pd.DataFrame, party: str, *, title: str, subtitle: str, years: int):
    """Cumulative net of ``party`` by year, one panel per arm of ``table`` (``budget_by_year``)."""
    from matplotlib.figure import Figure

    sub = table[table["party"] == party]
    arms = list(dict.fromkeys(sub["arm"]))
    colors = arm_colors(list(dict.fromkeys(table["arm"])))
    fig = Figure(figsize=(11, 1.6 + 2.9 * len(arms)), layout="constrained")
    axes = fig.subplots(len(arms), 1, sharex=True, sharey=True, squeeze=False)[:, 0]
    for ax, arm in zip(axes, arms, strict=True):
        t = sub[sub["arm"] == arm].sort_values("year")
        color = colors[arm]
        x = t["year"].to_numpy()
        ax.fill_between(x, t["p05"], t["p95"], color=color, alpha=0.18, linewidth=0, label="90% of replications")
        ax.fill_between(x, t["p25"], t["p75"], color=color, alpha=0.40, linewidth=0, label="50% of replications")
        ax.plot(x, t["p50"], color=color, linewidth=2.4, marker="o", markersize=4, label="median")
        ax.axhline(0, color="#444444", linestyle="--", linewidth=1)
        ax.axvline(years + 0.5, color="black", linewidth=1.2)
        ax.text(years + 0.55, 0.04, f"end of the run (year {years})", transform=ax.get_xaxis_transform(),
                fontsize=10, va="bottom", ha="left", color="black",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.set_title(t["label"].iloc[0], loc="left", fontsize=12.5, fontweight="bold")
        ax.set_ylabel("Cumulative net, DKK", fontsize=11)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=10.5)
        _millions(ax)
        _year_axis(ax, int(sub["year"].max()))
    axes[0].legend(loc="upper left", fontsize=10, ncol=3, frameon=True)
    axes[-1].set_xlabel("Programme year (money paid and received in that year; after the end of the run "
                        "savings and payments still arrive)", fontsize=11)
    axes[-1].set_xlim(0.6, float(sub["year"].max()) + 0.4)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=13, fontweight="bold")
    return fig


def break_even_chart(table: pd.DataFrame, *, title: str, subtitle: str, years: int):
    """P(break-even by year k) per arm (``break_even``): the municipality's budget (within the run)
    and the fund's payback, one panel each."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    parties = [p for p in ("municipality", "fund") if (table["party"] == p).any()]
    colors = arm_colors(list(dict.fromkeys(table["arm"])))
    fig = Figure(figsize=(11, 1.6 + 3.6 * len(parties)), layout="constrained")
    axes = fig.subplots(len(parties), 1, sharex=True, squeeze=False)[:, 0]
    heading = {"municipality": f"Municipality, budget view: break-even within the run's {n_years(years)}",
               "fund": "Fund: outcome payments have paid back its outlay (payments settled after the run included)"}
    for ax, party in zip(axes, parties, strict=True):
        sub = table[table["party"] == party]
        for arm in dict.fromkeys(sub["arm"]):
            t = sub[sub["arm"] == arm]
            by_year = t[t["year"].notna()]
            never = float(t.loc[t["year"].isna(), "share"].iloc[0])
            w = int(t["window_years"].iloc[0])
            ax.step(by_year["year"].astype(int), by_year["prob_by_year"], where="post", linewidth=2.2,
                    color=colors[arm], marker="o", markersize=4,
                    label=f"{t['label'].iloc[0]}  (not within {n_years(w)}: {pct(never)})")
        ax.axvline(years + 0.5, ymax=(1.05 + 0.03) / 1.58, color="black", linewidth=1.2)
        ax.text(years + 0.45, 0.5, f"end of the run (year {years})", fontsize=10, va="center", ha="right",
                rotation=90, bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
        ax.set_ylim(-0.03, 1.55)  # the legend sits above 100%
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        _year_axis(ax, int(table["window_years"].max()))
        ax.set_xlim(0.6, float(table["window_years"].max()) + 0.4)
        ax.set_ylabel("P(break-even by year)", fontsize=11)
        ax.set_title(heading[party], loc="left", fontsize=12, fontweight="bold")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=10, frameon=True)
        ax.tick_params(labelbottom=True)
    axes[-1].set_xlabel("Programme year", fontsize=11.5)
    fig.suptitle(f"{title}\n{subtitle}", fontsize=13.5, fontweight="bold")
    return fig


def save_budget_charts(budget_by_year: pd.DataFrame, break_even: pd.DataFrame, summary: dict[str, Any],
                       outdir: Path) -> list[Path]:
    """``chart_budget_municipal_by_year.png``, ``chart_budget_fund_by_year.png`` (arms with a fund
    contract) and ``chart_break_even.png``; returns the paths written."""
    where, years = summary["municipality_label"], summary["years"]
    sub = (f"{years} years, {summary['replications']} replications per arm"
           f"{', parameter uncertainty drawn per replication' if summary['psa'] else ''}\n"
           "line: median; bands: 50% and 90% of replications")
    written = [save_figure(
        fan_chart(budget_by_year, "municipality", years=years, subtitle=sub,
                  title=f"{where}: the municipality's budget, cumulative net by year\n"
                        "(savings - outcome payments - own costs)"),
        outdir / "chart_budget_municipal_by_year.png", dpi=130)]
    if (budget_by_year["party"] == "fund").any():
        written.append(save_figure(
            fan_chart(budget_by_year, "fund", years=years,
                      subtitle=sub + "; the lowest point is the fund's capital outlay",
                      title=f"{where}: the fund, cumulative net by year\n(outcome payments received - costs financed)"),
            outdir / "chart_budget_fund_by_year.png", dpi=130))
    written.append(save_figure(
        break_even_chart(break_even, years=years, title=f"When does it break even? {where}",
                         subtitle=f"{years} years, {summary['replications']} replications per arm"),
        outdir / "chart_break_even.png", dpi=130))
    return written
