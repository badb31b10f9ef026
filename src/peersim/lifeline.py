"""Worker processes that end with the command that started them.

An experiment's replication pool (:mod:`peersim.experiments._runner`) and a sweep's jobs (peersim's
own launcher, :mod:`peersim.sweep.pool`, by default; Hydra's joblib launcher on request) run in
worker processes. If the ``peersim`` command is killed (``kill -9``, a closed terminal, an
out-of-memory kill) nothing tells them, and they would simulate on for minutes. A worker calls
:func:`end_with` once: it then ends itself as soon as the process it belongs to is gone,

- on Linux at once, by ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (the kernel signals it when its parent
  ends; for a pool worker that is the fork server, which ends with the command);
- everywhere within :data:`POLL_SECONDS`, by a daemon thread that checks that its parent is still
  its parent and that the command's process still exists.

A worker also ignores Ctrl-C (SIGINT, which a terminal sends to the whole process group): the
command handles it, ends the workers and says what it kept (:class:`Interrupted`).

peersim's sweep workers call :func:`end_with` as soon as they start. A joblib worker
(``hydra/launcher=joblib``) that has not yet got a job runs no peersim code, so it cannot watch; for
those, :func:`reap_when_gone` starts a small process (Linux) that waits for the command to end and
then ends the command's joblib workers left behind.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

POLL_SECONDS = 0.5
PR_SET_PDEATHSIG = 1
_watching: set[int] = set()


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a batch of runs: how many had finished (``done`` of ``total``) when it came."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"interrupted after {done} of {total} runs")
        self.done, self.total = done, total


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a process of another user took the number
        return True
    return True


def _death_signal() -> None:
    """Ask the kernel to kill this process when its parent ends (Linux only; else nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl: the thread below does it
        pass


def end_with(owner: int | None = None, *, ignore_interrupt: bool = True, death_signal: bool = True) -> None:
    """End this process (``os._exit``) when its parent or the ``owner`` process is gone; ignore
    SIGINT if ``ignore_interrupt``. ``death_signal``: also the kernel's signal, only where the
    parent's thread that started this process lives as long as the parent (the kernel's rule).
    Called once per worker process (later calls do nothing)."""
    me = os.getpid()
    if me in _watching:
        return
    _watching.add(me)
    if ignore_interrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    if death_signal:
        _death_signal()
    if os.getppid() != parent or (owner is not None and not _exists(owner)):
        os._exit(1)  # gone already, before the death signal was armed

    def watch() -> None:
        while True:
            time.sleep(POLL_SECONDS)
            if os.getppid() != parent or (owner is not None and not _exists(owner)):
                os._exit(1)

    threading.Thread(target=watch, name="peersim-lifeline", daemon=True).start()


COMMAND_PID_ENV = "PEERSIM_COMMAND_PID"  # set by the peersim command; its worker processes inherit it


def end_with_command() -> None:
    """In a sweep's worker process on this machine (joblib's: its parent is the command), end with
    the command; not in a cluster's job, which only inherited the variable (another machine)."""
    owner = int(os.environ.get(COMMAND_PID_ENV, "0") or 0)
    if owner and owner != os.getpid() and os.getppid() == owner:
        end_with(owner, death_signal=False)
_REAPER = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
sys.stdin.buffer.read()  # until the command ends: its end of the pipe closes
marker = b"PEERSIM_COMMAND_PID=" + sys.argv[1].encode()
for entry in os.listdir("/proc"):
    if not entry.isdigit() or int(entry) == os.getpid():
        continue
    try:
        with open(f"/proc/{entry}/environ", "rb") as f:
            env = f.read().split(b"\\0")
        with open(f"/proc/{entry}/cmdline", "rb") as f:
            cmd = f.read()
    except OSError:
        continue
    if marker in env and b"joblib.externals.loky" in cmd:
        try:
            os.kill(int(entry), signal.SIGKILL)
        except OSError:
            pass
"""
_reaper = None


def reap_when_gone() -> None:
    """Start, once per command, the process that ends the command's joblib workers when the
    command has ended (also after ``kill -9``): those whose environment holds this process's
    :data:`COMMAND_PID_ENV` and whose command line is joblib's worker. Linux only (``/proc``)."""
    global _reaper
    if _reaper is not None or not os.path.isdir("/proc") or os.environ.get(COMMAND_PID_ENV) != str(os.getpid()):
        return
    import subprocess

    try:
        _reaper = subprocess.Popen([sys.executable, "-c", _REAPER, str(os.getpid())], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:  # pragma: no cover - cannot start a process: the watchdog threads remain
        _reaper = None
