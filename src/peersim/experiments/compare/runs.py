"""The runs of ``compare_implementations``: each arm's configuration, one replication, the headline.

Every arm is the user's configuration with the arm's overrides on top (:func:`arm_variant`);
replication ``r`` runs every arm with the seed ``seed + r`` and, with ``experiment.psa=true``,
the same parameter draw (:func:`psa_rng`). :func:`replicate` runs one configuration and returns
the user's municipality's figures (:func:`municipality_figures`) and the whole run's;
:func:`headline` is ``comparison_summary.json``. See :mod:`peersim.experiments.compare`.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim import municipalities
from peersim.config import municipality_option
from peersim.experiments.base import paired_replications
from peersim.experiments.compare.arms import ARMS, DEFAULT_NEIGHBOURS, METRIC_KEYS, NAME, paired
from peersim.experiments.compare.budget import budget_columns, budget_figures, n_years, yearly_budget, years_range
from peersim.experiments.compare.outcomes import ACTIVITIES, outcome_figures, outcome_series
from peersim.experiments.compare.settings import (
    Arm,
    arm_variant,
    arms_of,
    check_named,
    check_overrides,
    compose_arm,
    override_list,
)
from peersim.params import PeersimConfig
from peersim.validation import ConfigError, between

# The stream of PSA draws, distinct from every model stream (peersim.streams)
PSA_STREAM = zlib.crc32(b"peersim.compare_implementations.psa")
# whole-run figures kept in the replication table as <key>_all (both municipalities in the shared arm)
ALL_KEYS = ("citizens_started", "citizens_completed", "successes", "volunteers_recruited",
            "volunteer_burnouts", "cost_total_dkk", "municipal_payments_dkk", "savings_total_dkk",
            "net_municipal_dkk", "fund_net_dkk")
RUN_KEYS = ("courses_started", "fidelity_mean", "success_rate", "coordinator_hours_idle_share",
            "contract_active")


@dataclass
class CompareImplementations:
    """``experiment.*`` of ``compare_implementations``; the values and their reasons live in
    ``conf/experiment/compare_implementations.yaml``."""

    replications: int = field(metadata=between(1, 1_000_000))
    psa: bool
    arms: list[str]
    neighbour: str
    n_jobs: int = field(metadata=between(0, 4096))
    progress: bool
    arm_overrides: dict[str, Any] = field(default_factory=dict)
    named_arms: dict[str, Any] = field(default_factory=dict)
    stress: dict[str, Any] = field(default_factory=dict)
    stress_replications: int = field(default=0, metadata=between(0, 1_000_000))

    def seeds_used(self) -> tuple[int, str]:
        """Replication ``r`` runs with ``seed + r`` (checked by :func:`peersim.params.validate`)."""
        return self.replications, f"experiment.replications={self.replications}"

    def validate(self) -> None:
        if not self.arms and not self.named_arms:
            raise ValueError(f"experiment.arms must name at least one arm; choose from: {', '.join(ARMS)}")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"experiment.arms lists an arm twice: {list(self.arms)}")
        check_named(self)
        arms_of(self)  # every arm's entries: known arms, a base, no key that defines the arm or the comparison
        for name, setting in (self.stress or {}).items():
            if not override_list(setting, f"experiment.stress.{name}"):
                raise ValueError(f"experiment.stress.{name}: no overrides; give at least one, e.g. "
                                 f"+experiment.stress.{name}.coordinator.fte=0.5")
        if self.neighbour != "auto":  # any of the 98 by any spelling, or a preset
            self.neighbour = municipality_option(str(self.neighbour), key="experiment.neighbour")


# -- configurations ---------------------------------------------------------------------------
def neighbour_of(params: PeersimConfig) -> str:
    """The municipality that shares the coordinator in the shared arm."""
    exp = params.experiment
    name = params.municipality.name
    neighbour = exp.neighbour if exp.neighbour != "auto" else DEFAULT_NEIGHBOURS.get(name) or _nearest_neighbour(name)
    if neighbour is None:
        raise ConfigError(f"experiment.neighbour: no default neighbour for municipality '{name}'; "
                          f"set experiment.neighbour=<any of the 98 municipalities>")
    if neighbour == name:
        raise ConfigError(f"experiment.neighbour must differ from the municipality ({name}); "
                          "choose another municipality")
    return neighbour


def _nearest_neighbour(name: str) -> str | None:
    """``auto`` for a municipality without a preset default: the land-border neighbour whose centre
    lies closest (an island municipality: the nearest municipality), as its command-line option."""
    if not municipalities.is_municipality(name):
        return None  # e.g. a municipality configured by hand under a name of its own
    home = municipalities.lookup(name)
    candidates = municipalities.neighbours(name) or municipalities.nearest(name, k=1)
    best = min(candidates, key=lambda m: (municipalities.distance_km(home, m), m.code))
    return municipality_option(best.cli_name, key="experiment.neighbour")


def psa_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of replication ``replication``'s parameter draw: the same for every arm."""
    return np.random.default_rng([PSA_STREAM, seed, replication])


