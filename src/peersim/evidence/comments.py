"""Reading ``conf/``: every key of a conf file, its value as written and the comment next to it.

The comments follow one convention::

    key: value   # <unit>; <what it is and where it comes from>
                 # (comment-only lines indented past the key continue the comment)

The unit is the text before the first ``;``, the rest is the note; an explicit quality tag
(``[trial]``, ``[published]``, ``[assumption]``, ``[calibrated]``) anywhere in the comment is
taken out of the text and kept apart (:mod:`peersim.evidence.rules` says what the tags mean).
A mapping header's comment covers the keys under it (:attr:`Entry.parents`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_TAG = re.compile(r"\[(trial|published|assumption|calibrated)\]", re.IGNORECASE)
_KEY_LINE = re.compile(r"^(?P<indent>[ ]*)(?P<key>[A-Za-z_][\w-]*)[ ]*:(?P<rest>(?:[ \t].*)?)$")
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)")


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
