"""Compare implementations: own local coordinator, local partnership, coordinator shared with a neighbour.

    peersim +experiment=compare_implementations                              # Fredericia, 200 replications
    peersim +experiment=compare_implementations experiment.replications=500 municipality=kolding
    peersim +experiment=compare_implementations experiment.psa=true           # parameters drawn per replication

The planner's question (docs/domain.md, "Two ways to implement it"): what do citizens, volunteers, the
municipality and the fund get from an own coordinator rather than a partnership, and how sure is
that? Every arm runs in the municipality the user chose, with the user's overrides, and differs
only in how the programme is implemented:

* ``local_coordinator``: ``scenario=local_coordinator`` (an own coordinator, financed by the fund);
* ``partnership``: ``scenario=partnership`` (no coordinator, the municipality carries every cost);
* ``shared_coordinator``: ``scenario=local_coordinator shared_with=[<neighbour>]``: one coordinator
  serves the user's municipality and a neighbour (``experiment.neighbour``, by default the
  preset's neighbour in :data:`DEFAULT_NEIGHBOURS`).

**Common random numbers.** Replication ``r`` runs every arm with the seed ``seed + r``, so the
arms share their random streams (:mod:`peersim.streams`) and the differences between arms are
paired: the replication-to-replication noise common to both arms cancels out of the difference.
With ``experiment.psa=true`` the uncertain parameters of ``conf/uncertainty/default.yaml`` are
drawn once per replication, from a generator seeded by (``PSA_STREAM``, seed, r), and the same
draw is applied to every arm (relative parameters multiply what each arm's scenario sets).

**The user's municipality in the shared arm.** A shared coordinator's run covers two
municipalities. The figures reported for an arm are always those of the *user's* municipality
(:func:`municipality_figures`): exactly what is recorded per municipality (its citizens, their
successes and waiting, its SØM savings, its outcome payments, its own staff time for referral and
the steering group) and, for what the two share (the coordinator, training, premises and the
volunteer pool, i.e. programme cost, the fund's financed cost, volunteers recruited and burnouts),
its share of the citizens who started a course. In a one-municipality arm the share is 1 and the
figures equal the run's ``summary.json``. The whole run's figures are kept as ``*_all`` columns of
the replication table.

Outputs (in the run folder): ``comparison``, ``differences`` and ``replications`` as CSV and
Parquet, ``comparison_summary.json`` (written last), ``comparison.md`` and three PNG charts.
The 90% interval is the 5th to the 95th percentile over replications (``numpy.percentile``,
linear interpolation); ``*_se`` is the Monte-Carlo standard error of the mean (sd / sqrt(n)).
"""

from __future__ import annotations

import copy
import math
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from peersim.experiments import Experiment, compose_variant
from peersim.params import ConfigError, PeersimConfig, between
from peersim.io import begin_result, write_json, write_tables, write_text

NAME = "compare_implementations"
ARMS = ("local_coordinator", "partnership", "shared_coordinator")
ARM_LABELS = {
    "local_coordinator": "Own local coordinator",
    "partnership": "Local partnership",
    "shared_coordinator": "Coordinator shared with {neighbour}",
}
# Default neighbour per municipality preset, for the shared-coordinator arm. The presets are the
# trial municipalities plus Kolding; where a preset has no neighbouring preset, the nearest one of
# comparable size is used (documented in conf/experiment/compare_implementations.yaml).
DEFAULT_NEIGHBOURS = {
    "fredericia": "kolding",     # adjacent (Trekantområdet)
    "kolding": "fredericia",     # adjacent
    "rodovre": "gladsaxe",       # both western Copenhagen suburbs, a few km apart
    "gladsaxe": "rodovre",
    "helsingor": "gladsaxe",     # nearest preset in the Capital Region (its neighbours have no preset)
    "copenhagen": "rodovre",     # adjacent
    "generic": "fredericia",     # a mid-sized municipality (not a geographic neighbour)
}
# Paired differences reported: (name, minuend arm, subtrahend arm)
CONTRASTS = (
    ("local_coordinator - partnership", "local_coordinator", "partnership"),
    ("shared_coordinator - local_coordinator", "shared_coordinator", "local_coordinator"),
)
# The stream of PSA draws, distinct from every model stream (peersim.streams)
PSA_STREAM = zlib.crc32(b"peersim.compare_implementations.psa")
Q_LO, Q_HI = 5.0, 95.0

