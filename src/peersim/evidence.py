"""The parameter evidence register: every parameter in ``conf/`` with its value, unit, source,
evidence quality and, where it is uncertain, its distribution.

``docs/parameters.md`` and ``docs/parameters.csv`` are generated from ``conf/`` and never edited
by hand, so they cannot drift from the values a run uses::

    peersim-register            # (re)write docs/parameters.md and docs/parameters.csv
    peersim-register --check    # exit 1 if they are out of date with conf/ (for CI)

Where the pieces come from
--------------------------
* **Values** come from the composed, validated configuration (:func:`peersim.load_config`), so
  interpolations, scenario overrides and municipality presets are what a run sees. A value set
  by a scenario or a preset gets its own row, composed with that option selected.
* **Unit, source and quality** come from the comment next to the value in ``conf/``, which
  follows one convention::

      key: value   # <unit>; <what it is and where it comes from>
                   # (comment-only lines indented past the key continue the comment)

  The unit is the text before the first ``;``. A key without a unit of its own takes the unit
  of the nearest enclosing key that states one (``per_success_dkk:  # DKK ...``), and likewise
  its source when its own comment cites none.
* **Evidence quality** is one of :data:`QUALITIES`, by this rule (first match wins):

  1. an explicit tag in the comment: ``[trial]``, ``[published]``, ``[assumption]`` or
     ``[calibrated]`` (used where the rule below would be ambiguous);
  2. ``calibrated``: the value was tuned so that the model reproduces a target;
  3. ``expert assumption``: the comment says ``assumption`` (a published figure mentioned next
     to an assumption is context, not the value's source);
  4. ``trial``: the comment cites the randomised trial of the programme (Poulsen et al. 2025,
     doi 10.1186/s12888-025-07011-y, its protocol doi 10.1186/s13063-022-06670-6 or NCT04639167);
  5. ``published``: the comment cites ``docs/domain.md`` (the domain background, by section:
     ``docs/domain.md, Economics``), one of the programme documents it lists by id (``[S0]`` ...
     ``[S4]``, e.g. ``[S4] section 7.2``; see :data:`SOURCE_IDS`), a doi, Socialstyrelsen or SØM.

  A parameter whose comment (and enclosing keys) matches none of these is an error, and so is a
  comment (or an uncertainty ``source``) that cites a document outside the repository (the
  former domain notes by their upper-case file name, or a seed file by its number, see
  :data:`_OUTSIDE`) or a source id that docs/domain.md does not define.
* **Distributions** are read from ``conf/uncertainty/default.yaml`` at generation time (through
  the composed configuration, so they are validated).

Run settings that carry no evidence (the seed, output switches, names and labels, which
municipalities a run includes, the economics mode) are listed separately, see :data:`SETTINGS`.
``conf/experiment/`` and ``conf/hydra/`` are not part of the register.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import fnmatch
import io
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

QUALITIES = ("trial", "published", "expert assumption", "calibrated")

# Folders of conf/ that are not parameters of the model (or only feed a column of the register)
EXCLUDED_GROUPS = ("uncertainty", "experiment", "hydra")

# Leaves of the configuration that are run settings, not parameters with evidence behind them.
SETTINGS: dict[str, str] = {
    "seed": "random seed of a run; the same configuration and seed give identical outputs",
    "output.*": "which files a run writes",
    "scenario.name": "name of the selected scenario",
    "scenario.implementation": "which implementation model the scenario is (selects its costs)",
    "scenario.description": "one-line description of the scenario",
    "municipality.name": "name of the selected municipality preset",
    "municipality.label": "the municipality's name as printed",
    "municipality.coordinator_group": "municipalities with the same group share one coordinator",
    "shared_with": "neighbouring municipalities served by the same coordinator in a run",
    "extra_municipalities": "further municipalities simulated in the same run",
    "economics.mode": "which economic calculation a run reports (simulated or expected)",
    "trial.enabled": "simulate the randomised trial (set by scenario=trial)",
    "trial.sites.*": "the trial municipalities: copies of the municipality presets (set by scenario=trial)",
    "trial.ci_level": "confidence level of the simulated trial's intervals",
    "trial.ci_method": "interval method for the difference between the simulated trial's arms",
    "trial.published.source": "citation of the trial's published outcome",
}

# Headings of the parts of a long section (by the second part of the key); others are capitalised
SUBSECTIONS: dict[str, str] = {
    "standard_offer": "Standard offer (expected mode only)",
    "published": "Published outcome (compared with, not an input)",
}

# Values the configuration carries only to compare results with, never as inputs of a run
COMPARISON_ONLY: dict[str, str] = {
    "trial.published.*": "the trial's published outcome, shown next to the simulated trial",
}

# Sections of docs/parameters.md in order: section -> title (a row's section is its conf group)
SECTIONS: dict[str, str] = {
    "run": "Run",
    "referral": "Referral",
    "coordinator": "Coordinator",
    "course": "Course",
    "volunteers": "Volunteers",
    "recovery": "Recovery",
    "companionship": "Companionship",
    "fidelity": "Fidelity",
    "economics": "Economics",
    "trial": "Trial",
    "municipality": "Municipality presets",
    "scenario": "Scenarios",
}
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

_TAG = re.compile(r"\[(trial|published|assumption|calibrated)\]", re.IGNORECASE)
_CALIBRATED = re.compile(r"\bcalibrated\b", re.IGNORECASE)
_ASSUMPTION = re.compile(r"\bassumption\b", re.IGNORECASE)
_TRIAL = re.compile(
    r"10\.1186/s12888-025-07011-y|10\.1186/s13063-022-06670-6|NCT04639167|Poulsen et al", re.IGNORECASE
)
_PUBLISHED = re.compile(
    r"\bdocs/domain\.md\b|\[S\d+\]|\bdoi\b|socialstyrelsen|\bSØM\b|\bet al\.", re.IGNORECASE
)
# The programme documents docs/domain.md describes in its "Sources" section, cited as ``[S0]``..``[S4]``
SOURCE_IDS = ("S0", "S1", "S2", "S3", "S4")
_SOURCE_ID = re.compile(r"\[(S\d+)\]")
# Citations of documents that are not part of the repository, so a reader cannot check them: the
# former domain notes (an upper-case domain notes file other than docs/domain.md) and the numbered
# seed files (a path into the seeds folder, or "seed" with a three-digit number); the ids [S0]-[S4]
# of docs/domain.md replace them
_OUTSIDE = re.compile(r"(?<![\w/.])DOMAIN\.md\b|\bseeds?/\d|\bseeds? 0\d\d\b", re.IGNORECASE)
# "assumption" followed by its reason ("assumption: ...", "assumption, ...", "assumption on ...")
_REASONED = re.compile(r"\bassumption\b\s*(?::|,|\(|\bon\b|\bthat\b)\s*\S", re.IGNORECASE)
_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][\w-]*)[ ]*:(?P<rest>(?:[ \t].*)?)$")
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)")
MAX_UNIT_CHARS = 50


class RegisterError(ValueError):
    """conf/ breaks the comment convention the register relies on (one line per problem)."""


# ---------------------------------------------------------------------------------------------
# Reading conf/ comments
# ---------------------------------------------------------------------------------------------

@dataclass
class Comment:
    """What the comment of one key says: unit, the rest (note), an explicit quality tag."""

    unit: str = ""
    note: str = ""
    tag: str = ""

    @property
    def text(self) -> str:
        return f"{self.unit}; {self.note}" if self.unit else self.note


@dataclass
class Entry:
    """One key written in one conf file (a leaf, or a mapping header whose comment covers its keys)."""

    file: Path           # relative to the repository (conf/...)
    line: int            # 1-based
    key: str             # dotted key in the composed configuration
    value_text: str      # as written (``???`` = set by a scenario)
    comment: Comment
    header: bool = False
    parents: list[Entry] = field(default_factory=list)  # enclosing keys, nearest first

    @property
    def where(self) -> str:
        return f"{self.file.as_posix()}:{self.line}"


def _split_comment(rest: str) -> tuple[str, str | None]:
    """Value text and comment text of what follows ``key:`` (a ``#`` inside quotes is not a comment)."""
    quote = ""
    for i, ch in enumerate(rest):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or rest[i - 1] in " \t"):
            return rest[:i].strip(), rest[i + 1:].strip()
    return rest.strip(), None


