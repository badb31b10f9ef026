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


def expected(params: EconomicsParams, *, implementation: str = "local_coordinator") -> EconomicsResult:
    """Economics of the standard offer run by ``implementation`` (default: an own local coordinator)."""
    params.validate()
    return assemble(standard_offer_timeseries(params), standard_offer_outcomes(params), params,
                    implementation=implementation, mode="expected")
