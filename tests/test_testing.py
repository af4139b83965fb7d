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
    from scalargrad.testing import checks, examples, strategies

    assert sorted(t.__all__) == sorted(
        [*checks.__all__, *(n for n in examples.__all__ if n != "POW_EXPONENTS"),
         *strategies.__all__]
    )
    for name in t.__all__:
        assert getattr(t, name) is not None
    assert t.gradcheck is checks.gradcheck and t.chains is strategies.chains
    assert t.Expression is examples.Expression


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
