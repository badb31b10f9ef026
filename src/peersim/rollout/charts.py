"""Charts of a roll-out plan: the roll-out over time, the fund's cash curve, a map of Denmark."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from peersim import municipalities as M  # noqa: E402

MILLION = 1e6


def _years(ax, years) -> None:
    ax.set_xticks(list(years))
    ax.set_xticklabels([str(y) for y in years], rotation=45 if len(years) > 8 else 0)


def over_time(rows: pd.DataFrame, fund: pd.DataFrame, title: str) -> Figure:
    """Municipalities active, citizens started and volunteers active, by calendar year."""
    years = fund["year"].tolist()
    by = rows.groupby("year").sum(numeric_only=True).reindex(years, fill_value=0)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), constrained_layout=True)
    panels = ((fund["municipalities_active"].to_numpy(), "Municipalities running the programme", "#1b6ca8"),
              (by["citizens_started"].to_numpy(), "Citizens starting a course per year", "#edae49"),
              (by["volunteers_active"].to_numpy(), "Volunteers on duty at year end", "#66a182"))
    for ax, (values, label, color) in zip(axes, panels, strict=True):
        ax.bar(years, values, color=color)
        ax.set_title(label)
        ax.set_ylabel("count")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _years(ax, years)
    fig.suptitle(f"Roll-out over time: {title}")
    return fig


def fund_cash(fund: pd.DataFrame, summary: dict[str, Any], title: str) -> Figure:
    """The fund's net per year (bars) and its cumulative cash position (line), in million DKK."""
    years = fund["year"].to_numpy()
    fig, ax = plt.subplots(figsize=(9, 5), constrained_layout=True)
    net = fund["fund_net_dkk"].to_numpy() / MILLION
    ax.bar(years, net, color=np.where(net < 0, "#d1495b", "#1b6ca8"), alpha=0.6, label="net in the year")
    cum = fund["fund_cumulative_dkk"].to_numpy() / MILLION
    ax.plot(years, cum, color="black", marker="o", label="cumulative cash position")
    ax.axhline(0, color="grey", lw=0.8)
    peak, when = summary["rollout_peak_capital_need_dkk"], summary["rollout_peak_capital_year"]
    if peak > 0 and when is not None:
        ax.annotate(f"peak capital need {peak / MILLION:.1f} M DKK ({when})", xy=(when, -peak / MILLION),
                    xytext=(0, -28), textcoords="offset points", ha="center", fontsize=9)
    back = summary["rollout_capital_recovered_year"]
    ax.set_title(f"The fund's cash: {title}; capital {'recovered in ' + str(back) if back else 'not recovered by ' + str(int(years[-1]))}\n"
                 "(in: outcome payments; out: the costs it finances and its programme office)", fontsize=11)
    ax.set_ylabel("million DKK (fixed prices)")
    ax.set_xlabel("year")
    _years(ax, years)
    ax.margins(y=0.2)
    ax.legend(loc="upper left", frameon=False)
    return fig


def denmark_map(rows: pd.DataFrame, summary: dict[str, Any], title: str) -> Figure:
    """Each municipality at its centroid: circle area = citizens started, colour = its cumulative
    budget net at the plan's end (red a loss, blue a gain); grey dots are not in the plan."""
    end = rows[rows["year"] == rows["year"].max()].set_index("municipality")
    started = rows.groupby("municipality")["citizens_started"].sum()
    allm = M.all_municipalities()
    fig, ax = plt.subplots(figsize=(9, 6.5), constrained_layout=True)
    out = [m for m in allm if m.cli_name not in end.index]
    ax.scatter([m.longitude for m in out], [m.latitude for m in out], s=8, color="#bbbbbb", zorder=1)
    inn = [m for m in allm if m.cli_name in end.index]
    if inn:
        net = np.array([end.loc[m.cli_name, "cumulative_budget_net_dkk"] for m in inn]) / MILLION
        size = np.array([started.get(m.cli_name, 0.0) for m in inn])
        lim = max(float(np.abs(net).max()), 0.01)
        sc = ax.scatter([m.longitude for m in inn], [m.latitude for m in inn], s=20 + 400 * size / max(size.max(), 1),
                        c=net, cmap="RdBu", norm=TwoSlopeNorm(0.0, -lim, lim), edgecolor="black", lw=0.5, zorder=2)
        cbar = fig.colorbar(sc, ax=ax, shrink=0.6)
        cbar.set_label("municipal budget net at the plan's end, million DKK (red: loss, blue: gain)")
        placed: list[tuple[float, float]] = []  # label anchors so far: a close one moves the next down
        for i in np.argsort(-size)[:12]:
            m = inn[i]
            y = m.latitude
            while any(abs(m.longitude - px) < 0.6 and abs(y - py) < 0.07 for px, py in placed):
                y -= 0.07
            placed.append((m.longitude, y))
            ax.annotate(f"{m.name} ({size[i]:.0f})", (m.longitude, m.latitude), xytext=(m.longitude + 0.12, y + 0.02),
                        textcoords="data", fontsize=8,
                        arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "grey"} if y != m.latitude else None)
    ax.set_aspect(1 / np.cos(np.radians(56.0)))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(f"Where the plan reaches citizens: {title}, {summary['rollout_start_year']}-"
                 f"{summary['rollout_end_year']}\ncircle size = citizens started (largest labelled: name, count); "
                 "colour = budget net; grey = not in the plan", fontsize=10)
    return fig


def rollout_charts(rows: pd.DataFrame, fund: pd.DataFrame, summary: dict[str, Any]) -> dict[str, Figure]:
    title = f"rollout={summary['rollout_plan']}"
    return {"chart_rollout_over_time.png": over_time(rows, fund, title),
            "chart_rollout_fund_cash.png": fund_cash(fund, summary, title),
            "chart_rollout_map.png": denmark_map(rows, summary, title)}
