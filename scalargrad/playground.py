"""What the documentation site's playground runs in the browser (Pyodide, in a Web Worker).

The playground page (``docs/playground.md``, ``docs/playground/*.js``) loads the wheel
built from this checkout into Pyodide and calls the functions here, which only call the
library's own code: ``grad``'s and ``check``'s output come from :func:`scalargrad.cli.main`
with standard output captured, the drawing from :func:`scalargrad.viz.draw` (its DOT text;
the page lays it out with Graphviz compiled to WebAssembly) and the step-through page from
:func:`scalargrad.page.steps_html`. Nothing typed into the page or put in its address is
executed as Python: the text is split like a command line (:func:`split_args`) and read by
the CLI's own argument parser and safe expression parser (:mod:`scalargrad.parse`).

Every function also runs in CPython (the tests call them with the real ``dot``).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from collections.abc import Callable
from typing import Any

from . import cli, labels, page, viz
from .engine import Value
from .errors import PlaygroundError, TooManyPathsError
from .explanations import explain
from .parse import parse

__all__ = [
    "PRESETS",
    "PlaygroundError",
    "browser_dot",
    "check",
    "expression_of",
    "grad",
    "handle",
    "split_args",
    "steps",
]

PRESETS: dict[str, str] = {
    "chain": (
        "square(sigmoid(w_3*sigmoid(w_2*sigmoid(w_1*a_0 + b_1) + b_2) + b_3) - y) "
        "w_1=0.5 w_2=-1.2 w_3=0.8 b_1=0.1 b_2=0.2 b_3=-0.3 a_0=0.7 y=1"
    ),
    "sum_over_j": (
        "square(sigmoid(w_00*a_0 + w_01*a_1 + b_0) - y_0) "
        "+ square(sigmoid(w_10*a_0 + w_11*a_1 + b_1) - y_1) "
        "w_00=0.8 w_01=-0.5 w_10=-1.1 w_11=0.7 b_0=0.05 b_1=0.3 a_0=0.6 a_1=-0.4 y_0=1 y_1=0"
    ),
    "net_2_3_1": (
        "square(sigmoid(v_0*tanh(u_00*x_0 + u_01*x_1 + c_0) "
        "+ v_1*tanh(u_10*x_0 + u_11*x_1 + c_1) + v_2*tanh(u_20*x_0 + u_21*x_1 + c_2) + d) - y) "
        "u_00=0.4 u_01=-0.6 u_10=0.9 u_11=0.3 u_20=-0.2 u_21=0.8 c_0=0.1 c_1=-0.2 c_2=0.05 "
        "v_0=0.7 v_1=-0.5 v_2=1.1 d=0.2 x_0=0.6 x_1=-0.4 y=1"
    ),
}
"""The presets: the notes' chain (one neuron per layer, the demo's numbers), a layer of two
neurons (∂C/∂a_k is a sum over j), and a 2-3-1 network (tanh hidden layer, sigmoid output)."""

# Options of ``scalargrad grad`` that take a value (the token after them is not the expression).
_VALUED = {
    "--explain", "--max-paths", "--max-factors", "--max-nodes", "--max-edges", "--dot-timeout",
}
_PAIR = re.compile(r"^[^\W\d]\w*=")
_FILES = {"--draw", "--html"}


def split_args(text: str) -> list[str]:
    """Splits ``grad`` arguments as typed in the playground into the CLI's argument list.

    The text is split like a shell command line (quotes group, nothing is expanded or
    run); then every word that is not an option, an option's value or a ``NAME=VALUE``
    pair is part of the expression, so ``(w*a + b)**2 w=0.5 a=1 b=0`` needs no quotes.

    Args:
        text: E.g. ``sigmoid(w*a+b) w=0.5 a=0.7 b=0.1 --explain w``.

    Returns:
        ``[expression, *pairs, *options]``, ready for ``cli.main(["grad", *args])``.

    Raises:
        PlaygroundError: Unbalanced quotes, no expression, or ``--draw``/``--html``
            (the playground draws and steps itself).
    """
    try:
        words = shlex.split(text)
    except ValueError as err:
        raise PlaygroundError(f"cannot split {text!r}: {err}") from None
    expr: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in _FILES or any(word.startswith(f + "=") for f in _FILES):
            raise PlaygroundError(f"{word}: the playground draws the graph and shows the "
                                  "step-through page itself; --draw and --html are for the "
                                  "command line")
        if word.startswith("--") and len(word) > 2:
            rest.append(word)
            if word in _VALUED and i + 1 < len(words):
                rest.append(words[i + 1])
                i += 1
        elif _PAIR.match(word):
            rest.append(word)
        else:
            expr.append(word)
        i += 1
    if not expr:
        raise PlaygroundError("no expression: type one, e.g. sigmoid(w*a + b) w=0.5 a=0.7 b=0.1")
    expression = " ".join(expr)
    return ["--", expression, *rest] if expression.startswith("-") else [expression, *rest]


def _ordered(argv: list[str]) -> list[str]:
    """``grad`` arguments with the options first, then ``--``, then the rest.

    A ``--`` before an expression that starts with ``-`` must come after every option:
    argparse reads everything after it as positional.
    """
    if "--" not in argv:
        return argv
    command, *words = argv
    options: list[str] = []
    rest: list[str] = []
    skip = False
    for word in words:
        if skip:
            options.append(word)
            skip = False
        elif word != "--" and word.startswith("--"):
            options.append(word)
            skip = word in _VALUED
        elif word != "--":
            rest.append(word)
    return [command, *options, "--", *rest]


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``cli.main(argv)`` with its standard output and error captured."""
    argv = _ordered(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def _core(args: list[str]) -> list[str]:
    """The expression and its ``NAME=VALUE`` pairs of :func:`split_args`' output (no options)."""
    out: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word in _VALUED:
            skip = True
        elif word == "--" or not word.startswith("--"):
            out.append(word)
    return out


def _variables(args: list[str]) -> list[str]:
    """The expression's variables (none when the parser refuses it: the CLI will say why)."""
    try:
        return list(parse(next(a for a in _core(args) if a != "--")).variables)
    except (ValueError, StopIteration):
        return []


def _build(args: list[str]) -> tuple[Value, dict[str, Value]]:
    """The graph of ``grad`` arguments the CLI has accepted (backward run)."""
    expr, *pairs = [a for a in _core(args) if a != "--"]
    values: dict[str, float] = {}
    for word in pairs:
        name, _, number = word.partition("=")
        values[name.strip()] = float(number)
    root, leaves = parse(expr).evaluate(values)
    if not root.label:  # named as the command line names it
        root.label = next(n for n in ("f", "out", "result", "f_0", "f_1") if n not in leaves)
    root.backward()
    return root, leaves


def grad(text: str, *, explain_var: str | None = None, hessian: bool = False) -> dict[str, Any]:
    """``scalargrad grad`` on the typed arguments, plus the drawing's DOT text.

    Args:
        text: The CLI's ``grad`` arguments (see :func:`split_args`).
        explain_var: Add ``--explain`` for this variable, and highlight its paths
            (ignored when the expression has no such variable).
        hessian: Add ``--hessian`` (every second derivative).

    Returns:
        ``{"status", "stdout", "stderr", "variables", "grads", "dot", "latex"}``: the
        CLI's exit status and output; on success the variables in order, each
        ``∂f/∂name`` as a float, the drawing's DOT text (``""`` when the graph is over
        the drawing limit, with the reason in ``"stderr"``; the explained variable's
        paths lit) and the explanation in LaTeX (``""`` when none was asked for).
    """
    try:
        args = split_args(text)
    except PlaygroundError as problem:
        return {"status": 2, "stdout": "", "stderr": f"playground: {problem}\n",
                "variables": [], "grads": {}, "dot": "", "latex": ""}
    if explain_var and "--explain" not in args and explain_var in _variables(args):
        args += ["--explain", explain_var]  # (a variable of the previous expression: ignored)
    if hessian and "--hessian" not in args:
        args.append("--hessian")
    status, out, err = _run(["grad", *args])
    result: dict[str, Any] = {"status": status, "stdout": out, "stderr": err,
                              "variables": [], "grads": {}, "dot": "", "latex": ""}
    if status != 0 and not out:
        return result
    root, leaves = _build(args)
    result["variables"] = list(leaves)
    result["grads"] = {name: leaf.grad for name, leaf in leaves.items()}
    highlight = None
    if explain_var in leaves and status == 0:  # else the CLI refused it (e.g. --max-paths)
        with contextlib.suppress(TooManyPathsError):
            highlight = explain(root, leaves[explain_var])
            result["latex"] = highlight._repr_latex_().strip("$")
    try:
        result["dot"] = viz.draw(root, highlight=highlight).source
    except viz.DrawingTooLargeError as problem:
        result["stderr"] += f"playground: not drawn: {problem}\n"
    return result


def check(expr: str, wrt: str, claim: str, ranges: str = "", *,
          examples: int = 200, seed: int | None = None) -> dict[str, Any]:
    """``scalargrad check EXPR [RANGES] --wrt WRT CLAIM``: the verdict and counterexample.

    Args:
        expr: The expression (the safe parser reads it).
        wrt: The variable.
        claim: The hand-derived formula for ``∂expr/∂wrt``.
        ranges: ``NAME=LO..HI`` or ``NAME=VALUE`` words, split like a command line.
        examples: Points Hypothesis draws.
        seed: Make the run reproducible.

    Returns:
        ``{"status", "stdout", "stderr"}`` of the command (0 holds, 1 a counterexample).
    """
    try:
        words = shlex.split(ranges)
    except ValueError as problem:
        return {"status": 2, "stdout": "", "stderr": f"playground: {problem}\n"}
    argv = ["check", expr, *words, "--wrt", wrt, claim, "--examples", str(examples)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    status, out, err = _run(argv)
    return {"status": status, "stdout": out, "stderr": err}


_FONTS = {labels.MONO: "Courier", labels.SANS: "Helvetica"}


def browser_dot(source: str) -> str:
    """The DOT text with the drawing fonts Graphviz-in-WebAssembly has metrics for.

    ``@viz-js/viz`` measures text only for Times, Helvetica, Arial and Courier; the
    DejaVu faces the command line uses would be measured as Times.
    """
    for face, known in sorted(_FONTS.items(), key=lambda kv: -len(kv[0])):
        source = source.replace(f'"{face}"', f'"{known}"')
    return source


_GRAPH_START = re.compile(r"^(?=(?:strict\s+)?(?:di)?graph\b)", re.M)


def _renderer(render_svg: Callable[[str], str]) -> page.Renderer:
    """A :class:`scalargrad.page.Renderer` that lays each graph out with ``render_svg``."""
    def render(source: str, fmt: str = "svg", *, timeout: float = 0.0) -> bytes:
        graphs = [g for g in _GRAPH_START.split(source) if g.strip()]
        return "".join(render_svg(browser_dot(g)) for g in graphs).encode("utf-8")

    return render


def steps(text: str, render_svg: Callable[[str], str] | None = None, *,
          practice: bool = False) -> dict[str, Any]:
    """The step-through page (:func:`scalargrad.page.steps_html`) for ``grad`` arguments.

    Args:
        text: The CLI's ``grad`` arguments (options other than values are ignored).
        render_svg: Lays out one DOT graph and returns its SVG text (in the browser:
            ``@viz-js/viz``); ``None``: Graphviz's ``dot`` program.
        practice: The practice page (the same questions, feedback and tolerance).

    Returns:
        ``{"status", "html", "stderr"}``; status 0 with the page, else 2 and the reason.
    """
    try:
        args = split_args(text)
        status, _, err = _run(["grad", *_core(args)])
        if status != 0:
            return {"status": status, "html": "", "stderr": err}
        root, _ = _build(args)
        if render_svg is None:
            html = page.steps_html(root, practice=practice)
        else:
            html = page.steps_html(root, practice=practice, render=_renderer(render_svg))
    except (PlaygroundError, viz.DrawingTooLargeError) as err2:
        return {"status": 2, "html": "", "stderr": f"playground: {err2}\n"}
    return {"status": 0, "html": html, "stderr": ""}


def expression_of(text: str) -> str:
    """The expression in ``grad`` arguments (see :func:`split_args`), for ``check``."""
    return next(a for a in _core(split_args(text)) if a != "--")


def handle(request: str, render_svg: Callable[[str], str] | None = None) -> str:
    """Answers one request of the playground's worker: JSON in, JSON out.

    Requests: ``{"kind": "grad", "text", "explain", "hessian"}``, ``{"kind": "steps",
    "text", "practice"}``, ``{"kind": "check", "text", "wrt", "claim", "ranges"}``. A
    ``grad`` answer carries the drawing as SVG (laid out by ``render_svg``) in ``"svg"``.

    Args:
        request: The request as JSON text.
        render_svg: Lays out one DOT graph as SVG text (``None``: the ``dot`` program).

    Returns:
        The answer as JSON text; failures are answers with ``"status"`` 2 and the reason
        in ``"stderr"``, never an exception.
    """
    import json

    def svg_of(dot: str) -> str:
        if render_svg is not None:
            return render_svg(browser_dot(dot))
        return viz.render(dot, "svg").decode("utf-8")

    try:
        ask = json.loads(request)
        kind = ask.get("kind")
        text = str(ask.get("text", ""))
        answer: dict[str, Any]
        if kind == "grad":
            answer = grad(text, explain_var=ask.get("explain") or None,
                          hessian=bool(ask.get("hessian")))
            answer["svg"] = svg_of(answer["dot"]) if answer["dot"] else ""
        elif kind == "steps":
            answer = steps(text, render_svg, practice=bool(ask.get("practice")))
        elif kind == "check":
            answer = check(expression_of(text), str(ask.get("wrt", "")),
                           str(ask.get("claim", "")), str(ask.get("ranges", "")))
        else:
            answer = {"status": 2, "stdout": "",
                      "stderr": f"playground: unknown request {kind!r}\n"}
    except Exception as err:
        answer = {"status": 2, "stdout": "",
                  "stderr": f"playground: {type(err).__name__}: {err}\n"}
    return json.dumps(answer)
