"""Tests for scalargrad.errors: every public exception in one module, the same class everywhere.

The oracle is the package's source: an ``ast`` scan finds every class deriving
from an exception, wherever it is defined, and the old import paths are listed
by hand (those existing code and notebooks use).
"""

from __future__ import annotations

import ast
import importlib
import pickle
import traceback
from pathlib import Path

import pytest

import scalargrad
from scalargrad import errors

PACKAGE = Path(scalargrad.__file__).resolve().parent

# Where each exception was defined before errors.py, and still importable from.
OLD_HOMES = {
    "DomainError": ["scalargrad.rules", "scalargrad.engine"],
    "ParseError": ["scalargrad.parse"],
    "VariableError": ["scalargrad.parse"],
    "TooManyPathsError": ["scalargrad.trace"],
    "DrawingTooLargeError": ["scalargrad.viz"],
    "DotTimeoutError": ["scalargrad.viz"],
    "DotNotFoundError": ["scalargrad.viz"],
    "CheckArgumentError": ["scalargrad.testing.derivation", "scalargrad.testing"],
}
# Exceptions born in errors.py, also importable from the module that raises them.
NEW_HOMES = {
    "OpDefinitionError": ["scalargrad.ops"],
    "OpNameError": ["scalargrad.ops"],
    "OpArityError": ["scalargrad.ops"],
    "OpSymbolError": ["scalargrad.ops"],
    "PlaygroundError": ["scalargrad.playground"],
    "GraphTooLargeError": ["scalargrad.higher"],
}


def _exception_classes() -> dict[str, list[str]]:
    """Every class in the package whose bases name an Error or Exception: name → modules."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                (isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception")))
                for b in node.bases
            ):
                found.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    return found


def test_every_public_exception_is_defined_in_errors_and_nowhere_else() -> None:
    public = {name: homes for name, homes in _exception_classes().items()
              if not name.startswith("_")}
    assert public == {name: ["errors.py"] for name in {**OLD_HOMES, **NEW_HOMES}}
    assert sorted(errors.__all__) == sorted({**OLD_HOMES, **NEW_HOMES})


@pytest.mark.parametrize("name", sorted(NEW_HOMES))
def test_each_new_exception_is_one_class_at_the_top_and_where_it_is_raised(name: str) -> None:
    cls = getattr(errors, name)
    assert cls.__module__ == "scalargrad.errors"
    assert getattr(scalargrad, name) is cls
    for home in NEW_HOMES[name]:
        assert getattr(importlib.import_module(home), name) is cls
    assert issubclass(cls, ValueError)


@pytest.mark.parametrize("name", sorted(OLD_HOMES))
def test_each_exception_is_one_class_at_the_top_and_in_its_old_modules(name: str) -> None:
    cls = getattr(errors, name)
    assert issubclass(cls, Exception) and cls.__module__ == OLD_HOMES[name][0]  # as it was
    assert getattr(scalargrad, name) is cls and name in scalargrad.__all__
    for module in OLD_HOMES[name]:
        assert getattr(importlib.import_module(module), name) is cls, module


def test_an_error_pickles_and_prints_under_its_old_name() -> None:
    from scalargrad import DomainError, Value

    with pytest.raises(DomainError) as info:
        Value(0.0, "x").log()
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is DomainError and str(again) == str(info.value)
    shown = traceback.format_exception_only(info.type, info.value)[-1]
    assert shown.startswith("scalargrad.rules.DomainError: log: log of 0.0 is undefined")


def test_errors_raised_by_the_package_are_caught_by_the_top_level_names() -> None:
    from scalargrad import DomainError, ParseError, Value, VariableError
    from scalargrad.parse import parse

    with pytest.raises(DomainError, match="log"):
        Value(0.0, "x").log()
    with pytest.raises(ParseError, match="column") as err:
        parse("x +* 2")
    assert err.value.column > 0
    with pytest.raises(VariableError):
        parse("x + y").evaluate({"x": 1.0})


def test_errors_imports_nothing_from_the_package() -> None:
    tree = ast.parse((PACKAGE / "errors.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.module == "__future__", ast.dump(node)
        assert not isinstance(node, ast.Import)
