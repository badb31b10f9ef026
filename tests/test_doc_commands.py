"""Every command and snippet of the documentation runs as a user would run it.

The convention (fixed for every document): in README.md, docs/*.md and benchmarks/README.md,

- a ```` ```bash ```` block's lines that start with ``peersim`` (also ``peersim-register``),
  ``make`` or ``python`` are commands (a line ending in ``\\`` continues on the next); they run
  one after another in a fresh temporary folder (the block's own; ``HOME`` there too), through
  this environment's installed tools;
- a ```` ```python ```` block is saved as a file and run with ``python file.py`` in such a folder;
- an HTML comment on the line just before a block changes how it runs:
  ``<!-- doc-test: skip (reason) -->`` (not run), ``<!-- doc-test: slow -->`` (only in the slow
  suite), ``<!-- doc-test: args key=value ... -->`` (these overrides go to every ``peersim`` line:
  one whose key the line already sets replaces it, any other is appended; such a block is in the
  slow suite too); markers may stand on consecutive lines above a block;
- ```` ```text ```` (or a bare fence) is output or a schematic command, never run.

A block without a marker is in the default suite, so it must take seconds; every experiment or
sweep is ``slow``. A block fails with the command, its exit code and the end of its stderr.

A transcript, a ```` ```text ```` (or bare) block whose first line is ``$ peersim ...`` followed by what it
printed (more ``$`` lines: more commands, run in the same folder), quotes figures: the slow suite
runs its commands and checks that every line of the transcript is printed, with the same figures
(run times, progress, Hydra's log and the date in the output folder excepted; ``...`` in a line
stands for anything). A mismatch shows the command's output to paste in.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
MARKER = re.compile(r"^\s*<!--\s*doc-test:\s*(skip|slow|args)\b(.*?)-->\s*$")
TIMEOUT = 1800  # seconds per command: the slowest documented experiment at its reduced size takes minutes


@dataclass
class Block:
    doc: str
    line: int                # the fence's line number (1-based)
    lang: str                # bash or python
    text: str
    skip: str | None = None  # the reason
    slow: bool = False
    args: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The ```bash and ```python blocks of a Markdown file, with the doc-test marker above each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        lang = fence.group(2)
        j = i + 1
        while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
            j += 1
        if lang in ("bash", "python"):
            indent = len(fence.group(1))
            body = "\n".join(ln[indent:] if ln[:indent].isspace() else ln for ln in lines[i + 1:j])
            block = Block(str(path.relative_to(ROOT)), i + 1, lang, body + "\n")
            k = i - 1
            while k >= 0 and (marker := MARKER.match(lines[k])):
                kind, rest = marker.group(1), marker.group(2).strip()
                if kind == "skip":
                    block.skip = rest.strip("() ") or "no reason given"
                elif kind == "slow":
                    block.slow = True
                else:  # an experiment cut down to test size: still one for the slow suite
                    block.args, block.slow = shlex.split(rest), True
                k -= 1
            out.append(block)
        i = j + 1
    return out


ALL = [b for doc in DOCS if doc.is_file() for b in blocks(doc)]


def commands(block: Block) -> list[list[str]]:
    """A bash block's commands as argument lists (comments dropped, continued lines joined)."""
    joined: list[str] = []
    carry = ""
    for raw in block.text.splitlines():
        line = carry + raw.strip()
        if line.endswith("\\"):
            carry = line[:-1] + " "
            continue
        carry = ""
        joined.append(line)
    out = []
    for line in joined:
        words = shlex.split(line, comments=True)
        if words and (words[0].startswith("peersim") or words[0] in ("make", "python")):
            out.append(with_args(words, block.args) if words[0] == "peersim" else words)
    return out


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def with_args(words: list[str], args: list[str]) -> list[str]:
    """``args`` on a ``peersim`` line: an override of a key the line sets replaces it."""
    words = list(words)
    for arg in args:
        same = [i for i, w in enumerate(words) if i and "=" in w and _key(w) == _key(arg)]
        if same:
            words[same[0]] = arg
        else:
            words.append(arg)
    return words


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PEERSIM_", "HYDRA_")) and k not in ("PYTHONPATH",)}
    env.update(HOME=str(home), PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg",
               PYTHONUNBUFFERED="1")
    return env


