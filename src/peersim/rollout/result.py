"""Run a roll-out plan and write its files: the Python API behind ``peersim rollout=<plan>``.

    >>> from peersim import load_config
    >>> from peersim.rollout.result import run_plan
    >>> result = run_plan(load_config(["rollout=first_ten"]))
    >>> result.summary["rollout_peak_capital_need_dkk"], result.rows.shape
    >>> result.write("my_plan")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

import peersim
from peersim.config import as_dict, config_hash
from peersim.folders import check_run_folder, clear_results
from peersim.io import begin_result, json_safe, save_figures, write_json, write_tables
from peersim.params import PeersimConfig
from peersim.refusals import folder
from peersim.rollout.plan import Plan
from peersim.rollout.portfolio import run_groups
from peersim.rollout.summary import plan_summary
from peersim.validation import ConfigError


@dataclass
class RolloutResult:
    params: PeersimConfig
    plan: Plan
    rows: pd.DataFrame       # one row per municipality per calendar year (peersim.rollout.portfolio.ROW_COLUMNS)
    fund: pd.DataFrame       # the fund by calendar year (peersim.rollout.summary.fund_table)
    summary: dict[str, Any]

    def write(self, outdir: str | os.PathLike, *, charts: bool | None = None, overwrite: bool | None = None) -> Path:
        """``rollout`` and ``rollout_fund`` tables, the charts, ``config.json``, then ``summary.json``."""
        outdir = folder(outdir, "RolloutResult.write")
        check_run_folder(outdir, self.summary.get("config_hash"), key="outdir",
                         overwrite=self.params.output.overwrite if overwrite is None else overwrite,
                         how="pass overwrite=True (or set output.overwrite)")
        clear_results(outdir)
        out = begin_result(outdir, "summary.json")
        write_tables(out, {"rollout": self.rows, "rollout_fund": self.fund}, self.params.output)
        if self.params.output.charts if charts is None else charts:
            from peersim.rollout.charts import rollout_charts

            save_figures(out, rollout_charts(self.rows, self.fund, self.summary))
        write_json(out / "config.json", as_dict(self.params))
        write_json(out / "summary.json", self.summary)
        return out


def run_plan(params: PeersimConfig, *, run=None) -> RolloutResult:
    """Simulate every coordinator group of ``params.rollout`` and aggregate the plan."""
    if not params.rollout.active:
        raise ConfigError("run_plan: no roll-out plan selected; choose one with rollout=<plan> "
                          "(first_ten, region_<name>, national, national_own)")
    plan, rows = run_groups(params, run=run)
    summary, fund = plan_summary(rows, plan)
    summary = {"seed": params.seed, "years": params.years, **summary,
               "peersim_version": peersim.__version__, "config_hash": config_hash(params)}
    return RolloutResult(params, plan, rows, fund, json_safe(summary))
