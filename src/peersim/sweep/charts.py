"""The charts of a sweep (``sweep_chart_*.png``), drawn from its table alone.

One chart per swept key (seed aside): each metric's mean over seeds against the key's values,
with the 10-90% range over seeds. matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from peersim.io import save_figure

if TYPE_CHECKING:
    import pandas as pd

CHART_PREFIX = "sweep_chart_"
# What the sweep's charts show, when the jobs' summaries have them: (key, label with unit)
CHART_METRICS = (("citizens_started", "Citizens started (persons)"),
                 ("net_municipal_dkk", "Municipal net result (DKK)"))
# Top-level keys a sweep sets, told apart from summary figures in a table read back from CSV
TOP_LEVEL_OVERRIDES = ("seed", "scenario", "municipality", "years", "experiment", "shared_with")


def swept_keys(df: pd.DataFrame) -> list[str]:
    """Override columns that take more than one value among the finished jobs, seed last.

    :func:`~peersim.sweep.table.gather` names the override columns in ``df.attrs["overrides"]`` (kept in the
    Parquet file); for a table read from CSV they are told apart from summary figures by their
    names: dotted keys and the top-level keys users set.
    """
    ok = df[df["status"] == "ok"]
    names = df.attrs.get("overrides")
    if names is None:
        names = [c for c in df.columns if "." in c or c in TOP_LEVEL_OVERRIDES]
    keys = [c for c in names if c in ok.columns and ok[c].nunique(dropna=True) > 1]
    return sorted(keys, key=lambda k: k == "seed")


def write_charts(sweep_dir: Path, df: pd.DataFrame) -> list[Path]:
    """One chart per swept key (seed aside): each metric's mean over seeds against the key's
    values, with the 10-90% range over seeds; a line per combination of the other swept keys.
    A sweep over seeds alone gets the distribution of each metric instead."""
    metrics = [(k, label) for k, label in CHART_METRICS
               if k in df.columns and df.loc[df["status"] == "ok", k].notna().any()]
    ok = df[df["status"] == "ok"]
    keys = swept_keys(df)
    if not metrics or len(ok) < 2 or not keys:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for old in sweep_dir.glob(f"{CHART_PREFIX}*.png"):
        old.unlink()
    paths = []
    axes_keys = [k for k in keys if k != "seed"]
    n_seeds = ok["seed"].nunique() if "seed" in ok.columns else 1
    if not axes_keys:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2), squeeze=False)
        for ax, (metric, label) in zip(axes[0], metrics, strict=True):
            values = ok[metric].dropna().astype(float)
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#1b6ca8", alpha=0.8)
            ax.axvline(values.mean(), color="#d1495b", lw=2, label=f"mean {values.mean():,.0f}")
            ax.set_xlabel(label)
            ax.set_ylabel("Jobs (seeds)")
            ax.xaxis.set_major_formatter(_THOUSANDS())
            ax.legend(frameon=False, fontsize=9)
            ax.grid(alpha=0.3)
        fig.suptitle(f"Distribution over {len(ok)} seeds", fontsize=13, fontweight="bold", x=0.01, ha="left")
        fig.tight_layout()
        paths.append(save_figure(fig, sweep_dir / f"{CHART_PREFIX}seeds.png"))
        return paths
    for key in axes_keys:
        others = [k for k in axes_keys if k != key]
        groups = list(ok.groupby(others, dropna=False)) if others else [((), ok)]
        if len(groups) > 8:  # too many lines to read: pool the other keys into one band
            groups, pooled = [((), ok)], True
        else:
            pooled = False
        values = sorted(ok[key].dropna().unique(), key=_sort_key)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.4), squeeze=False)
        for ax, (metric, label) in zip(axes[0], metrics, strict=True):
            for i, (combo, part) in enumerate(groups):
                stats = part.groupby(key)[metric].agg(
                    mean="mean", lo=lambda s: s.quantile(0.1), hi=lambda s: s.quantile(0.9))
                stats = stats.reindex([v for v in values if v in stats.index])
                x = list(stats.index) if numeric else [values.index(v) for v in stats.index]
                combo = combo if isinstance(combo, tuple) else (combo,)
                name = ", ".join(f"{k}={v}" for k, v in zip(others, combo, strict=False)) or "mean"
                if pooled:
                    name = f"mean over {', '.join(others)}"
                offset = (i - (len(groups) - 1) / 2) * 0.06 if not numeric else 0
                xs = [xi + offset for xi in x]
                line = ax.plot(xs, stats["mean"], marker="o", lw=1.8 if numeric else 0, ms=7, label=name)[0]
                if numeric:
                    ax.fill_between(xs, stats["lo"], stats["hi"], color=line.get_color(), alpha=0.15, lw=0)
                else:
                    ax.errorbar(xs, stats["mean"], yerr=[stats["mean"] - stats["lo"], stats["hi"] - stats["mean"]],
                                fmt="none", ecolor=line.get_color(), alpha=0.6, capsize=4)
            if not numeric:
                ax.set_xticks(range(len(values)))
                ax.set_xticklabels([str(v) for v in values], rotation=20 if len(values) > 4 else 0)
            ax.set_xlabel(key)
            _y_axis(ax, label)
            ax.legend(frameon=False, fontsize=8)
        what = " and ".join(label.split(" (")[0].lower() for _, label in metrics)
        spread = (f"mean over {n_seeds} seeds; {'band' if numeric else 'bars'}: 10-90% of seeds"
                  if n_seeds > 1 else "one seed each: no spread")
        fig.suptitle(f"{what.capitalize()} by {key}", fontsize=13, fontweight="bold", x=0.01, ha="left")
        fig.text(0.01, 0.9, spread, fontsize=9, color="#555555", ha="left")
        fig.tight_layout(rect=(0, 0, 1, 0.92))
        safe = key.replace("/", "_").replace(".", "_")
        paths.append(save_figure(fig, sweep_dir / f"{CHART_PREFIX}{safe}.png"))
    return paths


def _THOUSANDS():  # noqa: N802 - a formatter factory, used like a constant
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _y_axis(ax, label: str) -> None:
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(_THOUSANDS())
    lo, hi = ax.get_ylim()
    if lo < 0 < hi:
        ax.axhline(0, color="#555555", lw=0.8)
    ax.grid(alpha=0.3)


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))