def parse_comment(parts: Sequence[str]) -> Comment:
    """Unit (before the first ``;`` of the first line), note (the rest) and tag of a comment."""
    parts = [p.strip() for p in parts if p.strip()]
    if not parts:
        return Comment()
    first, rest = parts[0], parts[1:]
    unit, note_first = "", first
    if ";" in first:
        unit, note_first = (s.strip() for s in first.split(";", 1))
    note = " ".join([note_first, *rest]).strip()
    tag = ""
    m = _TAG.search(note) or _TAG.search(unit)
    if m:
        tag = m.group(1).lower()
        note, unit = _TAG.sub("", note), _TAG.sub("", unit)
        note = re.sub(r"\s{2,}", " ", note).strip()
        unit = unit.strip()
    return Comment(unit=unit, note=note, tag=tag)


def _package(lines: list[str], default: str) -> str:
    for line in lines:
        if not line.startswith("#"):
            break
        m = _PACKAGE.match(line)
        if m:
            pkg = m.group(1)
            return "" if pkg == "_global_" else default if pkg == "_group_" else pkg
    return default


def parse_conf_file(path: Path, prefix: str, rel: Path | None = None,
                    skip_top: Iterable[str] = ("defaults",)) -> list[Entry]:
    """Every key of a conf file with its comment, as dotted keys under ``prefix``.

    A line-based reader for the simple YAML in conf/ (block mappings, flow lists, scalars);
    values are read only to tell leaves from mapping headers, never used in the register.
    """
    rel = rel or path
    lines = path.read_text(encoding="utf-8").splitlines()
    prefix = _package(lines, prefix)
    entries: list[Entry] = []
    stack: list[tuple[int, Entry]] = []  # open mapping headers
    last: Entry | None = None            # key whose comment may continue on the next lines
    last_indent = 0
    comment_parts: list[str] = []
    skip_below: int | None = None        # indent of a skipped subtree (defaults:, hydra:)

    def close() -> None:
        nonlocal last, comment_parts
        if last is not None:
            last.comment = parse_comment(comment_parts)
        last, comment_parts = None, []

    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            close()
            continue
        indent = len(line) - len(line.lstrip(" "))
        if stripped.startswith("#"):  # continues the comment of the key above, or a block comment
            if last is not None and comment_parts and indent > last_indent:
                comment_parts.append(stripped.lstrip("#"))
            else:
                close()
            continue
        close()
        if skip_below is not None:
            if indent > skip_below:
                continue
            skip_below = None
        m = _KEY_LINE.match(line)
        if not m:  # list items of a block sequence, the value belongs to the key above
            continue
        key = m["key"]
        if indent == 0 and key in skip_top:
            skip_below = 0
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        value_text, comment = _split_comment(m["rest"])
        header = not value_text and _has_children(lines, i, indent)
        dotted = ".".join(p for p in [prefix, *(e.key.rsplit(".", 1)[-1] for _, e in stack), key] if p)
        entry = Entry(file=rel, line=i + 1, key=dotted, value_text=value_text, comment=Comment(),
                      header=header, parents=[e for _, e in reversed(stack)])
        entries.append(entry)
        if header:
            stack.append((indent, entry))
        last, last_indent = entry, indent
        comment_parts = [comment] if comment is not None else []
    close()
    return entries


