"""Tests of the package's import graph: no module imports itself back, even lazily.

Every module of ``scalargrad`` is read with :mod:`ast` (nothing is imported),
and each ``import`` is classified as top level (also inside ``try``/``if``),
inside a function (run when the function is called) or inside an
``if TYPE_CHECKING:`` block (never run: annotations only). A cycle through
top-level and function-level imports is a defect: the modules cannot be
understood, tested or loaded one below the other. ``TYPE_CHECKING`` imports
are reported separately and may close cycles. The scanner itself is checked
on a made-up package whose imports are written out by hand.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import scalargrad

PACKAGE = Path(scalargrad.__file__).resolve().parent

TOP, FUNCTION, TYPE_CHECKING = "top", "function", "TYPE_CHECKING"
RUN = frozenset({TOP, FUNCTION})
Edges = dict[tuple[str, str], set[str]]



def _module_names(package: Path) -> dict[str, Path]:
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _targets(module: str, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    """The package modules an import statement loads (``from . import x``: the submodule x)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        base = module if modules[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target
            for a in node.names]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def scan(package: Path) -> Edges:
    """``(importer, imported) → kinds`` for every import between modules of ``package``."""
    modules = _module_names(package)
    edges: Edges = defaultdict(set)
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        todo: list[tuple[ast.AST, str]] = [(tree, TOP)]
        while todo:
            node, kind = todo.pop()
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, node, modules):
                    if target in modules and target != module:
                        edges[module, target].add(kind)
                continue
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                todo += [(b, TYPE_CHECKING) for b in node.body]
                todo += [(b, kind) for b in node.orelse]
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                kind = FUNCTION if kind == TOP else kind  # runs when called
            # Everything nested keeps its kind: a function inside TYPE_CHECKING never runs.
            todo += [(child, kind) for child in ast.iter_child_nodes(node)]
    return dict(edges)


def cycles(edges: Edges, kinds: frozenset[str] = RUN) -> list[list[str]]:
    """The strongly connected components (more than one module) of the edges of ``kinds``."""
    graph: dict[str, list[str]] = defaultdict(list)
    for (a, b), k in sorted(edges.items()):
        if k & kinds:
            graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:  # Tarjan's algorithm, iteratively
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(graph[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def _report(edges: Edges, found: list[list[str]]) -> str:
    lines = []
    for component in found:
        lines.append("cycle among " + ", ".join(component) + ":")
        lines += [f"  {a} -> {b} ({', '.join(sorted(k))})" for (a, b), k in sorted(edges.items())
                  if a in component and b in component and k & RUN]
    typed = [f"  {a} -> {b}" for (a, b), k in sorted(edges.items()) if k == {TYPE_CHECKING}]
    lines.append("imports only under TYPE_CHECKING (allowed):")
    return "\n".join(lines + typed)


def test_the_scanner_classifies_imports_and_finds_cycles(tmp_path: Path) -> None:
    pkg = tmp_path / "made_up"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from .a import A\n",
        "a.py": "from . import b\nA = 1\n",
        "b.py": "def f():\n    from .c import C\n    return C\n",
        "c.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n"
                 "else:\n    import json\nC = 2\n"),
        "d.py": "try:\n    from .sub.e import E\nexcept ImportError:\n    E = None\n",
        "sub/__init__.py": "",
        "sub/e.py": "import made_up.d\nfrom .. import c\nE = 3\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text, encoding="utf-8")
    edges = scan(pkg)
    assert edges == {
        ("made_up", "made_up.a"): {TOP},
        ("made_up.a", "made_up.b"): {TOP},
        ("made_up.b", "made_up.c"): {FUNCTION},
        ("made_up.c", "made_up.a"): {TYPE_CHECKING},
        ("made_up.d", "made_up.sub.e"): {TOP},
        ("made_up.sub.e", "made_up.d"): {TOP},
        ("made_up.sub.e", "made_up.c"): {TOP},
    }
    # a → b → c ⇢ a closes only through TYPE_CHECKING; d ↔ sub.e is a real cycle.
    assert cycles(edges) == [["made_up.d", "made_up.sub.e"]]
    assert cycles(edges, RUN | {TYPE_CHECKING}) == [
        ["made_up.a", "made_up.b", "made_up.c"], ["made_up.d", "made_up.sub.e"]]


def test_the_scanner_sees_the_package_as_it_is() -> None:
    edges = scan(PACKAGE)
    assert edges["scalargrad.engine", "scalargrad.rules"] == {TOP}
    assert edges["scalargrad.graph", "scalargrad.engine"] == {TYPE_CHECKING}  # annotations only
    assert edges["scalargrad", "scalargrad.engine"] == {TOP}
    assert ("scalargrad.testing.derivation", "scalargrad.errors") in edges


def test_no_import_cycle() -> None:
    edges = scan(PACKAGE)
    found = cycles(edges)
    assert not found, _report(edges, found)


def test_forms_imports_nothing_from_the_package() -> None:
    edges = scan(PACKAGE)
    assert not [b for (a, b) in edges if a == "scalargrad.forms"]
