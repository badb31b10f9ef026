"""peersim's Hydra plugins: the launcher ``hydra/launcher=peersim`` and the sweeper
``hydra/sweeper=peersim``, peersim's defaults for sweeps (conf/hydra/peersim.yaml).

Hydra finds plugins in the ``hydra_plugins`` namespace package; the work is done in
:mod:`peersim.sweep.pool` (the launcher) and :mod:`peersim.sweep.derive` (each job's
configuration). See docs/sweeps.md, "Launchers" and "What it costs".
"""
