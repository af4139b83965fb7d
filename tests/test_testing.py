"""Tests of the scalargrad.testing package: its public names and its optional Hypothesis."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def test_testing_imports_without_hypothesis():
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "import scalargrad.testing as t\n"
        "assert t.gradcheck(lambda x: x * x, [3.0])\n"
        "try:\n    t.expressions()\nexcept ImportError:\n    print('lazy')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "lazy"
    assert "hypothesis" not in sys.modules["scalargrad"].__dict__


def test_the_package_keeps_its_public_names_and_one_module_per_job():
    import scalargrad.testing as t
    from scalargrad.testing import checks, derivation, examples, strategies

    before_the_split = {
        "OPS", "ChainExample", "Expression", "ExpressionGraph", "GradcheckResult", "InputCheck",
        "NetworkExample", "NetworkGraph", "Record", "assert_grads_equal", "chains",
        "expressions", "gradcheck", "networks",
    }
    assert before_the_split <= set(t.__all__)
    assert set(t.__all__) - before_the_split == {
        "CheckArgumentError", "DerivativeCheck", "check_derivative"}
    modules = (checks, derivation, examples, strategies)
    for name in t.__all__:
        (home,) = [m for m in modules if name in m.__all__]  # exactly one module's job
        assert getattr(t, name) is getattr(home, name)


def test_the_wheel_lists_every_package():
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(root).parts)
        for p in (root / "scalargrad").rglob("__init__.py")
    }
    assert on_disk <= listed, sorted(on_disk - listed)
