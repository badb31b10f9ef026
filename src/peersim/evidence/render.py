"""Rendering the register: docs/parameters.md for reading and docs/parameters.csv for pandas or Excel."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from peersim.evidence.formatting import format_distribution, format_value
from peersim.evidence.register import Register, Row
from peersim.evidence.rules import QUALITIES
from peersim.evidence.scope import COMPARISON_ONLY, SECTIONS

# Headings of the parts of a long section (by the second part of the key); others are capitalised
SUBSECTIONS: dict[str, str] = {
    "standard_offer": "Standard offer (expected mode only)",
    "published": "Published outcome (compared with, not an input)",
}

# The paragraph under each section's heading
SECTION_INTRO: dict[str, str] = {
    "run": "The simulated horizon (`conf/config.yaml`).",
    "referral": "How citizens reach the programme: staff referral and self-referral after intro "
                "meetings (`conf/referral/`).",
    "coordinator": "The coordinator's hours budget and what each activity costs in hours "
                   "(`conf/coordinator/`).",
    "course": "Group courses: size, sessions, attendance and dropout (`conf/course/`).",
    "volunteers": "Volunteer peers: strain, burnout, exit and return (`conf/volunteers/`).",
    "recovery": "Citizens' recovery on QPR-15 and the programme's effect (`conf/recovery/`).",
    "companionship": "Companionship (følgeskab) after the course (`conf/companionship/`).",
    "fidelity": "How course fidelity emerges from its drivers (`conf/fidelity/`).",
    "trial": "The randomised trial as a scenario (`scenario=trial`): enrolment, randomisation, the "
             "comparison of the arms, and the trial's published outcome it is compared with (`conf/trial/`).",
    "economics": "Costs, SØM savings, the social-investment contract and the published standard "
                 "offer (`conf/economics/`; formulas in [economics.md](economics.md)).",
    "municipality": "Shared assumptions of every preset (`conf/municipality/_common.yaml`) and each "
                    "preset's population (`conf/municipality/<name>.yaml`). Select with "
                    "`municipality=<name>`.",
    "scenario": "Values that differ by implementation model, one row per scenario that sets them "
                "(`conf/scenario/<name>.yaml`). Select with `scenario=<name>`.",
}


CSV_COLUMNS = ["key", "applies_to", "value", "unit", "quality", "source", "distribution",
               "dist", "lo", "hi", "mode", "mean", "sd", "relative", "range_source", "section", "file"]


def _csv_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return ""
    return str(v)


def render_csv(reg: Register) -> str:
    """One row per parameter, machine-readable values (no thousands separators); UTF-8 with BOM
    is added when written, so Excel shows the Danish letters."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in reg.rows:
        d = r.dist
        w.writerow([
            r.key, r.applies_to, _csv_value(r.value), r.unit, r.quality, r.source, r.distribution,
            d.get("dist", ""), _csv_value(d.get("lo")), _csv_value(d.get("hi")),
            _csv_value(d.get("mode")), _csv_value(d.get("mean")), _csv_value(d.get("sd")),
            _csv_value(d.get("relative")) if d else "", d.get("source", ""), r.section, r.file,
        ])
    return buf.getvalue()


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(reg: Register) -> str:
    """docs/parameters.md: a header (columns, quality rule, counts), one table per mechanism, the
    uncertain parameters, the run settings and the assumptions without a stated reason."""
    counts, inputs = reg.counts(), reg.counts(inputs_only=True)
    total, n_inputs = sum(counts.values()), sum(inputs.values())
    unreasoned = [r for r in reg.rows if not r.reasoned]
    out: list[str] = [
        "# Parameter evidence register",
        "",
        "Every parameter of peersim with its value, unit, source and how good the evidence behind it",
        "is, and, for uncertain parameters, the distribution used in sensitivity analysis.",
        "",
        "**Generated from `conf/`; do not edit by hand.** After changing anything in `conf/`, regenerate:",
        "",
        "```text",
        "peersim-register            # or `make register`: writes docs/parameters.md and docs/parameters.csv",
        "```",
        "",
        "and to check that they are current (as the tests do):",
        "",
        "```bash",
        "peersim-register --check    # exits 1 if they are out of date with conf/ (for CI)",
        "```",
        "",
        "The same rows as a table for pandas or Excel (plain numbers, UTF-8 with BOM): "
        "[parameters.csv](parameters.csv).",
        "",
        "## How to read it",
        "",
        "| column | meaning |",
        "|---|---|",
        "| key | dotted key; override it like any key, e.g. `peersim volunteers.burnout_threshold=0.6` |",
        "| applies to | (presets and scenarios) the option that sets this value: `municipality=<name>`, `scenario=<name>` |",
        "| value | the value a run uses, composed from `conf/` as a run composes it |",
        "| unit | unit of the value; *share* and *0-1* mean a fraction between 0 and 1 |",
        "| quality | how good the evidence is (below) |",
        "| source | what the value is and where it comes from: the comment next to it in `conf/` |",
        "| uncertainty | its distribution in `conf/uncertainty/default.yaml`; empty = held fixed |",
        "",
        "Evidence quality is decided by the first rule that matches the value's comment in `conf/`:",
        "",
        "1. an explicit tag `[trial]`, `[published]`, `[assumption]` or `[calibrated]` in the comment;",
        "2. **calibrated**: tuned so that the model reproduces a published or trial figure;",
        "3. **expert assumption**: the comment says *assumption* (a published figure named next to it is "
        "context, not the value's source);",
        "4. **trial**: a result of the randomised trial of the programme (Poulsen et al. 2025, "
        "doi 10.1186/s12888-025-07011-y; protocol doi 10.1186/s13063-022-06670-6);",
        "5. **published**: a figure from the domain background [domain.md](domain.md) (cited as "
        "`docs/domain.md, <section>`), one of the programme documents it describes as [S0]-[S4] "
        "([Sources](domain.md#sources)), Socialstyrelsen, SØM or a paper with a doi.",
        "",
        "A key without a comment, a unit or a source stops `peersim-register` with the file and line.",
        "",
        "## At a glance",
        "",
        "| evidence quality | all rows | share | model inputs | share |",
        "|---|---:|---:|---:|---:|",
    ]
    for q in QUALITIES:
        out.append(f"| {q} | {counts[q]} | {_share(counts[q], total)} | {inputs[q]} | "
                   f"{_share(inputs[q], n_inputs)} |")
    out += [f"| **all** | **{total}** | | **{n_inputs}** | |", ""]
    notes = [
        f"{sum(1 for r in reg.rows if r.distribution)} of the {total} rows have an uncertainty "
        "distribution; the rest are held fixed.",
        "A value that each scenario or municipality preset sets differently counts once per scenario or preset.",
    ]
    if total != n_inputs:
        what = "; ".join(f"`{p}`: {m}" for p, m in COMPARISON_ONLY.items())
        notes.append(f"*Model inputs* leaves out the {total - n_inputs} values kept only for comparison "
                     f"with results ({what}).")
    notes.append(f"{len(unreasoned)} of the {counts['expert assumption']} expert assumptions do not "
                 "give their reason as `assumption: <why>` ([listed at the end](#assumptions-without-a-stated-reason)).")
    out += [*(f"- {n}" for n in notes), ""]

    by_section: dict[str, list[Row]] = {}
    for r in reg.rows:
        by_section.setdefault(r.section, []).append(r)
    for section, rows in by_section.items():
        out += [f"## {SECTIONS.get(section, section.capitalize())}", ""]
        if section in SECTION_INTRO:
            out += [SECTION_INTRO[section], ""]
        keys = reg.set_by_scenario.get(section, [])
        if keys:
            out += ["Set by the scenario (see [Scenarios](#scenarios)): "
                    + ", ".join(f"`{k}`" for k in keys) + ".", ""]
        for option, bases in reg.builds_on.items():
            group, name = option.split("=", 1)
            if group == section:
                out += [f"`{option}` builds on {', '.join(f'`{b}`' for b in bases)}: it takes "
                        f"{'its' if len(bases) == 1 else 'their'} values and sets only the rows "
                        f"marked {name}.", ""]
        sq = {q: sum(r.quality == q for r in rows) for q in QUALITIES}
        out += ["Evidence: " + ", ".join(f"{n} {q}" for q, n in sq.items() if n) + ".", ""]
        split = any(r.applies_to != "all" for r in rows)
        for sub, sub_rows in _subsections(section, rows).items():
            if sub:
                out += [f"### {SUBSECTIONS.get(sub, sub.replace('_', ' ').capitalize())}", ""]
            out += _table(sub_rows, split)
    out += _uncertain_section(reg)
    out += ["## Run settings", "",
            "These keys choose what a run does or how it is labelled; they carry no evidence and are "
            "not counted above.", "",
            "| key | default | meaning |", "|---|---|---|"]
    for s in reg.settings:
        out.append(f"| `{s.key}` | {_md(format_value(s.value))} | {_md(s.meaning)} |")
    out += ["", "## Assumptions without a stated reason", ""]
    if unreasoned:
        out += ["Expert assumptions whose comment does not give the reason as `assumption: <why>` "
                "(some explain themselves in the description). They are the first candidates for "
                "better evidence or a written-down judgement.", "",
                "| key | applies to | value | unit |", "|---|---|---|---|"]
        for r in unreasoned:
            out.append(f"| `{r.key}` | {_applies(r.applies_to)} | {_md(format_value(r.value, r.unit))} "
                       f"| {_md(r.unit)} |")
    else:
        out.append("None.")
    out.append("")
    return "\n".join(out)


