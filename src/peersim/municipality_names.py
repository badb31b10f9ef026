"""Municipality names on the command line: any spelling of any of the 98, before Hydra sees it.

``municipality=vejle``, ``municipality=Høje-Taastrup`` and ``municipality=hoeje_taastrup`` all
select a municipality. A name that is one of the calibrated presets (``conf/municipality/*.yaml``,
also by another spelling: ``koebenhavn`` is the preset ``copenhagen``) keeps the preset; every other
municipality is an option built from the data file (:mod:`peersim.municipalities`): the shared
``_common`` assumptions and its own population. :func:`normalise_override` rewrites an override's
names to those options, so Hydra only ever sees ASCII option names, and an unknown name stops with
one line naming the nearest ones.

No Hydra here: :mod:`peersim.config` registers the options and calls these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from peersim import municipalities as M
from peersim.validation import ConfigError

NAME_KEYS = ("municipality", "shared_with", "extra_municipalities")
GENERIC = "generic"  # the preset of no municipality in particular (set its population)


def option_name(name: str, presets: Sequence[str], *, key: str = "municipality") -> str:
    """The option that ``name`` selects: a preset's own name, or the command-line name of one of
    the 98 municipalities (a preset when it is one, e.g. ``koebenhavn`` -> ``copenhagen``)."""
    text = str(name).strip()
    if text in presets:
        return text
    try:
        m = M.lookup(text)
    except ConfigError as exc:
        line = str(exc).replace("municipality:", f"{key}:", 1)
        raise ConfigError(f"{line}; calibrated presets: {', '.join(presets)}") from None
    for candidate in (m.cli_name, *m.aliases):
        if candidate in presets:
            return candidate
    return m.cli_name


def option_node(cli_name: str, common: dict[str, Any]) -> dict[str, Any]:
    """The config of a municipality without a preset: its name, Danish name and population, and
    the ``_common`` assumptions (``common``, e.g. adult and eligible shares)."""
    m = M.lookup(cli_name)
    return {"name": m.cli_name, "label": m.name, "population": m.population, **common}


def all_options(presets: Sequence[str]) -> list[str]:
    """Every option of the ``municipality`` group: the presets and the 98 (a municipality with a
    preset appears once, under the preset's name)."""
    out = set(presets)
    for m in M.all_municipalities():
        out.add(option_name(m.cli_name, presets))
    return sorted(out)


def _split_list(value: str) -> list[str] | None:
    """The items of a bracketed list of plain names (``[vejle, 'Høje-Taastrup']``), or None."""
    inner = value.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        return None
    inner = inner[1:-1].strip()
    if not inner:
        return []
    if any(ch in inner for ch in "{}[]:="):
        return None  # a list of mappings or anything richer: Hydra's own
    return [item.strip().strip("'\"") for item in inner.split(",")]


def normalise_override(override: str, presets: Sequence[str],
                       literal: Callable[[str], str]) -> str:
    """``override`` with its municipality names turned into options (unchanged if it names none).

    ``municipality=<name>`` (also a sweep ``a,b``) -> the option; ``shared_with=[...]`` -> the
    options; ``extra_municipalities=[<names>]`` -> the list of their configs, written by
    ``literal(option)`` as a Hydra mapping."""
    prefix = override[: len(override) - len(override.lstrip("+~"))]
    key, sep, value = override[len(prefix):].partition("=")
    if not sep or key not in NAME_KEYS or not value.strip():
        return override
    if key == "municipality":
        if value.startswith(("[", "{", "$", "_", "choice(", "range(", "glob(")):  # Hydra's own (or a shared part)
            return override
        parts = [option_name(v.strip().strip("'\""), presets) for v in _split_top(value)]
        return f"{prefix}{key}={','.join(parts)}"
    items = _split_list(value)
    if items is None:
        return override
    names = [option_name(i, presets, key=key) for i in items if i]
    if key == "shared_with":
        return f"{prefix}{key}=[{','.join(names)}]"
    return f"{prefix}{key}=[{','.join(literal(n) for n in names)}]"


def _split_top(value: str) -> list[str]:
    """A sweep's comma-separated values (quotes kept together)."""
    out, cur, quote = [], "", ""
    for ch in value:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            out.append(cur)
            cur = ""
            continue
        cur += ch
    return [*out, cur]


def hydra_mapping(values: dict[str, Any]) -> str:
    """A mapping as Hydra's override grammar writes it, strings quoted: ``{name:'vejle',...}``."""
    def one(v: Any) -> str:
        if isinstance(v, str):
            return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return repr(v)
    return "{" + ",".join(f"{k}:{one(v)}" for k, v in values.items()) + "}"
