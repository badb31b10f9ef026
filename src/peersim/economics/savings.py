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
    amounts = _amounts(successes, params)
    delay = successes["onset_week"].to_numpy(dtype=float) - successes["start_week"].to_numpy(dtype=float)
    discounted = amounts * delay_factor(delay, params.discount_rate)[:, None]
    rows = []
    for j, area in enumerate(AREAS):
        rows.append(pd.DataFrame({
            "municipality": successes["municipality"].to_numpy(),
            "subgroup": successes["subgroup"].to_numpy(),
            "area": area,
            "successes": successes["count"].to_numpy(dtype=float),
            "gross_dkk": amounts[:, j],
            "savings_dkk": discounted[:, j],
        }))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    keys = ["municipality", "subgroup", "area"]
    return frame.groupby(keys, as_index=False, sort=True)[["successes", "gross_dkk", "savings_dkk"]].sum()


def calendar_savings(successes: pd.DataFrame, params: EconomicsParams) -> pd.DataFrame:
    """Calendar view: savings by programme year and area (undiscounted DKK)."""
    amounts = _amounts(successes, params)
    profile = np.asarray(params.savings.yearly_profile, dtype=float)
    onset = successes["onset_week"].to_numpy(dtype=float).round().astype(np.int64)
    # Year k after onset covers weeks onset+52k+1 .. onset+52(k+1); it straddles two programme years.
    offset = onset % WEEKS_PER_YEAR
    first_year = onset // WEEKS_PER_YEAR + 1
    share_first = (WEEKS_PER_YEAR - offset) / WEEKS_PER_YEAR
    k = np.arange(profile.size)
    years = first_year[:, None] + k[None, :]                       # [success, k]
    parts = [(years, share_first[:, None] * profile[None, :]),
             (years + 1, (1.0 - share_first)[:, None] * profile[None, :])]
    frames = []
    for year, weight in parts:
        for j, area in enumerate(AREAS):
            frames.append(pd.DataFrame({"year": year.ravel(), "area": area,
                                        "amount_dkk": (amounts[:, j][:, None] * weight).ravel()}))
    frame = pd.concat(frames, ignore_index=True)
    frame = frame[frame["amount_dkk"] != 0]
    return frame.groupby(["year", "area"], as_index=False, sort=True)["amount_dkk"].sum()
