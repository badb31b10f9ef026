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

from peersim.experiments.sensitivity.analysis import IMPRECISE, IMPRECISE_MORRIS, verdicts  # noqa: E402

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
CLIPPED = "#d1495b"   # the marker of a whisker cut at the axis
CLIP_NOTE = "red triangle at the edge: interval runs beyond the axis (clipped)"


def clipped_whiskers(ax: Any, y: np.ndarray, values: np.ndarray, conf: np.ndarray, lo: float, hi: float,
                     color: str = "#333333", capsize: float = 2.5, horizontal: bool = True) -> np.ndarray:
    """Whiskers ``values ± conf`` drawn only within [lo, hi]; a whisker cut at the axis ends in a red
    triangle pointing off the chart. Returns which rows were cut (either end)."""
    v, c = np.asarray(values, dtype=float), np.abs(np.nan_to_num(np.asarray(conf, dtype=float)))
    ok = np.isfinite(v)
    at = np.clip(np.where(ok, v, lo), lo, hi)     # an estimate off the axis is drawn from the edge
    low, high = np.clip(v - c, lo, hi), np.clip(v + c, lo, hi)
    err = np.vstack([np.where(ok, at - low, 0.0), np.where(ok, high - at, 0.0)])
    kw = {"fmt": "none", "ecolor": color, "capsize": capsize, "elinewidth": 0.9}
    if horizontal:
        ax.errorbar(at, y, xerr=err, **kw)
    else:
        ax.errorbar(y, at, yerr=err, **kw)
    cut_hi, cut_lo = ok & (v + c > hi), ok & (v - c < lo)
    yy = np.asarray(y, dtype=float)
    for cut, at, marker in ((cut_hi, hi, ">"), (cut_lo, lo, "<")):
        if cut.any():
            ax.plot(np.full(cut.sum(), at), yy[cut], ls="none", marker=marker, ms=7, color=CLIPPED,
                    clip_on=False, zorder=5)
    return cut_hi | cut_lo


def _title(fig: Figure, title: str, subtitle: str, note: str = "") -> None:
    """Title and subtitle at fixed distances (in inches) from the top, whatever the figure's height;
    ``note`` (what the red marks mean) in red at the bottom left."""
    h = fig.get_figheight()
    fig.suptitle(title, fontsize=13, fontweight="bold", x=0.01, y=1 - 0.12 / h, ha="left", va="top")
    fig.text(0.01, 1 - 0.45 / h, subtitle, fontsize=9, color="#555555", ha="left", va="top")
    if note:
        fig.text(0.01, 0.08 / h, note, fontsize=8.5, color=CLIPPED, ha="left", va="bottom")


def _layout(fig: Figure) -> None:
    h = fig.get_figheight()
    fig.tight_layout(rect=(0, 0.3 / h, 1, 1 - HEADER_INCHES / h))


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
    lo, hi = -0.15, 1.05
    ax.barh(y + h / 2, shown["ST"].clip(lo, hi), h, color=TOTAL, label="total order ST (alone and in interactions)")
    ax.barh(y - h / 2, shown["S1"].clip(lo, hi), h, color=FIRST, label="first order S1 (alone)")
    cut = (clipped_whiskers(ax, y + h / 2, shown["ST"], shown["ST_conf"], lo, hi)
           | clipped_whiskers(ax, y - h / 2, shown["S1"], shown["S1_conf"], lo, hi))
    precise = verdicts(shown, "sobol")[1].to_numpy()
    names = [p if ok else f"{p} (imprecise)" for p, ok in zip(shown["parameter"], precise, strict=True)]
    ax.set_yticks(y, labels=names, fontsize=8.5)
    for label, ok in zip(ax.get_yticklabels(), precise, strict=True):
        if not ok:
            label.set_color(CLIPPED)
    ax.set_ylim(-0.7, n - 0.3)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xlim(lo, hi)
    level = f"{s.get('conf_level', 0.95):.0%}"
    ax.set_xlabel(f"Sobol' index: share of the variance of {output} (0-1); whiskers: {level} bootstrap CI")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8.5, frameon=True, framealpha=0.9)
    design = (f"N={s.get('base_samples')}, {s.get('runs')} runs, {s.get('replications_per_point')} seed(s) per point"
              if s else "")
    more = f"{hidden} parameters with smaller ST not shown" if hidden else ""
    notes = [] if precise.all() else [f"(imprecise): CI half-width above {IMPRECISE:g}, raise experiment.base_samples"]
    notes += [CLIP_NOTE] if cut.any() else []
    _title(fig, f"What drives {output} ({output_unit(output)})?",
           " | ".join(x for x in (context, design, more) if x), "; ".join(notes))
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
    top_mu = float(np.nanmax(np.r_[everything["mu_star"].to_numpy(dtype=float), 0.0]))
    ax_hi = 1.3 * top_mu if top_mu > 0 else 1.0   # the axis: the bars, not a runaway whisker, set the scale
    ax.barh(y, t["mu_star"], 0.6, color=TOTAL)
    cut = clipped_whiskers(ax, y, t["mu_star"], t["mu_star_conf"], 0.0, ax_hi, capsize=3)
    ax.set_xlim(0, ax_hi)
    precise = verdicts(everything, "morris")[1].loc[t.index].to_numpy()
    ax.set_yticks(y, labels=[p if ok else f"{p} (imprecise)" for p, ok in zip(t["parameter"], precise, strict=True)],
                  fontsize=9)
    for label, ok in zip(ax.get_yticklabels(), precise, strict=True):
        if not ok:
            label.set_color(CLIPPED)
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
    hi = float(np.nanmax(np.r_[e["mu_star"].to_numpy(), e["sigma"].to_numpy(), 1e-12])) * 1.15
    bx.plot(e["mu_star"], e["sigma"], "o", color=TOTAL, ms=5)
    cut = cut | clipped_whiskers(bx, e["sigma"].to_numpy(dtype=float), e["mu_star"], e["mu_star_conf"], 0.0, hi,
                                 color="#999999", capsize=2).any()
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
    notes = ([f"(imprecise): CI half-width above {IMPRECISE_MORRIS:.0%} of the largest mu*, "
              "raise experiment.trajectories"]
             if not verdicts(everything, "morris")[1].all() else [])
    notes += [CLIP_NOTE] if np.any(cut) else []
    _title(fig, f"Morris screening of {output} ({unit})", " | ".join(x for x in (context, design) if x),
           "; ".join(notes))
    _layout(fig)
    return fig