def uses_neighbour(params: PeersimConfig) -> bool:
    return any(a.base == "shared_coordinator" for a in arms_of(params.experiment))


def build_configs(params: PeersimConfig, overrides: list[str], *, setting: list[str] | None = None,
                  setting_name: str = "", replications: int | None = None) -> tuple[
        list[tuple[str, int]], list[PeersimConfig], list[dict[str, float]]]:
    """Every (arm, replication) configuration, validated, in replication-major order, plus the
    PSA draw of each replication (empty dicts without PSA). ``setting``: a stress setting's
    overrides (every arm). Bad input stops here, before any run."""
    check_overrides(overrides)
    exp = params.experiment
    arms = arms_of(exp)
    neighbour = neighbour_of(params) if uses_neighbour(params) else ""
    bases = {a.name: compose_arm(overrides, a, neighbour, setting or (), setting_name) for a in arms}
    draws: list[dict[str, float]] = []
    keys: list[tuple[str, int]] = []
    configs: list[PeersimConfig] = []
    n = exp.replications if replications is None else replications
    for r, values, arm, cfg in paired_replications(bases, params.seed, n, exp.psa,
                                                   lambda r: psa_rng(params.seed, r), "arm"):
        if len(draws) == r:
            draws.append(values)
        keys.append((arm, r))
        configs.append(cfg)
    return keys, configs, draws


