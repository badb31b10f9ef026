"""Expected mode: the deterministic SØM-style calculation of the published standard offer.

The standard offer (``standard_offer`` in the config) is turned into expected weekly records and
outcomes, then costed, saved and paid for exactly like a simulated run. With the default
parameters this reproduces the published figures (docs/economics.md, "Reproducing the published
figures"); nothing published is written into the result.
"""

from __future__ import annotations

from peersim.economics.params import EconomicsParams
from peersim.economics.result import EconomicsResult, assemble
from peersim.economics.standard_offer import standard_offer_outcomes, standard_offer_timeseries

# The window of the published "net over 5 years": the budget view's years when no run sets them
PUBLISHED_HORIZON_YEARS = 5


def expected(params: EconomicsParams, *, implementation: str = "local_coordinator",
             run_years: int | None = None) -> EconomicsResult:
    """Economics of the standard offer run by ``implementation`` (default: an own local coordinator),
    seen over ``run_years`` budget years (default: ``horizon_years``, or 5 as in the published figures)."""
    params.validate()
    if run_years is None:
        run_years = params.resolve_horizon(PUBLISHED_HORIZON_YEARS)
    return assemble(standard_offer_timeseries(params), standard_offer_outcomes(params), params,
                    implementation=implementation, mode="expected", run_years=run_years)
