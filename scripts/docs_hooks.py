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
* ``<!-- cli-help-all -->`` in a page becomes the help of ``scalargrad`` and each subcommand;
* the browser files every page and the playground use, all served by the site itself
  (:func:`vendor_files`): KaTeX for the formulas, and for the playground Pyodide, Graphviz in
  WebAssembly, the wheel built from this checkout and the pinned wheels of ``web/wheels.txt``;
* lesson pages lose the scripts nbconvert points at CDNs (the Jupyter widget manager,
  mermaid), so no page asks another host for anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import scalargrad
from scalargrad import cli, demo, nn, playground

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


WEB = ROOT / "web"
VENDOR = ROOT / "build" / "site-vendor"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json")
KATEX_FILES = ("katex.min.js", "katex.min.css", "contrib/auto-render.min.js")


class VendorError(RuntimeError):
    """A browser file the site ships could not be made (the message says what to install)."""


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                           stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise VendorError(f"{what}: {cmd[0]} is not installed (Debian: apt-get install "
                          f"nodejs npm; scripts/setup.sh does it)") from None
    if r.returncode != 0:
        raise VendorError(f"{what} failed ({' '.join(cmd)}):\n{r.stdout[-2000:]}{r.stderr[-4000:]}")


def _npm_packages() -> Path:
    """``web/node_modules`` as ``web/package-lock.json`` pins it (``npm ci`` when stale)."""
    stamp = WEB / "node_modules" / ".package-lock.json"
    lock = WEB / "package-lock.json"
    if not stamp.is_file() or stamp.stat().st_mtime < lock.stat().st_mtime:
        npm = shutil.which("npm") or "npm"
        _run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], WEB,
             "installing the site's browser packages (npm ci in web/)")
    return WEB / "node_modules"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pinned_wheels() -> list[Path]:
    """The wheels of ``web/wheels.txt``, downloaded by pip (which checks every sha256)."""
    pins = []
    for line in (WEB / "wheels.txt").read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s+--hash=sha256:([0-9a-f]{64})", line)
        if found:
            pins.append(found.groups())
    folder = VENDOR / "wheels"
    folder.mkdir(parents=True, exist_ok=True)

    def present() -> list[Path] | None:
        out = []
        for name, version, digest in pins:
            stem = f"{name.replace('-', '_')}-{version}-"
            hits = [p for p in folder.glob("*.whl") if p.name.lower().startswith(stem.lower())]
            if len(hits) != 1 or _sha256(hits[0]) != digest:
                return None
            out.append(hits[0])
        return out

    wheels = present()
    if wheels is None:
        _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
              "--only-binary=:all:", "--require-hashes", "-r", str(WEB / "wheels.txt"),
              "-d", str(folder)], ROOT, "downloading the playground's pinned wheels")
        wheels = present()
        if wheels is None:
            raise VendorError(f"the wheels in {folder} do not match web/wheels.txt's sha256")
    return wheels


def _own_wheel() -> Path:
    """The scalargrad wheel built from this checkout (rebuilt when a source file changes)."""
    digest = hashlib.sha256()
    for path in sorted([ROOT / "pyproject.toml", *PACKAGE.rglob("*")]):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    folder = VENDOR / "own" / digest.hexdigest()[:16]
    built = sorted(folder.glob("scalargrad*.whl"))
    if not built:
        if folder.parent.exists():
            shutil.rmtree(folder.parent)
        folder.mkdir(parents=True)
        _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder),
              str(ROOT)], ROOT, "building the scalargrad wheel for the playground")
        built = sorted(folder.glob("scalargrad*.whl"))
    return built[0]


def vendor_files() -> dict[str, Path]:
    """Every browser file the site serves from itself: site path → file on disk."""
    modules = _npm_packages()
    out: dict[str, Path] = {}
    for name in PYODIDE_FILES:
        out[f"playground/pyodide/{name}"] = modules / "pyodide" / name
    out["playground/viz.js"] = modules / "@viz-js" / "viz" / "dist" / "viz.js"
    katex = modules / "katex" / "dist"
    for name in KATEX_FILES:
        out[f"vendor/katex/{name}"] = katex / name
    for font in sorted((katex / "fonts").glob("*.woff2")):
        out[f"vendor/katex/fonts/{font.name}"] = font
    for wheel in [_own_wheel(), *_pinned_wheels()]:
        out[f"playground/wheels/{wheel.name}"] = wheel
    missing = [str(p) for p in out.values() if not p.is_file()]
    if missing:
        raise VendorError(f"missing browser files (npm ci in web/ again): {missing}")
    return out


def _manifest(files: dict[str, Path]) -> str:
    """``playground/manifest.json``: the wheels to load and the versions, for the worker."""
    modules = WEB / "node_modules"

    def version(package: str) -> str:
        return str(json.loads((modules / package / "package.json").read_text())["version"])

    wheels = [Path(uri).name for uri in files if uri.startswith("playground/wheels/")]
    return json.dumps({
        "wheels": wheels,
        "scalargrad": scalargrad.__version__,
        "pyodide": version("pyodide"),
        "viz": version("@viz-js/viz"),
        "sha256": {uri: _sha256(path) for uri, path in files.items()
                   if uri.startswith("playground/")},
    }, indent=1)


def on_files(files: Any, config: Any) -> Any:
    """Adds the generated drawings, step-through pages, API pages and browser files."""
    from mkdocs.structure.files import File

    vendored = vendor_files()
    for uri, path in vendored.items():
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    files.append(File.generated(config, "playground/manifest.json", content=_manifest(vendored)))

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
    """Fills in ``<!-- cli-help-all -->`` and ``<!-- playground-presets -->``.

    The first becomes every command's help text, the second the presets of
    :mod:`scalargrad.playground` as JSON for the playground page.
    """
    if "<!-- cli-help-all -->" in markdown:
        markdown = markdown.replace("<!-- cli-help-all -->", _all_help())
    if "<!-- playground-presets -->" in markdown:
        data = json.dumps(playground.PRESETS).replace("<", "\\u003c")
        markdown = markdown.replace(
            "<!-- playground-presets -->",
            f'<script type="application/json" id="pg-presets">{data}</script>')
    return markdown


# Inline scripts nbconvert's template adds that would fetch code from a CDN: the Jupyter
# widget manager (lesson 04's progress bar) and mermaid (no lesson has a diagram).
_CDN_SCRIPT = re.compile(r"<script[^>]*>(?:(?!</script>).)*?(?:unpkg\.com|cdnjs\.cloudflare\.com)"
                         r"(?:(?!</script>).)*</script>", re.S)
_EMPTY_SRC = re.compile(r'<script src="">\s*</script>')


def on_post_page(output: str, **kwargs: Any) -> str:
    """Removes the CDN scripts of notebook pages (see ``_CDN_SCRIPT``)."""
    return _EMPTY_SRC.sub("", _CDN_SCRIPT.sub("", output))
