"""The decision under alternative assumptions: ``experiment.stress`` in ``compare_implementations``.

Each stress setting is a name and one or more overrides (``+experiment.stress.half_fte.coordinator.fte=0.5``,
or in YAML ``stress: {scale_up: {recovery: scale_up}}``), applied to every arm on top of the command
line's overrides (an arm's own overrides still win for their keys). The comparison is re-run under
each setting with ``experiment.stress_replications`` replications (at most, and with 0 as many as, the main
comparison), the same seeds, and :func:`stress_table` records per setting and arm the headline
(citizens started, successes, the municipal net in both views of money) and which arm the
municipality prefers: the highest mean municipal net result, in the SØM view and in the budget
view, and whether that preference differs from the main comparison's. Every setting's
configurations are built (and validated) before the first run.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import peersim.experiments._runner as _runner
from peersim.experiments.compare.report import describe, dkk
from peersim.experiments.compare.runs import build_configs, replicate, replication_table
from peersim.experiments.compare.settings import override_list
from peersim.params import PeersimConfig

HEADLINE = ("citizens_started", "successes", "net_municipal_dkk", "net_municipal_budget_dkk")
VIEWS = {"som": "net_municipal_dkk", "budget": "net_municipal_budget_dkk"}


def stress_settings(params: PeersimConfig, overrides: list[str]) -> list[tuple[str, list[str], Any]]:
    """Every setting's (name, overrides, configurations), built and validated before any run."""
    exp = params.experiment
    # never more than the comparison itself has (a 3-replication test run stays a test run)
    n = min(exp.stress_replications or exp.replications, exp.replications)
    out = []
    for name, entry in (exp.stress or {}).items():
        setting = override_list(entry, f"experiment.stress.{name}")
        out.append((name, setting, build_configs(params, overrides, setting=setting, setting_name=name,
                                                 replications=n)))
    return out


def _rows(setting: str, overrides: list[str], reps: pd.DataFrame, labels: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for arm in dict.fromkeys(reps["arm"]):
        sub = reps[reps["arm"] == arm]
        row: dict[str, Any] = {"setting": setting, "overrides": " ".join(overrides), "replications": len(sub),
                               "arm": arm, "label": labels[arm]}
        for key in HEADLINE:
            d = describe(sub[key].to_numpy())
            row[f"{key}_mean"], row[f"{key}_p05"], row[f"{key}_p95"] = d["mean"], d["p05"], d["p95"]
        rows.append(row)
    return rows


def stress_table(main: pd.DataFrame, results: list[tuple[str, list[str], pd.DataFrame]],
                 labels: dict[str, str], common: list[str]) -> pd.DataFrame:
    """Per setting (the main comparison first, as ``as run``) and arm: the headline and the
    preferred arm in each view of money (``preferred_som``, ``preferred_budget``: this arm is the
    one with the highest mean municipal net), ``preference_changes_*``: the setting prefers
    another arm than the main comparison."""
    rows = _rows("as run", common, main, labels)
    for name, setting, reps in results:
        rows += _rows(name, setting, reps, labels)
    table = pd.DataFrame(rows)
    for view, key in VIEWS.items():
        best = table.loc[table.groupby("setting", sort=False)[f"{key}_mean"].idxmax(), ["setting", "arm"]]
        best = dict(zip(best["setting"], best["arm"], strict=True))
        table[f"preferred_{view}"] = [best[s] == a for s, a in zip(table["setting"], table["arm"], strict=True)]
        table[f"preference_changes_{view}"] = [best[s] != best["as run"] for s in table["setting"]]
    return table


def run_stress(params: PeersimConfig, settings: list[tuple[str, list[str], Any]], main: pd.DataFrame,
               labels: dict[str, str], common: list[str], n_jobs: int) -> pd.DataFrame:
    """Run every setting's configurations and return :func:`stress_table`."""
    results = []
    for name, setting, (keys, configs, draws) in settings:
        summaries = _runner.run_many(configs, n_jobs=n_jobs, label=f"stress {name} ({len(configs)} runs)",
                                     progress=params.experiment.progress, fn=replicate)
        results.append((name, setting, replication_table(keys, configs, draws, summaries, params)))
    return stress_table(main, results, labels, common)


def stress_summary(table: pd.DataFrame) -> dict[str, Any]:
    """``comparison_summary.json``'s ``stress``: per setting its overrides, replications, per arm
    the mean municipal net in both views, and the preferred arm in each view."""
    out = {}
    for setting, sub in table.groupby("setting", sort=False):
        out[setting] = {
            "overrides": sub["overrides"].iloc[0].split(),
            "replications": int(sub["replications"].iloc[0]),
            "net_municipal_dkk": dict(zip(sub["arm"], sub["net_municipal_dkk_mean"], strict=True)),
            "net_municipal_budget_dkk": dict(zip(sub["arm"], sub["net_municipal_budget_dkk_mean"], strict=True)),
            **{f"preferred_{v}": str(sub.loc[sub[f"preferred_{v}"], "arm"].iloc[0]) for v in VIEWS},
            **{f"preference_changes_{v}": bool(sub[f"preference_changes_{v}"].iloc[0]) for v in VIEWS},
        }
    return out


def stress_lines(table: pd.DataFrame) -> list[str]:
    """The section of ``comparison.md``: one row per setting, the mean municipal net of each arm
    (SØM view / budget view) and the arm preferred, marked where it differs from the main comparison."""
    arms = list(dict.fromkeys(table["arm"]))
    labels = dict(zip(table["arm"], table["label"], strict=True))
    lines = ["## The decision under other assumptions", "",
             "The comparison re-run with each setting's overrides applied to every arm (same seeds). Each cell: "
             "mean municipal net result, SØM view / budget view (DKK). Preferred: the arm with the highest "
             "mean, in each view; **changed** where that differs from the comparison as run.", "",
             "| Setting | Replications | " + " | ".join(labels[a] for a in arms) + " | Preferred (SØM / budget) |",
             "|---|---|" + "---|" * len(arms) + "---|"]
    for setting, sub in table.groupby("setting", sort=False):
        by_arm = {r["arm"]: r for _, r in sub.iterrows()}
        name = setting if setting == "as run" else f"{setting}: `{sub['overrides'].iloc[0]}`"
        pref = []
        for v in VIEWS:
            arm = sub.loc[sub[f"preferred_{v}"], "arm"].iloc[0]
            pref.append(labels[arm] + (" (**changed**)" if bool(sub[f"preference_changes_{v}"].iloc[0]) else ""))
        cells = [f"{dkk(by_arm[a]['net_municipal_dkk_mean'])} / {dkk(by_arm[a]['net_municipal_budget_dkk_mean'])}"
                 if a in by_arm else "n/a" for a in arms]
        lines.append(f"| {name} | {int(sub['replications'].iloc[0])} | " + " | ".join(cells) + " | "
                     + " / ".join(pref) + " |")
    return [*lines, "", "Table: `stress.csv` (also citizens started, successes and the 90% intervals).", ""]