def _argv(words: list[str]) -> list[str]:
    head = words[0]
    if head == "python":  # a script of the repository (python experiments/x.py) is run from there
        rest = [str(ROOT / w) if i == 0 and w.endswith(".py") and not Path(w).is_absolute() and (ROOT / w).is_file()
                else w for i, w in enumerate(words[1:])]
        return [sys.executable, *rest]
    if head.startswith("peersim"):
        return [str(BIN / head), *words[1:]]
    return words


def _run(argv: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-2500:]
        pytest.fail(f"{what} exited {proc.returncode}: {shlex.join(argv)}\n{tail}", pytrace=False)


def _params(found: list[Block]):
    """One test per block; a block that repeats an earlier one (the same snippet, or the same
    commands and arguments, as docs/analysis.md repeats sensitivity.md's) runs once, at its first place."""
    seen: dict[tuple[str, str, tuple[str, ...]], str] = {}
    for block in found:
        marks = [pytest.mark.slow] if block.slow else []
        text = block.text if block.lang == "python" else repr(commands(block))  # comments aside
        key = (block.lang, text, tuple(block.args))
        if block.skip:
            marks.append(pytest.mark.skip(reason=f"doc-test: skip ({block.skip})"))
        elif key in seen:
            marks.append(pytest.mark.skip(reason=f"the same block as {seen[key]}, run there"))
        else:
            seen[key] = block.id
        yield pytest.param(block, id=block.id, marks=marks)


