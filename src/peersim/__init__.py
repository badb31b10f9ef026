"""peersim: agent-based simulation of scaling scenarios for the peer-support programme
"Vejen til hverdagslivet" (own local coordinator vs local partnerships, and their savings).

The API is imported lazily, so ``import peersim.economics`` does not load the simulation.
``peersim.load_config`` imports the experiments first (they register their schemas with Hydra), so
that ``load_config(["experiment=validate"])`` composes an experiment's configuration too.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("peersim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

_API = {
    "load_config": "peersim.config",
    "ConfigError": "peersim.validation",
    "PeersimConfig": "peersim.params",
    "RunResult": "peersim.simulate",
    "run": "peersim.simulate",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name == "load_config":
        import_module("peersim.experiments")
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'peersim' has no attribute {name!r}")
