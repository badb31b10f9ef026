"""peersim.economics: a pure layer from what the simulation recorded to costs, SØM savings,
outcome payments and the parties' net positions. No Mesa, no Hydra; OmegaConf only in
:func:`load_default_params`. Formulas, parameters and sources: docs/economics.md.
"""

from peersim.economics.cashflow import break_even_year, net_by_year
from peersim.economics.contract import ContractTerms, contract_terms
from peersim.economics.costs import hourly_rate
from peersim.economics.defaults import load_default_params
from peersim.economics.discounting import npv
from peersim.economics.evaluate import evaluate
from peersim.economics.expected import expected
from peersim.economics.params import EconomicsParams
from peersim.economics.result import EconomicsResult

__all__ = [
    "ContractTerms",
    "EconomicsParams",
    "EconomicsResult",
    "break_even_year",
    "contract_terms",
    "cumulative_cashflow_chart",
    "evaluate",
    "expected",
    "hourly_rate",
    "load_default_params",
    "net_by_year",
    "npv",
]


def __getattr__(name: str):
    """The chart is imported when first asked for: matplotlib is not needed to compute."""
    if name == "cumulative_cashflow_chart":
        from peersim.economics.charts import cumulative_cashflow_chart

        return cumulative_cashflow_chart
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
