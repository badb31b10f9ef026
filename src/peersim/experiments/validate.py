"""Validation report: every target against the simulated value, with its interval, pass or fail.

    peersim experiment=validate                                  # the current defaults, 40 replications
    peersim experiment=validate experiment.replications=100 seed=100
    peersim --config-dir <calibration run folder> experiment=validate +calibrated=fit

Every target of ``conf/experiment/_targets.yaml`` (or those in ``experiment.select``) is measured
under its own overrides on top of the configuration given on the command line, over
``experiment.replications`` seeds (``seed``, ``seed + 1``, ...; the same seeds in every run set,
so differences between scenarios are paired). Rules (pass, interval, residual): see
:mod:`peersim.experiments.targets`.

Why 40 replications by default: the Monte Carlo standard error of a mean is the run-to-run SD
divided by sqrt(40), about a sixth of it, which separates pass from fail for every target that
is not right at the edge of its interval, and the whole report takes well under a minute on two
cores. Raise ``experiment.replications`` for a target near an edge (the report gives each
target's Monte Carlo standard error).

Writes ``validation.md`` (the table, failing targets first in the summary, one chart per target
group), ``validation.csv``/``.parquet`` (one row per target), ``validation_replications.csv``/
``.parquet`` (one value per target and replication) and ``validation_<group>.png``. The exit code
is 0 even when targets fail: a failing target is a finding, not an error.
"""

from __future__ import annotations

import math
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from peersim.experiments.base import Experiment
from peersim.experiments.targets import (
    TargetSpec,
    TargetStats,
    check_specs,
    describe_configuration,
    plan_run_sets,
    probe_statistics,
    replicate,
    seeds_for,
    target_stats,
)
from peersim.io import begin_result, save_figure, write_tables, write_text
from peersim.params import PeersimConfig
from peersim.validation import ConfigError


@dataclass
class ValidateConfig:
    """``experiment=validate`` (conf/experiment/validate.yaml)."""

    targets: dict[str, TargetSpec] = field(default_factory=dict)  # the target definitions (_targets.yaml)
    select: list[str] = field(default_factory=list)               # target names to report; empty: all
    replications: int = 40
    n_jobs: int = 0                                               # worker processes; 0: every core
    progress: bool = True

    def seeds_used(self) -> tuple[int, str]:
        """Replication ``r`` runs with ``seed + r`` (checked by :func:`peersim.params.validate`)."""
        return self.replications, f"experiment.replications={self.replications}"


RESULT_PASS, RESULT_FAIL, RESULT_NA = "pass", "FAIL", "not available"


def _decimals(lo: float, hi: float) -> int:
    """Decimals that show a target's acceptance interval with about three significant digits."""
    width = abs(hi - lo)
    if not math.isfinite(width) or width == 0:
        return 3
    return int(min(4, max(0, 2 - math.floor(math.log10(width)))))


def _fmt(x: float | None, decimals: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:,.{decimals}f}"


def _se(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.2g}"


def validation_table(specs: dict[str, TargetSpec], names: list[str],
                     stats: dict[str, TargetStats | str]) -> pd.DataFrame:
    """One row per target: definition, simulated mean and interval, result (``stats[name]`` is
    the measured target, or the reason it is not available)."""
    rows = []
    for name in names:
        s = specs[name]
        st = stats[name]
        base = {
            "target": name, "group": s.group, "description": s.description,
            "overrides": " ".join(s.overrides), "statistic": s.statistic, "divide_by": s.divide_by,
            "unit": s.unit, "target_value": s.value, "acceptance_lo": s.lo, "acceptance_hi": s.hi,
            "residual_sd": s.scale(), "source": s.source,
        }
        if isinstance(st, str):
            base.update(sim_mean=math.nan, sim_lo90=math.nan, sim_hi90=math.nan, mc_se=math.nan,
                        z=math.nan, n_replications=0, result=RESULT_NA, reason=st)
        elif not st.available:
            base.update(sim_mean=math.nan, sim_lo90=math.nan, sim_hi90=math.nan, mc_se=math.nan,
                        z=math.nan, n_replications=0, result=RESULT_NA,
                        reason=f"no replication produced '{s.statistic}' (e.g. no citizen started)")
        else:
            base.update(sim_mean=st.mean, sim_lo90=st.lo90, sim_hi90=st.hi90, mc_se=st.se, z=st.z,
                        n_replications=st.n, result=RESULT_PASS if st.passed else RESULT_FAIL, reason="")
        rows.append(base)
    return pd.DataFrame(rows)


