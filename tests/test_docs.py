"""Every key a run writes into summary.json is explained in the documentation.

The runs are the configurations a user meets first: the default, ``scenario=partnership``,
``scenario=trial`` and ``economics.mode=expected``. A key counts as documented when it is named
(exactly, or by a pattern with ``*`` such as ``price_*_dkk``) in the first column of a README
table headed ``| key | ...`` (the glossary and the trial's table) or anywhere in docs/economics.md
(which holds the detail of the economic keys). A new summary key without documentation fails here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from peersim import load_config, run

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
ECONOMICS = REPO / "docs" / "economics.md"

CONFIGURATIONS = {
    "default": [],
    "partnership": ["scenario=partnership"],
    "trial": ["scenario=trial"],
    "expected": ["economics.mode=expected"],
}
YEARS = (1, 2)  # short runs; the key set must not depend on the horizon

_TICKED = re.compile(r"`([^`\n]+)`")


@cache
def summary_keys(name: str, years: int) -> tuple[str, ...]:
    return tuple(run(load_config([*CONFIGURATIONS[name], f"years={years}"])).summary)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def readme_key_names(text: str) -> set[str]:
    """Backticked names in the first column of every markdown table whose header starts with ``key``."""
    names: set[str] = set()
    in_table = is_key_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table:  # the header row
            in_table, is_key_table = True, _cells(line)[0] == "key"
            continue
        first = _cells(line)[0]
        if is_key_table and not set(first) <= set("-: "):
            names.update(_TICKED.findall(first))
    return names


def documented_names() -> set[str]:
    return readme_key_names(README.read_text(encoding="utf-8")) | set(
        _TICKED.findall(ECONOMICS.read_text(encoding="utf-8")))


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile("".join("[A-Za-z0-9_]+" if part == "*" else re.escape(part)
                              for part in re.split(r"(\*)", name)))


def is_documented(key: str, names: set[str]) -> bool:
    return key in names or any(_pattern(n).fullmatch(key) for n in names if "*" in n)


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_key_set_does_not_depend_on_years(name: str) -> None:
    sets = {years: set(summary_keys(name, years)) for years in YEARS}
    first = sets[YEARS[0]]
    for years, keys in sets.items():
        assert keys == first, f"{name}: years={years} differs from years={YEARS[0]}: {sorted(keys ^ first)}"


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_every_summary_key_is_documented(name: str) -> None:
    names = documented_names()
    missing = [k for k in summary_keys(name, YEARS[-1]) if not is_documented(k, names)]
    assert not missing, (
        f"summary.json keys of the {name} run explained neither in a README key table nor in "
        f"docs/economics.md: {', '.join(missing)}")


def test_readme_key_tables_name_only_real_keys() -> None:
    """The other way round: what the README's key tables name exists (renamed keys leave no stale rows)."""
    keys = {k for name in CONFIGURATIONS for k in summary_keys(name, YEARS[-1])}
    stale = sorted(n for n in readme_key_names(README.read_text(encoding="utf-8"))
                   if not n.startswith("_") and not any(_pattern(n).fullmatch(k) for k in keys))
    assert not stale, f"README key tables name keys no run writes: {', '.join(stale)}"


def test_the_matching_rules() -> None:
    names = {"price_*_dkk", "seed"}
    assert is_documented("price_personal_recovery_dkk", names)
    assert is_documented("seed", names)
    assert not is_documented("price_dkk", names)
    assert not is_documented("seeds", names)
    table = "| key | meaning |\n|---|---|\n| `a`, `b_*` | `not_a_key` |\n\n| file | what |\n|---|---|\n| `c` | x |\n"
    assert readme_key_names(table) == {"a", "b_*"}
