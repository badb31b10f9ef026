"""The report, ``sensitivity.md``: the design and its cost, the parameters and their
distributions, per output the most influential parameters with their indices, the seed noise,
and how to read and redo the analysis. See docs/sensitivity.md."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from peersim.experiments.sensitivity.analysis import (
    IMPRECISE,
    IMPRECISE_MORRIS,
    INFLUENTIAL,
    NEGLIGIBLE,
    SensitivityResult,
    influential,
    verdicts,
)
from peersim.experiments.sensitivity.noise import NOISY


def chart_name(method: str, output: str) -> str:
    """The file name of an output's chart (the report embeds it by this name)."""
    return f"{method}_{re.sub(r'[^A-Za-z0-9_.-]+', '_', output)}.png"


def fmt(x: float) -> str:
    """A number for the report: thousands separated from 1,000 on, else 3 significant digits; n/a if missing."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(f"`{p}`" for p in names[:limit])
    return shown + (f" and {len(names) - limit} more (see the indices table)" if len(names) > limit else "")


def _morris_shape(mu_star: float, sigma: float) -> str:
    """Garcia Sanchez et al. 2014 (doi 10.1016/j.enbuild.2014.02.044): sigma/mu_star."""
    if not mu_star or not math.isfinite(sigma):
        return "n/a"
    ratio = sigma / mu_star
    if ratio < 0.1:
        return "linear"
    if ratio < 0.5:
        return "monotonic"
    if ratio < 1.0:
        return "almost monotonic"
    return "non-linear or interacting"


def report_markdown(result: SensitivityResult, context: str = "", charts: Sequence[str] = ()) -> str:
    """``sensitivity.md``: the design, then per output the most influential parameters."""
    s, method = result.settings, result.method
    title = "Sobol' indices" if method == "sobol" else "Morris screening"
    seeds = s["seeds"]
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]}"
    rate = s["runs"] / s["seconds"] if s["seconds"] > 0 else math.nan
    per_run = s["cpu_seconds"] / s["runs"] if s["runs"] else math.nan
    lines = [f"# Sensitivity analysis: {title}", ""]
    if context:
        lines += [context, ""]
    lines += [
        f"{s['parameters']} parameters, {s['points']} sample points ({s['points_formula']}), "
        f"{s['replications_per_point']} run(s) per point with common random numbers ({seed_text}, the same at "
        f"every point): **{s['runs']} model runs in {s['seconds']:.0f} s** on {s['n_jobs']} process(es) "
        f"({rate:.1f} runs/s; {per_run:.3f} CPU-seconds per run).",
        "",
        "Parameter values are drawn from their distributions (inverse CDF of the unit-cube design)."
        if s["distributions"] else "Parameter values are drawn uniformly on [lo, hi] (experiment.distributions=false).",
        "",
        "| parameter | distribution | source |",
        "|---|---|---|",
    ]
    for p in result.problem.parameters:
        lines.append(f"| `{p.name}` | {p.describe(s['distributions'])} | {p.dist.source or '-'} |")
    lines.append("")
    for k in result.outputs:
        st = result.stats[result.stats["output"] == k].iloc[0]
        lines += [f"## {k}", ""]
        share = st["seed_noise_share"]
        noise = (f"; seed noise (luck that differs between points despite the common seeds) is {share:.0%} "
                 "of the variance across the sample" if math.isfinite(share) else "")
        lines.append(f"At the median of every parameter: {fmt(st['at_median'])}. Across the sample "
                     f"(mean of the runs per point): mean {fmt(st['mean'])}, sd {fmt(st['sd'])}{noise}.")
        lines.append("")
        if math.isfinite(share) and share > NOISY and k not in result.notes:
            lines += [f"**Mostly luck:** with {share:.0%} of the variation being seed noise, the indices below "
                      "mostly show which parameters send the runs down other random paths, not systematic "
                      "effects. Raise experiment.replications_per_point before reading them as effects.", ""]
        if k in result.notes:
            lines += [f"Not analysed: the output {result.notes[k]}.", ""]
            continue
        table = result.indices[result.indices["output"] == k]
        rows, rest = influential(table, method)
        if method == "sobol":
            lines += _sobol_section(table, rows, rest, s)
        else:
            lines += _morris_section(table, rows, rest, s, float(st["mu_star_noise_floor"]))
        chart = chart_name(method, k)
        if chart in charts:
            lines += [f"![{k}]({chart})", ""]
    lines += _closing(result)
    return "\n".join(lines) + "\n"


def raise_n(method: str, s: dict[str, Any]) -> str:
    """The advice for an imprecise index: the key that sets the sample size, and a value that halves the CIs."""
    if method == "sobol":
        return f"raise N (experiment.base_samples={4 * int(s.get('base_samples') or 32)} halves the intervals)"
    return f"raise r (experiment.trajectories={4 * int(s.get('trajectories') or 20)} halves the intervals)"


def _verdict_lines(table: pd.DataFrame, method: str, s: dict[str, Any], describe) -> list[str]:
    """The parameters that are not influential, by what their intervals allow to be said."""
    verdict = verdicts(table, method)[0]
    t = table.assign(verdict=verdict.to_numpy()).sort_values("rank")
    lvl = f"{s['conf_level']:.0%}"
    if method == "sobol":
        wide = f"the {lvl} CI's half-width above {IMPRECISE:g}"
        small = (f"ST below {INFLUENTIAL:g} or its CI reaching zero, but the CI reaching above {NEGLIGIBLE:g}")
        below = f"the whole {lvl} CI of ST below {NEGLIGIBLE:g}"
    else:
        wide = f"the {lvl} CI's half-width above {IMPRECISE_MORRIS:.0%} of the largest mu*"
        small = (f"mu* below {INFLUENTIAL:.0%} of the largest or its CI reaching zero, but the CI reaching above "
                 f"{NEGLIGIBLE:.0%} of the largest")
        below = f"the whole {lvl} CI of mu* below {NEGLIGIBLE:.0%} of the largest mu*"
    out = []
    imprecise = t[t["verdict"] == "imprecise"]
    if len(imprecise):
        listed = "; ".join(f"`{r['parameter']}` ({describe(r)})" for _, r in imprecise.head(12).iterrows())
        more = f" and {len(imprecise) - 12} more (see the indices table)" if len(imprecise) > 12 else ""
        out += [f"**Not estimated precisely** ({wide}: the runs cannot tell whether they matter): {listed}{more}. "
                f"To settle them, {raise_n(method, s)}.", ""]
    unclear = list(t.loc[t["verdict"] == "unclear", "parameter"])
    if unclear:
        out += [f"Not shown to matter, not negligible either ({small}): {_names(unclear)}.", ""]
    negligible = list(t.loc[t["verdict"] == "negligible", "parameter"])
    if negligible:
        out += [f"Negligible ({below}): {_names(negligible)}.", ""]
    return out


def _imprecise_mark(r: pd.Series, conf: str, scale: float = 1.0, threshold: float = IMPRECISE) -> str:
    return " - **not estimated precisely**" if r[conf] / scale > threshold else ""


def _sobol_section(table: pd.DataFrame, rows: list[pd.Series], rest: list[str], s: dict[str, Any]) -> list[str]:
    lvl = f"{s['conf_level']:.0%}"
    out = []
    if rows:
        out.append(f"Most influential (total-order index ST, share of the output's variance, {lvl} CI):")
        out.append("")
        for i, r in enumerate(rows[:8], 1):
            se = f", seed se {r['ST_seed_se']:.2f}" if math.isfinite(r["ST_seed_se"]) else ""
            out.append(f"{i}. `{r['parameter']}`: ST {r['ST']:.2f} ± {r['ST_conf']:.2f}, "
                       f"S1 {r['S1']:.2f} ± {r['S1_conf']:.2f}{se}{_imprecise_mark(r, 'ST_conf')}")
        out.append("")
    else:
        out += [f"No parameter reaches a total-order index of {INFLUENTIAL:.0%} with its CI clear of zero.", ""]
    if rest:
        out += _verdict_lines(table, "sobol", s, lambda r: f"ST {r['ST']:.2f} ± {r['ST_conf']:.2f}")
    s1 = float(table["S1"].clip(lower=0).sum())
    if s1 > 1.2:
        verdict = ("more than 1, so the estimates are still dominated by sampling and seed noise: "
                   "increase experiment.base_samples (and experiment.replications_per_point).")
    elif s1 >= 0.8:
        verdict = "the parameters act mostly alone (additively)."
    else:
        verdict = (f"about {max(0.0, 1 - s1):.0%} of the variance comes from interactions between parameters "
                   "(or from estimation noise; see the CIs).")
    out += [f"Sum of first-order indices {s1:.2f}: {verdict}", ""]
    st = float(table["ST"].clip(lower=0).sum())
    if st > 1.5 and s1 <= 1.2:
        out += [f"The total-order indices add up to {st:.1f}. Beyond real interactions, part of every ST is "
                "estimation noise and the roughness the seeds leave in the output (runs at neighbouring points "
                "differ in luck in ways no parameter explains); small ST values near their CI are not "
                "evidence of an effect.", ""]
    se = table["ST_seed_se"].max()
    if math.isfinite(se):
        out += [f"Seed noise: the largest seed standard error of an index is {se:.2f} "
                "(from the spread between the seed sets).", ""]
    return out


def _morris_section(table: pd.DataFrame, rows: list[pd.Series], rest: list[str], s: dict[str, Any],
                    floor: float = math.nan) -> list[str]:
    lvl = f"{s['conf_level']:.0%}"
    out = []
    if rows:
        out.append(f"Most influential (mu*: mean absolute change of the output over the parameter's full range, "
                   f"{lvl} CI; sigma: spread of the effects):")
        out.append("")
        top = float(table["mu_star"].max())
        for i, r in enumerate(rows[:8], 1):
            below = " - within the seed-noise floor" if math.isfinite(floor) and r["mu_star"] < floor else ""
            out.append(f"{i}. `{r['parameter']}`: mu* {fmt(r['mu_star'])} ± {fmt(r['mu_star_conf'])}, "
                       f"mu {fmt(r['mu'])}, sigma {fmt(r['sigma'])} "
                       f"({_morris_shape(r['mu_star'], r['sigma'])}){below}{_imprecise_mark(r, 'mu_star_conf', top, IMPRECISE_MORRIS)}")
        out.append("")
    else:
        out += ["No parameter has an effect clearly above zero.", ""]
    if rest:
        out += _verdict_lines(table, "morris", s, lambda r: f"mu* {fmt(r['mu_star'])} ± {fmt(r['mu_star_conf'])}")
    if math.isfinite(floor):
        above = int((table["mu_star"] > floor).sum())
        zero = int((table["mu_star"] == 0).sum())
        out += [f"Seed-noise floor of mu*: {fmt(floor)} (what a parameter would show from noise alone if each "
                f"of its steps sent the runs down another path); {above} parameter(s) lie above it. "
                + (f"{zero} parameter(s) have mu* = 0 exactly: with common random numbers they do not change "
                   "this output at all. " if zero else "")
                + "Effects below the floor may be real (a step that keeps the runs on their path adds no "
                  "noise) but cannot be told from luck; more experiment.replications_per_point lower the floor "
                  "as 1/sqrt(R).", ""]
    return out


def _closing(result: SensitivityResult) -> list[str]:
    s = result.settings
    d = len(result.problem.parameters)
    if result.method == "sobol":
        grow = ("Tighter intervals: the CIs narrow about as 1/sqrt(N); "
                f"`experiment.base_samples={4 * s['base_samples']}` "
                f"halves them at 4x the cost. More `experiment.replications_per_point` reduces the seed noise "
                f"(about 1/sqrt(R)).")
        redo = (f"y = s.groupby('point')[{result.outputs[0]!r}].mean().to_numpy()\n"
                f"sobol.analyze({{'num_vars': {d}, 'names': names, 'bounds': [[0, 1]] * {d}}}, y, "
                f"calc_second_order={s['second_order']})")
        imp = "from SALib.analyze import sobol"
    else:
        grow = ("Tighter intervals: the CIs narrow about as 1/sqrt(r); "
                f"`experiment.trajectories={4 * s['trajectories']}` "
                "halves them at 4x the cost. Screen with Morris, then run Sobol' on the parameters that matter.")
        redo = (f"y = s.groupby('point')[{result.outputs[0]!r}].mean().to_numpy()\n"
                "u = s.groupby('point')[[f'u:{n}' for n in names]].first().to_numpy()\n"
                f"morris.analyze({{'num_vars': {d}, 'names': names, 'bounds': [[0, 1]] * {d}}}, u, y, "
                f"num_levels={s['levels']})")
        imp = "from SALib.analyze import morris"
    names = ", ".join(repr(p.name) for p in result.problem.parameters)
    return ["## How to read and redo this", "", grow, "",
            "Every run is in `samples.parquet` (design order; `u:<key>` is the unit-cube coordinate, the plain "
            "columns the values used). `peersim.experiments.sensitivity.reanalyse(folder, conf_level=...)` redoes "
            "this analysis and rewrites this folder without new runs; with SALib directly:", "",
            "```python", "import pandas as pd", imp, "s = pd.read_parquet('samples.parquet')",
            f"names = [{names}]", redo, "```"]
