"""CSV files that open in Excel: the separators a locale's Excel expects.

Excel opens a CSV by double-click with the list separator and decimal mark of the computer's
regional settings. With English settings that is ``,`` and ``.`` (what pandas reads by default);
with Danish settings it is ``;`` and ``,``, and a file without a byte-order mark is not read as
UTF-8 (``æ``, ``ø`` and ``å`` come out garbled). ``output.csv_locale`` chooses which of the two a
run writes; Parquet files do not depend on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported where a table is read (the config and sweep code import this module)
    import pandas as pd

CSV_LOCALES: dict[str, dict[str, str]] = {
    "en": {"sep": ",", "decimal": ".", "encoding": "utf-8"},       # pandas' defaults
    "da": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},   # Danish Excel: semicolons, decimal commas, BOM
}


def csv_options(locale: str) -> dict[str, str]:
    """The ``to_csv``/``read_csv`` keyword arguments of ``locale`` (``en`` or ``da``)."""
    try:
        return CSV_LOCALES[locale]
    except KeyError:
        raise ValueError(f"csv locale {locale!r} is not available; choose one of: {', '.join(CSV_LOCALES)}") from None


def write_csv(df: pd.DataFrame, path: str | Path, locale: str = "en") -> None:
    """``df`` as a CSV for ``locale``'s Excel (no index column)."""
    df.to_csv(path, index=False, **csv_options(locale))


def read_csv(path: str | Path, locale: str = "en", **kwargs: Any) -> pd.DataFrame:
    """Read a CSV written by :func:`write_csv` for ``locale`` (``kwargs`` go to ``pandas.read_csv``
    and win over the locale's settings)."""
    import pandas as pd

    return pd.read_csv(path, **{**csv_options(locale), **kwargs})
