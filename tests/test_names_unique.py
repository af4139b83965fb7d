"""Tests that no public name means two different things across the package.

Every module of ``scalargrad`` is imported and its ``__all__`` read. A name in
two modules' ``__all__`` is fine when both give the same object (a re-export,
such as ``scalargrad.Value`` or the ``trace`` shim); two different objects
under one public name are a defect, except inside the micrograd mirror
(``scalargrad.micrograd.*`` deliberately reuses ``Value``, ``MLP``, … for
micrograd's API) and the few pairs listed in :data:`SAME_IDEA` with the reason
each is one idea. The scanner itself is checked on made-up modules.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from types import ModuleType

import scalargrad

MIRROR = "scalargrad.micrograd"

# One idea under one name in two modules that must keep it; each with why.
SAME_IDEA = {
    "sigmoid": "σ itself: formulas.sigmoid on floats, forms.sigmoid on forms (a derivative's σ)",
    "grad": "the playground's `grad` runs the CLI's `grad` command for the site's worker, "
            "which calls it by that name; higher.grad is the function the command prints",
}


def _modules() -> dict[str, ModuleType]:
    found = {"scalargrad": scalargrad}
    for info in pkgutil.walk_packages(scalargrad.__path__, "scalargrad."):
        if info.name.rpartition(".")[2] != "__main__":  # runs the command line
            found[info.name] = importlib.import_module(info.name)
    return found


def _in_mirror(module: str) -> bool:
    return module == MIRROR or module.startswith(MIRROR + ".")


def clashes(modules: Mapping[str, ModuleType]) -> dict[str, list[str]]:
    """Public names given by two modules as different objects: name → those modules.

    The micrograd mirror is its own namespace: its names are compared with
    each other only, never with the package's.
    """
    out: dict[str, list[str]] = {}
    for mirror in (False, True):
        seen: dict[str, list[tuple[str, object]]] = {}
        for name, module in modules.items():
            if _in_mirror(name) != mirror:
                continue
            for public in getattr(module, "__all__", ()):
                seen.setdefault(public, []).append((name, getattr(module, public)))
        for public, homes in seen.items():
            if len({id(obj) for _, obj in homes}) > 1:
                out.setdefault(public, []).extend(m for m, _ in homes)
    return out


def _module(name: str, **namespace: object) -> ModuleType:
    m = ModuleType(name)
    m.__dict__.update(namespace)
    m.__all__ = list(namespace)  # type: ignore[attr-defined]
    return m


def test_the_scanner_finds_a_clash_and_only_a_clash() -> None:
    def one() -> None: ...

    def other() -> None: ...

    class Value: ...

    class MirrorValue: ...

    made_up = {
        "pkg": _module("pkg", one=one, Value=Value),  # re-exports
        "pkg.a": _module("pkg.a", one=one, Value=Value, limit=400),
        "pkg.b": _module("pkg.b", other=other, limit=1_000_000),
        "pkg.c": _module("pkg.c", other=one),  # "other" means two things
    }
    assert clashes(made_up) == {"limit": ["pkg.a", "pkg.b"], "other": ["pkg.b", "pkg.c"]}
    mirror = {
        **made_up,
        MIRROR: _module(MIRROR, Value=MirrorValue),
        MIRROR + ".engine": _module(MIRROR + ".engine", Value=MirrorValue, one=other),
    }
    assert clashes(mirror) == clashes(made_up)  # the mirror reuses names on purpose
    mirror[MIRROR + ".nn"] = _module(MIRROR + ".nn", Value=Value)
    assert clashes(mirror)["Value"] == [MIRROR, MIRROR + ".engine", MIRROR + ".nn"]


def test_every_module_lists_its_public_names() -> None:
    modules = _modules()
    assert len(modules) > 30
    assert [n for n, m in modules.items() if not hasattr(m, "__all__")] == []
    for name, module in modules.items():
        missing = [p for p in module.__all__ if not hasattr(module, p)]
        assert missing == [], f"{name}.__all__ names what it does not define: {missing}"


def test_no_public_name_means_two_things() -> None:
    found = clashes(_modules())
    unexplained = {name: homes for name, homes in found.items() if name not in SAME_IDEA}
    assert unexplained == {}, (
        f"one public name, different objects: {unexplained}; give each its own name "
        f"(keep the old one importable, outside __all__, if code uses it)")


def test_the_old_names_still_import_and_are_the_new_ones() -> None:
    from scalargrad import demo, formulas, higher, names, notation, page, parse, viz
    from scalargrad.testing import Expression

    assert viz.html_name is viz.graphviz_html_name  # a Graphviz label
    assert "html_name" in page.__all__ and page.html_name is not viz.graphviz_html_name
    assert viz.graphviz_html_name("C_0") == (
        'C<FONT POINT-SIZE="9.8"><SUB>0</SUB></FONT>')
    assert page.html_name("C_0") == "C<sub>0</sub>"  # HTML for a browser
    assert parse.Expression is parse.ParsedExpression is type(parse.parse("x + 1"))
    assert parse.ParsedExpression is not Expression  # a drawn test expression
    assert formulas.ACTIVATIONS is formulas.ACTIVATION_DERIVATIVES
    assert formulas.ACTIVATION_DERIVATIVES["tanh"][1](0.0) == 1.0  # tanh'(0) = 1 − 0²
    assert names.format_number is names.constant_name
    assert names.constant_name(1 / 3) == "0.333333" != notation.format_number(1 / 3)
    assert higher.DEFAULT_MAX_NODES == higher.DEFAULT_MAX_GRAPH_NODES != viz.DEFAULT_MAX_NODES
    assert (demo.X, demo.Y) == (demo.INPUT, demo.TARGET) == (0.7, 1.0)
    for old in ("html_name", "Expression", "ACTIVATIONS", "format_number",
                "DEFAULT_MAX_NODES", "X", "Y"):
        for module in (viz, parse, formulas, names, higher, demo):
            if module is not viz or old != "DEFAULT_MAX_NODES":
                assert old not in module.__all__, (module.__name__, old)


def test_no_name_of_the_package_hides_one_of_its_modules() -> None:
    # scalargrad.explain is the function: a module of that name would be unreachable as
    # an attribute (import scalargrad.explain as m gives the function), so the sum over
    # paths lives in scalargrad.explanations.
    for name, module in _modules().items():
        parent, _, leaf = name.rpartition(".")
        if parent:
            assert getattr(importlib.import_module(parent), leaf) is module, name
    import scalargrad.explanations as m

    assert m.explain is scalargrad.explain
