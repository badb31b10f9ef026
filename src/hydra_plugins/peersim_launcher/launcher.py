"""``hydra/launcher=peersim`` (:class:`PeersimLauncher`) and ``hydra/sweeper=peersim``
(:class:`PeersimSweeper`); the work is in :mod:`peersim.sweep.pool` and :mod:`peersim.sweep.derive`."""

from __future__ import annotations

from collections.abc import Sequence

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class PeersimLauncher(Launcher):
    """A sweep's jobs on long-lived worker processes of this machine (:mod:`peersim.sweep.pool`)."""

    def __init__(self, n_jobs: int = -1) -> None:
        self.n_jobs = n_jobs
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from peersim.sweep.pool import launch

        assert self.config is not None and self.hydra_context is not None and self.task_function is not None
        return launch(self.hydra_context, self.config, self.task_function, job_overrides, initial_job_idx,
                      self.n_jobs)


class PeersimSweeper(BasicSweeper):
    """Hydra's basic sweeper (the same jobs, order and batches), except that a batch is checked
    by composing one job per shape (:func:`peersim.sweep.derive.first_of_each_shape`; the others
    differ from it only in values set after composing), and not at all when the ``peersim``
    command has already checked every value of its command line (:mod:`peersim.precheck`)."""

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> None:
        from peersim import precheck
        from peersim.sweep.derive import first_of_each_shape

        if precheck.checked_sweep():
            return
        assert self.config is not None
        super().validate_batch_is_legal(first_of_each_shape(batch, self.config))
