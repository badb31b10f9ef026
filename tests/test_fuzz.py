"""Random valid configurations: every one runs, accounts for every citizen and volunteer, and
keeps its money identities.

Each test run draws ``CASES`` configurations from a master seed: a scenario, a municipality (the
generic one with a random population too), a horizon of 1-3 years, a run seed, a coordinator's
FTE and a value for every uncertain parameter from its distribution (conf/uncertainty/). The
master seed is new on every test run, so CI tries new configurations each time; it is printed in
every failure. To repeat a failing draw::

    PEERSIM_FUZZ_SEED=<master seed> make test ARGS="tests/test_fuzz.py"
"""

from __future__ import annotations

import copy
import os
import secrets

import numpy as np
import pytest
from test_edges import _check_counts

from peersim import ConfigError, load_config, run
from peersim.params import validate
from peersim.uncertainty import apply_draw, draw

CASES = 24
MASTER = int(os.environ.get("PEERSIM_FUZZ_SEED") or secrets.randbelow(2**31))
SCENARIOS = ("local_coordinator", "partnership")
MUNICIPALITIES = ("fredericia", "kolding", "rodovre", "helsingor", "gladsaxe", "generic")

_BASES: dict[tuple[str, str], object] = {}


def _base(scenario: str, municipality: str):
    key = (scenario, municipality)
    if key not in _BASES:
        _BASES[key] = load_config([f"scenario={scenario}", f"municipality={municipality}", "output.charts=false"])
    return copy.deepcopy(_BASES[key])


def random_config(case: int):
    """The ``case``-th configuration of this test run's master seed, and what was drawn."""
    rng = np.random.default_rng([MASTER, case])
    scenario = SCENARIOS[rng.integers(len(SCENARIOS))]
    municipality = MUNICIPALITIES[rng.integers(len(MUNICIPALITIES))]
    params = _base(scenario, municipality)
    params.seed = int(rng.integers(0, 1_000_000))
    params.years = int(rng.integers(1, 4))
    if municipality == "generic":
        params.municipality.population = int(rng.integers(5_000, 200_000))
    params.coordinator.fte = float(np.round(rng.uniform(0.1, 2.5), 2))
    params = apply_draw(params, draw(params, rng))
    what = (f"master seed {MASTER}, case {case}: scenario={scenario} municipality={municipality} "
            f"seed={params.seed} years={params.years} coordinator.fte={params.coordinator.fte}")
    return params, what


def _close(a: float, b: float, what: str, name: str) -> None:
    assert a == pytest.approx(b, rel=1e-9, abs=1e-3), f"{name}: {a} != {b} ({what})"


def _check_money(result, what: str) -> None:
    s, cf = result.summary, result.extra_tables["cashflow"]
    _close(s["net_municipal_dkk"], s["savings_total_dkk"] - s["municipal_cost_dkk"], what, "SØM-view net")
    _close(s["municipal_cost_dkk"], s["municipal_payments_dkk"] + s["cost_municipal_own_dkk"], what,
           "municipal cost = payments + own costs")
    _close(s["cost_total_dkk"], s["cost_startup_dkk"] + s["cost_operation_dkk"], what, "costs: start-up + operation")
    _close(s["cost_total_dkk"], s["cost_fund_financed_dkk"] + s["cost_municipal_own_dkk"], what,
           "costs: fund-financed + the municipality's own")
    _close(s["savings_total_dkk"], s["savings_social_dkk"] + s["savings_health_dkk"] + s["savings_employment_dkk"],
           what, "savings by area")
    _close(s["fund_net_dkk"], s["municipal_payments_dkk"] - s["cost_fund_financed_dkk"], what,
           "fund net = payments received - costs financed")
    # the cash flow holds every krone: the programme's costs, each party's budget within the run
    by = cf.groupby(["party", "flow"])["amount_dkk"].sum()
    _close(-float(cf.loc[cf["party"] == "programme", "amount_dkk"].sum()), s["cost_total_dkk"], what,
           "cash flow: programme costs")
    _close(float(by.get(("fund", "payment"), 0.0)), -float(by.get(("municipality", "payment"), 0.0)), what,
           "cash flow: payments leave the municipality and reach the fund")
    in_run = cf["year"] <= s["years"]
    for party, key in (("municipality", "net_municipal_budget_dkk"), ("fund", "fund_net_budget_dkk")):
        _close(float(cf.loc[in_run & (cf["party"] == party), "amount_dkk"].sum()), s[key], what,
               f"cash flow: {key}")
    assert s["cost_total_dkk"] >= 0 and s["savings_total_dkk"] >= 0, what


@pytest.mark.parametrize("case", range(CASES))
def test_a_random_valid_configuration_runs_and_balances(case):
    params, what = random_config(case)
    try:
        validate(params)
    except ConfigError as exc:  # a draw a cross-field rule refuses is not a valid configuration
        pytest.skip(f"refused ({what}): {exc}")
    try:
        result = run(params)
    except Exception as exc:
        raise AssertionError(f"the run crashed ({what}): {type(exc).__name__}: {exc}") from exc
    try:
        _check_counts(result)
    except AssertionError as exc:
        raise AssertionError(f"{exc} ({what})") from None
    _check_money(result, what)


def test_most_random_configurations_are_valid():
    """The draw stays inside what validation accepts (else the test above would test little)."""
    refused = 0
    for case in range(CASES):
        params, _ = random_config(case)
        try:
            validate(params)
        except ConfigError:
            refused += 1
    assert refused <= CASES // 4, f"master seed {MASTER}: {refused} of {CASES} draws refused"