def _has_children(lines: list[str], i: int, indent: int) -> bool:
    """Whether the key on line ``i`` opens a block mapping (the next key line is indented more)."""
    for line in lines[i + 1:]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        child = len(line) - len(line.lstrip(" "))
        return child > indent and not stripped.startswith("-")
    return False


# ---------------------------------------------------------------------------------------------
# Which files, which options
# ---------------------------------------------------------------------------------------------

@dataclass
class Layer:
    """A conf file that writes values: the root, a group option or a group's shared part."""

    path: Path
    group: str = ""   # "" = conf/config.yaml
    option: str = ""  # "" = a shared part (``_common.yaml``) or the root

    @property
    def shared(self) -> bool:
        return bool(self.group) and not self.option


def conf_layers(conf: Path) -> list[Layer]:
    layers = [Layer(conf / "config.yaml")]
    for folder in sorted(p for p in conf.iterdir() if p.is_dir()):
        if folder.name in EXCLUDED_GROUPS or folder.name.startswith((".", "_")):
            continue
        for path in sorted(folder.glob("*.yaml")):
            shared = path.stem.startswith("_")
            layers.append(Layer(path, folder.name, "" if shared else path.stem))
    return layers


def option_includes(path: Path) -> list[str]:
    """Options of the same group that an option file builds on (plain names in its defaults list)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [item for item in data.get("defaults", []) if isinstance(item, str) and item != "_self_"
            and not item.startswith(("/", "_"))]


def default_options(conf: Path) -> dict[str, str]:
    """Group -> option selected by conf/config.yaml's defaults list."""
    import yaml

    root = yaml.safe_load((conf / "config.yaml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for item in root.get("defaults", []):
        if isinstance(item, dict):
            for k, v in item.items():
                out[str(k).split("@")[0].removeprefix("override ").strip()] = str(v)
    return out


# ---------------------------------------------------------------------------------------------
# The register
# ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    key: str
    section: str
    applies_to: str   # "all", "scenario=partnership", "municipality=copenhagen", ...
    value: Any
    unit: str
    quality: str
    source: str
    file: str
    distribution: str = ""
    dist: dict[str, Any] = field(default_factory=dict)

    @property
    def comparison_only(self) -> bool:
        return any(fnmatch.fnmatchcase(self.key, p) for p in COMPARISON_ONLY)

    @property
    def reasoned(self) -> bool:
        """An expert assumption that states its reason (``assumption: <why>``)."""
        return self.quality != "expert assumption" or bool(_REASONED.search(self.source))


@dataclass
class Setting:
    key: str
    value: Any
    meaning: str


@dataclass
class Register:
    rows: list[Row]
    settings: list[Setting]
    uncertain: dict[str, Any]   # key -> DistParams
    builds_on: dict[str, list[str]] = field(default_factory=dict)  # "scenario=trial" -> ["local_coordinator"]
    set_by_scenario: dict[str, list[str]] = field(default_factory=dict)  # section -> keys written ???
    problems: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Register({len(self.rows)} rows, {len(self.settings)} settings, {len(self.problems)} problems)"

    def counts(self, inputs_only: bool = False) -> dict[str, int]:
        rows = [r for r in self.rows if not (inputs_only and r.comparison_only)]
        return {q: sum(r.quality == q for r in rows) for q in QUALITIES}


def is_setting(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) for pattern in SETTINGS)


def setting_meaning(key: str) -> str:
    return next(m for p, m in SETTINGS.items() if fnmatch.fnmatchcase(key, p))


def leaf_keys(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value of every leaf of a nested dict (lists are leaves)."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(leaf_keys(v, f"{prefix}.{k}" if prefix else str(k)))
    else:
        out[prefix] = tree
    return out


def config_leaves(params: Any) -> dict[str, Any]:
    """Leaves of a composed configuration that the register covers (not uncertainty, experiment)."""
    tree = dataclasses.asdict(params)
    tree.pop("uncertainty", None)
    tree.pop("experiment", None)
    return leaf_keys(tree)


def quality_of(entry: Entry) -> tuple[str, Entry] | None:
    """Evidence quality of a leaf and the entry (itself or an enclosing key) whose comment gave it."""
    for e in [entry, *entry.parents]:
        if e.comment.tag:
            return ("expert assumption" if e.comment.tag == "assumption" else e.comment.tag), e
        text = e.comment.text
        if _CALIBRATED.search(text):
            return "calibrated", e
        if _ASSUMPTION.search(text):
            return "expert assumption", e
        if _TRIAL.search(text):
            return "trial", e
        if _PUBLISHED.search(text):
            return "published", e
    return None


def entry_problems(entry: Entry) -> list[str]:
    """What is missing from the comment of a leaf (``file:line: ...`` lines; empty if nothing)."""
    e = entry
    if not e.comment.text:
        return [f"{e.where}: '{e.key}' has no comment; write '# <unit>; <what it is and its source>'"]
    out = []
    unit = _unit_of(e)
    if not unit:
        out.append(f"{e.where}: '{e.key}' states no unit; start its comment with '<unit>; '")
    elif len(unit) > MAX_UNIT_CHARS:
        out.append(f"{e.where}: '{e.key}' unit '{unit}' is longer than {MAX_UNIT_CHARS} characters; "
                   "put only the unit before the first ';'")
    if quality_of(e) is None:
        out.append(f"{e.where}: '{e.key}' states no source; cite docs/domain.md (with its section), a "
                   "source id [S0]-[S4] it defines or a doi, or write 'assumption: <why>' or 'calibrated ...'")
    return out


def citation_problems(text: str, where: str) -> list[str]:
    """Citations in ``text`` that a reader of the repository cannot follow (``where: ...`` lines)."""
    out = []
    for m in _OUTSIDE.finditer(text):
        out.append(f"{where}: cites '{m.group(0)}', which is not in the repository; cite docs/domain.md "
                   "(with its section) or the source id [S0]-[S4] it gives the document")
    for m in _SOURCE_ID.finditer(text):
        if m.group(1).upper() not in SOURCE_IDS:
            out.append(f"{where}: cites source id '{m.group(0)}', which docs/domain.md does not define "
                       f"(its Sources section defines {', '.join(SOURCE_IDS)})")
    return out


def _unit_of(entry: Entry) -> str:
    for e in [entry, *entry.parents]:
        if e.comment.unit:
            return e.comment.unit
    return ""


def _source_of(entry: Entry, by: Entry) -> str:
    """The leaf's own note, with the enclosing key's comment appended when that is the source."""
    own = entry.comment.note
    if by is entry:
        return own
    inherited = f"{by.key.rsplit('.', 1)[-1]}: {by.comment.note}"
    return f"{own} ({inherited})" if own else inherited


def format_distribution(d: Any) -> str:
    """A distribution in words, e.g. ``triangular on [0, 0.7], mode 0.4``."""
    rng = f"[{_num(d.lo)}, {_num(d.hi)}]"
    if d.dist == "uniform":
        text = f"uniform on {rng}"
    elif d.dist == "triangular":
        text = f"triangular on {rng}, mode {_num(d.mode)}"
    elif d.dist == "normal":
        text = f"normal (mean {_num(d.mean)}, sd {_num(d.sd)}) truncated to {rng}"
    else:
        text = f"{d.dist} (mean {_num(d.mean)}, sd {_num(d.sd)}) on {rng}"
    return f"× {text} (multiplier of the value set)" if d.relative else text


def _num(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 1_000 else str(v)
    if isinstance(v, float):
        if abs(v) >= 1_000:
            return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".")
        return f"{v:g}"
    return str(v)


def format_value(value: Any, unit: str = "") -> str:
    """A value for reading: thousands separators for DKK amounts and large numbers."""
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v, unit) for v in value) + "]"
    if "dkk" in unit.lower() and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return _num(value)