def plot_groups(table: pd.DataFrame, stats: dict[str, TargetStats | str], outdir: Path) -> list[Path]:
    """One PNG per target group: for each target its acceptance band, the target value, every
    replication (dots), and the simulated mean with its 90% interval (green pass, red fail)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    paths = []
    for group, part in table.groupby("group", sort=False):
        n = len(part)
        fig, axes = plt.subplots(n, 1, figsize=(10, 1.3 + 1.35 * n), squeeze=False)
        n_pass = int((part["result"] == RESULT_PASS).sum())
        n_avail = int((part["result"] != RESULT_NA).sum())
        fig.suptitle(f"Validation, {group}: {n_pass} of {n_avail} targets pass"
                     + (f" ({n - n_avail} not available)" if n_avail < n else ""), fontsize=12)
        for ax, (_, r) in zip(axes[:, 0], part.iterrows(), strict=True):
            st = stats[r["target"]]
            ax.axvspan(r["acceptance_lo"], r["acceptance_hi"], color="#cfe8cf")
            ax.axvline(r["target_value"], color="#2b6e2b", lw=1.5, ls="--")
            ax.set_yticks([])
            title = f"{r['target']}: {r['description']}"
            ax.set_title(title if len(title) < 130 else title[:127] + "...", fontsize=8.5, loc="left")
            ax.set_xlabel(r["unit"] or r["statistic"], fontsize=8.5)
            ax.tick_params(labelsize=8)
            if r["result"] == RESULT_NA:
                ax.text(0.5, 0.5, textwrap.fill(f"not available: {r['reason']}", 120), transform=ax.transAxes,
                        ha="center", va="center", fontsize=8, color="#7a5a00")
                ax.set_ylim(-1, 1)
                continue
            values = st.values[np.isfinite(st.values)]
            jitter = np.random.default_rng(0).uniform(-0.25, 0.25, values.size)
            ax.scatter(values, jitter, s=9, color="#888888", alpha=0.6, zorder=2)
            colour = "#1a7f1a" if r["result"] == RESULT_PASS else "#c0392b"
            ax.errorbar([r["sim_mean"]], [0.0], xerr=[[r["sim_mean"] - r["sim_lo90"]], [r["sim_hi90"] - r["sim_mean"]]],
                        fmt="D", color=colour, ms=7, capsize=5, lw=2, zorder=3)
            ax.text(1.005, 0.5, "pass" if r["result"] == RESULT_PASS else "FAIL", transform=ax.transAxes,
                    color=colour, fontsize=10, fontweight="bold", va="center")
            ax.set_ylim(-0.6, 0.6)
            lo = min(r["acceptance_lo"], r["sim_lo90"], float(values.min()))
            hi = max(r["acceptance_hi"], r["sim_hi90"], float(values.max()))
            pad = 0.08 * (hi - lo or 1.0)
            ax.set_xlim(lo - pad, hi + pad)
        handles = [Patch(color="#cfe8cf", label="acceptance interval"),
                   Line2D([], [], color="#2b6e2b", ls="--", label="target value"),
                   Line2D([], [], color="#888888", marker="o", ls="", ms=4, label="one replication"),
                   Line2D([], [], color="#1a7f1a", marker="D", label="simulated mean and 90% interval (pass)"),
                   Line2D([], [], color="#c0392b", marker="D", label="(fail)")]
        fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7.5, frameon=False)
        fig.tight_layout(rect=(0, 0.045 if n > 2 else 0.08, 0.97, 1))
        path = outdir / f"validation_{group}.png"
        paths.append(save_figure(fig, path))
    return paths


def _markdown(table: pd.DataFrame, charts: list[Path], *, overrides: list[str], replications: int,
              seeds: list[int], seconds: float) -> str:
    n_pass = int((table["result"] == RESULT_PASS).sum())
    n_fail = int((table["result"] == RESULT_FAIL).sum())
    n_na = int((table["result"] == RESULT_NA).sum())
    lines = [
        "# peersim validation",
        "",
        f"Configuration: {describe_configuration(overrides)}; "
        f"each target under its own overrides on top. {replications} replications per run set, seeds "
        f"{seeds[0]}-{seeds[-1]} in every run set (common random numbers); {seconds:.0f} s.",
        "",
        f"**{n_pass} of {n_pass + n_fail} targets pass**"
        + (f", **{n_fail} fail**" if n_fail else "")
        + (f", {n_na} not available" if n_na else "") + ".",
        "",
    ]
    if n_fail:
        lines.append("Failing targets:")
        lines.append("")
        for _, r in table[table["result"] == RESULT_FAIL].iterrows():
            d = _decimals(r["acceptance_lo"], r["acceptance_hi"])
            side = "above" if r["sim_mean"] > r["acceptance_hi"] else "below"
            lines.append(f"- **{r['target']}**: simulated {_fmt(r['sim_mean'], d)} {r['unit']}, {side} the acceptance "
                         f"interval [{_fmt(r['acceptance_lo'], d)}, {_fmt(r['acceptance_hi'], d)}] (target "
                         f"{_fmt(r['target_value'], d)}, z = {r['z']:+.1f})")
        lines.append("")
    if n_na:
        lines.append("Not available:")
        lines.append("")
        for _, r in table[table["result"] == RESULT_NA].iterrows():
            lines.append(f"- **{r['target']}**: {r['reason']}")
        lines.append("")
    lines += [
        "| target | group | measured under | target (acceptance) | simulated mean | 90% interval | MC s.e. | z | result | source |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        d = _decimals(r["acceptance_lo"], r["acceptance_hi"])
        result = {RESULT_PASS: "pass", RESULT_FAIL: "**FAIL**", RESULT_NA: "not available"}[r["result"]]
        interval = "-" if r["result"] == RESULT_NA else f"{_fmt(r['sim_lo90'], d)} - {_fmt(r['sim_hi90'], d)}"
        z = "-" if not math.isfinite(r["z"]) else f"{r['z']:+.2f}"
        lines.append(
            f"| {r['target']} | {r['group']} | `{r['overrides']}` | {_fmt(r['target_value'], d)} "
            f"({_fmt(r['acceptance_lo'], d)} - {_fmt(r['acceptance_hi'], d)}) {r['unit']} | {_fmt(r['sim_mean'], d)} | "
            f"{interval} | {_se(r['mc_se'])} | {z} | {result} | {r['source']} |")
    lines += [
        "",
        "How to read it: a target **passes** when the mean over replications lies inside its acceptance interval. "
        "The 90% interval is the 5th-95th percentile of the replications (run-to-run spread of one simulated "
        "municipality or trial), the MC s.e. the Monte Carlo standard error of the mean, and "
        "z = (mean - target) / sd the standardised residual with sd = (hi - lo) / 3.92 (the acceptance interval "
        "read as a 95% interval) unless the target sets sd. Volunteer loss is the share of trained volunteers lost "
        "within a year: leavers per volunteer-year on the books, as 1 - exp(-rate). Definitions: "
        "conf/experiment/_targets.yaml; rules: src/peersim/experiments/targets.py.",
        "",
    ]
    for path in charts:
        lines += [f"![{path.stem}]({path.name})", ""]
    return "\n".join(lines)


def run_validate(params: PeersimConfig, overrides: list[str], outdir: Path) -> pd.DataFrame:
    """The ``validate`` experiment: measure, tabulate, chart, write; returns the table."""
    cfg: ValidateConfig = params.experiment
    if cfg.replications < 2:
        raise ConfigError(f"experiment.replications must be >= 2 (an interval needs replications), got {cfg.replications}")
    names = check_specs(cfg.targets, cfg.select)
    sets = plan_run_sets(cfg.targets, names, overrides, strict=False)
    probe_statistics(sets, cfg.targets)
    seeds = seeds_for(params.seed, cfg.replications)
    t0 = time.perf_counter()
    rows = replicate(sets, seeds, n_jobs=cfg.n_jobs, label="validate", progress=cfg.progress)
    stats: dict[str, TargetStats | str] = {}
    long_rows = []
    for rs in sets:
        for name in rs.targets:
            if rs.params is None:
                stats[name] = rs.reason
                continue
            st = target_stats(name, cfg.targets[name], rows[rs.overrides])
            stats[name] = st
            long_rows += [{"target": name, "replication": i, "seed": seeds[i], "value": float(v)}
                          for i, v in enumerate(st.values)]
    table = validation_table(cfg.targets, names, stats)
    seconds = time.perf_counter() - t0
    begin_result(outdir, "validation.md")
    charts = plot_groups(table, stats, outdir) if params.output.charts else []
    reps = pd.DataFrame(long_rows, columns=["target", "replication", "seed", "value"])
    write_tables(outdir, {"validation": table, "validation_replications": reps}, params.output)
    md = _markdown(table, charts, overrides=overrides, replications=cfg.replications, seeds=seeds, seconds=seconds)
    write_text(outdir / "validation.md", md)
    for _, r in table.iterrows():
        mark = {RESULT_PASS: "pass", RESULT_FAIL: "FAIL", RESULT_NA: "n/a "}[r["result"]]
        d = _decimals(r["acceptance_lo"], r["acceptance_hi"])
        if r["result"] == RESULT_NA:
            print(f"  {mark}  {r['target']}: not available ({r['reason']})")
        else:
            print(f"  {mark}  {r['target']}: simulated {_fmt(r['sim_mean'], d)} (90% {_fmt(r['sim_lo90'], d)}-"
                  f"{_fmt(r['sim_hi90'], d)}), target {_fmt(r['target_value'], d)} [{_fmt(r['acceptance_lo'], d)}, "
                  f"{_fmt(r['acceptance_hi'], d)}] {r['unit']}")
    n_pass = int((table["result"] == RESULT_PASS).sum())
    n_avail = int((table["result"] != RESULT_NA).sum())
    print(f"validation: {n_pass} of {n_avail} targets pass; report: {outdir / 'validation.md'}")
    return table


EXPERIMENTS = [Experiment("validate", ValidateConfig, run_validate,
                          "every target against the simulated value with its interval, pass or fail")]
