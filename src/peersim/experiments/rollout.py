"""``experiment=rollout``: whole roll-out plans under uncertainty, side by side.

Each plan of ``experiment.plans`` (``conf/rollout/<plan>.yaml``) runs ``experiment.replications``
times. Replication ``r`` runs every plan with the seed ``seed + r``, and a coordinator group's seed
comes from that seed and its host (:func:`peersim.rollout.portfolio.group_seed`): the same group
draws the same random numbers in every plan (common random numbers). With ``experiment.psa=true``
replication ``r`` also draws the uncertain parameters once, the same draw for every plan.
Replications run in parallel through :func:`peersim.experiments._runner.run_many`.

Outputs: ``rollout_replications`` (one row per plan and replication), ``rollout_comparison`` (per
plan: mean and 90% interval of the key figures, P(the fund recovers its capital within N years)),
``rollout_comparison_summary.json`` and ``chart_rollout_comparison.png`` (docs/rollout.md).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments._runner import run_many
from peersim.experiments.base import Experiment, compose_variant, paired_replications
from peersim.io import begin_result, json_safe, save_figures, write_json, write_tables
from peersim.params import PeersimConfig
from peersim.validation import ConfigError, between

NAME = "rollout"
PSA_STREAM = zlib.crc32(b"peersim.rollout.psa")
FIGURES = ("rollout_peak_capital_need_dkk", "rollout_fund_net_dkk", "rollout_citizens_started",
           "rollout_successes", "rollout_budget_net_dkk", "rollout_coordinators")
Q_LO, Q_HI = 0.05, 0.95


@dataclass
class RolloutExperiment:
    """``experiment.*`` of ``rollout``; values and reasons in ``conf/experiment/rollout.yaml``."""

    replications: int = field(metadata=between(1, 100_000))
    psa: bool
    plans: list[str]
    recover_within_years: int = field(metadata=between(1, 50))
    n_jobs: int = field(metadata=between(0, 4096))
    progress: bool

    def seeds_used(self) -> tuple[int, str]:
        return self.replications, f"experiment.replications={self.replications}"

    def validate(self) -> None:
        from peersim.config import group_options

        options = [o for o in group_options("rollout") if o != "none"]
        if not self.plans:
            raise ValueError(f"experiment.plans must name at least one plan; choose from: {', '.join(options)}")
        for plan in self.plans:
            if plan not in options:
                raise ValueError(f"experiment.plans: unknown plan '{plan}'; choose from: {', '.join(options)}")
        if len(set(self.plans)) != len(self.plans):
            raise ValueError(f"experiment.plans lists a plan twice: {list(self.plans)}")


def build_configs(params: PeersimConfig, overrides: list[str]) -> list[tuple[str, int, PeersimConfig]]:
    """Every (plan, replication) configuration, validated before any run (replication-major)."""
    exp = params.experiment
    if any(o.lstrip("+~").split("=", 1)[0] == "rollout" for o in overrides):
        raise ConfigError("rollout: experiment=rollout runs the plans of experiment.plans; "
                          "drop rollout=<plan> and write experiment.plans=[a,b]")
    bases = {plan: compose_variant(overrides, [f"rollout={plan}"]) for plan in exp.plans}
    return [(plan, r, cfg) for r, _, plan, cfg in paired_replications(
        bases, params.seed, exp.replications, exp.psa,
        lambda r: np.random.default_rng([PSA_STREAM, params.seed, r]), "plan")]


def replicate(params: PeersimConfig) -> dict[str, Any]:
    """One plan's run: its flat key figures and its fund cash by year (``cash_<year>``)."""
    from peersim.rollout.result import run_plan

    s = run_plan(params).summary
    row = {k: s[k] for k in (*FIGURES, "rollout_peak_capital_year", "rollout_capital_recovered_year",
                             "rollout_start_year", "rollout_end_year")}
    row.update({f"cash_{y}": v for y, v in s["rollout_fund_cash_by_year"].items()})
    return row


