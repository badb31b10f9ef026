"""The column store behind citizens and volunteers: one numpy array per attribute, one row per
agent, grown by doubling. Agents are thin Mesa views on a row (``idx``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd

NO_WEEK = -1  # the event has not happened
NO_ROWS = np.empty(0, dtype=np.int64)  # an empty, read-only set of rows (returned when nothing happened)
NO_ROWS.flags.writeable = False
# PREFIX[j] has the lowest j bits set: ``bits & PREFIX[j]`` keeps bits 0..j-1 of a bit-set column
# (of an attendance bit set, the sessions up to offset j - 1)
PREFIX = np.array([(1 << j) - 1 for j in range(64)] + [2**64 - 1], dtype=np.uint64)


class ColumnStore:
    """Rows of agents as one numpy array per attribute, declared by kind in the subclass
    (``_FLOAT``, ``_INT``, ``_BOOL``, ``_BITS``); it owns the arrays and their capacity, and the
    first ``n`` rows are in use. Growing by doubling keeps the rows already there."""

    _FLOAT: ClassVar[tuple[str, ...]] = ()
    _INT: ClassVar[tuple[str, ...]] = ()    # int32; event weeks (``ti_*``) use NO_WEEK for "never"
    _BOOL: ClassVar[tuple[str, ...]] = ()
    _BITS: ClassVar[tuple[str, ...]] = ()   # uint64 bit sets, empty (0) at first
    _FLOAT_FILL: ClassVar[float] = 0.0

    n: int
    capacity: int = 0

    def _grow(self, capacity: int) -> None:
        """Give every column ``capacity`` rows, keeping the existing ones."""
        for names, fill, dtype in ((self._FLOAT, self._FLOAT_FILL, float), (self._INT, NO_WEEK, np.int32),
                                   (self._BOOL, False, bool), (self._BITS, 0, np.uint64)):
            for k in names:
                arr = np.full(capacity, fill, dtype=dtype)
                old = getattr(self, k, None)
                if old is not None:
                    arr[: len(old)] = old
                setattr(self, k, arr)
        self.capacity = capacity

    def weeks(self, column: np.ndarray) -> pd.Series:
        """An event-week column of the first ``n`` rows as nullable integers (NA = never)."""
        values = column[: self.n]
        return pd.Series(pd.arrays.IntegerArray(values.astype(np.int32), values == NO_WEEK), copy=False)
