"""How the ``peersim`` command ends when something stops it: one line, never a traceback.

:func:`as_command` runs the command's body and prints that line; :func:`check_flags` refuses
what Hydra's own argument parser would answer with its whole usage. :func:`stop_line` turns what stopped a command into the line it prints (``peersim: error: ...``
or ``peersim: interrupted ...``) and its exit code: bad input (:class:`ConfigError`, Hydra's and
OmegaConf's errors: 2), a folder that cannot be written (permissions, a read-only or full disk: 1),
Ctrl-C (130, saying what was kept). Anything else is a bug in peersim and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection

from peersim.lifeline import COMMAND_PID_ENV, Interrupted, reap_when_gone
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


def check_flags(argv: list[str], value_flags: Collection[str]) -> None:
    """A flag that takes a value given none, an empty run or sweep folder: ConfigError."""
    folders = ("--config-dir", "-cd", "--config-path", "-cp")
    for i, arg in enumerate(argv):
        if arg in value_flags and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            raise ConfigError(f"{arg} needs a value, e.g. {arg} <{'folder' if arg in folders else 'value'}>")
        key, sep, value = arg.lstrip("+").partition("=")
        if key in ("hydra.run.dir", "hydra.sweep.dir") and sep and value.strip("'\"") == "":
            raise ConfigError(f"{key} is empty; give a folder, e.g. {key}=outputs/my_run")


def as_command(body: Callable[[], None], argv: list[str]) -> None:
    """Run the command's ``body``; what stops it is printed as one line with its exit code
    (:func:`stop_line`). Hydra re-raises its errors to us (``HYDRA_FULL_ERROR``) unless the user
    set that variable (then only peersim's own refusals and Ctrl-C are one line). A sweep's
    worker processes watch the command (``PEERSIM_COMMAND_PID``; :mod:`peersim.lifeline`)."""
    multirun = any(a in ("-m", "--multirun") for a in argv)
    own_full_error = "HYDRA_FULL_ERROR" not in os.environ
    os.environ.setdefault("HYDRA_FULL_ERROR", "1")
    os.environ[COMMAND_PID_ENV] = str(os.getpid())
    if multirun:
        reap_when_gone()  # a joblib worker that never got a job is ended when the command ends
    try:
        body()
    except (Exception, KeyboardInterrupt) as exc:
        stop = stop_line(exc, multirun=multirun,
                         experiment=any(a.lstrip("+").startswith("experiment=") for a in argv))
        if stop is None or not own_full_error and not isinstance(exc, KeyboardInterrupt | ConfigError):
            raise
        print(stop[0], file=sys.stderr)
        sys.exit(stop[1])
    finally:
        if own_full_error:
            os.environ.pop("HYDRA_FULL_ERROR", None)
