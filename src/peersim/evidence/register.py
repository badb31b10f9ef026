"""Building the register: one row per parameter and per option of ``conf/`` that sets it.

* **Values** come from the composed, validated configuration (:func:`peersim.load_config`), so
  interpolations, scenario overrides and municipality presets are what a run sees. A value set
  by a scenario or a preset gets its own row, composed with that option selected.
* **Unit, source and quality** come from the comment next to the value in ``conf/``
  (:mod:`peersim.evidence.comments`), judged by :mod:`peersim.evidence.rules`.
* **Distributions** are read from ``conf/uncertainty/default.yaml`` at generation time (through
  the composed configuration, so they are validated).

Every leaf of every composed option must be in a row or be a run setting
(:data:`peersim.evidence.scope.SETTINGS`); anything else is a problem named with its file and line.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from typing import Any

from peersim import config
from peersim.evidence.comments import Entry, parse_conf_file
from peersim.evidence.formatting import format_distribution
from peersim.evidence.layers import Layer, conf_layers, default_options, option_includes
from peersim.evidence.rules import (
    QUALITIES,
    citation_problems,
    entry_problems,
    quality_of,
    source_of,
    states_reason,
    unit_of,
)
from peersim.evidence.scope import SECTIONS, SETTINGS, is_comparison_only, is_setting


class RegisterError(ValueError):
    """conf/ breaks the comment convention the register relies on (one line per problem)."""


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
        return is_comparison_only(self.key)

    @property
    def reasoned(self) -> bool:
        """An expert assumption that states its reason (``assumption: <why>``)."""
        return self.quality != "expert assumption" or states_reason(self.source)


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
    conf = config.conf_dir()
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
            cache[overrides] = config_leaves(config.load_config(list(overrides)))
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
    params = config.load_config([])
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
                unit=unit_of(e), quality=quality, source=source_of(e, by), file=e.file.as_posix(),
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
