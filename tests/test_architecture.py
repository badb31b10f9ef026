"""The shape of the code: no import cycles (also none hidden in a function), files of one idea.

The import graph is read from the source with ``ast``, not from what Python happens to import at
run time, so an import placed inside a function or given to ``importlib.import_module`` as a
literal counts like any other. Only imports under ``if TYPE_CHECKING:`` do not: they are never
executed, and they let an agent name the type of its model (Mesa's agents hold ``self.model``)
without the model's module depending on the agent's. ``from a import b`` is an edge to
``a`` and, when ``b`` is a module of its own, to ``a.b``. docs/architecture.md draws the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "peersim"
MAX_LINES = 500


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(src: Path = SRC) -> dict[str, Path]:
    return {module_name(p, src): p for p in sorted((src / "peersim").rglob("*.py"))}


def _absolute(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _executed_nodes(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The peersim modules that module ``name`` imports, anywhere in its file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in _executed_nodes(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, name, is_package)
            targets = [base, *(f"{base}.{a.name}" for a in node.names)]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            targets = [node.args[0].value]
        for t in targets:
            # `import peersim.a.b` names the module peersim.a.b; keep the longest known prefix
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t != "peersim":
                found.add(t)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    mods = modules(src)
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_sees_imports_hidden_in_functions(tmp_path):
    """The checker itself: an import inside a function, a relative one and a literal
    ``import_module`` make edges (a TYPE_CHECKING import does not), and a cycle is found."""
    pkg = tmp_path / "peersim"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from peersim.b import g\n    return g\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from peersim import a\n"
                              "class B:\n    def m(self):\n        from . import c\n")
    (pkg / "c.py").write_text("import importlib\nm = importlib.import_module('peersim.a')\n")
    graph = import_graph(tmp_path)
    assert graph["peersim.a"] == {"peersim.b"}
    assert graph["peersim.b"] == {"peersim.c"}
    assert graph["peersim.c"] == {"peersim.a"}
    assert cycles(graph) == [["peersim.a", "peersim.b", "peersim.c"]]


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles in src/peersim (break each by moving what both sides need below them): " + \
        "; ".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_files_stay_small(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(SRC)} has {n} lines; split it along its seams (at most {MAX_LINES})"


def test_no_grab_bag_modules():
    bags = [p for p in PACKAGE.rglob("*.py") if p.stem in {"utils", "util", "helpers", "misc", "common"}]
    assert not bags, f"modules named for no idea: {bags}"