# -- one replication --------------------------------------------------------------------------
def municipality_figures(result: Any, name: str) -> dict[str, float]:
    """The key outputs of one municipality of a run (see the module docstring for the rules).

    Exact per municipality: citizens, successes, waiting, savings by area, outcome payments and the
    municipality's own staff costs (referral in proportion to its referred citizens, the
    steering group equally, as each municipality has its own meetings). Shared resources
    (everything else) are split by the municipality's share of the citizens who started a course.
    """
    cit = result.citizens
    muni = cit["municipality"].astype(str).to_numpy()
    mine = muni == name
    started = cit["started"].to_numpy(dtype=bool)
    n_started_all = float(started.sum())
    n_referred_all = float(len(cit))
    n_munis = len(result.params.municipalities)
    n_started = float((started & mine).sum())
    n_referred = float(mine.sum())
    if n_started_all > 0:
        share = n_started / n_started_all
    elif n_referred_all > 0:
        share = n_referred / n_referred_all
    else:
        share = 1.0 / n_munis
    referred_share = n_referred / n_referred_all if n_referred_all > 0 else 1.0 / n_munis
    waits = cit["wait_weeks"].to_numpy(dtype=float, na_value=np.nan)[started & mine]

    costs = result.extra_tables["costs_by_category"]
    cat = costs["category"].to_numpy()
    amount = costs["amount_dkk"].to_numpy(dtype=float)
    weight = np.where(cat == "referral", referred_share, np.where(cat == "steering", 1.0 / n_munis, share))
    allocated = amount * weight
    by_municipality = costs["payer"].to_numpy() == "municipality"
    own = float(allocated[by_municipality].sum())
    fund_cost = float(allocated[~by_municipality].sum())

    sav = result.extra_tables["savings_by_subgroup"]
    sav = sav[sav["municipality"].astype(str) == name]
    savings = {a: float(sav.loc[sav["area"] == a, "savings_dkk"].sum()) for a in ("social", "health", "employment")}
    pay = result.extra_tables["payments"]
    payments = float(pay.loc[pay["municipality"].astype(str) == name, "payable_dkk"].sum())
    s = result.summary
    total_savings = sum(savings.values())
    municipal_cost = payments + own
    net = total_savings - municipal_cost
    all_savings = float(result.extra_tables["savings_by_subgroup"]["savings_dkk"].sum())
    all_payments = float(pay["payable_dkk"].sum())
    yearly = yearly_budget(result, weight, total_savings / all_savings if all_savings > 0 else 0.0,
                           payments / all_payments if all_payments > 0 else 0.0)
    return {
        "citizens_started": n_started,
        "citizens_completed": float((cit["completed"].to_numpy(dtype=bool) & mine).sum()),
        "successes": float((cit["success"].to_numpy(dtype=bool) & mine).sum()),
        "volunteers_recruited": share * float(s["volunteers_recruited"]),
        "volunteer_burnouts": share * float(s["volunteer_burnouts"]),
        "mean_wait_weeks": float(np.mean(waits)) if waits.size else math.nan,
        "cost_total_dkk": float(allocated.sum()),
        "municipal_payments_dkk": payments,
        "cost_municipal_own_dkk": own,
        "municipal_cost_dkk": municipal_cost,
        **{f"savings_{a}_dkk": v for a, v in savings.items()},
        "savings_total_dkk": total_savings,
        "net_municipal_dkk": net,
        "net_per_citizen_dkk": net / n_started if n_started > 0 else math.nan,
        "fund_net_dkk": payments - fund_cost,
        "share_of_started": share,
        **outcome_figures(result, name, share),
        **budget_figures(yearly, result.params.years),
    }


def replicate(params: PeersimConfig) -> dict[str, Any]:
    """Run one configuration and return the user's municipality's figures and the whole run's.
    No files are written (the replication loop of :func:`~peersim.experiments.compare.run_compare`)."""
    # Imported here, not at the top: peersim.simulate loads Mesa and the model (~0.7 s), and every
    # experiment module is imported whenever the experiment schemas are registered.
    from peersim.simulate import run

    result = run(params)
    s = result.summary
    row: dict[str, Any] = municipality_figures(result, params.municipality.name)
    row.update({f"{k}_all": s[k] for k in ALL_KEYS})
    row.update({k: s[k] for k in RUN_KEYS})
    row["n_municipalities"] = len(params.municipalities)
    row["series"] = outcome_series(result, params.municipality.name, row["share_of_started"])
    return row


# outcomes beyond money in comparison_summary.json (with the money's headline keys)
OUTCOME_KEYS = ("citizens_completed", "citizens_gave_up_waiting", "courses", "volunteers_active_mean",
                "volunteers_active_end", "coordinator_hours_total",
                *(f"coordinator_hours_{a}" for a in ACTIVITIES))


def arm_settings(params: PeersimConfig, arms: list[Arm]) -> dict[str, dict[str, Any]]:
    """Per arm: the built-in arm it runs (``base``), the overrides that make that implementation
    (``implementation``) and its own overrides (``overrides``: those only this arm ran with)."""
    neighbour = neighbour_of(params) if uses_neighbour(params) else ""
    return {a.name: {"base": a.base, "label": a.label, "implementation": arm_variant(a.base, neighbour),
                     "overrides": list(a.own)} for a in arms}


# -- the replication table and the headline ---------------------------------------------------
def neighbour_display_name(configs: list[PeersimConfig], neighbour: str | None) -> str | None:
    """The display name of the neighbour (e.g. Helsingør for helsingor)."""
    if neighbour is None:
        return None
    for cfg in configs:
        for m in cfg.extra_municipalities:
            if m.name == neighbour:
                return m.label
    return neighbour


