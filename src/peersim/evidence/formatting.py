"""Values and distributions as the register prints them (Markdown tables, the CSV's distribution column)."""

from __future__ import annotations

from typing import Any


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
