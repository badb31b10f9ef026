"""The chart of a calibration: ``chart_calibration.png``, the objective and the parameters by
evaluation. matplotlib is imported only when the chart is drawn."""

from __future__ import annotations

from pathlib import Path

from peersim.experiments.calibrate.fit import Objective
from peersim.experiments.calibrate.parameters import Parameter, format_value
from peersim.io import save_figure


def plot_trace(obj: Objective, parameters: list[Parameter], path: Path) -> None:
    """Objective and the parameters (as a share of their bounds) by evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hist = obj.history
    x = [e.index for e in hist]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8.5, 6.5), sharex=True)
    a1.plot(x, [max(e.objective, 1e-6) for e in hist], "o-", ms=3, color="#34495e")
    best = min(hist, key=lambda e: e.objective)
    a1.plot([best.index], [max(best.objective, 1e-6)], "*", ms=14, color="#c0392b", label="best")
    a1.set_yscale("log")
    a1.set_ylabel("objective (sum of w z^2, log scale)")
    a1.set_title("Calibration: objective and parameters by evaluation")
    a1.legend(fontsize=8)
    for p in parameters:
        a2.plot(x, [p.to_unit(e.values[p.key]) for e in hist], "o-", ms=3,
                label=f"{p.key} [{format_value(p, p.lo)}, {format_value(p, p.hi)}]")
    a2.set_ylim(-0.05, 1.05)
    a2.set_ylabel("position within bounds (0 = lo, 1 = hi)")
    a2.set_xlabel("evaluation (parameter point simulated)")
    a2.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path)
