"""The evidence rules: what counts as a source, the quality classes, and the checks of a comment.

Evidence quality is one of :data:`QUALITIES`, by this rule (first match wins):

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

A key without a unit of its own takes the unit of the nearest enclosing key that states one
(``per_success_dkk:  # DKK ...``), and likewise its source when its own comment cites none.

A parameter whose comment (and enclosing keys) matches none of these is an error, and so is a
comment (or an uncertainty ``source``) that cites a document outside the repository (the former
domain notes by their upper-case file name, or a seed file by its number, see :data:`_OUTSIDE`)
or a source id that docs/domain.md does not define. The checks return one ``file:line: ...``
line per problem.
"""

from __future__ import annotations

import re

from peersim.evidence.comments import Entry

QUALITIES = ("trial", "published", "expert assumption", "calibrated")

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
MAX_UNIT_CHARS = 50


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


def unit_of(entry: Entry) -> str:
    """The leaf's unit, or that of the nearest enclosing key that states one ("" if none does)."""
    for e in [entry, *entry.parents]:
        if e.comment.unit:
            return e.comment.unit
    return ""


def source_of(entry: Entry, by: Entry) -> str:
    """The leaf's own note, with the enclosing key's comment appended when that is the source."""
    own = entry.comment.note
    if by is entry:
        return own
    inherited = f"{by.key.rsplit('.', 1)[-1]}: {by.comment.note}"
    return f"{own} ({inherited})" if own else inherited


def states_reason(source: str) -> bool:
    """Whether an expert assumption's source gives its reason (``assumption: <why>``)."""
    return bool(_REASONED.search(source))


def entry_problems(entry: Entry) -> list[str]:
    """What is missing from the comment of a leaf (``file:line: ...`` lines; empty if nothing)."""
    e = entry
    if not e.comment.text:
        return [f"{e.where}: '{e.key}' has no comment; write '# <unit>; <what it is and its source>'"]
    out = []
    unit = unit_of(e)
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