# (key, unit, label): the outputs summarised per arm, all for the user's municipality
METRICS: tuple[tuple[str, str, str], ...] = (
    ("citizens_started", "persons", "Citizens who started a course"),
    ("citizens_completed", "persons", "Citizens who completed a course"),
    ("successes", "persons", "Attributable successes (SØM sense)"),
    ("volunteers_recruited", "persons", "Volunteers needed (recruited)"),
    ("volunteer_burnouts", "events", "Volunteer burnouts (pauses)"),
    ("mean_wait_weeks", "weeks", "Mean wait, referral to course start"),
    ("cost_total_dkk", "DKK", "Programme cost, all payers"),
    ("municipal_payments_dkk", "DKK", "Outcome payments to the fund"),
    ("cost_municipal_own_dkk", "DKK", "Municipality's own costs"),
    ("municipal_cost_dkk", "DKK", "Municipal cost (payments + own costs)"),
    ("savings_social_dkk", "DKK", "Savings: social services"),
    ("savings_health_dkk", "DKK", "Savings: health"),
    ("savings_employment_dkk", "DKK", "Savings: employment"),
    ("savings_total_dkk", "DKK", "Savings: total (SØM)"),
    ("net_municipal_dkk", "DKK", "Municipal net result"),
    ("net_per_citizen_dkk", "DKK per started citizen", "Municipal net per started citizen"),
    ("fund_net_dkk", "DKK", "Fund net result"),
)
METRIC_KEYS = tuple(m[0] for m in METRICS)
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

    def validate(self) -> None:
        if not self.arms:
            raise ValueError(f"experiment.arms must name at least one arm; choose from: {', '.join(ARMS)}")
        for arm in self.arms:
            if arm not in ARMS:
                raise ValueError(f"experiment.arms: unknown arm '{arm}'; choose from: {', '.join(ARMS)}")
        if len(set(self.arms)) != len(self.arms):
            raise ValueError(f"experiment.arms lists an arm twice: {list(self.arms)}")
        if self.neighbour != "auto":
            from peersim.config import group_options

            options = group_options("municipality")
            if self.neighbour not in options:
                raise ValueError(f"experiment.neighbour='{self.neighbour}' is not a municipality preset; "
                                 f"choose auto or one of: {', '.join(options)}")


# -- configurations ---------------------------------------------------------------------------
def neighbour_of(params: PeersimConfig) -> str:
    """The municipality that shares the coordinator in the shared arm."""
    exp = params.experiment
    name = params.municipality.name
    neighbour = exp.neighbour if exp.neighbour != "auto" else DEFAULT_NEIGHBOURS.get(name)
    if neighbour is None:
        raise ConfigError(f"experiment.neighbour: no default neighbour for municipality '{name}'; "
                          f"set experiment.neighbour=<preset>")
    if neighbour == name:
        raise ConfigError(f"experiment.neighbour must differ from the municipality ({name}); "
                          "choose another preset")
    return neighbour


def arm_variant(arm: str, neighbour: str) -> list[str]:
    """The overrides that make an arm out of the user's configuration."""
    if arm == "local_coordinator":
        return ["scenario=local_coordinator", "shared_with=[]"]
    if arm == "partnership":
        return ["scenario=partnership", "shared_with=[]"]
    if arm == "shared_coordinator":
        return ["scenario=local_coordinator", f"shared_with=[{neighbour}]"]
    raise ConfigError(f"experiment.arms: unknown arm '{arm}'; choose from: {', '.join(ARMS)}")


# Keys every arm sets itself (arm_variant): a command-line value for them would be silently replaced
ARM_KEYS = ("scenario", "shared_with")


