"""What ``peersim rollout=<plan>`` prints: the plan's key figures in a few lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peersim.rollout.result import run_plan

__all__ = ["plan_lines", "run_plan"]


def _year(value: int | None, never: str) -> str:
    return never if value is None else str(value)


def plan_lines(s: dict[str, Any], seconds: float, out: Path) -> str:
    """The printed summary of a plan's run (keys: docs/rollout.md)."""
    span = f"{s['rollout_start_year']}-{s['rollout_end_year']}"
    even = s["rollout_break_even_year"]
    broke = sorted((y, m) for m, y in even.items() if y is not None)
    shown = ", ".join(f"{m} {y}" for y, m in broke[:8]) + (" ..." if len(broke) > 8 else "")
    loss = {n: s[f"rollout_municipalities_in_loss_after_{n}_years"] for n in (5, 10)}
    return (
        f"peersim rollout={s['rollout_plan']} | {span} | seed {s['seed']} ({seconds:.1f} s)\n"
        f"  {s['rollout_municipalities']} municipalities, {s['rollout_coordinators']} coordinator groups "
        f"({s['rollout_coordinator_fte']:.1f} FTE); courses {s['rollout_courses_started']:,.0f}, citizens started "
        f"{s['rollout_citizens_started']:,.0f}, successes {s['rollout_successes']:,.0f}\n"
        f"  fund: peak capital need {s['rollout_peak_capital_need_dkk']:,.0f} DKK in "
        f"{_year(s['rollout_peak_capital_year'], '-')}, recovered {_year(s['rollout_capital_recovered_year'], 'not within ' + span)}; "
        f"cash at {s['rollout_end_year']} {s['rollout_fund_net_dkk']:,.0f} DKK (programme office "
        f"{s['rollout_programme_office_dkk']:,.0f})\n"
        f"  municipalities: budget net {s['rollout_budget_net_dkk']:,.0f} DKK in all; in loss after 5 own years "
        f"{_year(loss[5], 'n/a')}, after 10 {_year(loss[10], 'n/a')}; break-even within the plan: "
        f"{len(broke)} of {len(even)}{' (' + shown + ')' if broke else ''}\n"
        f"  outputs: {out}"
    )
