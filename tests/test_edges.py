"""Every value validation accepts runs: each numeric field with a declared range, at its edges.

For every numeric field of the schema with range metadata (``between(lo, hi)``), a short run is
made at the low edge and at the high edge (for an open upper end: a large value), each alone on
top of the defaults. A value that validation refuses (a cross-field rule, e.g. weights that must
sum to 1) is not accepted, so it is not run; every accepted value must finish, with every citizen
and every volunteer accounted for. A crash here means the model must handle the edge, or the
declared range must exclude it (with the reason in the conf comment).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import typing

import numpy as np
import pytest

from peersim import ConfigError, load_config, run
from peersim.params import PeersimConfig, validate
from peersim.volunteer import VolunteerState

OPEN_HIGH = {int: 1_000, float: 1_000.0}  # "a large value" for a range open at the top


def _numeric_fields(cls: type, prefix: str = "") -> list[tuple[str, type, float | None, float | None]]:
    """(dotted key, type, lo, hi) of every int/float field with range metadata under ``cls``."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint, key = hints[f.name], f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hint):
            out += _numeric_fields(hint, key + ".")
        elif hint in (int, float) and ("lo" in f.metadata or "hi" in f.metadata):
            out.append((key, hint, f.metadata.get("lo"), f.metadata.get("hi")))
    return out


FIELDS = _numeric_fields(PeersimConfig)


def _edges() -> list[tuple[str, object]]:
    cases = []
    for key, kind, lo, hi in FIELDS:
        if key == "seed":
            continue  # its edges are the seed itself (tested in test_cli: the largest seed)
        values = [lo if lo is not None else -OPEN_HIGH[kind]]
        values.append(hi if hi is not None and math.isfinite(hi) else max(OPEN_HIGH[kind], (lo or 0) * 10))
        for v in dict.fromkeys(kind(x) for x in values):
            cases.append((key, v))
    return cases


EDGES = _edges()


def _set(params: PeersimConfig, key: str, value) -> None:
    *path, name = key.split(".")
    node = params
    for part in path:
        node = getattr(node, part)
    setattr(node, name, value)


@pytest.fixture(scope="module")
def base() -> PeersimConfig:
    return load_config(["years=1", "output.charts=false"])


def _check_counts(result) -> None:
    ts, citizens = result.timeseries, result.citizens
    last = ts.iloc[-1]
    assert len(citizens) == last["cum_citizens_referred"], "citizen rows != cumulative referred"
    exits = last["cum_citizens_declined"] + last["cum_citizens_gave_up"] + last["cum_citizens_dropped_out"]
    stocks = citizens["state"].isin(["waiting", "in_course", "companionship", "done", "control"]).sum()
    assert stocks + exits == last["cum_citizens_referred"], "citizen stocks + exits != referred"
    stocks_v = ts[[f"n_volunteers_{s.name.lower()}" for s in VolunteerState]].sum(axis=1)
    assert np.array_equal(stocks_v.to_numpy(), ts["cum_volunteers_recruited"].to_numpy()), \
        "volunteer stocks != cumulative recruited"
    assert len(result.volunteers) == last["cum_volunteers_recruited"]


def test_every_ranged_field_is_covered():
    assert len(FIELDS) > 90, "the schema walk found too few ranged fields"
    assert ("volunteers.training_dropout_share", float, 0.0, 1.0) in FIELDS


@pytest.mark.parametrize(("key", "value"), EDGES, ids=[f"{k}={v}" for k, v in EDGES])
def test_an_accepted_edge_value_runs(base, key, value):
    params = copy.deepcopy(base)
    _set(params, key, value)
    try:
        validate(params)
    except ConfigError:
        pytest.skip("refused by validation (a cross-field rule): not an accepted value")
    result = run(params)
    _check_counts(result)
    assert result.summary["weeks"] == params.weeks


_SCENARIOS: dict = {}


@pytest.mark.slow
@pytest.mark.parametrize(("key", "value"), EDGES, ids=[f"{k}={v}" for k, v in EDGES])
def test_an_accepted_edge_value_runs_in_the_trial_and_the_partnership(key, value):
    for scenario in ("trial", "partnership"):
        if scenario not in _SCENARIOS:
            _SCENARIOS[scenario] = load_config([f"scenario={scenario}", "years=2", "output.charts=false"])
        params = copy.deepcopy(_SCENARIOS[scenario])
        _set(params, key, value)
        try:
            validate(params)
        except ConfigError:
            continue
        _check_counts(run(params))
