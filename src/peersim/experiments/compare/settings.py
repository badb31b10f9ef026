"""What each arm of ``compare_implementations`` runs with: built-in and named arms, per-arm overrides.

An arm is the user's configuration (the command line's overrides, applied to every arm), then the
overrides that define its implementation (:func:`arm_variant`: ``scenario`` and ``shared_with``),
then its own overrides: those of a named arm (``experiment.named_arms``) and those of
``experiment.arm_overrides.<arm>``; a later override of the same key wins. Overrides are written
exactly as on the command line, one key each, under the arm's name::

    +experiment.arm_overrides.shared_coordinator.coordinator.fte=1.5
    '+experiment.named_arms.partnership_lean={base:partnership,coordinator.fte:0.5}'

(``+`` because each adds an entry, Hydra's rule for a new key.) A nested entry is flattened to
dotted keys (``{coordinator: {fte: 1.5}}`` is ``coordinator.fte=1.5``); a list of ``key=value``
strings is accepted as well. A named arm's ``base`` is a built-in arm (which implementation it
is) and ``label`` its name in the tables and charts (optional). What defines an arm or the
comparison itself (:data:`FIXED_KEYS`) cannot be set per arm: the arm's implementation is its
``base``, and every arm runs the same municipality, years and seeds, so the differences stay
paired. Each arm is composed and validated exactly as a command line (:func:`compose_arm`); an
error names the arm's key (``experiment.arm_overrides.<arm>``) in one line, before any run.

A stress setting (``experiment.stress.<name>``, :mod:`~.stress`) is a set of overrides applied to
every arm, between the command line's and the arm's own; it obeys the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from peersim.experiments.base import compose_variant, override_key
from peersim.experiments.compare.arms import ARM_LABELS, ARMS, NAME
from peersim.params import PeersimConfig
from peersim.validation import ConfigError

# Keys of a named arm that are not overrides
RESERVED = ("base", "label")
# What an arm override or a stress setting may not set, and why (the first match names the reason)
FIXED_KEYS = {
    "scenario": "the implementation is the arm's own (a named arm chooses it with base=<built-in arm>)",
    "shared_with": "the shared arm shares with experiment.neighbour, the others with no one",
    "seed": "replication r runs every arm with seed + r, so that the differences are paired",
    "years": "every arm runs the same years (the budget tables line up year by year)",
    "municipality": "every arm runs in the user's municipality (set it on the command line)",
    "experiment": "the experiment's own settings apply to the whole comparison",
    "hydra": "Hydra's settings apply to the whole command",
    "output": "the output settings say how files are written, not what an arm computes",
}


@dataclass(frozen=True)
class Arm:
    """One arm: its name (a column value in every table), the built-in arm whose implementation it
    runs, its label and its own overrides (a named arm's, then ``experiment.arm_overrides``'s)."""

    name: str
    base: str
    label: str
    own: tuple[str, ...]

    @property
    def named(self) -> bool:
        return self.name not in ARMS


def arm_variant(arm: str, neighbour: str) -> list[str]:
    """The overrides that make a built-in arm's implementation out of the user's configuration."""
    if arm == "local_coordinator":
        return ["scenario=local_coordinator", "shared_with=[]"]
    if arm == "partnership":
        return ["scenario=partnership", "shared_with=[]"]
    if arm == "shared_coordinator":
        return ["scenario=local_coordinator", f"shared_with=[{neighbour}]"]
    raise ConfigError(f"experiment.arms: unknown arm '{arm}'; choose from: {', '.join(ARMS)}")


# -- overrides as written in the configuration -------------------------------------------------------
def format_value(value: Any) -> str:
    """A value as Hydra's override grammar writes it (``true``, ``null``, ``[a,b]``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _flatten(entry: Mapping[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in entry.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out += _flatten(value, f"{path}.")
        else:
            out.append(f"{path}={format_value(value)}")
    return out


def override_list(entry: Any, where: str) -> list[str]:
    """The overrides of one entry (a mapping of keys to values, or a list of ``key=value``
    strings), checked against :data:`FIXED_KEYS`; ``where`` names the entry in an error."""
    if entry is None:
        return []
    if isinstance(entry, Mapping):
        overrides = _flatten(entry)
    elif isinstance(entry, Sequence) and not isinstance(entry, str):
        overrides = list(entry)
        for o in overrides:
            if not isinstance(o, str) or "=" not in o:
                raise ConfigError(f"{where}: {o!r} is not an override; write key=value (e.g. coordinator.fte=1.5)")
    else:
        raise ConfigError(f"{where}={entry!r}: give the arm's overrides as keys under it, e.g. "
                          f"+{where}.coordinator.fte=1.5")
    for o in overrides:
        key = override_key(o)
        top = key.split(".", 1)[0].split("/", 1)[0]
        if top in FIXED_KEYS:
            raise ConfigError(f"{where}: {o} cannot be set here: {FIXED_KEYS[top]}")
    return overrides


