"""How peersim writes its files: the one output policy of every run, experiment and sweep.

Every file a result consists of is written here, so that the rules hold everywhere alike:

- **Atomic.** A file is written to a hidden temporary file beside it (``.<name>.XXXX``) and moved
  into place with ``os.replace``: a reader, or a killed process, sees the old file or the new one,
  never half of one. The temporary file gets the usual permissions (``0666`` less the umask), not
  ``mkstemp``'s private ``0600``.
- **Tables follow ``output.*``.** :func:`write_tables` writes each table as Parquet when
  ``output.parquet`` is true and as CSV when ``output.csv`` is true, or whenever Parquet is off (a
  table is never lost to the switches); the CSV's separators follow ``output.csv_locale``
  (:data:`CSV_LOCALES`). A format switched off is removed if an earlier run left it in the folder,
  so that a folder never holds two versions of one table.
- **JSON is plain.** :func:`json_safe` turns NaN and infinities into ``null`` and numpy scalars into
  Python numbers, so every JSON file opens in any JSON reader.
- **A result is finished when its marker is there.** Each result has one file written last
  (``summary.json`` of a run, ``comparison_summary.json``, ``validation.md``, ``fit_report.md``,
  ``sensitivity.md``, ``sweep_summary.csv``/``.parquet``). :func:`begin_result` removes the marker
  before anything else is written, so a folder without it is unfinished, never a result.
- **Charts follow ``output.charts``**, the one switch for charts of runs, experiments and sweeps;
  :func:`save_figure` writes a figure atomically and closes it.

This module imports neither pandas nor matplotlib at import time: configuration checks import it
for :data:`CSV_LOCALES`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

CSV_LOCALES: dict[str, dict[str, str]] = {
    "en": {"sep": ",", "decimal": ".", "encoding": "utf-8"},       # pandas' defaults
    "da": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},   # Danish Excel: semicolons, decimal commas, BOM
}
"""The CSV dialect of each ``output.csv_locale``: what Excel with those regional settings opens by
double-click (Danish Excel expects ``;`` and ``,`` and reads UTF-8 only with a byte-order mark)."""

FIGURE_DPI = 110
"""Resolution of every PNG chart peersim writes (dots per inch)."""


class TableSettings(Protocol):
    """What :func:`write_tables` reads of ``output`` (``peersim.params.OutputConfig`` has it)."""

    parquet: bool
    csv: bool
    csv_locale: str


@dataclass(frozen=True)
class TableFormats:
    """Table settings outside a composed configuration (e.g. a re-analysis that writes its
    tables in the formats the folder already holds)."""

    parquet: bool = True
    csv: bool = True
    csv_locale: str = "en"


def csv_options(locale: str) -> dict[str, str]:
    """The ``to_csv``/``read_csv`` keyword arguments of ``locale`` (``en`` or ``da``)."""
    try:
        return CSV_LOCALES[locale]
    except KeyError:
        raise ValueError(f"csv locale {locale!r} is not available; choose one of: {', '.join(CSV_LOCALES)}") from None


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` to fill a temporary file beside ``path``, then move it into place.

    If ``write`` fails (or the process is interrupted) the temporary file is removed and ``path``
    is left as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _FILE_MODE)
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """``text`` into ``path`` (UTF-8), atomically."""
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers become Python numbers, NaN and infinities
    become ``None`` (``null``), tuples become lists and mapping keys strings."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """``data`` as indented JSON (made safe with :func:`json_safe`), atomically."""
    return write_text(path, json.dumps(json_safe(data), indent=2, ensure_ascii=False))


def write_csv(df: pd.DataFrame, path: str | os.PathLike, locale: str = "en") -> Path:
    """``df`` as a CSV for ``locale``'s Excel (no index column), atomically."""
    options = csv_options(locale)
    return atomic_write(path, lambda p: df.to_csv(p, index=False, **options))


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """``df`` as Parquet (no index column), atomically."""
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def table_formats(output: TableSettings) -> tuple[bool, bool]:
    """``(parquet, csv)``: which formats ``output`` asks for. CSV also when Parquet is off, so
    that a table is never written in no format at all."""
    return bool(output.parquet), bool(output.csv or not output.parquet)


def write_tables(outdir: str | os.PathLike, tables: Mapping[str, pd.DataFrame],
                 output: TableSettings) -> list[Path]:
    """Each ``name -> table`` as ``<name>.parquet`` and/or ``<name>.csv`` in ``outdir`` according
    to ``output`` (see :func:`table_formats`); a format not asked for is removed if an earlier run
    left it. Returns the files written."""
    out = Path(outdir)
    parquet, csv = table_formats(output)
    written = []
    for name, df in tables.items():
        for wanted, ext, write in ((csv, "csv", lambda p, df=df: write_csv(df, p, output.csv_locale)),
                                   (parquet, "parquet", lambda p, df=df: write_parquet(df, p))):
            path = out / f"{name}.{ext}"
            if wanted:
                written.append(write(path))
            else:
                path.unlink(missing_ok=True)
    return written


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = FIGURE_DPI) -> Path:
    """``fig`` as a PNG at ``path``, atomically; the figure is closed afterwards (also on failure)
    so that a long experiment does not accumulate open figures."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        return atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    finally:
        plt.close(fig)


def save_figures(outdir: str | os.PathLike, figures: Mapping[str, Figure], *, dpi: int = FIGURE_DPI) -> list[Path]:
    """Each ``file name -> figure`` into ``outdir`` with :func:`save_figure`."""
    return [save_figure(fig, Path(outdir) / name, dpi=dpi) for name, fig in figures.items()]


def begin_result(outdir: str | os.PathLike, marker: str) -> Path:
    """Make ``outdir`` and remove its marker file ``marker`` (the file a result writes last), so
    that until the new result is complete the folder does not look finished. Returns the folder."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / marker).unlink(missing_ok=True)
    return out
