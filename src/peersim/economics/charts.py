"""Charts for a steering-group meeting. They take a DataFrame and return a matplotlib Figure.

Figures are built without pyplot (no global state, no window): save them with :func:`peersim.io.save_figure`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from peersim.economics.cashflow import break_even_year, net_by_year

LABELS = {
    "en": {
        "title": "Cumulative costs, payments and savings",
        "x": "Programme year",
        "y": "DKK, cumulative (fixed prices)",
        "cost": "Programme costs (all payers)",
        "pays": "Municipality pays (outcome payments + own staff time)",
        "saves": "Municipal savings (SØM)",
        "even": "Municipality breaks even in year {year}",
        "never": "No municipal break-even within {years} years",
        "end": "end of the run (year {year})",
        "after": " (after the run)",
        "view": "budget view: money in the year it is paid or saved",
        "sep": ",",
    },
    "da": {
        "title": "Akkumulerede omkostninger, betalinger og besparelser",
        "x": "Programår",
        "y": "Kr., akkumuleret (faste priser)",
        "cost": "Programmets omkostninger (alle betalere)",
        "pays": "Kommunen betaler (resultatbetaling + egen tid)",
        "saves": "Kommunale besparelser (SØM)",
        "even": "Kommunen går i nul i år {year}",
        "never": "Kommunen går ikke i nul inden for {years} år",
        "end": "kørslens slutning (år {year})",
        "after": " (efter kørslen)",
        "view": "budgetsyn: pengene i det år, de betales eller spares",
        "sep": ".",
    },
}


def _cumulative(cashflow: pd.DataFrame, years: np.ndarray, mask: pd.Series) -> np.ndarray:
    by_year = cashflow[mask].groupby("year")["amount_dkk"].sum().reindex(years, fill_value=0.0)
    return np.concatenate([[0.0], np.abs(by_year.to_numpy()).cumsum()])


def cumulative_cashflow_chart(cashflow: pd.DataFrame, *, language: str = "en", title: str | None = None,
                              run_years: int | None = None) -> Figure:
    """Cumulative programme costs, municipal payments and savings by year, with the break-even year
    marked, and the end of the run when ``run_years`` is given (the years after it: savings and
    payments that still arrive)."""
    if language not in LABELS:
        raise ValueError(f"language={language!r} is not available; choose one of: {', '.join(LABELS)}")
    text = LABELS[language]
    years = np.sort(cashflow["year"].unique())
    x = np.concatenate([[0], years])
    party, flow = cashflow["party"], cashflow["flow"]
    costs = _cumulative(cashflow, years, (party == "programme") & (flow == "cost"))
    pays = _cumulative(cashflow, years, (party == "municipality") & (flow != "saving"))
    saves = _cumulative(cashflow, years, (party == "municipality") & (flow == "saving"))

    fig = Figure(figsize=(9, 6), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(x, costs, marker="o", color="#7f7f7f", label=text["cost"])
    ax.plot(x, pays, marker="o", color="#d62728", label=text["pays"])
    ax.plot(x, saves, marker="o", color="#2ca02c", label=text["saves"])
    even = break_even_year(net_by_year(cashflow, "municipality"))
    if even is not None:
        y = saves[int(np.searchsorted(x, even))]
        ax.axvline(even, color="#2ca02c", linestyle=":", linewidth=1.2)
        ax.plot([even], [y], marker="*", markersize=16, color="#2ca02c", zorder=5)
        after = text["after"] if run_years is not None and even > run_years else ""
        ax.annotate(text["even"].format(year=even) + after, (even, y), xytext=(-14, 10), textcoords="offset points",
                    ha="right", va="bottom", fontweight="bold", color="#2ca02c")
    else:
        ax.text(0.02, 0.97, text["never"].format(years=int(years.max()) if years.size else 0),
                transform=ax.transAxes, va="top", fontweight="bold", color="#d62728")
    if run_years is not None and run_years < x.max():
        ax.axvline(run_years, color="black", linewidth=1.1)
        ax.text(run_years + 0.08, 0.03, text["end"].format(year=run_years), transform=ax.get_xaxis_transform(),
                fontsize=9, va="bottom", ha="left", bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    sep = text["sep"]
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}".replace(",", sep)))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, x.max() + 0.2)
    ax.set_ylim(0, max(costs.max(), pays.max(), saves.max(), 1.0) * 1.12)
    ax.set_title(f"{title or text['title']}\n({text['view']})")
    ax.set_xlabel(text["x"])
    ax.set_ylabel(text["y"])
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    return fig
