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
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from peersim import municipalities as M
from peersim.course import courses_to_frame
from peersim.economics.discounting import year_of_week
from peersim.economics.evaluate import cashflow_frame, evaluate_cashflow
from peersim.economics.tables import TableLike, column
from peersim.model import PeersimModel
from peersim.params import MunicipalityParams, PeersimConfig, PlanBuilderParams, RolloutParams
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


@functools.cache
def _preset_files(folder: Path) -> frozenset[str]:
    """The names of the municipality presets in ``folder`` (read once a process)."""
    return frozenset(p.stem for p in folder.glob("*.yaml"))


@functools.cache
def _common_values(folder: Path) -> dict:
    """The common municipality values, ``folder/_common.yaml`` (read once a process; callers copy it)."""
    return yaml.safe_load((folder / "_common.yaml").read_text(encoding="utf-8"))


@functools.cache
def _preset(name: str) -> MunicipalityParams:
    """A municipality's parameters (a preset's calibrated values, or the common ones and its own
    population, as :func:`peersim.config.municipality_preset` gives them), read once; callers copy it."""
    from peersim.config import conf_dir, municipality_preset

    folder = Path(conf_dir()) / "municipality"
    if (folder / f"{name}.yaml").is_file() or not M.is_municipality(name):
        return municipality_preset(name, key="rollout")
    m = M.lookup(name)
    if _preset_files(folder) & {m.cli_name, *m.aliases}:  # another spelling of a preset
        return municipality_preset(name, key="rollout")
    common = copy.deepcopy(_common_values(folder))
    common["coordinator_group"] = m.cli_name
    return MunicipalityParams(name=m.cli_name, label=m.name, population=m.population, **common)


def group_params(params: PeersimConfig, group: Group, plan: Plan) -> PeersimConfig:
    """The parameters of one group's run: its municipalities (presets keep their calibrated values),
    its implementation and FTE, its years from its start to the plan's end, its own seed."""
    p = copy.deepcopy(params)
    if group.implementation != p.scenario.implementation:
        for section, values in _scenario_values(params, group.implementation).items():
            if section in ("scenario", "coordinator") and isinstance(values, dict):
                for key, value in values.items():
                    setattr(getattr(p, section), key, value)
    members = [copy.deepcopy(_preset(m)) for m in group.members]
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


def _flows(cashflow: TableLike, n_years: int) -> dict[tuple[str, str], np.ndarray]:
    """Yearly sums (years 1..n_years) of every (party, flow) of a cash-flow table (a DataFrame or
    numpy columns), signed from the party's point of view."""
    year = column(cashflow, "year", np.int64)
    keep = year <= n_years
    party, flow = column(cashflow, "party")[keep], column(cashflow, "flow")[keep]
    amount, year = column(cashflow, "amount_dkk", float)[keep], year[keep] - 1
    out = {}
    for key in set(zip(party.tolist(), flow.tolist(), strict=True)):
        mask = (party == key[0]) & (flow == key[1])
        out[key] = np.bincount(year[mask], weights=amount[mask], minlength=n_years)[:n_years]
    return out


def _flow(flows: dict[tuple[str, str], np.ndarray], party: str, flow: str, n_years: int) -> np.ndarray:
    return flows.get((party, flow), np.zeros(n_years))


def group_rows(result, group: Group, plan: Plan) -> pd.DataFrame:
    """One row per municipality of ``group`` per calendar year of its run (see the module)."""
    p = result.params
    n = p.years
    ts, cit, courses = result.timeseries, result.citizens, result.courses
    cash = _flows(result.extra_tables["cashflow"], n)
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
            own_cash = _flows(evaluate_cashflow(ts, cit[own], p.economics, weeks=p.weeks,
                                                implementation=p.scenario.implementation), n)
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
    first = rows.groupby("municipality", sort=False).first()
    start = rows.groupby("municipality", sort=False)["year"].min()
    pads = [(cli, y) for cli in first.index for y in plan.years if y < start[cli]]
    table = rows
    if pads:
        clis, years = zip(*pads, strict=True)
        pad = first.loc[list(clis), ["name", "region", "implementation", "coordinator_group"]].reset_index()
        pad["year"] = list(years)
        pad["plan_year"] = pad["year"] - plan.start_year + 1
        pad["active"] = False
        table = pd.concat([pad, rows], ignore_index=True)
        zero = [c for c in ROW_COLUMNS if c not in pad.columns and c != "cumulative_budget_net_dkk"]
        table[zero] = table[zero].fillna(0.0)
    table["_code"] = table["municipality"].map({cli: M.lookup(cli).code for cli in first.index})
    table = table.sort_values(["_code", "year"], kind="stable").drop(columns="_code").reset_index(drop=True)
    table["active"] = table["active"].astype(bool)
    table["cumulative_budget_net_dkk"] = table.groupby("municipality", sort=False)["budget_net_dkk"].cumsum()
    return table[list(ROW_COLUMNS)]


def check_runnable(params: PeersimConfig) -> None:
    """What a plan cannot be combined with, as one line."""
    if params.trial.enabled:
        raise ConfigError("rollout: a roll-out plan cannot run scenario=trial; use scenario=local_coordinator "
                          "(the plan sets each group's implementation)")
    if params.economics.mode != "simulated":
        raise ConfigError("rollout: a roll-out plan needs economics.mode=simulated (its yearly rows come "
                          f"from the simulated citizens), got economics.mode={params.economics.mode}")


@dataclass
class GroupRun:
    """What :func:`group_rows` reads of a group's run (a :class:`peersim.simulate.RunResult` has it too)."""

    params: PeersimConfig
    timeseries: pd.DataFrame
    citizens: pd.DataFrame
    courses: pd.DataFrame
    extra_tables: dict[str, pd.DataFrame]


def simulate_group(params: PeersimConfig) -> GroupRun:
    """One group's run: the model without Mesa agents for citizens and volunteers (their
    registries hold every figure; the results are the same), its tables and its cash flow."""
    model = PeersimModel(params, make_agents=False)
    model.run()
    names = [m.name for m in model.municipality_list]
    ts = model.timeseries()
    citizens = model.citizens.to_frame(names)
    cashflow = evaluate_cashflow(ts, citizens, params.economics, weeks=params.weeks,
                                 implementation=params.scenario.implementation)
    return GroupRun(params, ts, citizens, courses_to_frame(model.courses, names), {"cashflow": cashflow_frame(cashflow)})


def run_groups(params: PeersimConfig, *, run: Callable | None = None) -> tuple[Plan, pd.DataFrame]:
    """Build the plan of ``params.rollout``, run every group (``run``: by default
    :func:`simulate_group`), and return the plan and its rows."""
    check_runnable(params)
    plan = build_plan(params.rollout, params.years, adult_share=params.municipality.adult_share)
    rows = [group_rows((run or simulate_group)(group_params(params, g, plan)), g, plan) for g in plan.groups]
    return plan, _calendar(pd.concat(rows, ignore_index=True), plan)
