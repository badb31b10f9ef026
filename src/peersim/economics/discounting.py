"""Discounting: fixed prices, year 1 of the programme is the base year (Socialstyrelsen, [S4] section 7.2)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from peersim.vocabulary import WEEKS_PER_YEAR


def year_of_week(week: npt.ArrayLike) -> np.ndarray:
    """Programme year (1-based) of a programme week (1-based): weeks 1-52 are year 1."""
    return (np.asarray(week, dtype=np.int64) - 1) // WEEKS_PER_YEAR + 1


def yearly_factor(year: npt.ArrayLike, rate: float) -> np.ndarray:
    """Discount factor of an amount falling in programme year ``year``: ``(1 + rate) ** -(year - 1)``."""
    return (1.0 + rate) ** -(np.asarray(year, dtype=float) - 1.0)


def delay_factor(weeks: npt.ArrayLike, rate: float) -> np.ndarray:
    """Discount factor over a delay given in weeks: ``(1 + rate) ** -(weeks / 52)``."""
    return (1.0 + rate) ** -(np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)


def npv(amounts_by_year: npt.ArrayLike, rate: float) -> float:
    """Net present value of amounts for years 1, 2, ... (the first is not discounted)."""
    amounts = np.asarray(amounts_by_year, dtype=float)
    return float(np.sum(amounts * yearly_factor(np.arange(1, amounts.size + 1), rate)))
