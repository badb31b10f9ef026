"""Reading peersim's tables back, in either CSV dialect.

A run writes its tables as Parquet and/or CSV (:mod:`peersim.io`); the CSV's separators follow
``output.csv_locale`` (``en``: what pandas reads by default; ``da``: what Danish Excel opens by
double-click). :func:`read_csv` reads either back into the same frame as the Parquet file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from peersim.io import csv_options

if TYPE_CHECKING:  # pandas is imported where a table is read (configuration checks import this module)
    import pandas as pd

__all__ = ["read_csv"]


def read_csv(path: str | Path, locale: str = "en", **kwargs: Any) -> pd.DataFrame:
    """Read a CSV written for ``locale`` (``kwargs`` go to ``pandas.read_csv`` and win over the
    locale's settings)."""
    import pandas as pd

    return pd.read_csv(path, **{**csv_options(locale), **kwargs})