def arms_of(exp: Any, neighbour_label: str | None = None) -> list[Arm]:
    """The arms that run, in order: ``experiment.arms`` (built-in or named), then every named arm
    it does not list. Bad entries raise ConfigError naming their key."""
    named = dict(exp.named_arms or {})
    order = list(exp.arms) + [n for n in named if n not in exp.arms]
    out = []
    for name in order:
        if name in ARMS:
            base, label, own = name, "", []
        elif name in named:
            where = f"experiment.named_arms.{name}"
            entry = named[name]
            if not isinstance(entry, Mapping) or entry.get("base") not in ARMS:
                raise ConfigError(f"{where}: a named arm needs base=<one of {', '.join(ARMS)}>, e.g. "
                                  f"'+{where}={{base:partnership,coordinator.fte:0.5}}'")
            base = str(entry["base"])
            label = str(entry.get("label") or "")
            own = override_list({k: v for k, v in entry.items() if k not in RESERVED}, where)
        else:
            raise ConfigError(f"experiment.arms: unknown arm '{name}'; choose from: "
                              f"{', '.join([*ARMS, *named])} (define others under experiment.named_arms)")
        own += override_list((exp.arm_overrides or {}).get(name), f"experiment.arm_overrides.{name}")
        if not label:
            label = ARM_LABELS[base] + (f" ({', '.join(own)})" if own else "")
        out.append(Arm(name, base, label.format(neighbour=neighbour_label), tuple(own)))
    for name in exp.arm_overrides or {}:
        if name not in order:
            raise ConfigError(f"experiment.arm_overrides.{name}: no arm '{name}' runs; the arms: {', '.join(order)}")
    return out


def check_named(exp: Any) -> None:
    """The names of named arms: not a built-in arm's, usable as a file-safe column value."""
    for name in exp.named_arms or {}:
        if name in ARMS:
            raise ConfigError(f"experiment.named_arms.{name}: '{name}' is a built-in arm; give the variant its own "
                              f"name (e.g. {name}_lean) or set +experiment.arm_overrides.{name}.<key>=<value>")
        if not name.replace("_", "").isalnum():
            raise ConfigError(f"experiment.named_arms.{name}: a name of letters, digits and _ only")


# -- composing an arm --------------------------------------------------------------------------------
def check_overrides(overrides: list[str]) -> None:
    """Refuse, with one line, a command-line override of what the arms set themselves (``scenario``,
    ``shared_with``): every arm would silently replace it. Called before any run or file."""
    for o in overrides:
        key = override_key(o)
        if key == "scenario":
            raise ConfigError(
                f"{o}: {NAME} sets the scenario of each arm itself (local_coordinator and shared_coordinator: "
                f"scenario=local_coordinator; partnership: scenario=partnership), so it would be ignored; drop "
                f"it and choose the arms with experiment.arms=[...] (any of {','.join(ARMS)}) or define one "
                f"under experiment.named_arms")
        if key == "shared_with":
            raise ConfigError(
                f"{o}: {NAME} sets shared_with in each arm itself (the shared_coordinator arm shares with "
                f"experiment.neighbour, the other arms with no one), so it would be ignored; drop it and set "
                f"experiment.neighbour=<preset> with shared_coordinator in experiment.arms=[...]")


def common_overrides(overrides: list[str]) -> list[str]:
    """The command-line overrides that reach every arm (those of the keys the arms set are refused),
    without ``output.*``: those say how files are written, not what the arms compute."""
    return [o for o in overrides if override_key(o) not in ("scenario", "shared_with")
            and not override_key(o).startswith("output.")]


def compose_arm(overrides: list[str], arm: Arm, neighbour: str, setting: Sequence[str] = (),
                setting_name: str = "") -> PeersimConfig:
    """The arm's configuration: the command line, a stress setting (every arm), the arm's
    implementation, the arm's own overrides. An error names the arm (and the setting) in one line."""
    try:
        return compose_variant([*overrides, *setting], [*arm_variant(arm.base, neighbour), *arm.own])
    except ConfigError as exc:
        if arm.own:
            where = (f"experiment.named_arms.{arm.name} / experiment.arm_overrides.{arm.name}" if arm.named
                     else f"experiment.arm_overrides.{arm.name}")
        else:
            where = f"arm {arm.name}"
        if setting_name:
            where = f"experiment.stress.{setting_name} ({where})"
        raise ConfigError(f"{where}: {exc}") from None