def replication_table(keys: list[tuple[str, int]], configs: list[PeersimConfig], draws: list[dict[str, float]],
                      summaries: pd.DataFrame, params: PeersimConfig) -> pd.DataFrame:
    """The tidy per-replication table: arm, replication, seed, drawn values (``psa.<key>``, as drawn:
    multipliers for relative parameters), the user's municipality's outputs and the whole run's."""
    front = pd.DataFrame({
        "arm": [a for a, _ in keys],
        "replication": [r for _, r in keys],
        "seed": [c.seed for c in configs],
        "municipality": params.municipality.name,
        "municipalities_in_run": ["+".join(m.name for m in c.municipalities) for c in configs],
    })
    parts = [front]
    if params.experiment.psa and draws:
        drawn = pd.DataFrame([draws[r] for _, r in keys]).add_prefix("psa.")
        parts.append(drawn)
    ordered = [*METRIC_KEYS, "break_even_year_budget", "payback_year_fund", "share_of_started",
               *(f"{k}_all" for k in ALL_KEYS), *RUN_KEYS, "n_municipalities"]
    parts.append(summaries[ordered].reset_index(drop=True))
    parts.append(_padded_budget(summaries, params))
    return pd.concat(parts, axis=1)


def _padded_budget(summaries: pd.DataFrame, params: PeersimConfig) -> pd.DataFrame:
    """The cumulative budget nets by year, every replication to the same last year: the run's years
    plus those in which savings and payments still arrive (a shorter cash flow keeps its last value),
    so that the table's columns do not depend on which arms or replications ran."""
    econ = params.economics
    # a 5-year saving that starts during a year reaches into a sixth programme year
    tail = max(len(econ.savings.yearly_profile) + 1,
               econ.contract.settlement_lag_years + econ.contract.instalment_years)
    cols = budget_columns(summaries)
    last = max([params.years + tail, params.economics.resolve_horizon(params.years)]
               + [int(c.rsplit("_y", 1)[1]) for c in cols])
    names = [f"{prefix}{k}" for prefix in ("budget_municipality_y", "budget_fund_y") for k in range(1, last + 1)]
    table = summaries.reindex(columns=names).reset_index(drop=True)
    for prefix in ("budget_municipality_y", "budget_fund_y"):
        mine = [n for n in names if n.startswith(prefix)]
        table[mine] = table[mine].ffill(axis=1)
    return table