def _section(layer: Layer, key: str) -> str:
    if layer.group in ("scenario", "municipality"):
        return layer.group
    if not layer.group:
        return "run"
    return key.split(".", 1)[0] if layer.group not in SECTIONS else layer.group


def build_register(*, strict: bool = True) -> Register:
    """Read the comments in conf/ and compose every option of it (:func:`peersim.config.conf_dir`).

    Raises :class:`RegisterError` listing every problem with its file and line; with
    ``strict=False`` the rows with problems are left out and listed in ``Register.problems``.
    """
    from peersim.config import conf_dir, load_config

    conf = conf_dir()
    repo = conf.parent
    layers = conf_layers(conf)
    defaults = default_options(conf)
    entries: dict[int, list[Entry]] = {}
    for n, layer in enumerate(layers):
        prefix = layer.group if layer.group else ""
        skip = ("defaults", "hydra") if not layer.group else ("defaults",)
        entries[n] = parse_conf_file(layer.path, prefix, layer.path.relative_to(repo), skip)

    # which option files of each group write which keys (with the options of the same group an
    # option builds on through its own defaults list, e.g. scenario=trial on local_coordinator)
    own: dict[tuple[str, str], set[str]] = {}
    includes: dict[tuple[str, str], list[str]] = {}
    for n, layer in enumerate(layers):
        if layer.option:
            own[(layer.group, layer.option)] = {e.key for e in entries[n]
                                                if not e.header and e.value_text != "???"}
            includes[(layer.group, layer.option)] = option_includes(layer.path)
    writes = {k: v | {key for base in includes[k] for key in own.get((k[0], base), set())}
              for k, v in own.items()}
    order = list(defaults)  # merge order of the groups (conf/config.yaml's defaults list)

    cache: dict[tuple[str, ...], dict[str, Any]] = {}

    def composed(overrides: tuple[str, ...]) -> dict[str, Any]:
        if overrides not in cache:
            cache[overrides] = config_leaves(load_config(list(overrides)))
        return cache[overrides]

    def overrides_for(layer: Layer, key: str) -> tuple[str, ...] | None:
        """Overrides under which ``layer`` is the last file to write ``key`` (None: there are none).

        Only groups merged after the layer's own can override it; for a shared part
        (``_common.yaml``) that includes the options of its own group."""
        chosen = dict(defaults)
        if layer.option:
            chosen[layer.group] = layer.option
        if not layer.group:
            return ()  # conf/config.yaml is merged last (_self_)
        start = order.index(layer.group) if layer.group in order else len(order)
        later = order[start + 1:] if layer.option else order[start:]
        for g in later:
            if key in writes.get((g, chosen.get(g, "")), set()):
                free = [o for (gg, o), keys in sorted(writes.items()) if gg == g and key not in keys]
                if not free:
                    return None
                chosen[g] = free[0]
        # a group outside the defaults list (e.g. +calibrated=<name>) is appended, so merged last
        return tuple(f"{g}={o}" if g in defaults else f"+{g}={o}"
                     for g, o in chosen.items() if o != defaults.get(g))

    # the comments first: a missing unit or source stops before anything is composed
    problems = [p for n, layer in enumerate(layers) for e in entries[n]
                if not (e.header or e.value_text in ("???", "{}") or is_setting(e.key))
                for p in entry_problems(e)]
    problems += [p for n in entries for e in entries[n]
                 for p in citation_problems(e.comment.text, f"{e.where}: '{e.key}'")]
    if problems and strict:
        raise RegisterError("the parameter register cannot be built:\n  " + "\n  ".join(problems))
    rows: list[Row] = []
    params = load_config([])
    uncertain = dict(params.uncertainty.parameters)
    problems += [p for key, d in uncertain.items()
                 for p in citation_problems(d.source, f"conf/uncertainty/default.yaml: '{key}' source")]
    if problems and strict:
        raise RegisterError("the parameter register cannot be built:\n  " + "\n  ".join(problems))
    set_by_scenario: dict[str, list[str]] = {}
    seen: set[str] = set()
    for n, layer in enumerate(layers):
        for e in entries[n]:
            if e.value_text == "???":
                set_by_scenario.setdefault(_section(layer, e.key), []).append(e.key)
            if e.header or e.value_text in ("???", "{}"):
                continue  # set by a scenario; an empty mapping whose keys a scenario sets
            if is_setting(e.key):
                continue
            seen.add(e.key)
            q = quality_of(e)
            if entry_problems(e) or q is None:
                continue  # already reported
            quality, by = q
            overrides = overrides_for(layer, e.key)
            if overrides is None:
                problems.append(f"{e.where}: '{e.key}' is overridden by every option of another group")
                continue
            try:
                values = composed(overrides)
            except Exception as exc:  # noqa: BLE001 - reported with the file and line, not raised
                problems.append(f"{e.where}: '{' '.join(overrides)}' does not compose: {exc}")
                continue
            if e.key not in values:
                problems.append(f"{e.where}: '{e.key}' is not a key of the composed configuration")
                continue
            applies = _applies_to(layer, defaults, [o for g, o in writes if g == layer.group])
            d = uncertain.get(e.key)
            rows.append(Row(
                key=e.key, section=_section(layer, e.key), applies_to=applies, value=values[e.key],
                unit=_unit_of(e), quality=quality, source=_source_of(e, by), file=e.file.as_posix(),
                distribution=format_distribution(d) if d is not None else "",
                dist=dataclasses.asdict(d) if d is not None else {},
            ))

    # every leaf of every composed option is covered
    settings = []
    for pattern, meaning in SETTINGS.items():
        keys = [k for k in composed(()) if fnmatch.fnmatchcase(k, pattern)]
        settings += [Setting(k, composed(())[k], meaning) for k in keys] or [Setting(pattern, "", meaning)]
    covered = set(seen)
    for overrides in [(), *((f"{g}={o}" if g in defaults else f"+{g}={o}",)
                            for g, o in sorted(writes) if defaults.get(g) != o)]:
        try:
            leaves = composed(overrides)
        except Exception as exc:  # noqa: BLE001 - an option that does not compose is a problem of its own
            problems.append(f"{' '.join(overrides)}: does not compose: {exc}")
            continue
        for key in leaves:
            if key not in covered and not is_setting(key):
                problems.append(f"'{key}' is in the configuration but in no conf file the register reads")
                covered.add(key)
    for key in uncertain:
        if key not in {r.key for r in rows}:
            problems.append(f"conf/uncertainty/default.yaml: '{key}' is uncertain but not a parameter "
                            "of the register")
    if problems and strict:
        raise RegisterError("the parameter register cannot be built:\n  " + "\n  ".join(problems))
    sections = list(SECTIONS)
    rows.sort(key=lambda r: (sections.index(r.section) if r.section in sections else len(sections), r.section,
                             r.applies_to if r.section == "scenario" else "", _row_rank(r)))
    notes = {f"{g}={o}": bases for (g, o), bases in includes.items() if bases}
    return Register(rows=rows, settings=settings, uncertain=uncertain, builds_on=notes,
                    set_by_scenario=set_by_scenario, problems=problems)


