"""Municipal savings per attributable success, SØM style, by subgroup and administrative area.

Two views of the same savings:

* **SØM view** (the published per-citizen figures): each success is worth the SØM 5-year total of
  its subgroup, split by area; SØM places savings after the intervention, so the total is
  discounted from the onset of savings back to the citizen's course start.
* **Calendar view** (cash flow, break-even, NPV): the 5-year total accrues week by week over the
  5 years after the onset, shaped by ``savings.yearly_profile``, and lands in programme years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from peersim.economics.discounting import delay_factor
from peersim.economics.params import AREAS, EconomicsParams
from peersim.economics.tables import Table, TableLike, column, frame, group, group_sum
from peersim.vocabulary import SUBGROUPS, WEEKS_PER_YEAR

SOM_COLUMNS = ("municipality", "subgroup", "area", "successes", "gross_dkk", "savings_dkk")
CALENDAR_COLUMNS = ("year", "area", "amount_dkk")


def per_success_table(params: EconomicsParams) -> np.ndarray:
    """Array [subgroup, area] of the SØM saving per success (DKK), in ``SUBGROUPS`` x ``AREAS`` order."""
    per = params.savings.per_success_dkk
    return np.array([[getattr(getattr(per, g), a) for a in AREAS] for g in SUBGROUPS])


def _amounts(subgroups: np.ndarray, count: np.ndarray, params: EconomicsParams) -> np.ndarray:
    """Array [row, area]: count x SØM saving per success for the row's subgroup."""
    index = np.full(len(subgroups), -1, dtype=np.int64)
    for i, g in enumerate(SUBGROUPS):
        index[subgroups == g] = i
    if (index < 0).any():
        raise ValueError(f"subgroup={subgroups[index < 0][0]!r} is not known; allowed: {', '.join(SUBGROUPS)}")
    return per_success_table(params)[index] * count[:, None]


def som_table(successes: TableLike, params: EconomicsParams) -> Table:
    """SØM view by municipality, subgroup and area: successes, gross 5-year saving, and discounted to course start."""
    delay = column(successes, "onset_week", float) - column(successes, "start_week", float)
    count = column(successes, "count", float)
    municipality, subgroup = column(successes, "municipality"), column(successes, "subgroup")
    groups, first = group(municipality, subgroup)
    n_successes = group_sum(groups, count, len(first))
    discounted = group_sum(groups, count * delay_factor(delay, params.discount), len(first))
    per = _amounts(subgroup[first], np.ones(len(first)), params)  # [group, area] SØM saving per success
    n_areas = len(AREAS)
    return {
        "municipality": np.repeat(municipality[first], n_areas),
        "subgroup": np.repeat(subgroup[first], n_areas),
        "area": np.tile(np.array(AREAS, dtype=object), len(first)),
        "successes": np.repeat(n_successes, n_areas),
        "gross_dkk": (per * n_successes[:, None]).ravel(),
        "savings_dkk": (per * discounted[:, None]).ravel(),
    }


def som_savings(successes: TableLike, params: EconomicsParams) -> pd.DataFrame:
    """:func:`som_table` as a DataFrame (the result's ``savings_by_subgroup``)."""
    return frame(som_table(successes, params), SOM_COLUMNS)


def calendar_table(successes: TableLike, params: EconomicsParams) -> Table:
    """Calendar view: savings by programme year and area (undiscounted DKK), non-zero rows only, area by area."""
    amounts = _amounts(column(successes, "subgroup"), column(successes, "count", float), params)
    profile = np.asarray(params.savings.yearly_profile, dtype=float)
    onset = column(successes, "onset_week", float).round().astype(np.int64)
    # Year k after onset covers weeks onset+52k+1 .. onset+52(k+1); it straddles two programme years.
    first_year = (onset // WEEKS_PER_YEAR + 1)[:, None] + np.arange(profile.size)[None, :]   # [success, k]
    share_first = ((WEEKS_PER_YEAR - onset % WEEKS_PER_YEAR) / WEEKS_PER_YEAR)[:, None]
    n_years = int(first_year.max()) + 2 if first_year.size else 1
    years, areas, values = [], [], []
    for j, area in enumerate(AREAS):
        per_year = amounts[:, j][:, None] * profile[None, :]
        by_year = (np.bincount(first_year.ravel(), (per_year * share_first).ravel(), minlength=n_years)
                   + np.bincount(first_year.ravel() + 1, (per_year * (1.0 - share_first)).ravel(), minlength=n_years))
        nonzero = np.flatnonzero(by_year)
        years.append(nonzero)
        areas.append(np.full(nonzero.size, area, dtype=object))
        values.append(by_year[nonzero])
    return {"year": np.concatenate(years).astype(np.int64), "area": np.concatenate(areas),
            "amount_dkk": np.concatenate(values)}


def calendar_savings(successes: TableLike, params: EconomicsParams) -> pd.DataFrame:
    """:func:`calendar_table` as a DataFrame."""
    return frame(calendar_table(successes, params), CALENDAR_COLUMNS)
