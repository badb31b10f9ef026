"""How a tree of typed parameter dataclasses is checked, whatever the tree.

A schema (:mod:`peersim.params`) declares each field's type and, as field metadata made by
:func:`between` or :func:`one_of`, its allowed values. :func:`check_tree` holds a tree of such
objects to them (values set in Python included, which Hydra never saw) and runs each object's own
``validate()`` for its cross-field rules; :func:`resolve_key` finds a dotted key in the tree. Every
error is a :class:`ConfigError` whose one line names the key and what is allowed.

Nothing here knows peersim's parameters, so the schema and the modules that set values by key
(:mod:`peersim.uncertainty`) can both build on it without importing each other.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import numbers
import types
import typing
from typing import Any

import numpy as np


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range (one-line message)."""


def between(lo: float | None = None, hi: float | None = None) -> dict[str, Any]:
    """Field metadata: the value must lie within [lo, hi] (either end may be open: None)."""
    return {"lo": lo, "hi": hi}


def one_of(*choices: str) -> dict[str, Any]:
    """Field metadata: the value must be one of ``choices``."""
    return {"choices": choices}



def _check_field(path: str, value: Any, meta: dict[str, Any]) -> None:
    """The value of a leaf against its metadata: one of ``choices``, within [``lo``, ``hi``]."""
    if "choices" in meta and value not in meta["choices"]:
        allowed = ", ".join(meta["choices"])
        raise ConfigError(f"{path}={value!r} is not allowed; choose one of: {allowed}")
    lo, hi = meta.get("lo"), meta.get("hi")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if value != value:  # NaN
        raise ConfigError(f"{path} must be a number, got NaN")
    if value in (float("inf"), float("-inf")):  # a count or a rate cannot be infinite
        raise ConfigError(f"{path} must be a finite number, got {value}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            rng = f"between {lo} and {hi}"
        elif lo is not None:
            rng = f">= {lo}"
        else:
            rng = f"<= {hi}"
        raise ConfigError(f"{path} must be {rng}, got {value}")


def unknown_key_message(key: str, allowed: list[str], where: str | None = None) -> str:
    """The one line for an unknown key: the closest allowed name, and every allowed one in
    ``where`` (by default the key's parent, or the top level)."""
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
    guess = f" (did you mean '{close[0]}'?)" if close else ""
    where = where or (key.rsplit(".", 1)[0] if "." in key else "the top level")
    hint = f"; allowed keys in {where}: {', '.join(allowed)}" if allowed else ""
    return f"unknown key '{key}'{guess}{hint}"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(cls)


_TYPE_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a text"}
_FITS = {bool: lambda v: isinstance(v, bool | np.bool_),
         int: lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_),
         float: lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_),
         str: lambda v: isinstance(v, str)}


def _type_error(key: str, value: Any, hint: Any) -> str | None:
    """Why ``value`` does not fit the declared type ``hint`` of ``key`` (None if it fits).
    Values composed by Hydra always fit; this catches values set directly in Python."""
    fits = _FITS.get(hint)
    if fits is not None:
        return None if fits(value) else f"{key} must be {_TYPE_WORDS[hint]}, got {value!r} ({type(value).__name__})"
    if hint is Any:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _type_error(key, value, next(a for a in args if a is not type(None)))
    if origin is list:
        if not isinstance(value, list | tuple):
            return f"{key} must be a list, got {value!r}"
        return next((e for i, v in enumerate(value) if (e := _type_error(f"{key}[{i}]", v, args[0]))), None)
    if origin is dict:
        if not isinstance(value, dict):
            return f"{key} must be a mapping, got {value!r}"
        return next((e for k, v in value.items() if (e := _type_error(f"{key}.{k}", v, args[1]))), None)
    if dataclasses.is_dataclass(hint) and not isinstance(value, hint):
        return f"{key} must be a {hint.__name__}, got {value!r}"
    return None


def check_tree(obj: Any, path: str) -> None:
    """Check a dataclass and everything under it: no stray attribute, every value of its declared
    type and within its range metadata, then the object's own ``validate()`` (cross-field rules).
    ``path`` is the dotted key of ``obj`` in error messages ("" at the root)."""
    fields = _fields(type(obj))
    hints = _hints(type(obj))
    stray = [k for k in vars(obj) if k not in hints]
    if stray:  # an attribute set in Python that is not a parameter (a typo: p.coordinator.ftee = 2)
        key = f"{path}.{stray[0]}" if path else stray[0]
        raise ConfigError(unknown_key_message(key, [f.name for f in fields]))
    for f in fields:
        value = getattr(obj, f.name)
        key = f"{path}.{f.name}" if path else f.name
        error = _type_error(key, value, hints[f.name])
        if error:
            raise ConfigError(error)
        if dataclasses.is_dataclass(value):
            check_tree(value, key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if dataclasses.is_dataclass(item):
                    check_tree(item, f"{key}[{i}]")
        else:
            _check_field(key, value, dict(f.metadata))
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except ValueError as exc:  # the economics layer raises plain ValueError
            raise ConfigError(str(exc)) from None


def resolve_key(root: Any, key: str) -> tuple[Any, str]:
    """The dataclass holding the dotted ``key``'s last part under ``root``, and that part
    (``resolve_key(cfg, "volunteers.supervision_buffer")`` is ``(cfg.volunteers,
    "supervision_buffer")``); ConfigError if there is none."""
    parts = key.split(".")
    node: Any = root
    for i, part in enumerate(parts):
        if not dataclasses.is_dataclass(node) or part not in {f.name for f in dataclasses.fields(node)}:
            where = ".".join(parts[:i]) or "the top level"
            raise ConfigError(f"'{key}' is not a parameter (no '{part}' in {where})")
        if i == len(parts) - 1:
            return node, part
        node = getattr(node, part)
    raise AssertionError
