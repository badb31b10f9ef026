"""Shared fixtures for the core test suite.

Runs are cheap (a few hundredths of a second for 2-3 simulated years), but composing a config with
Hydra costs about 0.1 s, so composed parameters are cached per list of overrides and every test
gets its own deep copy to mutate.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


def assert_one_line_naming(error: BaseException, words: list[str]) -> None:
    """A configuration error is one line and names every one of ``words``."""
    msg = str(error)
    assert msg.strip() and "\n" not in msg.strip(), f"not one line: {msg!r}"
    assert "Traceback" not in msg and "HYDRA_FULL_ERROR" not in msg
    for word in words:
        assert word in msg, f"message {msg!r} does not mention {word!r}"


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


# ---------------------------------------------------------------------------------------------
# The ``peersim`` command as a user runs it: a subprocess in its own working directory
# ---------------------------------------------------------------------------------------------

def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SRC), env.get("PYTHONPATH", "")) if p)
    env.pop("HYDRA_FULL_ERROR", None)
    env["MPLBACKEND"] = "Agg"
    return env


@dataclass
class Cli:
    """A started ``peersim`` command; reading its results waits for it."""

    args: list[str]
    cwd: Path
    proc: subprocess.Popen
    _done: tuple[int, str, str] | None = None

    def wait(self, timeout: float = 300) -> tuple[int, str, str]:
        if self._done is None:
            out, err = self.proc.communicate(timeout=timeout)
            self._done = (self.proc.returncode, out, err)
        return self._done

    @property
    def returncode(self) -> int:
        return self.wait()[0]

    @property
    def stdout(self) -> str:
        return self.wait()[1]

    @property
    def stderr(self) -> str:
        return self.wait()[2]

    @property
    def output(self) -> str:
        return f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"


def start_cli(args: list[str], cwd: Path) -> Cli:
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "peersim.cli", *args], cwd=cwd, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return Cli(args, cwd, proc)


class CliRuns:
    """Command lines by name, each in its own working directory under ``root``, started on first
    use (``runs[name]``) or up front with :meth:`start` (they are independent processes)."""

    def __init__(self, root: Path, commands: dict[str, list[str]]) -> None:
        self.root, self.commands, self.started = root, commands, {}

    def start(self, *names: str) -> None:
        for name in names:
            if name not in self.started:
                self.started[name] = start_cli(self.commands[name], self.root / name)

    def __getitem__(self, name: str) -> Cli:
        self.start(name)
        return self.started[name]

    def close(self) -> None:
        for r in self.started.values():
            if r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()
