"""The run folder of an analysis: its tables, the design (``sensitivity.json``), the charts and
the report written last, and the analysis redone from a finished folder without new runs. See
docs/sensitivity.md."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from peersim.experiments.sensitivity.analysis import SensitivityResult, analyse
from peersim.experiments.sensitivity.problem import Parameter, Problem
from peersim.experiments.sensitivity.report import chart_name, report_markdown
from peersim.io import (
    TableFormats,
    TableSettings,
    begin_result,
    save_figure,
    write_json,
    write_tables,
    write_text,
)
from peersim.params import DistParams
from peersim.tables import read_csv
from peersim.validation import ConfigError


def write_result(result: SensitivityResult, outdir: str | Path, *, context: str = "",
                 output: TableSettings = TableFormats(), charts: bool = True) -> Path:
    """Tables, the design, one chart per analysed output and ``sensitivity.md`` (written last,
    so a folder without it is an unfinished analysis)."""
    out = begin_result(outdir, "sensitivity.md")
    tables = {f"{result.method}_indices": result.indices, "samples": result.samples}
    if result.second_order is not None:
        tables["sobol_s2"] = result.second_order
    write_tables(out, tables, output)
    design = {**result.settings, "context": context, "outputs": result.outputs, "csv_locale": output.csv_locale,
              "parameters": [{"name": p.name, "dist": p.dist.dist, "lo": p.dist.lo, "hi": p.dist.hi,
                              "mode": p.dist.mode, "mean": p.dist.mean, "sd": p.dist.sd,
                              "relative": p.dist.relative, "source": p.dist.source}
                             for p in result.problem.parameters],
              "stats": result.stats.to_dict(orient="records"), "not_analysed": result.notes}
    write_json(out / "sensitivity.json", design)
    written = []
    if charts:
        from peersim.experiments.sensitivity.charts import morris_chart, sobol_tornado

        for k in result.outputs:
            if k in result.notes:
                continue
            table = result.indices[result.indices["output"] == k]
            floor = float(result.stats.set_index("output").loc[k, "mu_star_noise_floor"])
            fig = (sobol_tornado(table, k, context, result.settings) if result.method == "sobol"
                   else morris_chart(table, k, context, result.settings, noise_floor=floor))
            name = chart_name(result.method, k)
            save_figure(fig, out / name, dpi=130)
            written.append(name)
    write_text(out / "sensitivity.md", report_markdown(result, context, written))
    return out


def reanalyse(folder: str | Path, *, outputs: Sequence[str] | None = None, charts: bool = True,
              **changes: Any) -> SensitivityResult:
    """Redo the analysis of a finished run folder from its ``samples`` and ``sensitivity.json``
    (no model runs), e.g. with another ``conf_level`` or ``bootstrap_resamples``, and rewrite its
    tables, charts and report. ``outputs`` may name any subset of the analysed outputs."""
    out = Path(folder)
    design = json.loads((out / "sensitivity.json").read_text(encoding="utf-8"))
    locale = design.get("csv_locale", "en")
    samples = (pd.read_parquet(out / "samples.parquet") if (out / "samples.parquet").is_file()
               else read_csv(out / "samples.csv", locale))
    problem = Problem([Parameter(p["name"], DistParams(**{k: p[k] for k in
                                                           ("dist", "lo", "hi", "mode", "mean", "sd", "relative",
                                                            "source")}))
                       for p in design["parameters"]], distributions=design["distributions"])
    chosen = list(outputs) if outputs else design["outputs"]
    unknown = [k for k in chosen if k not in design["outputs"]]
    if unknown:
        raise ConfigError(f"outputs: {', '.join(unknown)} not in this analysis; it has {', '.join(design['outputs'])}")
    settings = {k: v for k, v in design.items()
                if k not in ("context", "outputs", "parameters", "stats", "not_analysed", "csv_locale")}
    settings.update(changes, parameters=len(problem.parameters))
    at_median = {s["output"]: s["at_median"] for s in design["stats"]}
    result = analyse(problem, samples, chosen, settings, at_median)
    formats = TableFormats(parquet=(out / "samples.parquet").is_file(), csv=(out / "samples.csv").is_file(),
                           csv_locale=locale)
    write_result(result, out, context=design.get("context", ""), output=formats, charts=charts)
    return result
