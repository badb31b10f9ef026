"""One-line refusals for what is not a configuration value: the Python API's arguments and the
file system.

The configuration's own values are checked by :mod:`peersim.validation` against the schema. What
this module checks comes before that: that the API was given a list of overrides and not a string
(``load_config("seed=7")`` would otherwise be read character by character), a list of folders
and not one folder, a folder it can write. Every refusal is a
:class:`~peersim.validation.ConfigError` with one line that names the argument or the path and
what to do. A foundation: it knows nothing of peersim's parameters.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from peersim.validation import ConfigError


def _shown(value: Any) -> str:
    text = repr(value)
    return (text[:60] + "...") if len(text) > 63 else text


def override_list(value: Any, where: str, *, name: str = "overrides") -> list[str]:
    """``value`` as a list of override strings (``["seed=7"]``); ConfigError if it is a string, not
    a sequence, or holds something other than strings. ``where`` names the function."""
    if isinstance(value, str | bytes):
        raise ConfigError(f"{where}: pass a list of {name}, e.g. [{str(value)!r}], not a string {_shown(value)}")
    if not isinstance(value, Sequence):
        raise ConfigError(f"{where}: pass a list of {name}, e.g. ['seed=7'], got {_shown(value)} "
                          f"({type(value).__name__})")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError(f"{where}: {name}[{i}] must be a text like 'seed=7', got {_shown(item)} "
                              f"({type(item).__name__})")
    return list(value)


def folder_list(value: Any, where: str, *, name: str = "config_dirs") -> list[str | Path]:
    """``value`` as a list of folders (str or path-like); ConfigError if it is one folder given as
    a string or path (which would be read character by character), or holds something else."""
    if isinstance(value, str | bytes | os.PathLike):
        raise ConfigError(f"{where}: pass {name} as a list of folders, e.g. {name}=[{str(value)!r}], "
                          f"not a single {type(value).__name__}")
    if not isinstance(value, Sequence):
        raise ConfigError(f"{where}: pass {name} as a list of folders, e.g. {name}=['my_fit'], got "
                          f"{_shown(value)} ({type(value).__name__})")
    for i, item in enumerate(value):
        if not isinstance(item, str | os.PathLike) or isinstance(item, bytes):
            raise ConfigError(f"{where}: {name}[{i}] must be a folder (a text or a path), got {_shown(item)} "
                              f"({type(item).__name__})")
    return list(value)


def folder(value: Any, where: str, *, name: str = "outdir") -> Path:
    """``value`` as a folder path; ConfigError if it is not a text or path."""
    if not isinstance(value, str | os.PathLike) or isinstance(value, bytes) or str(value) == "":
        raise ConfigError(f"{where}: {name} must be a folder (a text or a path), got {_shown(value)} "
                          f"({type(value).__name__})")
    return Path(value)


_ADVICE = {
    errno.EACCES: "choose a folder you may write to",
    errno.EPERM: "choose a folder you may write to",
    errno.EROFS: "the file system is read-only; choose a folder on a writable disk",
    errno.ENOSPC: "the disk is full; free space or choose a folder on another disk",
    errno.EDQUOT: "the disk quota is used up; free space or choose a folder on another disk",
    errno.ENOENT: "a folder on the way does not exist or cannot be created there; choose another folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another folder",
    errno.EEXIST: "a file of that name is in the way; choose another folder",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}


def os_error_line(exc: OSError, doing: str = "cannot write", hint: str = "") -> str:
    """One line for a file-system error: the path, the reason and what to do, e.g.
    ``cannot write /proc/x/summary.json: permission denied; choose a folder you may write to``.
    ``hint`` names where the folder is set (e.g. ``hydra.run.dir=<folder>``)."""
    path = exc.filename if exc.filename is not None else ""
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    advice = _ADVICE.get(exc.errno or -1, "choose another folder")
    return f"{doing} {path}: {reason}; {advice}{f' ({hint})' if hint else ''}".replace(" :", ":")
