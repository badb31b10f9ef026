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

from peersim.economics.discounting import WEEKS_PER_YEAR, delay_factor
from peersim.economics.params import AREAS, SUBGROUPS, EconomicsParams


def per_success_table(params: EconomicsParams) -> np.ndarray:
    """Array [subgroup, area] of the SØM saving per success (DKK), in ``SUBGROUPS`` x ``AREAS`` order."""
    per = params.savings.per_success_dkk
    return np.array([[getattr(getattr(per, g), a) for a in AREAS] for g in SUBGROUPS])


def _amounts(successes: pd.DataFrame, params: EconomicsParams) -> np.ndarray:
    """Array [success row, area]: count x SØM saving per success for the row's subgroup."""
    index = successes["subgroup"].map({g: i for i, g in enumerate(SUBGROUPS)}).to_numpy(dtype=np.int64)
    return per_success_table(params)[index] * successes["count"].to_numpy(dtype=float)[:, None]


def som_savings(successes: pd.DataFrame, params: EconomicsParams) -> pd.DataFrame:
    """SØM view by municipality, subgroup and area: successes, gross 5-year saving, and discounted to course start."""
    delay = successes["onset_week"].to_numpy(dtype=float) - successes["start_week"].to_numpy(dtype=float)
    count = successes["count"].to_numpy(dtype=float)
    grouped = (successes[["municipality", "subgroup"]]
               .assign(successes=count, discounted=count * delay_factor(delay, params.discount_rate))
               .groupby(["municipality", "subgroup"], as_index=False, sort=True)[["successes", "discounted"]].sum())
    per = _amounts(grouped.assign(count=1.0), params)            # [group, area] SØM saving per success
    n_areas = len(AREAS)
    return pd.DataFrame({
        "municipality": np.repeat(grouped["municipality"].to_numpy(), n_areas),
        "subgroup": np.repeat(grouped["subgroup"].to_numpy(), n_areas),
        "area": np.tile(np.array(AREAS, dtype=object), len(grouped)),
        "successes": np.repeat(grouped["successes"].to_numpy(), n_areas),
        "gross_dkk": (per * grouped["successes"].to_numpy()[:, None]).ravel(),
        "savings_dkk": (per * grouped["discounted"].to_numpy()[:, None]).ravel(),
    })


def calendar_savings(successes: pd.DataFrame, params: EconomicsParams) -> pd.DataFrame:
    """Calendar view: savings by programme year and area (undiscounted DKK), non-zero rows only."""
    amounts = _amounts(successes, params)
    profile = np.asarray(params.savings.yearly_profile, dtype=float)
    onset = successes["onset_week"].to_numpy(dtype=float).round().astype(np.int64)
    # Year k after onset covers weeks onset+52k+1 .. onset+52(k+1); it straddles two programme years.
    first_year = (onset // WEEKS_PER_YEAR + 1)[:, None] + np.arange(profile.size)[None, :]   # [success, k]
    share_first = ((WEEKS_PER_YEAR - onset % WEEKS_PER_YEAR) / WEEKS_PER_YEAR)[:, None]
    n_years = int(first_year.max()) + 2 if first_year.size else 1
    rows = []
    for j, area in enumerate(AREAS):
        per_year = amounts[:, j][:, None] * profile[None, :]
        by_year = (np.bincount(first_year.ravel(), (per_year * share_first).ravel(), minlength=n_years)
                   + np.bincount(first_year.ravel() + 1, (per_year * (1.0 - share_first)).ravel(), minlength=n_years))
        rows += [(int(y), area, float(by_year[y])) for y in np.flatnonzero(by_year)]
    return pd.DataFrame(rows, columns=["year", "area", "amount_dkk"]).astype({"year": np.int64, "amount_dkk": float})