@pytest.mark.parametrize("block", list(_params(ALL)))
def test_documented_block_runs(block: Block, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    env = _env(home)
    if block.lang == "python":
        script = work / "snippet.py"
        script.write_text(block.text, encoding="utf-8")
        _run([sys.executable, script.name], work, env, f"{block.id} (python snippet)")
        return
    cmds = commands(block)
    assert cmds, f"{block.id}: a bash block without a command (use ```text for output or schematic shapes)"
    for words in cmds:
        if words[0] == "make":
            _run(["make", "-C", str(ROOT), *words[1:]], work, env, block.id)
        else:
            _run(_argv(words), work, env, block.id)


@dataclass
class Transcript:
    doc: str
    line: int
    steps: list[tuple[str, list[str]]]  # (command, the lines it printed)

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def transcripts(path: Path) -> list[Transcript]:
    """The ```text (or bare) blocks of a Markdown file that start with ``$ peersim``: commands,
    each followed by what it printed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.strip() in ("```", "```text") and i + 1 < len(lines) and lines[i + 1].startswith("$ peersim"):
            steps: list[tuple[str, list[str]]] = []
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                if lines[j].startswith("$ "):
                    steps.append((lines[j][2:], []))
                else:
                    steps[-1][1].append(lines[j])
                j += 1
            out.append(Transcript(str(path.relative_to(ROOT)), i + 1, steps))
    return out


TRANSCRIPTS = [t for doc in DOCS if doc.is_file() for t in transcripts(doc)]
_VARIABLE = [
    (re.compile(r"\(\d+(\.\d+)? s\)"), "(<time> s)"),                      # a run's time
    (re.compile(r"done in \d+(\.\d+)? s"), "done in <time> s"),
    (re.compile(r"outputs: \S*(outputs|multirun)/\S*?(\d{2}-\d{2}-\d{2})?(_\S*)?$"), r"outputs: <folder>\3"),
]
_SKIP = re.compile(r"\d+/\d+ runs, [\d.]+/s|^\[\d{4}-\d\d-\d\d [\d:,]+\]\[HYDRA\]")  # progress; Hydra's log


def _normal(line: str) -> str:
    line = line.rstrip()
    for pattern, repl in _VARIABLE:
        line = pattern.sub(repl, line)
    return line


def _pattern(line: str) -> re.Pattern[str]:
    """A transcript line as a pattern: ``...`` stands for anything (an elided part)."""
    return re.compile(".*".join(re.escape(part) for part in _normal(line).split("...")))


@pytest.mark.slow
@pytest.mark.parametrize("transcript", [pytest.param(t, id=t.id) for t in TRANSCRIPTS])
def test_transcript_matches_its_command(transcript: Transcript, tmp_path: Path) -> None:
    """Every line of the transcript is printed (stdout or stderr; parallel jobs in any order);
    a command that fails must show its error line in the transcript."""
    env = _env(tmp_path)
    for command, shown in transcript.steps:
        proc = subprocess.run(_argv(shlex.split(command)), cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=TIMEOUT)
        printed = [_normal(ln) for ln in (proc.stdout + proc.stderr).splitlines() if not _SKIP.search(ln)]
        wanted = [ln for ln in shown if ln.strip() != "..." and not _SKIP.search(ln)]
        if proc.returncode != 0 and not any("error" in ln for ln in wanted):
            pytest.fail(f"{transcript.id}: `{command}` exited {proc.returncode}:\n{proc.stderr[-2500:]}", pytrace=False)
        missing = [ln for ln in wanted if not any(_pattern(ln).fullmatch(p) for p in printed)]
        if missing:
            pytest.fail(f"{transcript.id}: `{command}` no longer prints\n  " + "\n  ".join(missing)
                        + "\nIt prints (paste into the transcript; times and folders as they come):\n"
                        + proc.stdout + proc.stderr, pytrace=False)


def test_convention_is_kept() -> None:
    """Every marker sits just above a bash or python block; no runnable line holds a
    placeholder (``<...>``: those belong in ```text); a skip says why."""
    problems = []
    runnable = set()
    for doc in DOCS:
        if doc.is_file():
            lines = doc.read_text(encoding="utf-8").splitlines()
            rel = str(doc.relative_to(ROOT))
            for b in (b for b in ALL if b.doc == rel):
                k = b.line - 2
                while k >= 0 and MARKER.match(lines[k]):
                    runnable.add((rel, k + 1))
                    k -= 1
    for doc in DOCS:
        if not doc.is_file():
            continue
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), start=1):
            if "doc-test:" in line and line.strip().startswith("<!--"):
                rel = str(doc.relative_to(ROOT))
                if not MARKER.match(line):
                    problems.append(f"{rel}:{n}: unknown doc-test marker: {line.strip()}")
                elif (rel, n) not in runnable:
                    problems.append(f"{rel}:{n}: a doc-test marker not on the line just before a ```bash or ```python block")
    for b in ALL:
        if b.lang == "bash" and not b.skip:
            problems += [f"{b.id}: placeholder in a command: {shlex.join(c)}" for c in commands(b)
                         if re.search(r"<[^>]+>", shlex.join(c))]
    assert not problems, "\n".join(problems)


def test_every_doc_has_been_read() -> None:
    """The collection finds the blocks (a broken parser would make every test above vacuous)."""
    assert len(TRANSCRIPTS) >= 3
    assert _normal("peersim x | seed 0 | 5 years (1.01 s)") == "peersim x | seed 0 | 5 years (<time> s)"
    assert (_normal("  outputs: …/outputs/2026-12-04/14-59-12_local_coordinator_fredericia_seed0")
            == "  outputs: <folder>_local_coordinator_fredericia_seed0")
    assert len([b for b in ALL if b.lang == "bash"]) >= 10
    assert len([b for b in ALL if b.lang == "python"]) >= 5
    assert commands(Block("x", 1, "bash", "peersim a=1 \\\n   b=2   # note\n# only a comment\n",
                          args=["b=3", "c=4"])) == [["peersim", "a=1", "b=3", "c=4"]]