def _applies_to(layer: Layer, defaults: dict[str, str], options: list[str]) -> str:
    """Which selection a row's value belongs to: "all" for the only option of a group in the
    defaults list, otherwise the option (``scenario=partnership``, ``calibrated=fit``)."""
    if layer.shared:
        return f"every {layer.group} preset"
    if not layer.group or (layer.group in defaults and len(options) == 1
                           and layer.group not in ("scenario", "municipality")):
        return "all"
    return f"{layer.group}={layer.option}"


def _row_rank(row: Row) -> int:
    """Keep file order within a section; presets after the values they share."""
    return 0 if not row.applies_to.startswith("municipality=") else 1


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

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
        "```bash",
        "peersim-register            # or `make register`: writes docs/parameters.md and docs/parameters.csv",
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


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def default_outdir() -> Path:
    from peersim.config import conf_dir

    repo = conf_dir().parent
    return repo / "docs" if (repo / "pyproject.toml").is_file() else Path.cwd() / "docs"


def outputs(reg: Register) -> dict[str, bytes]:
    """File name -> exact bytes of the register files."""
    return {
        "parameters.md": render_markdown(reg).encode("utf-8"),
        "parameters.csv": render_csv(reg).encode("utf-8-sig"),
    }


def stale_files(outdir: Path, files: dict[str, bytes]) -> list[str]:
    return [name for name, data in files.items()
            if not (outdir / name).is_file() or (outdir / name).read_bytes() != data]


