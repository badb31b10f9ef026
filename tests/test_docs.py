"""The documentation matches what peersim writes, and its links lead somewhere.

Summary keys: every key a run writes into summary.json is explained, and every key the key tables
name is still written. The runs are the configurations a user meets first: the default,
``scenario=partnership``, ``scenario=trial`` and ``economics.mode=expected``. A key counts as
documented when it is named (exactly, or by a pattern with ``*`` such as ``price_*_dkk``) in the
first column of a table headed ``| key | ...`` in docs/outputs.md (the summary.json glossary) or
anywhere in docs/economics.md (which holds the detail of the economic keys). A new summary key
without documentation fails here, and so does a documented key no run writes any more.

Links: every relative Markdown link in README.md, docs/*.md, benchmarks/README.md and
conf/**/README.md points at a file that exists, and a ``#anchor`` matches a heading of the target
file as GitHub makes anchors from headings.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

from peersim import load_config, run

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "docs" / "outputs.md"
ECONOMICS = REPO / "docs" / "economics.md"

CONFIGURATIONS = {
    "default": [],
    "partnership": ["scenario=partnership"],
    "trial": ["scenario=trial"],
    "expected": ["economics.mode=expected"],
}
YEARS = (1, 2)  # short runs; the key set must not depend on the horizon

_TICKED = re.compile(r"`([^`\n]+)`")


# ---------------------------------------------------------------------------------------------
# Every summary.json key is documented
# ---------------------------------------------------------------------------------------------

@cache
def summary_keys(name: str, years: int) -> tuple[str, ...]:
    return tuple(run(load_config([*CONFIGURATIONS[name], f"years={years}"])).summary)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def key_table_names(text: str) -> set[str]:
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
    return key_table_names(OUTPUTS.read_text(encoding="utf-8")) | set(
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
        f"summary.json keys of the {name} run explained neither in a key table of docs/outputs.md "
        f"nor in docs/economics.md: {', '.join(missing)}")


def test_key_tables_name_only_real_keys() -> None:
    """The other way round: what docs/outputs.md's key tables name exists (renamed keys leave no stale rows)."""
    keys = {k for name in CONFIGURATIONS for k in summary_keys(name, YEARS[-1])}
    stale = sorted(n for n in key_table_names(OUTPUTS.read_text(encoding="utf-8"))
                   if not n.startswith("_") and not any(_pattern(n).fullmatch(k) for k in keys))
    assert not stale, f"docs/outputs.md key tables name keys no run writes: {', '.join(stale)}"


def test_the_matching_rules() -> None:
    names = {"price_*_dkk", "seed"}
    assert is_documented("price_personal_recovery_dkk", names)
    assert is_documented("seed", names)
    assert not is_documented("price_dkk", names)
    assert not is_documented("seeds", names)
    table = "| key | meaning |\n|---|---|\n| `a`, `b_*` | `not_a_key` |\n\n| file | what |\n|---|---|\n| `c` | x |\n"
    assert key_table_names(table) == {"a", "b_*"}


# ---------------------------------------------------------------------------------------------
# Every relative link resolves
# ---------------------------------------------------------------------------------------------

def markdown_files() -> list[Path]:
    files = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")),
             REPO / "benchmarks" / "README.md", *sorted((REPO / "conf").rglob("README.md"))]
    return [f for f in files if f.is_file()]


_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text as rendered, lowercased, every character that is
    not a letter, a digit, a space, '-' or '_' dropped, spaces turned into '-'."""
    text = _INLINE_LINK.sub(lambda m: m.group(1), heading)   # [text](url) renders as text
    text = re.sub(r"<[^>]+>", "", text)                       # inline HTML
    text = text.lower()
    kept = "".join(ch for ch in text
                   if ch in " -_" or unicodedata.category(ch)[0] in ("L", "N"))
    return kept.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor of a Markdown file's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = _HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        if slug in seen:
            seen[slug] += 1
            slug = f"{slug}-{seen[slug]}"
        else:
            seen[slug] = 0
        result.add(slug)
    return frozenset(result)


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link that is not to a web address, outside code."""
    links = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        reference = _REFERENCE_DEF.match(line)
        targets = [reference.group(1)] if reference else []
        targets += [m.group(2) for m in _INLINE_LINK.finditer(_CODE_SPAN.sub("", line))]
        links += [(number, t) for t in targets
                  if t and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", t)]   # http:, https:, mailto:
    return links


def broken_links(path: Path, root: Path = REPO) -> list[str]:
    """One line per link of ``path`` that does not resolve (paths shown relative to ``root``)."""
    problems = []
    for number, target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        where = f"{path.relative_to(root)}:{number}: ({target})"
        dest = (path.parent / unquote(file_part)).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{where}: no file {file_part}")
        elif anchor:
            if dest.is_dir() or dest.suffix.lower() != ".md":
                problems.append(f"{where}: an anchor into something that is not a Markdown file")
            elif unquote(anchor) not in anchors(dest):
                problems.append(f"{where}: no heading with the anchor #{anchor} in {os.path.relpath(dest, root)}")
    return problems


def test_the_documents_are_there() -> None:
    names = {f.relative_to(REPO).as_posix() for f in markdown_files()}
    for name in ("README.md", "docs/outputs.md", "docs/planning.md", "docs/trial.md",
                 "docs/analysis.md", "docs/sweeps.md", "benchmarks/README.md"):
        assert name in names


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_resolves(path: Path) -> None:
    problems = broken_links(path)
    assert not problems, "broken links:\n  " + "\n  ".join(problems)


def test_the_link_rules(tmp_path: Path) -> None:
    assert github_slug("Comparing implementations") == "comparing-implementations"
    assert github_slug("Glossary of `summary.json`") == "glossary-of-summaryjson"
    assert github_slug("5. Savings, SØM style") == "5-savings-søm-style"
    assert github_slug("Savings side: reconciling 11,677 and 11,361") == "savings-side-reconciling-11677-and-11361"
    assert github_slug("Sobol' and Morris (SALib)") == "sobol-and-morris-salib"
    assert github_slug("keep_under-scores") == "keep_under-scores"
    assert github_slug("Rødovre og Helsingør") == "rødovre-og-helsingør"
    assert github_slug("See [the trial](trial.md)") == "see-the-trial"

    (tmp_path / "a.md").write_text(
        "# Title\n\n## Twice\n\n## Twice\n\n```\n# not a heading\n[not a link](missing.md)\n```\n"
        "[ok](#title) [ok](#twice-1) [ok](b.md#other) [web](https://example.org/x.md) `[code](missing.md)`\n"
        "[bad](#nothing) [bad](c.md) [bad](b.md#title) [bad](#not-a-heading)\n",
        encoding="utf-8")
    (tmp_path / "b.md").write_text("# Other\n", encoding="utf-8")
    problems = broken_links(tmp_path / "a.md", root=tmp_path)
    assert [p.split("(")[1].split(")")[0] for p in problems] == [
        "#nothing", "c.md", "b.md#title", "#not-a-heading"]
