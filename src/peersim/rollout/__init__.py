"""Roll-out plans across Denmark: coordinator groups simulated by the model, economics by portfolio.

:mod:`peersim.rollout.plan` turns ``conf/rollout/<plan>.yaml`` into coordinator groups;
:mod:`peersim.rollout.portfolio` simulates each group with :func:`peersim.simulate.run` from its
start year to the horizon and shifts its yearly rows to calendar years; :mod:`peersim.rollout.summary`
aggregates the plan (the fund's cash curve, peak capital need, break-even years);
:mod:`peersim.rollout.charts` draws it. docs/rollout.md describes it all.
"""

from peersim.rollout.plan import Group, Plan, build_groups, build_plan

__all__ = ["Group", "Plan", "build_groups", "build_plan"]