def headline(params: PeersimConfig, comparison: pd.DataFrame, differences: pd.DataFrame, reps: pd.DataFrame,
             labels: dict[str, str], *, neighbour: str | None, neighbour_label: str | None, n_jobs: int,
             wall_seconds: float, overrides: list[str] | None = None,
             arm_settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The headline numbers of ``comparison_summary.json``; ``overrides`` are the command-line
    overrides applied to every arm (recorded as ``overrides``), ``arm_settings`` each arm's
    implementation and own overrides (:func:`arm_settings`)."""
    exp: CompareImplementations = params.experiment
    out: dict[str, Any] = {
        "experiment": NAME,
        "municipality": params.municipality.name,
        "municipality_label": params.municipality.label,
        "neighbour": neighbour,
        "neighbour_label": neighbour_label,
        "years": params.years,
        "seed": params.seed,
        "seeds": [params.seed, params.seed + exp.replications - 1],
        "replications": exp.replications,
        "psa": exp.psa,
        "psa_parameters": sorted(params.uncertainty.parameters) if exp.psa else [],
        "interval": "5th-95th percentile over replications (90%)",
        "money_views": {
            "som": "net_municipal_dkk, fund_net_dkk: every success's 5-year SØM saving and every outcome payment, "
                   "also those after the run (as the published figures count them)",
            "budget": f"*_budget_dkk, break_even_municipality: what is paid and saved in programme years "
                      f"1-{params.years}",
        },
        "overrides": list(overrides or []),
        "arm_settings": dict(arm_settings or {}),
        "n_jobs": n_jobs,
        "run_seconds": wall_seconds,
        "arms": {},
        "differences": {},
    }
    headline_keys = ("citizens_started", "successes", "volunteers_recruited", "volunteer_burnouts",
                     "mean_wait_weeks", "cost_total_dkk", "municipal_payments_dkk", "savings_total_dkk",
                     "net_municipal_dkk", "net_per_citizen_dkk", "net_municipal_budget_dkk", "fund_net_dkk",
                     "fund_net_budget_dkk", "fund_capital_outlay_dkk", *OUTCOME_KEYS)
    for _, row in comparison.iterrows():
        arm = row["arm"]
        out["arms"][arm] = {
            "label": labels[arm],
            **{k: {"mean": row[f"{k}_mean"], "p05": row[f"{k}_p05"], "p95": row[f"{k}_p95"]} for k in headline_keys},
            "net_municipal_dkk_se": row["net_municipal_dkk_se"],
            "fund_net_dkk_se": row["fund_net_dkk_se"],
            "prob_net_loss_municipality": row["prob_net_loss_municipality"],
            "prob_net_loss_fund": row["prob_net_loss_fund"],
            "prob_net_loss_municipality_budget": row["prob_net_loss_municipality_budget"],
            "contract_active": row["contract_active"],
            "break_even_municipality": {
                "window_years": params.years,
                **{k: row[f"break_even_year_budget_{k}"] for k in ("p50", "p05", "p95")},
                "prob_within_run": row["prob_break_even_budget"],
                "prob_within_5_years": row["prob_break_even_budget_within_5_years"]},
            "payback_fund": {
                **{k: row[f"payback_year_fund_{k}"] for k in ("p50", "p05", "p95")},
                "prob_paid_back": row["prob_payback_fund"],
                "prob_within_5_years": row["prob_payback_fund_within_5_years"]},
        }
    for name in dict.fromkeys(differences["contrast"]):
        sub = differences[differences["contrast"] == name]
        out["differences"][name] = {
            r["metric"]: {"mean": r["mean"], "se": r["se"], "p05": r["p05"], "p95": r["p95"],
                          "prob_positive": r["prob_positive"]}
            for _, r in sub.iterrows() if r["metric"] in headline_keys
        }
    if {"local_coordinator", "partnership"} <= set(comparison["arm"]):
        out["prob_local_coordinator_higher_municipal_net"] = float(
            (paired(reps, "local_coordinator", "partnership", "net_municipal_dkk") > 0).mean())
    if {"shared_coordinator", "local_coordinator"} <= set(comparison["arm"]):
        out["prob_shared_higher_municipal_net"] = float(
            (paired(reps, "shared_coordinator", "local_coordinator", "net_municipal_dkk") > 0).mean())
    return out


def print_headline(summary: dict[str, Any], outdir: Path) -> None:
    arms = summary["arms"]
    lines = [f"{NAME}: {summary['municipality_label']}, {summary['replications']} replications"
             f"{' with parameter uncertainty' if summary['psa'] else ''}, {summary['years']} years"]
    years = summary["years"]
    for a in arms.values():
        net, budget = a["net_municipal_dkk"], a["net_municipal_budget_dkk"]
        be = a["break_even_municipality"]
        lines.append(f"  {a['label']}: {a['citizens_started']['mean']:.0f} citizens started; municipal budget "
                     f"breaks even within {n_years(years)} in {be['prob_within_run']:.0%} of replications")
        lines.append(f"    municipal net, budget view {years_range(years)}: {budget['mean']:,.0f} DKK (90%: "
                     f"{budget['p05']:,.0f} to {budget['p95']:,.0f}); SØM view: {net['mean']:,.0f} DKK "
                     f"(90%: {net['p05']:,.0f} to {net['p95']:,.0f})")
    if "prob_local_coordinator_higher_municipal_net" in summary:
        lines.append(f"  P(own coordinator gives the municipality a higher net than a partnership, SØM view) = "
                     f"{summary['prob_local_coordinator_higher_municipal_net']:.0%}")
    print("\n".join(lines))