def check_overrides(overrides: list[str]) -> None:
    """Refuse, with one line, a command-line override of what the arms set themselves (``scenario``,
    ``shared_with``): every arm would silently replace it. Called before any run or file."""
    for o in overrides:
        key = o.lstrip("+~").split("=", 1)[0]
        if key == "scenario":
            raise ConfigError(
                f"{o}: {NAME} sets the scenario of each arm itself (local_coordinator and shared_coordinator: "
                f"scenario=local_coordinator; partnership: scenario=partnership), so it would be ignored; drop "
                f"it and choose the arms with experiment.arms=[...] (any of {','.join(ARMS)})")
        if key == "shared_with":
            raise ConfigError(
                f"{o}: {NAME} sets shared_with in each arm itself (the shared_coordinator arm shares with "
                f"experiment.neighbour, the other arms with no one), so it would be ignored; drop it and set "
                f"experiment.neighbour=<preset> with shared_coordinator in experiment.arms=[...]")


def common_overrides(overrides: list[str]) -> list[str]:
    """The command-line overrides that reach every arm (those of the keys the arms set are refused),
    without ``output.*``: those say how files are written, not what the arms compute."""
    keys = [o.lstrip("+~").split("=", 1)[0] for o in overrides]
    return [o for o, k in zip(overrides, keys, strict=True) if k not in ARM_KEYS and not k.startswith("output.")]


def psa_rng(seed: int, replication: int) -> np.random.Generator:
    """The generator of replication ``replication``'s parameter draw: the same for every arm."""
    return np.random.default_rng([PSA_STREAM, seed, replication])


def build_configs(params: PeersimConfig, overrides: list[str]) -> tuple[
        list[tuple[str, int]], list[PeersimConfig], list[dict[str, float]]]:
    """Every (arm, replication) configuration, validated, in replication-major order, plus the
    PSA draw of each replication (empty dicts without PSA). Bad input stops here, before any run."""
    check_overrides(overrides)
    exp = params.experiment
    neighbour = neighbour_of(params) if "shared_coordinator" in exp.arms else ""
    bases = {arm: compose_variant(overrides, arm_variant(arm, neighbour)) for arm in exp.arms}
    draws: list[dict[str, float]] = []
    keys: list[tuple[str, int]] = []
    configs: list[PeersimConfig] = []
    from peersim.uncertainty import apply_draw, draw

    spec_source = bases[exp.arms[0]]
    for r in range(exp.replications):
        values = draw(spec_source, psa_rng(params.seed, r)) if exp.psa else {}
        draws.append(values)
        for arm in exp.arms:
            try:
                cfg = apply_draw(bases[arm], values) if values else copy.deepcopy(bases[arm])
            except ConfigError as exc:
                raise ConfigError(f"experiment.psa: replication {r}, arm {arm}: the drawn parameters do "
                                  f"not validate: {exc}") from None
            cfg.seed = params.seed + r
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
    }


def replicate(params: PeersimConfig) -> dict[str, Any]:
    """Run one configuration and return the user's municipality's figures and the whole run's.
    No files are written (the replication loop of :func:`run_compare`)."""
    from peersim.simulate import run

    result = run(params)
    s = result.summary
    row: dict[str, Any] = municipality_figures(result, params.municipality.name)
    row.update({f"{k}_all": s[k] for k in ALL_KEYS})
    row.update({k: s[k] for k in RUN_KEYS})
    row["n_municipalities"] = len(params.municipalities)
    return row