def main(argv: Sequence[str] | None = None) -> int:
    """``peersim-register [--check] [--out DIR]``: 0 written or current, 1 out of date (``--check``),
    2 conf/ breaks the comment convention or does not compose."""
    from peersim.params import ConfigError

    parser = argparse.ArgumentParser(
        prog="peersim-register",
        description="Write the parameter evidence register (parameters.md, parameters.csv) from conf/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files are missing or out of date")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the register files (default: the repository's docs/)")
    args = parser.parse_args(argv)
    outdir = args.out or default_outdir()
    try:
        reg = build_register()
    except (RegisterError, ConfigError) as exc:
        print(f"peersim-register: error: {exc}", file=sys.stderr)
        return 2
    files = outputs(reg)
    if args.check:
        stale = stale_files(outdir, files)
        if stale:
            names = ", ".join(str(outdir / n) for n in stale)
            print(f"peersim-register: out of date with conf/: {names}; run `peersim-register` "
                  "(or `make register`) and commit the result", file=sys.stderr)
            return 1
        print(f"peersim-register: {outdir / 'parameters.md'} and parameters.csv are up to date")
        return 0
    outdir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (outdir / name).write_bytes(data)
    counts = ", ".join(f"{n} {q}" for q, n in reg.counts().items())
    print(f"peersim-register: wrote {outdir / 'parameters.md'} and parameters.csv "
          f"({len(reg.rows)} parameters: {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
