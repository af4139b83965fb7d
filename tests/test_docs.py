"""The README's and the modules' examples run as doctests, so the documentation stays true."""

from __future__ import annotations

import doctest
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    for p in (ROOT / "scalargrad").rglob("*.py")
    if p.stem != "__main__"
)


def test_readme_examples_run() -> None:
    result = doctest.testfile(
        str(ROOT / "README.md"),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted >= 15
    assert result.failed == 0


def _examples(name: str) -> int:
    """How many doctest examples a module's docstrings hold."""
    module = importlib.import_module(name)
    return sum(len(t.examples) for t in doctest.DocTestFinder().find(module))


WITH_EXAMPLES = [name for name in MODULES if _examples(name)]
"""Modules whose docstrings hold examples (a module without any has nothing to run)."""


def test_the_modules_with_examples_are_found() -> None:
    assert "scalargrad.engine" in WITH_EXAMPLES and "scalargrad.nn" in WITH_EXAMPLES
    assert len(WITH_EXAMPLES) >= 3


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_module_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0  # a case that runs nothing would pass without checking
    assert result.failed == 0


def test_readme_quick_start_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```sh\n(.*?)```", readme, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^make test$", ci, re.M)


def test_the_docs_count_the_lessons_and_say_how_to_serve_the_site() -> None:
    """Issue 19.13: six lessons, search needs http, the wide drawing opens full size."""
    import json

    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    n = len(lessons)
    for k, path in enumerate(lessons, 1):
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        assert f"*Lesson {k} of {n} —" in first, (path.name, first[:200])
    words = {6: "six"}
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert f"{words[n]} notebooks" in index
    for text in (index, (ROOT / "README.md").read_text(encoding="utf-8")):
        assert "python -m http.server -d site" in text
    maths = (ROOT / "docs" / "mathematics.md").read_text(encoding="utf-8")
    assert "[![The three-layer chain after backward](drawings/chain.svg)](drawings/chain.svg)" \
        in maths


def test_the_lesson_titles_in_the_navigation_are_plain_text() -> None:
    """Issue 19.8: the navigation reads "the sum over j", never "$j$"."""
    import importlib.util

    import yaml

    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
    assert spec and spec.loader
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    config = hooks.on_config({"nav": [{"Lessons": []}]})
    titles = [next(iter(entry)) for entry in config["nav"][0]["Lessons"]]
    assert any(t.endswith("the sum over j") for t in titles), titles
    assert not any("$" in t for t in titles)
    # mkdocs-jupyter would put the notebook's own heading ($j$ and all) back as the title
    plugins = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["plugins"]
    jupyter = next(p["mkdocs-jupyter"] for p in plugins if isinstance(p, dict) and
                   "mkdocs-jupyter" in p)
    assert jupyter["ignore_h1_titles"] is True