def comparison_table(reps: pd.DataFrame, within: int) -> pd.DataFrame:
    """Per plan: P(recovered within ``within`` years of the start), mean and 90% interval of the figures."""
    rows = []
    for plan, g in reps.groupby("plan", sort=False):
        limit = g["rollout_start_year"] + within - 1
        recovered = g["rollout_capital_recovered_year"].notna() & (g["rollout_capital_recovered_year"] <= limit)
        row: dict[str, Any] = {"plan": plan, "replications": len(g),
                               "p_recovered_within_years": float(recovered.mean())}
        for key in FIGURES:
            v = g[key].astype(float)
            row[f"{key}_mean"] = float(v.mean())
            row[f"{key}_p05"] = float(v.quantile(Q_LO))
            row[f"{key}_p95"] = float(v.quantile(Q_HI))
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_chart(reps: pd.DataFrame, table: pd.DataFrame, within: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    plans = list(table["plan"])
    a.boxplot([reps.loc[reps["plan"] == p, "rollout_peak_capital_need_dkk"] / 1e6 for p in plans],
              tick_labels=plans, whis=(5, 95))
    a.set_ylabel("million DKK")
    a.set_title("The fund's peak capital need\n(box: quartiles; whiskers: 5-95%)")
    cash = sorted(c for c in reps.columns if c.startswith("cash_"))
    years = [int(c.removeprefix("cash_")) for c in cash]
    for p, color in zip(plans, ("#1b6ca8", "#d1495b", "#66a182", "#edae49"), strict=False):
        v = reps.loc[reps["plan"] == p, cash].to_numpy(float) / 1e6
        b.fill_between(years, np.nanquantile(v, Q_LO, axis=0), np.nanquantile(v, Q_HI, axis=0), color=color, alpha=0.2)
        share = float(table.loc[table["plan"] == p, "p_recovered_within_years"].iloc[0])
        b.plot(years, np.nanmedian(v, axis=0), color=color,
               label=f"{p}: median, 90% band; P(recovered within {within} years) = {share:.0%}")
    b.axhline(0, color="grey", lw=0.8)
    b.set_xticks(years)
    b.set_ylabel("million DKK")
    b.set_xlabel("year")
    b.set_title("The fund's cumulative cash position")
    b.legend(loc="lower left", fontsize=8, frameon=False)
    fig.suptitle(f"Roll-out plans compared ({int(table['replications'].iloc[0])} replications each)")
    return fig


def run_rollout(params: PeersimConfig, overrides: list[str], outdir: Path) -> dict[str, Any]:
    exp = params.experiment
    keys = build_configs(params, overrides)
    rows = run_many([c for *_, c in keys], n_jobs=exp.n_jobs, label="rollout", progress=exp.progress, fn=replicate)
    reps = pd.concat([pd.DataFrame({"plan": [p for p, *_ in keys], "replication": [r for _, r, _ in keys],
                                    "seed": [c.seed for *_, c in keys]}), rows], axis=1)
    within = min(exp.recover_within_years, params.years)  # the plan's years are all that is simulated
    table = comparison_table(reps, within)
    summary = json_safe({"experiment": NAME, "plans": list(exp.plans), "replications": exp.replications,
                         "psa": exp.psa, "seed": params.seed, "years": params.years,
                         "recover_within_years": within,
                         "by_plan": table.set_index("plan").to_dict(orient="index")})
    out = begin_result(outdir, "rollout_comparison_summary.json")
    write_tables(out, {"rollout_replications": reps, "rollout_comparison": table}, params.output)
    if params.output.charts:
        save_figures(out, {"chart_rollout_comparison.png": comparison_chart(reps, table, within)})
    write_json(out / "rollout_comparison_summary.json", summary)
    print(headline(table, params, within), flush=True)
    return summary


def headline(table: pd.DataFrame, params: PeersimConfig, within: int) -> str:
    """What the console says per plan: the fund's chance to recover its capital, its peak capital
    need and the citizens reached, each with its 90% interval over the replications."""
    exp = params.experiment
    lines = [f"experiment=rollout: {params.years} years, {exp.replications} replications per plan"
             f"{' with parameter uncertainty' if exp.psa else ''}"]
    for row in table.itertuples(index=False):
        r = row._asdict()
        lines.append(
            f"  {r['plan']}: P(fund recovers its capital within {within} years) = {r['p_recovered_within_years']:.0%}; "
            f"peak capital need {r['rollout_peak_capital_need_dkk_mean'] / 1e6:,.1f} million DKK "
            f"(90%: {r['rollout_peak_capital_need_dkk_p05'] / 1e6:,.1f} to {r['rollout_peak_capital_need_dkk_p95'] / 1e6:,.1f}); "
            f"citizens started {r['rollout_citizens_started_mean']:,.0f} "
            f"(90%: {r['rollout_citizens_started_p05']:,.0f} to {r['rollout_citizens_started_p95']:,.0f})")
    return "\n".join(lines)


EXPERIMENTS = [Experiment(NAME, RolloutExperiment, run_rollout,
                          "whole roll-out plans under uncertainty, side by side (docs/rollout.md)")]
