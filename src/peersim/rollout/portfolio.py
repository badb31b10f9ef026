"""A plan's coordinator groups simulated one by one, their yearly rows on the calendar.

Each group (one coordinator and its municipalities) is an independent run of the existing model
(:func:`peersim.simulate.run`) from its start year to the plan's last year: its municipalities start
with an empty volunteer pool and no borrowed coordinator capacity, as every run does. Its seed is
drawn from the plan's seed and the host's LAU code, so the same group gets the same random numbers
in every plan it is part of (common random numbers when plans are compared).

:func:`group_rows` splits a group's run into one row per municipality per calendar year: counts by
the municipality's own citizens and courses; what belongs to the coordinator (FTE, volunteers,
burnouts, costs) by the municipalities' share of the group's adults; outcome payments and SØM
savings from the economics of the municipality's own citizens. Years are budget years: flows after
the plan's last year are not counted (docs/rollout.md).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from peersim import municipalities as M
from peersim.economics import evaluate
from peersim.economics.discounting import year_of_week
from peersim.params import PeersimConfig, PlanBuilderParams, RolloutParams
from peersim.rollout.plan import Group, Plan, build_plan
from peersim.validation import ConfigError

ROW_COLUMNS = (
    "municipality", "name", "region", "year", "plan_year", "active", "implementation", "coordinator_group",
    "coordinator_fte", "courses_started", "citizens_referred", "citizens_started", "successes",
    "volunteers_active", "volunteer_burnouts", "cost_programme_dkk", "cost_fund_dkk", "cost_municipal_dkk",
    "outcome_payments_dkk", "som_savings_dkk", "budget_net_dkk", "cumulative_budget_net_dkk", "fund_net_dkk",
)


def group_seed(seed: int, host: str) -> int:
    """The seed of a group's run: from the plan's seed and the host's LAU code (the same in every plan)."""
    return int(np.random.SeedSequence([int(seed), M.lookup(host).code]).generate_state(1, np.uint64)[0] >> 1)


def _scenario_values(params: PeersimConfig, implementation: str) -> dict:
    """The keys ``conf/scenario/<implementation>.yaml`` sets (scenario, coordinator)."""
    from peersim.config import conf_dir

    path = Path(conf_dir()) / "scenario" / f"{implementation}.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def group_params(params: PeersimConfig, group: Group, plan: Plan) -> PeersimConfig:
    """The parameters of one group's run: its municipalities (presets keep their calibrated values),
    its implementation and FTE, its years from its start to the plan's end, its own seed."""
    from peersim.config import municipality_preset

    p = copy.deepcopy(params)
    if group.implementation != p.scenario.implementation:
        for section, values in _scenario_values(params, group.implementation).items():
            if section in ("scenario", "coordinator") and isinstance(values, dict):
                for key, value in values.items():
                    setattr(getattr(p, section), key, value)
    members = [municipality_preset(m, key="rollout") for m in group.members]
    for m in members:
        m.coordinator_group = members[0].name
    p.municipality, p.extra_municipalities, p.shared_with = members[0], members[1:], []
    if group.coordinator_fte is not None:
        p.coordinator.fte = float(group.coordinator_fte)
    p.years = plan.end_year - group.start_year + 1
    p.seed = group_seed(params.seed, group.host)
    p.rollout = RolloutParams(name="none", start_year=plan.start_year,
                              programme_office_dkk_per_year=plan.programme_office_dkk_per_year,
                              waves=[], shared_with={}, build=PlanBuilderParams())
    p.experiment = None
    return p


def _by_year(weeks: pd.Series, mask: np.ndarray, n_years: int) -> np.ndarray:
    w = weeks.to_numpy(dtype=float)
    ok = mask & np.isfinite(w) & (w >= 1)
    years = year_of_week(w[ok].astype(np.int64))
    return np.bincount(years[years <= n_years] - 1, minlength=n_years)[:n_years].astype(float)


def _flow(cashflow: pd.DataFrame, party: str, flow: str, n_years: int) -> np.ndarray:
    """Yearly sum of a party's flow (signed, the party's view), years 1..n_years."""
    rows = cashflow[(cashflow["party"] == party) & (cashflow["flow"] == flow) & (cashflow["year"] <= n_years)]
    out = np.zeros(n_years)
    np.add.at(out, rows["year"].to_numpy(np.int64) - 1, rows["amount_dkk"].to_numpy(float))
    return out


