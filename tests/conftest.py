"""Shared fixtures for the core test suite.

Runs are cheap (a few hundredths of a second for 2-3 simulated years), but composing a config with
Hydra costs about 0.1 s, so composed parameters are cached per list of overrides and every test
gets its own deep copy to mutate.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
CONF = REPO / "conf"

try:  # run from a source tree without `pip install -e .` (PYTHONPATH=src is then not needed)
    import peersim  # noqa: F401
except ImportError:  # pragma: no cover - depends on how pytest is started
    sys.path.insert(0, str(SRC))

from peersim import PeersimConfig, RunResult, load_config, run  # noqa: E402
from peersim.model import PeersimModel  # noqa: E402

# The short horizon the default (fast) suite runs at; long enough for courses to end, volunteers
# to burn out and return, and citizens to reach the 26-week follow-up.
SHORT_YEARS = 3


@pytest.fixture(scope="session")
def make_params() -> Callable[..., PeersimConfig]:
    """``make_params("scenario=partnership", "years=2", seed=3)``: a fresh, mutable copy of the
    composed and validated parameters (Hydra composition is cached per list of overrides)."""
    cache: dict[tuple[str, ...], PeersimConfig] = {}

    def factory(*overrides: str, seed: int | None = None) -> PeersimConfig:
        key = tuple(overrides)
        if key not in cache:
            cache[key] = load_config(list(overrides))
        params = copy.deepcopy(cache[key])
        if seed is not None:
            params.seed = seed
        return params

    return factory


@pytest.fixture(scope="session")
def default_run(make_params) -> RunResult:
    """The default scenario (own coordinator, Fredericia), seed 1, three years."""
    return run(make_params(f"years={SHORT_YEARS}", seed=1))


@pytest.fixture(scope="session")
def partnership_run(make_params) -> RunResult:
    """The partnership scenario in Fredericia, seed 1, three years."""
    return run(make_params("scenario=partnership", f"years={SHORT_YEARS}", seed=1))


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for a run's outputs."""
    d = tmp_path / "run"
    d.mkdir()
    return d


def step_weeks(model: PeersimModel) -> Iterator[int]:
    """Step ``model`` week by week to its horizon, yielding the week just simulated."""
    while model.week < model.weeks:
        model.step()
        yield model.week


def cum(model: PeersimModel, flow: str) -> float:
    """The running total of a weekly flow (``new_*``) up to and including the current week."""
    rec = model.recorder
    return float(rec.data[1 : model.week + 1, rec.col[flow]].sum())


def stock(model: PeersimModel, name: str) -> float:
    """A stock (``n_*``) as recorded for the current week."""
    rec = model.recorder
    return float(rec.data[model.week, rec.col[name]])


def mean_over_seeds(make_run: Callable[[int], float], seeds: range | list[int]) -> float:
    return float(np.mean([make_run(s) for s in seeds]))
