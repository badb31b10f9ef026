"""One result per folder: which files in a folder are peersim's results, and when a new run may
write there (docs/outputs.md, "One run per folder").

A run writes into a folder that is new, or holds the same configuration's finished run (a
``summary.json`` with the same ``config_hash``: the same files again), or a run that failed
(``error.txt`` and no finished result). Any other peersim result there (another configuration's
``summary.json``, an experiment's report, tables or charts without a finished run) stops the run
with one line before anything is written (:func:`check_run_folder`), unless ``output.overwrite``
asks to replace them; either way the folder's result files are removed (:func:`clear_results`)
before the new run writes its first file, so a folder never mixes two runs.

A sweep's job folder is peersim's own: a job that runs again empties it first
(:func:`clear_job_folder`): every file goes but Hydra's ``.hydra/`` and the job's log.

Only peersim's own files count as results (:func:`result_files`); anything else a user keeps in
a folder given with ``hydra.run.dir`` is neither a reason to refuse nor removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from peersim.validation import ConfigError

MARKERS = ("summary.json", "comparison_summary.json", "validation.md", "fit_report.md", "sensitivity.md")
"""The file each kind of result writes last (peersim.io.begin_result): a run's, then the experiments'."""
ERROR = "error.txt"
NAMES = frozenset({*MARKERS, ERROR, "config.json", ".skipped", "comparison.md", "sensitivity.json"})
"""peersim's result files by name (besides every table, chart and the calibrated config)."""
SUFFIXES = (".parquet", ".csv", ".png")    # tables (both formats) and charts
FOLDERS = frozenset({"calibrated"})        # experiment=calibrate's fitted config
_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}$")  # peersim.io.atomic_write's temporary files


def is_result_name(name: str) -> bool:
    """Whether a file called ``name`` is one peersim writes as (part of) a result."""
    return name in NAMES or name.endswith(SUFFIXES)


def result_files(folder: str | os.PathLike) -> list[Path]:
    """peersim's result files in ``folder`` (not in its sub-folders, ``calibrated/`` aside),
    hidden temporary files of an interrupted write included; sorted."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:  # no folder (yet): nothing in it
        return []
    found = []
    for p in entries:
        if p.is_dir():
            if p.name in FOLDERS:
                found.append(p)
        elif is_result_name(p.name) or ((m := _TEMP.match(p.name)) and is_result_name(m["name"])):
            found.append(p)
    return sorted(found)


def stored_hash(folder: str | os.PathLike) -> str | None:
    """The ``config_hash`` in ``folder/summary.json``, or None (absent, unreadable, no hash)."""
    try:
        data = json.loads((Path(folder) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("config_hash") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _failed_run(folder: Path) -> bool:
    return (folder / ERROR).is_file() and not any((folder / m).exists() for m in MARKERS)


class FolderInUse(ConfigError):
    """A run's folder holds another run's results (:func:`check_run_folder`)."""


def check_run_folder(folder: str | os.PathLike, config_hash: str | None, *, overwrite: bool,
                     key: str = "hydra.run.dir", how: str = "add output.overwrite=true") -> None:
    """Raise ConfigError (one line naming ``key`` and the folder) if ``folder`` holds another
    run's results: anything of peersim's but the same configuration's finished run
    (``config_hash``; None for an experiment, whose results carry no hash) or a failed run.
    ``overwrite`` (``output.overwrite``) allows replacing them."""
    folder = Path(folder)
    files = result_files(folder)
    if not files or overwrite or _failed_run(folder):
        return
    if config_hash is not None and stored_hash(folder) == config_hash:
        return
    held = stored_hash(folder)
    what = (f"another configuration's run (config_hash {held})" if held
            else "another result" if any((folder / m).exists() for m in MARKERS)
            else "files of an unfinished run")
    names = ", ".join(p.name for p in files[:3]) + (", ..." if len(files) > 3 else "")
    raise FolderInUse(f"{key}={folder}: the folder holds {what} ({names}); choose a new folder, "
                      f"or {how} to replace those results")


def clear_results(folder: str | os.PathLike) -> list[Path]:
    """Remove peersim's result files from ``folder`` (:func:`result_files`); returns them."""
    removed = result_files(folder)
    for p in removed:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
    return removed


def one_line(exc: BaseException) -> str:
    """The first line of ``error.txt``: what went wrong, in one line."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, ConfigError):
        return f"configuration error: {first}"
    if isinstance(exc, SystemExit):
        return f"stopped with exit code {exc.code}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def failure_text(exc: BaseException, message: str, context: str = "") -> str:
    """What ``error.txt`` holds: the one-line error first, then ``context`` and the traceback."""
    import traceback

    return f"{message}\n\n{context}" + "".join(traceback.format_exception(exc))


def record_failure(folder: str | os.PathLike, text: str) -> Path | None:
    """Write ``error.txt`` (:func:`failure_text`) into ``folder``; never raises (the report must
    not hide the run's own error): None if it could not be written."""
    from peersim.io import write_text

    path = Path(folder) / ERROR
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text(path, text)
    except OSError as exc:
        import sys

        print(f"peersim: cannot write {path}: {exc}", file=sys.stderr)
        return None


def clear_job_folder(folder: str | os.PathLike) -> None:
    """Empty a sweep job's folder for a new attempt: every file (hidden temporary files too) and
    the sub-folders peersim writes (``calibrated/``) go; Hydra's ``.hydra/`` and the job's log
    (``*.log``, this attempt's) stay, and so do sub-folders peersim never writes."""
    folder = Path(folder)
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for p in entries:
        if p.name == ".hydra" or (p.suffix == ".log" and p.is_file()):
            continue
        if p.is_dir() and not p.is_symlink():
            if p.name in FOLDERS:
                shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
