"""Tables as numpy columns, and the few table operations the economics needs.

The steps of the calculation hand tables to each other as a :data:`Table`: a dict of numpy
columns of one length, by name. Wherever a table is read, a pandas DataFrame with the same
columns works too (callers and tests may pass either). DataFrames are built once, for the result
tables (:func:`frame`): building one costs more than the arithmetic of a whole step, and a run's
economics is evaluated thousands of times in a replication loop.

Grouping follows ``DataFrame.groupby(keys, sort=True)``: one group per key combination that
occurs, groups in sorted key order. Group sums add the rows in their order; pandas adds with
compensation (or pairwise, depending on its version and the row order), so a group sum may differ
from pandas' in its last bits (about 1e-16 relative).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

Table = dict[str, np.ndarray]
TableLike = Table | pd.DataFrame  # what the steps accept


def column(table: TableLike, name: str, dtype: Any = None) -> np.ndarray:
    """One column as a numpy array (strings as an object array)."""
    return np.asarray(table[name], dtype=dtype)


def n_rows(table: TableLike) -> int:
    """Number of rows (of a Table: the length of its first column)."""
    if isinstance(table, pd.DataFrame):
        return len(table)
    return len(next(iter(table.values()), ()))


def empty(columns: Iterable[str], strings: Iterable[str]) -> Table:
    """A table without rows: object columns for ``strings``, float64 for the others."""
    strings = set(strings)
    return {c: np.array([], dtype=object if c in strings else np.float64) for c in columns}


def take(table: TableLike, rows: np.ndarray) -> Table:
    """The given rows (an index or a boolean mask) of every column."""
    return {name: np.asarray(values)[rows] for name, values in table.items()}


def concat(tables: Sequence[TableLike], columns: Sequence[str]) -> Table:
    """The rows of the tables one after the other."""
    return {c: np.concatenate([column(t, c) for t in tables]) for c in columns}


def frame(table: TableLike, columns: Sequence[str]) -> pd.DataFrame:
    """The table as a DataFrame with ``columns`` in that order (the arrays are copied)."""
    return pd.DataFrame({c: table[c] for c in columns})


def isin(values: np.ndarray, choices: Iterable[Any]) -> np.ndarray:
    """Boolean mask of the values that equal one of ``choices`` (few choices, any dtype)."""
    mask = np.zeros(len(values), dtype=bool)
    for choice in choices:
        mask |= values == choice
    return mask


def row_sums(columns: Sequence[np.ndarray], length: int) -> np.ndarray:
    """Element-wise sum of the columns, added one after the other (as pandas sums a row)."""
    total = np.zeros(length)
    for values in columns:
        total = total + values
    return total


def codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, position of each value among them)."""
    if values.dtype != object:
        uniques, inverse = np.unique(values, return_inverse=True)
        return uniques, inverse.astype(np.int64)
    items = values.tolist()
    uniques = sorted(set(items))
    if len(uniques) == 1:
        return np.array(uniques, dtype=object), np.zeros(len(items), dtype=np.int64)
    index = {value: i for i, value in enumerate(uniques)}
    return np.array(uniques, dtype=object), np.array([index[v] for v in items], dtype=np.int64)


def group(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows grouped by the key columns, as ``groupby(keys, sort=True)``.

    Returns the group of each row (0 .. groups - 1, in sorted key order) and the first row of
    each group, from which the keys of the groups are read: ``key[first]``.
    """
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        uniques, code = codes(key)
        combined = combined * len(uniques) + code
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    return inverse.astype(np.int64), first


def group_sum(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum of ``values`` by group (rows added in their order)."""
    return np.bincount(groups, weights=values, minlength=n_groups).astype(np.float64, copy=False)  # float if empty


def sum_by(keys: np.ndarray, values: np.ndarray) -> dict[Any, float]:
    """``{key: sum of its values}`` in sorted key order."""
    uniques, code = codes(keys)
    return dict(zip(uniques.tolist(), group_sum(code, values, len(uniques)).tolist(), strict=True))