def group_rows(result, group: Group, plan: Plan) -> pd.DataFrame:
    """One row per municipality of ``group`` per calendar year of its run (see the module)."""
    p = result.params
    n = p.years
    ts, cit, courses = result.timeseries, result.citizens, result.courses
    cash = result.extra_tables["cashflow"]
    model_names = [m.name for m in p.municipalities]
    adult = np.array([m.population * m.adult_share for m in p.municipalities])
    share = adult / adult.sum()
    week_year = year_of_week(ts["week"].to_numpy(np.int64).clip(1))
    last_week = ts.groupby(week_year)["n_volunteers_active"].last().reindex(range(1, n + 1), fill_value=0)
    burn = ts[ts["week"] >= 1].groupby(week_year[ts["week"].to_numpy() >= 1])["new_volunteer_burnouts"].sum()
    burn = burn.reindex(range(1, n + 1), fill_value=0).to_numpy(float)
    costs = {party: -_flow(cash, party, "cost", n) for party in ("programme", "fund", "municipality")}
    frames = []
    for i, (cli, model_name) in enumerate(zip(group.members, model_names, strict=True)):
        own = cit["municipality"] == model_name
        if len(group.members) == 1:
            own_cash = cash
        else:
            own_cash = evaluate(ts, cit[own], p.economics, weeks=p.weeks,
                                implementation=p.scenario.implementation).cashflow
        payments = -_flow(own_cash, "municipality", "payment", n)
        savings = _flow(own_cash, "municipality", "saving", n)
        m = M.lookup(cli)
        budget = savings - payments - share[i] * costs["municipality"]
        frames.append(pd.DataFrame({
            "municipality": cli, "name": m.name, "region": m.region,
            "year": np.arange(group.start_year, group.start_year + n),
            "plan_year": np.arange(group.start_year, group.start_year + n) - plan.start_year + 1,
            "active": True, "implementation": group.implementation, "coordinator_group": group.host,
            "coordinator_fte": share[i] * p.coordinator.fte,
            "courses_started": _by_year(courses["start_week"], (courses["municipality"] == model_name).to_numpy(), n),
            "citizens_referred": _by_year(cit["ti_referred"], own.to_numpy(), n),
            "citizens_started": _by_year(cit["ti_start"], (own & cit["started"].astype(bool)).to_numpy(), n),
            "successes": _by_year(cit["ti_success"], (own & cit["success"].fillna(False).astype(bool)).to_numpy(), n),
            "volunteers_active": share[i] * last_week.to_numpy(float),
            "volunteer_burnouts": share[i] * burn,
            "cost_programme_dkk": share[i] * costs["programme"],
            "cost_fund_dkk": share[i] * costs["fund"],
            "cost_municipal_dkk": share[i] * costs["municipality"],
            "outcome_payments_dkk": payments + 0.0, "som_savings_dkk": savings + 0.0, "budget_net_dkk": budget + 0.0,
            "fund_net_dkk": payments - share[i] * costs["fund"],
        }))
    return pd.concat(frames, ignore_index=True)


def _calendar(rows: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Every municipality on every calendar year of the plan (zero rows before it starts), with
    its cumulative budget net; ordered by municipality (LAU code), then year."""
    years = plan.years
    out = []
    for cli, own in rows.groupby("municipality", sort=False):
        first = own.iloc[0]
        before = [y for y in years if y < own["year"].min()]
        pad = pd.DataFrame({c: [first[c]] * len(before) for c in ("municipality", "name", "region",
                                                                   "implementation", "coordinator_group")})
        pad["year"] = before
        pad["plan_year"] = [y - plan.start_year + 1 for y in before]
        pad["active"] = False
        both = pd.concat([pad, own], ignore_index=True) if before else own.copy()
        both = both.fillna({c: 0.0 for c in ROW_COLUMNS if c.endswith(("_dkk", "_fte")) or c in
                            ("courses_started", "citizens_referred", "citizens_started", "successes",
                             "volunteers_active", "volunteer_burnouts")})
        both["cumulative_budget_net_dkk"] = both["budget_net_dkk"].cumsum()
        both["_code"] = M.lookup(cli).code
        out.append(both)
    table = pd.concat(out, ignore_index=True).sort_values(["_code", "year"]).drop(columns="_code")
    table["active"] = table["active"].astype(bool)
    return table[list(ROW_COLUMNS)].reset_index(drop=True)


def check_runnable(params: PeersimConfig) -> None:
    """What a plan cannot be combined with, as one line."""
    if params.trial.enabled:
        raise ConfigError("rollout: a roll-out plan cannot run scenario=trial; use scenario=local_coordinator "
                          "(the plan sets each group's implementation)")
    if params.economics.mode != "simulated":
        raise ConfigError("rollout: a roll-out plan needs economics.mode=simulated (its yearly rows come "
                          f"from the simulated citizens), got economics.mode={params.economics.mode}")


def run_groups(params: PeersimConfig, *, run: Callable | None = None) -> tuple[Plan, pd.DataFrame]:
    """Build the plan of ``params.rollout``, run every group, and return the plan and its rows."""
    from peersim.simulate import run as simulate

    check_runnable(params)
    plan = build_plan(params.rollout, params.years, adult_share=params.municipality.adult_share)
    rows = [group_rows((run or simulate)(group_params(params, g, plan)), g, plan) for g in plan.groups]
    return plan, _calendar(pd.concat(rows, ignore_index=True), plan)
