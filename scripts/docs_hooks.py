"""MkDocs hooks: the site's figures and live pages, made by scalargrad at build time.

Listed under ``hooks:`` in ``mkdocs.yml``. Nothing generated is stored in the
repository; every build draws afresh with the installed scalargrad and Graphviz:

* ``drawings/*.svg`` — the graphs the mathematics page shows;
* ``steps/*.html`` — the self-contained step-through pages
  (:func:`scalargrad.save_steps_html`), embedded by ``live.md``;
* the "Lessons" section of the navigation: ``notebooks/README.md`` and then every
  ``notebooks/NN_*.ipynb`` in order, titled by its first heading (new lessons appear
  without editing ``mkdocs.yml``);
* ``api/<module>.md`` for every public module and subpackage of scalargrad (mkdocstrings
  renders each from its docstrings), listed under "API reference" after ``api/index.md``;
* ``<!-- cli-help-all -->`` in a page becomes the help of ``scalargrad`` and each subcommand.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import scalargrad
from scalargrad import cli, demo, nn

# The second lesson's layer: two inputs, a layer L-1 of two neurons, a layer L of two.
SUM_W = [[[0.4, -0.6], [0.9, 0.3]], [[0.8, -0.5], [-1.1, 0.7]]]
SUM_B = [[0.1, -0.2], [0.05, 0.3]]
SUM_X, SUM_Y = [0.6, -0.4], [1.0, 0.0]


def _chain() -> scalargrad.Value:
    return nn.chain(demo.WEIGHTS, demo.BIASES, demo.X, demo.Y).cost


def _layer() -> tuple[scalargrad.Value, list[scalargrad.Value]]:
    net = nn.MLP.from_weights(SUM_W, SUM_B)
    xs = [scalargrad.Value(v, nn.label("a", 0, k)) for k, v in enumerate(SUM_X)]
    out = net(xs)
    assert isinstance(out, list)
    cost = nn.squared_error(out, SUM_Y)
    hidden = [
        v
        for v in scalargrad.topological_order(cost)
        if v.label.startswith("a_") and v.label.endswith("^(1)")
    ]
    return cost, hidden


def _svg(root: scalargrad.Value, **options: Any) -> str:
    root.backward()
    data = scalargrad.draw(root, **options).pipe(format="svg")
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)


def _page(root: scalargrad.Value, title: str) -> str:
    root.backward()
    with tempfile.TemporaryDirectory() as tmp:
        path = scalargrad.save_steps_html(root, Path(tmp) / "steps.html", title=title)
        return Path(path).read_text(encoding="utf-8")


ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = ROOT / "scalargrad"


def _public(folder: Path) -> list[str]:
    """The public modules and subpackages directly in ``folder`` (no ``_name``, no ``__main__``)."""
    names = [p.stem for p in folder.glob("*.py") if not p.stem.startswith("_")]
    names += [
        p.name
        for p in folder.iterdir()
        if (p / "__init__.py").is_file() and not p.name.startswith("_")
    ]
    return sorted(names)


def _api_pages() -> dict[str, str]:
    """``api/<name>.md`` → its Markdown: one mkdocstrings block per module."""
    pages = {}
    for name in _public(PACKAGE):
        if (PACKAGE / name).is_dir():
            blocks = [f"::: scalargrad.{name}\n    options:\n      members: false"]
            blocks += [f"::: scalargrad.{name}.{sub}" for sub in _public(PACKAGE / name)]
        else:
            blocks = [f"::: scalargrad.{name}"]
        pages[f"api/{name}.md"] = f"# scalargrad.{name}\n\n" + "\n\n".join(blocks) + "\n"
    return pages


def _title(notebook: Path) -> str:
    """The notebook's first Markdown heading, without the TeX dollars."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found = re.search(r"^#\s+(.+)$", "".join(cell["source"]), re.M)
            if found:
                return found.group(1).replace("$", "").strip()
    return notebook.stem


def on_config(config: Any) -> Any:
    """Lists every lesson under "Lessons" in the navigation."""
    lessons: list[Any] = [{"Overview": "lessons/README.md"}]
    for nb in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        lessons.append({_title(nb): f"lessons/{nb.name}"})
    api: list[Any] = [{"scalargrad": "api/index.md"}]
    api += [{Path(uri).stem: uri} for uri in _api_pages()]
    for entry in config["nav"]:
        if isinstance(entry, dict) and "Lessons" in entry:
            entry["Lessons"] = lessons
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = api
    return config


def on_files(files: Any, config: Any) -> Any:
    """Adds the generated drawings, step-through pages and API pages to the site."""
    from mkdocs.structure.files import File

    cost, hidden = _layer()
    a_k = sorted(hidden, key=lambda v: v.label)[0]
    generated = {
        "drawings/chain.svg": _svg(_chain()),
        "drawings/sum_over_j.svg": _svg(cost, highlight=scalargrad.explain(cost, a_k)),
        "steps/chain.html": _page(_chain(), "The chain, one neuron per layer: C₀ = (a⁽³⁾ − y)²"),
        "steps/sum_over_j.html": _page(_layer()[0], "A layer: ∂C₀/∂aₖ⁽ᴸ⁻¹⁾ is a sum over j"),
    }
    generated.update(_api_pages())
    for uri, content in generated.items():
        files.append(File.generated(config, uri, content=content))
    return files


def _help_text(args: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        cli.main([*args, "--help"])
    return out.getvalue().rstrip()


def _all_help() -> str:
    """``scalargrad --help`` and then every subcommand's, each under its own heading."""
    top = _help_text([])
    found = re.search(r"\{([a-z,-]+)\}", top)
    commands = found.group(1).split(",") if found else []
    parts = ["## scalargrad", "```text\n" + top + "\n```"]
    for name in commands:
        parts += [f"## scalargrad {name}", "```text\n" + _help_text([name]) + "\n```"]
    return "\n\n".join(parts)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """Replaces ``<!-- cli-help-all -->`` with every command's help text."""
    if "<!-- cli-help-all -->" in markdown:
        markdown = markdown.replace("<!-- cli-help-all -->", _all_help())
    return markdown
