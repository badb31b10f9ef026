"""peersim: agent-based simulation of scaling scenarios for the peer-support programme
"Vejen til hverdagslivet" (own local coordinator vs local partnerships, and their savings)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("peersim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

from peersim.config import load_config  # noqa: E402
from peersim.params import ConfigError, PeersimConfig  # noqa: E402
from peersim.run import RunResult, run  # noqa: E402

__all__ = ["ConfigError", "PeersimConfig", "RunResult", "__version__", "load_config", "run"]