def _subsections(section: str, rows: list[Row]) -> dict[str, list[Row]]:
    """Rows of a long mechanism split by their second key part (``economics.costs.*`` -> costs);
    keys directly under the section come first, without a heading. Presets and scenarios are not split."""
    out: dict[str, list[Row]] = {}
    for r in rows:
        parts = r.key.split(".")
        sub = parts[1] if len(parts) > 2 and section not in ("scenario", "municipality") else ""
        out.setdefault(sub, []).append(r)
    return dict(sorted(out.items(), key=lambda kv: kv[0] != ""))


def _table(rows: list[Row], split: bool) -> list[str]:
    head = ["key", *(["applies to"] if split else []), "value", "unit", "quality", "source", "uncertainty"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [f"`{r.key}`", *([_applies(r.applies_to)] if split else []),
                 _md(format_value(r.value, r.unit)), _md(r.unit), r.quality, _md(r.source),
                 _md(r.distribution)]
        out.append("| " + " | ".join(cells) + " |")
    return [*out, ""]


def _share(n: int, total: int) -> str:
    return f"{n / total:.0%}" if total else ""


def _applies(applies: str) -> str:
    return applies.split("=", 1)[1] if "=" in applies else applies


def _uncertain_section(reg: Register) -> list[str]:
    out = ["## Uncertain parameters", "",
           "The distributions of `conf/uncertainty/default.yaml`: drawn per replication in "
           "probabilistic sensitivity analysis and used as bounds in global sensitivity analysis. "
           "*× ... (multiplier)* means the draw multiplies the value the scenario sets.", ""]
    if not reg.uncertain:
        return [*out, "None yet: every parameter is held fixed.", ""]
    out += ["| key | distribution | why this range |", "|---|---|---|"]
    for key, d in reg.uncertain.items():
        out.append(f"| `{key}` | {_md(format_distribution(d))} | {_md(d.source)} |")
    return [*out, ""]


def outputs(reg: Register) -> dict[str, bytes]:
    """File name -> exact bytes of the register files."""
    return {
        "parameters.md": render_markdown(reg).encode("utf-8"),
        "parameters.csv": render_csv(reg).encode("utf-8-sig"),
    }
