"""Compare implementations: own local coordinator, local partnership, coordinator shared with a neighbour.

    peersim experiment=compare_implementations                              # Fredericia, 200 replications
    peersim experiment=compare_implementations experiment.replications=500 municipality=kolding
    peersim experiment=compare_implementations experiment.psa=true           # parameters drawn per replication

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

**Two views of money.** The SØM view (``net_municipal_dkk``, ``fund_net_dkk``) counts every
success's 5-year saving and every outcome payment, also those after the run; the budget view
(``*_budget_dkk``, the break-even years) counts what is paid and saved in each programme year of
the run (:mod:`~.budget`). Every table, the report and the charts carry both, named.

**Arms of your own.** ``experiment.arm_overrides.<arm>`` gives one arm its own overrides and
``experiment.named_arms.<name>`` adds an arm (a built-in arm's implementation with overrides),
validated as a command line before any run (:mod:`~.settings`). ``experiment.stress.<name>``
re-runs the comparison under alternative assumptions (:mod:`~.stress`).

Outputs (in the run folder): ``comparison``, ``differences``, ``replications``,
``outcomes_by_time``, ``pairing``, ``break_even``, ``budget_by_year`` and (with stress settings)
``stress`` as CSV and Parquet, ``comparison_summary.json`` (written last), ``comparison.md`` and
ten PNG charts.
The 90% interval is the 5th to the 95th percentile over replications (``numpy.percentile``,
linear interpolation); ``*_se`` is the Monte-Carlo standard error of the mean (sd / sqrt(n)).

**Modules.** :mod:`~.arms` (the arms, labels, metrics and contrasts, and paired differences),
:mod:`~.settings` (each arm's overrides: built-in and named arms, per-arm overrides),
:mod:`~.runs` (the settings, each arm's configuration, PSA draws, one replication, the replication
table and the headline), :mod:`~.outcomes` (outcomes beyond money, the series over time reduced
in the worker, the variance reduction of pairing), :mod:`~.budget` (the budget view: each
replication's cumulative net by year, break-even under uncertainty, the fan), :mod:`~.report`
and :mod:`~.report_outcomes` (the tables and ``comparison.md``), :mod:`~.stress` (the decision
under alternative assumptions), :mod:`~.charts`, :mod:`~.budget_charts` and
:mod:`~.outcome_charts` (the distribution, fan, break-even and over-time charts); this package
runs them in order (:func:`run_compare`) and exposes the experiment (``EXPERIMENTS``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import peersim.experiments._runner as _runner
from peersim.config import as_dict
from peersim.experiments.base import Experiment
from peersim.experiments.compare.arms import (
    ARM_LABELS,
    ARMS,
    CONTRASTS,
    DEFAULT_NEIGHBOURS,
    METRIC_KEYS,
    METRICS,
    NAME,
    contrasts_of,
    paired,
)
from peersim.experiments.compare.budget import break_even_table, budget_by_year_table
from peersim.experiments.compare.budget_charts import save_budget_charts
from peersim.experiments.compare.charts import save_charts
from peersim.experiments.compare.outcome_charts import save_outcome_charts
from peersim.experiments.compare.outcomes import pairing_table, time_table
from peersim.experiments.compare.report import (
    Q_HI,
    Q_LO,
    comparison_table,
    describe,
    differences_table,
    report_markdown,
)
from peersim.experiments.compare.report_outcomes import outcome_lines, pairing_lines, pairing_summary
from peersim.experiments.compare.runs import (
    ALL_KEYS,
    PSA_STREAM,
    RUN_KEYS,
    CompareImplementations,
    arm_settings,
    build_configs,
    headline,
    municipality_figures,
    neighbour_display_name,
    neighbour_of,
    print_headline,
    psa_rng,
    replicate,
    replication_table,
    uses_neighbour,
)
from peersim.experiments.compare.settings import arm_variant, arms_of, check_overrides, common_overrides
from peersim.experiments.compare.stress import run_stress, stress_lines, stress_settings, stress_summary
from peersim.io import begin_result, write_json, write_tables, write_text
from peersim.params import PeersimConfig

__all__ = [
    "ALL_KEYS", "ARMS", "ARM_LABELS", "CONTRASTS", "DEFAULT_NEIGHBOURS", "EXPERIMENTS", "METRICS",
    "METRIC_KEYS", "NAME", "PSA_STREAM", "Q_HI", "Q_LO", "RUN_KEYS", "CompareImplementations", "arm_variant",
    "break_even_table", "budget_by_year_table", "build_configs", "check_overrides", "common_overrides",
    "comparison_table", "describe", "differences_table",
    "headline", "municipality_figures", "neighbour_of", "paired", "psa_rng", "replicate", "report_markdown",
    "run_compare", "save_budget_charts", "save_charts",
]


def run_compare(params: PeersimConfig, overrides: list[str], outdir: Path) -> dict[str, Any]:
    """Run every arm ``experiment.replications`` times with common random numbers (and again under
    each stress setting) and write the comparison (tables, summary, report, charts) into
    ``outdir``. Returns the headline summary."""
    t0 = time.perf_counter()
    exp: CompareImplementations = params.experiment
    keys, configs, draws = build_configs(params, overrides)  # every input check, before any run or file
    stress = stress_settings(params, overrides)
    neighbour = neighbour_of(params) if uses_neighbour(params) else None
    specs = arms_of(exp, neighbour_display_name(configs, neighbour))
    arms = [a.name for a in specs]
    labels = {a.name: a.label for a in specs}
    contrasts = contrasts_of(arms, {a.name: a.base for a in specs})
    n_jobs = _runner.default_jobs(exp.n_jobs)
    summaries = _runner.run_many(configs, n_jobs=n_jobs, label=f"{NAME} ({len(arms)} arms x {exp.replications})",
                                 progress=exp.progress, fn=replicate)
    series = list(summaries.pop("series"))
    reps = replication_table(keys, configs, draws, summaries, params)
    del summaries
    comparison = comparison_table(reps, arms, labels, years=params.years)
    differences = differences_table(reps, contrasts)
    funded = dict(zip(comparison["arm"], comparison["contract_active"], strict=True))
    tables = {"comparison": comparison, "differences": differences, "replications": reps,
              "outcomes_by_time": time_table(keys, series, arms, labels),
              "pairing": pairing_table(reps, contrasts),
              "break_even": break_even_table(reps, arms, labels, params.years, funded),
              "budget_by_year": budget_by_year_table(reps, arms, labels, params.years, funded)}
    common = common_overrides(overrides)
    if stress:
        tables["stress"] = run_stress(params, stress, reps, labels, common, n_jobs)
    wall = time.perf_counter() - t0

    begin_result(outdir, "comparison_summary.json")
    write_tables(outdir, tables, params.output)
    summary = headline(params, comparison, differences, reps, labels, neighbour=neighbour,
                       neighbour_label=neighbour_display_name(configs, neighbour), n_jobs=n_jobs,
                       wall_seconds=wall, overrides=common, arm_settings=arm_settings(params, specs))
    summary["pairing"] = pairing_summary(tables["pairing"])
    summary["stress"] = stress_summary(tables["stress"]) if stress else {}
    sections = [*outcome_lines(summary, comparison, differences), *pairing_lines(tables["pairing"]),
                *(stress_lines(tables["stress"]) if stress else [])]
    write_text(outdir / "comparison.md", report_markdown(summary, comparison, differences, sections))
    if params.output.charts:
        save_charts(reps, comparison, differences, summary, outdir)
        save_budget_charts(tables["budget_by_year"], tables["break_even"], summary, outdir)
        save_outcome_charts(tables["outcomes_by_time"], summary, outdir)
    write_json(outdir / "config.json", as_dict(params))
    summary["wall_seconds"] = time.perf_counter() - t0
    write_json(outdir / "comparison_summary.json", summary)
    print_headline(summary, outdir)
    return summary


EXPERIMENTS = [
    Experiment(
        name=NAME,
        schema=CompareImplementations,
        run=run_compare,
        description="Own local coordinator vs local partnership vs a coordinator shared with a neighbour, "
                    "paired replications (common random numbers), optional parameter uncertainty",
    )
]
