"""The configs of ``hydra/launcher=peersim`` and ``hydra/sweeper=peersim`` in Hydra's ConfigStore."""

from dataclasses import dataclass
from typing import Dict, Optional

from hydra.core.config_store import ConfigStore


@dataclass
class PeersimLauncherConf:
    _target_: str = "hydra_plugins.peersim_launcher.launcher.PeersimLauncher"
    # worker processes: -1 every core this process may use, -2 all but one, n: n (at most the jobs)
    n_jobs: int = -1


@dataclass
class PeersimSweeperConf:
    # Hydra's basic sweeper (the same settings), checking a batch by composing one job per shape
    _target_: str = "hydra_plugins.peersim_launcher.launcher.PeersimSweeper"
    max_batch_size: Optional[int] = None
    params: Optional[Dict[str, str]] = None


ConfigStore.instance().store(group="hydra/launcher", name="peersim", node=PeersimLauncherConf,
                             provider="peersim")
ConfigStore.instance().store(group="hydra/sweeper", name="peersim", node=PeersimSweeperConf,
                             provider="peersim")
