"""How the ``peersim`` command ends when something stops it: one line, never a traceback.

:func:`stop_line` turns what stopped a command into the line it prints (``peersim: error: ...``
or ``peersim: interrupted ...``) and its exit code: bad input (:class:`ConfigError`, Hydra's and
OmegaConf's errors: 2), a folder that cannot be written (permissions, a read-only or full disk: 1),
Ctrl-C (130, saying what was kept). Anything else is a bug in peersim and keeps its traceback.
"""

from __future__ import annotations

from peersim.lifeline import Interrupted
from peersim.refusals import os_error_line
from peersim.validation import ConfigError

EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED = 2, 1, 130
FOLDER_HINT = {False: "the run's folder is set by hydra.run.dir=<folder>",
               True: "the sweep's folder is set by hydra.sweep.dir=<folder>"}


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def interrupted_line(exc: KeyboardInterrupt, *, multirun: bool, experiment: bool) -> str:
    """What Ctrl-C kept, in one line."""
    if isinstance(exc, Interrupted):
        return (f"peersim: interrupted (Ctrl-C) after {exc.done} of {exc.total} runs; the experiment wrote "
                "nothing (it writes its files when all runs are done): run it again, e.g. with fewer replications")
    if multirun:
        return ("peersim: interrupted (Ctrl-C); the finished jobs are kept in the sweep folder: run the same "
                "command again to run only the others")
    if experiment:
        return "peersim: interrupted (Ctrl-C); the experiment wrote nothing (it writes its files when all runs are done)"
    return "peersim: interrupted (Ctrl-C); the run did not finish and wrote no result (its folder has no summary.json)"


def stop_line(exc: BaseException, *, multirun: bool = False, experiment: bool = False) -> tuple[str, int] | None:
    """The one line and the exit code for what stopped the command, or None for a bug."""
    if isinstance(exc, KeyboardInterrupt):
        return interrupted_line(exc, multirun=multirun, experiment=experiment), EXIT_INTERRUPTED
    for cause in _chain(exc):
        if isinstance(cause, ConfigError):
            return f"peersim: error: {cause}", EXIT_BAD_INPUT
        if isinstance(cause, OSError) and cause.errno is not None:
            return f"peersim: error: {os_error_line(cause, hint=FOLDER_HINT[multirun])}", EXIT_FAILED
    if type(exc).__module__.startswith(("hydra", "omegaconf")):
        from peersim.config import explain

        return f"peersim: error: {explain(exc)}", EXIT_BAD_INPUT
    return None