# -- statistics -------------------------------------------------------------------------------
def describe(values: np.ndarray) -> dict[str, float]:
    """Mean, Monte-Carlo standard error of the mean, 5th and 95th percentile (NaNs ignored)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"mean": math.nan, "se": math.nan, "p05": math.nan, "p95": math.nan}
    se = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    lo, hi = np.percentile(v, [Q_LO, Q_HI])
    return {"mean": float(v.mean()), "se": se, "p05": float(lo), "p95": float(hi)}


def comparison_table(reps: pd.DataFrame, arms: list[str], labels: dict[str, str]) -> pd.DataFrame:
    """One row per arm: for every metric its mean, 5th and 95th percentile (and the standard error
    of the two net results), and the probabilities of a net loss."""
    rows = []
    for arm in arms:
        sub = reps[reps["arm"] == arm]
        row: dict[str, Any] = {"arm": arm, "label": labels[arm], "municipality": sub["municipality"].iloc[0],
                               "replications": len(sub)}
        for key in METRIC_KEYS:
            d = describe(sub[key].to_numpy())
            row[f"{key}_mean"], row[f"{key}_p05"], row[f"{key}_p95"] = d["mean"], d["p05"], d["p95"]
            if key in ("net_municipal_dkk", "fund_net_dkk"):
                row[f"{key}_se"] = d["se"]
        row["prob_net_loss_municipality"] = float((sub["net_municipal_dkk"] < 0).mean())
        row["prob_net_loss_fund"] = float((sub["fund_net_dkk"] < 0).mean())
        row["contract_active"] = bool(sub["contract_active"].all())
        rows.append(row)
    return pd.DataFrame(rows)


def paired(reps: pd.DataFrame, a: str, b: str, key: str) -> np.ndarray:
    """Per-replication differences ``a - b`` of ``key`` (rows matched on the replication number)."""
    wide = reps.pivot(index="replication", columns="arm", values=key)
    return (wide[a] - wide[b]).to_numpy(dtype=float)


def differences_table(reps: pd.DataFrame, arms: list[str]) -> pd.DataFrame:
    """Paired differences for every contrast whose two arms ran: one row per contrast and metric."""
    rows = []
    for name, a, b in CONTRASTS:
        if a not in arms or b not in arms:
            continue
        for key, unit, label in METRICS:
            diff = paired(reps, a, b, key)
            d = describe(diff)
            valid = diff[~np.isnan(diff)]
            rows.append({"contrast": name, "arm_a": a, "arm_b": b, "metric": key, "unit": unit, "label": label,
                         "mean": d["mean"], "se": d["se"], "p05": d["p05"], "p95": d["p95"],
                         "prob_positive": float((valid > 0).mean()) if valid.size else math.nan,
                         "replications": int(valid.size)})
    return pd.DataFrame(rows, columns=["contrast", "arm_a", "arm_b", "metric", "unit", "label", "mean", "se",
                                       "p05", "p95", "prob_positive", "replications"])


# -- the experiment ---------------------------------------------------------------------------
def run_compare(params: PeersimConfig, overrides: list[str], outdir: Path) -> dict[str, Any]:
    """Run every arm ``experiment.replications`` times with common random numbers and write the
    comparison (tables, summary, report, charts) into ``outdir``. Returns the headline summary."""
    from peersim.experiments._runner import default_jobs, run_many

    t0 = time.perf_counter()
    exp: CompareImplementations = params.experiment
    arms = list(exp.arms)
    keys, configs, draws = build_configs(params, overrides)  # every input check, before any run or file
    neighbour = neighbour_of(params) if "shared_coordinator" in arms else None
    neighbour_label = _label_of(configs, neighbour)
    labels = {a: ARM_LABELS[a].format(neighbour=neighbour_label) for a in arms}
    n_jobs = default_jobs(exp.n_jobs)
    summaries = run_many(configs, n_jobs=n_jobs, label=f"{NAME} ({len(arms)} arms x {exp.replications})",
                         progress=exp.progress, fn=replicate)
    reps = _replication_table(keys, configs, draws, summaries, params)
    comparison = comparison_table(reps, arms, labels)
    differences = differences_table(reps, arms)
    wall = time.perf_counter() - t0

    begin_result(outdir, "comparison_summary.json")
    write_tables(outdir, {"comparison": comparison, "differences": differences, "replications": reps},
                 params.output)
    summary = headline(params, comparison, differences, reps, labels, neighbour=neighbour,
                       neighbour_label=neighbour_label, n_jobs=n_jobs, wall_seconds=wall,
                       overrides=common_overrides(overrides))
    from peersim.experiments.compare_charts import report_markdown

    write_text(outdir / "comparison.md", report_markdown(summary, comparison, differences))
    if params.output.charts:
        from peersim.experiments.compare_charts import save_charts

        save_charts(reps, comparison, differences, summary, outdir)
    from peersim.config import as_dict

    write_json(outdir / "config.json", as_dict(params))
    summary["wall_seconds"] = time.perf_counter() - t0
    write_json(outdir / "comparison_summary.json", summary)
    _print_headline(summary, outdir)
    return summary


def _label_of(configs: list[PeersimConfig], neighbour: str | None) -> str | None:
    """The display name of the neighbour (e.g. Helsingør for helsingor)."""
    if neighbour is None:
        return None
    for cfg in configs:
        for m in cfg.extra_municipalities:
            if m.name == neighbour:
                return m.label
    return neighbour


def _replication_table(keys: list[tuple[str, int]], configs: list[PeersimConfig], draws: list[dict[str, float]],
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
    ordered = [*METRIC_KEYS, "share_of_started", *(f"{k}_all" for k in ALL_KEYS), *RUN_KEYS, "n_municipalities"]
    parts.append(summaries[ordered].reset_index(drop=True))
    return pd.concat(parts, axis=1)


def headline(params: PeersimConfig, comparison: pd.DataFrame, differences: pd.DataFrame, reps: pd.DataFrame,
             labels: dict[str, str], *, neighbour: str | None, neighbour_label: str | None, n_jobs: int,
             wall_seconds: float, overrides: list[str] | None = None) -> dict[str, Any]:
    """The headline numbers of ``comparison_summary.json``; ``overrides`` are the command-line
    overrides applied to every arm (recorded as ``overrides``)."""
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
        "overrides": list(overrides or []),
        "n_jobs": n_jobs,
        "run_seconds": wall_seconds,
        "arms": {},
        "differences": {},
    }
    headline_keys = ("citizens_started", "successes", "volunteers_recruited", "volunteer_burnouts",
                     "mean_wait_weeks", "cost_total_dkk", "municipal_payments_dkk", "savings_total_dkk",
                     "net_municipal_dkk", "net_per_citizen_dkk", "fund_net_dkk")
    for _, row in comparison.iterrows():
        arm = row["arm"]
        out["arms"][arm] = {
            "label": labels[arm],
            **{k: {"mean": row[f"{k}_mean"], "p05": row[f"{k}_p05"], "p95": row[f"{k}_p95"]} for k in headline_keys},
            "net_municipal_dkk_se": row["net_municipal_dkk_se"],
            "fund_net_dkk_se": row["fund_net_dkk_se"],
            "prob_net_loss_municipality": row["prob_net_loss_municipality"],
            "prob_net_loss_fund": row["prob_net_loss_fund"],
            "contract_active": row["contract_active"],
        }
    for name, _, _ in CONTRASTS:
        sub = differences[differences["contrast"] == name]
        if sub.empty:
            continue
        out["differences"][name] = {
            r["metric"]: {"mean": r["mean"], "se": r["se"], "p05": r["p05"], "p95": r["p95"],
                          "prob_positive": r["prob_positive"]}
            for _, r in sub.iterrows() if r["metric"] in headline_keys
        }
    if {"local_coordinator", "partnership"} <= set(exp.arms):
        out["prob_local_coordinator_higher_municipal_net"] = float(
            (paired(reps, "local_coordinator", "partnership", "net_municipal_dkk") > 0).mean())
    if {"shared_coordinator", "local_coordinator"} <= set(exp.arms):
        out["prob_shared_higher_municipal_net"] = float(
            (paired(reps, "shared_coordinator", "local_coordinator", "net_municipal_dkk") > 0).mean())
    return out


def _print_headline(summary: dict[str, Any], outdir: Path) -> None:
    arms = summary["arms"]
    lines = [f"{NAME}: {summary['municipality_label']}, {summary['replications']} replications"
             f"{' with parameter uncertainty' if summary['psa'] else ''}, {summary['years']} years"]
    for a in arms.values():
        net = a["net_municipal_dkk"]
        lines.append(f"  {a['label']}: {a['citizens_started']['mean']:.0f} citizens started, municipal net "
                     f"{net['mean']:,.0f} DKK (90%: {net['p05']:,.0f} to {net['p95']:,.0f}), "
                     f"P(municipal loss) {a['prob_net_loss_municipality']:.0%}")
    if "prob_local_coordinator_higher_municipal_net" in summary:
        lines.append(f"  P(own coordinator gives the municipality a higher net than a partnership) = "
                     f"{summary['prob_local_coordinator_higher_municipal_net']:.0%}")
    print("\n".join(lines))


EXPERIMENTS = [
    Experiment(
        name=NAME,
        schema=CompareImplementations,
        run=run_compare,
        description="Own local coordinator vs local partnership vs a coordinator shared with a neighbour, "
                    "paired replications (common random numbers), optional parameter uncertainty",
    )
]
