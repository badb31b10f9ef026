"""Charts of a sensitivity analysis: a tornado of Sobol' indices, and Morris' mu* against sigma.

Imported only when charts are written (matplotlib stays out of schema registration).
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

TOTAL, FIRST = "#1b6ca8", "#9cc3e4"


def output_unit(key: str) -> str:
    """The unit of a summary key, from peersim's naming (units in the key names)."""
    if key.endswith("_dkk"):
        return "DKK"
    if key.endswith("_weeks"):
        return "weeks"
    if key.endswith(("_share", "_rate")) or key == "fidelity_mean":
        return "share, 0-1"
    if key.startswith("qpr_"):
        return "QPR-15 points"
    if key.startswith("coordinator_hours"):
        return "hours"
    if key.startswith("courses_"):
        return "courses"
    if key in ("volunteer_burnouts", "volunteer_returns"):
        return "events"
    if key.startswith(("citizens_", "volunteers_", "n_citizens", "n_successes")) or key == "successes":
        return "persons"
    if key.endswith("_year") or key.endswith("_years"):
        return "years"
    return "output units"


HEADER_INCHES = 0.62  # room for the title and the subtitle above the axes


def _title(fig: Figure, title: str, subtitle: str) -> None:
    """Title and subtitle at fixed distances (in inches) from the top, whatever the figure's height."""
    h = fig.get_figheight()
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, y=1 - 0.12 / h, ha="left", va="top")
    fig.text(0.01, 1 - 0.45 / h, subtitle, fontsize=9, color="#555555", ha="left", va="top")


def _layout(fig: Figure) -> None:
    fig.tight_layout(rect=(0, 0, 1, 1 - HEADER_INCHES / fig.get_figheight()))


def sobol_tornado(table: pd.DataFrame, output: str, context: str = "", settings: dict[str, Any] | None = None,
                  top: int = 20) -> Figure:
    """Horizontal bars per parameter, sorted by the total-order index (largest on top): total
    index ST and first-order index S1, whiskers the bootstrap confidence intervals. At most
    ``top`` parameters; the axis is held to the indices' range [0, 1] (with a margin for
    estimates below zero), so a very wide interval runs off the edge instead of hiding the bars."""
    s = settings or {}
    ranked = table.sort_values("ST", ascending=False, na_position="last")
    shown = ranked.head(top).iloc[::-1]
    hidden = len(ranked) - len(shown)
    n = len(shown)
    fig, ax = plt.subplots(figsize=(10, HEADER_INCHES + 1.3 + 0.34 * n))
    y = np.arange(n)
    h = 0.4
    err = {"ecolor": "#333333", "capsize": 2.5, "elinewidth": 0.9}
    ax.barh(y + h / 2, shown["ST"], h, xerr=shown["ST_conf"], color=TOTAL, error_kw=err,
            label="total order ST (alone and in interactions)")
    ax.barh(y - h / 2, shown["S1"], h, xerr=shown["S1_conf"], color=FIRST, error_kw=err,
            label="first order S1 (alone)")
    ax.set_yticks(y, labels=shown["parameter"], fontsize=8.5)
    ax.set_ylim(-0.7, n - 0.3)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlim(-0.15, 1.05)
    level = f"{s.get('conf_level', 0.95):.0%}"
    ax.set_xlabel(f"Sobol' index: share of the variance of {output} (0-1); whiskers: {level} bootstrap CI")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5, frameon=True, framealpha=0.9)
    design = (f"N={s.get('base_samples')}, {s.get('runs')} runs, {s.get('replications_per_point')} seed(s) per point"
              if s else "")
    more = f"{hidden} parameters with smaller ST not shown" if hidden else ""
    _title(fig, f"What drives {output} ({output_unit(output)})?",
           " | ".join(x for x in (context, design, more) if x))
    _layout(fig)
    return fig


