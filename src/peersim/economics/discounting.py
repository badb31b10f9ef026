"""Discounting: fixed prices, year 1 of the programme is the base year (Socialstyrelsen, [S4] section 7.2).

The rate can step down after a number of years, as the Finance Ministry's rule since 2021 does
(3.5% for years 0-35, 2.5% for years 36-70; docs/economics.md, "Discounting"). A stepped rate is
applied year by year, not to the whole span: an amount ``t`` years away (``t`` > 35) is worth
``1.035 ** -35 * 1.025 ** -(t - 35)`` today, so the factor falls smoothly with ``t``.
A plain float is a flat rate (the 4% of Socialstyrelsen's 2018 cost model).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from peersim.vocabulary import WEEKS_PER_YEAR


@dataclass(frozen=True)
class DiscountSchedule:
    """``rate`` per year for the first ``long_after_years`` years, then ``long_rate`` per year."""

    rate: float
    long_rate: float | None = None        # None: ``rate`` throughout
    long_after_years: float = 35.0

    def factor(self, years: npt.ArrayLike) -> np.ndarray:
        """Present value of 1 DKK ``years`` from the base (fractions allowed)."""
        t = np.asarray(years, dtype=float)
        if self.long_rate is None:
            return (1.0 + self.rate) ** -t
        near = np.minimum(t, self.long_after_years)
        far = np.maximum(t - self.long_after_years, 0.0)
        return (1.0 + self.rate) ** -near * (1.0 + self.long_rate) ** -far


Rate = float | DiscountSchedule


def schedule(rate: Rate) -> DiscountSchedule:
    """A flat rate as a schedule; a schedule as it is."""
    return rate if isinstance(rate, DiscountSchedule) else DiscountSchedule(float(rate))


def year_of_week(week: npt.ArrayLike) -> np.ndarray:
    """Programme year (1-based) of a programme week (1-based): weeks 1-52 are year 1."""
    return (np.asarray(week, dtype=np.int64) - 1) // WEEKS_PER_YEAR + 1


def yearly_factor(year: npt.ArrayLike, rate: Rate) -> np.ndarray:
    """Discount factor of an amount falling in programme year ``year`` (``year - 1`` years from the
    base): ``(1 + rate) ** -(year - 1)`` for a flat rate."""
    return schedule(rate).factor(np.asarray(year, dtype=float) - 1.0)


def delay_factor(weeks: npt.ArrayLike, rate: Rate) -> np.ndarray:
    """Discount factor over a delay given in weeks: ``(1 + rate) ** -(weeks / 52)`` for a flat rate."""
    return schedule(rate).factor(np.asarray(weeks, dtype=float) / WEEKS_PER_YEAR)


def npv(amounts_by_year: npt.ArrayLike, rate: Rate) -> float:
    """Net present value of amounts for years 1, 2, ... (the first is not discounted)."""
    amounts = np.asarray(amounts_by_year, dtype=float)
    return float(np.sum(amounts * yearly_factor(np.arange(1, amounts.size + 1), rate)))