def morris_chart(table: pd.DataFrame, output: str, context: str = "", settings: dict[str, Any] | None = None,
                 top: int = 25, noise_floor: float = float("nan")) -> Figure:
    """Left: mu* of the ``top`` parameters (bars, largest on top, CI whiskers). Right: mu* against
    sigma for all, with the sigma/mu* lines that separate linear, monotonic and non-linear or
    interacting effects (Garcia Sanchez et al. 2014, doi 10.1016/j.enbuild.2014.02.044)."""
    s = settings or {}
    unit = output_unit(output)
    everything = table.sort_values("mu_star", ascending=True, na_position="first")
    t = everything.tail(top)
    n = len(t)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(14, HEADER_INCHES + 1.6 + 0.3 * max(n, 10)),
                                 gridspec_kw={"width_ratios": [1, 1.1]})
    y = np.arange(n)
    ax.barh(y, t["mu_star"], 0.6, xerr=t["mu_star_conf"], color=TOTAL,
            error_kw={"ecolor": "#333333", "capsize": 3, "elinewidth": 1})
    ax.set_yticks(y, labels=t["parameter"], fontsize=9)
    if np.isfinite(noise_floor):
        for a in (ax, bx):
            a.axvline(noise_floor, color="#d1495b", ls=":", lw=1.2)
        ax.text(noise_floor, n - 0.4, " seed-noise floor", color="#d1495b", fontsize=8, va="bottom")
    ax.set_xlabel(f"mu*: mean |elementary effect| ({unit} over the full range)")
    ax.grid(axis="x", alpha=0.3)
    hidden = len(everything) - n
    ax.set_title("Ranking by mu* (whiskers: bootstrap CI)"
                 + (f"; {hidden} smaller not shown" if hidden else ""), fontsize=10, loc="left")

    e = everything
    bx.errorbar(e["mu_star"], e["sigma"], xerr=e["mu_star_conf"], fmt="o", color=TOTAL, ecolor="#999999",
                capsize=2, ms=5)
    hi = float(np.nanmax(np.r_[e["mu_star"].to_numpy(), e["sigma"].to_numpy(), 1e-12])) * 1.15
    xs = np.array([0.0, hi])
    for ratio, style in ((1.0, "-"), (0.5, "--"), (0.1, ":")):
        bx.plot(xs, ratio * xs, color="#888888", lw=0.9, ls=style, label=f"sigma/mu* = {ratio:g}")
    ranked = e.sort_values("mu_star", ascending=False)
    for i, (_, r) in enumerate(ranked.iterrows()):
        if i < 8 and np.isfinite(r["mu_star"]):
            right = r["mu_star"] > 0.6 * hi  # near the right edge: write the name to the left
            bx.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7.5, rotation=15,
                        xytext=(-6 if right else 6, 4 + 11 * (i % 3)), textcoords="offset points",
                        ha="right" if right else "left",
                        arrowprops={"arrowstyle": "-", "color": "#bbbbbb", "lw": 0.6})
    bx.set_xlim(0, hi)
    bx.set_ylim(0, hi)
    if hi > 1000:  # plain numbers with thousands separators, not matplotlib's "1e6" offset
        from matplotlib.ticker import StrMethodFormatter

        for axis in (ax.xaxis, bx.xaxis, bx.yaxis):
            axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        for a in (ax, bx):
            a.tick_params(axis="x", labelrotation=20)
    bx.set_xlabel(f"mu* ({unit})")
    bx.set_ylabel(f"sigma: sd of the elementary effects ({unit})")
    bx.grid(alpha=0.3)
    bx.legend(loc="upper left", fontsize=8, frameon=False)
    bx.set_title("Above the lines: non-linear or interacting; below 0.1: linear", fontsize=10, loc="left")
    design = (f"r={s.get('trajectories')} trajectories, {s.get('levels')} levels, {s.get('runs')} runs, "
              f"{s.get('replications_per_point')} seed(s) per point" if s else "")
    _title(fig, f"Morris screening of {output} ({unit})", " | ".join(x for x in (context, design) if x))
    _layout(fig)
    return fig
