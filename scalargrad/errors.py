"""Every public exception of scalargrad, in one place.

Each is also importable from the module that raises it (``scalargrad.rules.DomainError``,
``scalargrad.parse.ParseError``, …) and from ``scalargrad``
itself: the same class object everywhere, so ``except`` clauses written
against any of those names catch it. Each keeps the ``__module__`` of the
module it was first defined in, so tracebacks and pickles read as they always
have (``scalargrad.rules.DomainError: log: …``). This module imports nothing
from the package.

* :class:`DomainError` — an op applied outside its domain, or a gradient
  that is not finite (ops, ``backward``, ``grad``, steps, compiled replay).
* :class:`ParseError`, :class:`VariableError` — text that is not an allowed
  expression; values that do not match its variables (:mod:`scalargrad.parse`).
* :class:`TooManyPathsError` — an explanation would be too long
  (:func:`scalargrad.explanations.explain`).
* :class:`DrawingTooLargeError`, :class:`DotTimeoutError`,
  :class:`DotNotFoundError` — drawing (:mod:`scalargrad.viz`).
* :class:`CheckArgumentError` — bad arguments to
  :func:`scalargrad.testing.check_derivative`.
* :class:`OpDefinitionError` and its kinds :class:`OpNameError`,
  :class:`OpArityError`, :class:`OpSymbolError` — a refused
  :func:`scalargrad.define_op` (also importable from :mod:`scalargrad.ops`).
* :class:`GraphTooLargeError` — a gradient graph (``grad(create_graph=True)``,
  :func:`scalargrad.hessian`, :func:`scalargrad.hvp`) would pass ``max_nodes``.
* :class:`PlaygroundError` — text the browser playground cannot read
  (:mod:`scalargrad.playground`).
"""

from __future__ import annotations

__all__ = [
    "CheckArgumentError",
    "DomainError",
    "DotNotFoundError",
    "DotTimeoutError",
    "DrawingTooLargeError",
    "GraphTooLargeError",
    "OpArityError",
    "OpDefinitionError",
    "OpNameError",
    "OpSymbolError",
    "ParseError",
    "PlaygroundError",
    "TooManyPathsError",
    "VariableError",
]


class DomainError(ValueError):
    """An op was applied outside its domain (log of 0, division by 0, ...).

    The message names the op, the operand value(s) and, when the engine raised
    it, the labels of the nodes involved.
    """

    __module__ = "scalargrad.rules"  # tracebacks name it where it was always raised from


class ParseError(ValueError):
    """The text is not an allowed expression.

    Attributes:
        text: The text that was parsed.
        column: 1-based column of the offending part (0 when unknown).
        line: 1-based line of the offending part.
    """

    __module__ = "scalargrad.parse"  # tracebacks name it where it was always raised from

    def __init__(self, problem: str, text: str, line: int = 1, column: int = 0,
                 end_column: int = 0) -> None:
        self.problem = problem
        self.text = text
        self.line = line
        self.column = column
        self.end_column = end_column
        lines = text.splitlines() or [""]
        where = f" at column {column}" if column else ""
        if column and len(lines) > 1:
            where = f" at line {line}, column {column}"
        message = f"{problem}{where}"
        if column and 1 <= line <= len(lines):
            shown, caret = _window(lines[line - 1], column, end_column)
            message += f"\n  {shown}\n  {caret}"
        super().__init__(message)


_WINDOW = 30  # characters shown on each side of the error's column
_VISIBLE = {c: "\ufffd" for c in [*range(32), *range(127, 160)]} | {9: " "}


def _window(line: str, column: int, end_column: int) -> tuple[str, str]:
    """The part of ``line`` around ``column`` (at most ~70 characters) and its caret line.

    A long input is not echoed whole: a 1 MB expression gives a one-line excerpt,
    with ``…`` where text was left out.
    """
    width = min(40, max(1, (end_column or column + 1) - column))
    start = max(0, column - 1 - _WINDOW)
    stop = min(len(line), column - 1 + max(width, 1) + _WINDOW)
    width = min(width, stop - (column - 1)) or 1
    head = "…" if start else ""
    tail = "…" if stop < len(line) else ""
    # control characters (a null, an escape sequence) are shown as � and a tab as a
    # space: one column each, so the caret stays under the error
    shown = head + line[start:stop].translate(_VISIBLE) + tail
    return shown, " " * (len(head) + column - 1 - start) + "^" * width


class VariableError(ValueError):
    """The values given to :meth:`ParsedExpression.evaluate` do not match its variables."""

    __module__ = "scalargrad.parse"  # tracebacks name it where it was always raised from


class TooManyPathsError(ValueError):
    """:func:`explain` would list more than ``max_paths`` paths or ``max_factors`` factors.

    Attributes:
        paths: How many paths lead from the leaf up to the root.
        factors: How many factors they hold together (paths × their lengths):
            the size of the explanation's text.
        option: The limit exceeded, ``"max_paths"`` or ``"max_factors"``.
        limit: That limit's value.
        needed: The smallest value of that limit that would allow this explanation.
        what: What there is too much of, e.g. ``"2048 paths from x up to f"``.
    """

    __module__ = "scalargrad.trace"  # tracebacks name it where it was always raised from

    def __init__(self, message: str, *, paths: int, factors: int, option: str,
                 limit: int, what: str = "") -> None:
        super().__init__(message)
        self.what = what
        self.paths = paths
        self.factors = factors
        self.option = option
        self.limit = limit
        self.needed = paths if option == "max_paths" else factors


class DrawingTooLargeError(ValueError):
    """The graph has more Values than ``max_nodes``, or more arrows than ``max_edges``.

    Laying it out would take ``dot`` minutes.

    Attributes:
        count: The number of Values (or arrows) in the graph, or when ``exact``
            is false a number it is at least (the guard stops counting at twice
            the limit).
        limit: The ``max_nodes`` (or ``max_edges``) it exceeds.
        exact: Whether ``count`` is the whole graph's size.
        what: ``"Values"`` (over ``max_nodes``) or ``"arrows"`` (over ``max_edges``).
    """

    __module__ = "scalargrad.viz"  # tracebacks name it where it was always raised from

    def __init__(self, message: str, count: int, limit: int, *, exact: bool = True,
                 what: str = "Values") -> None:
        super().__init__(message)
        self.count = count
        self.limit = limit
        self.exact = exact
        self.what = what


class DotTimeoutError(RuntimeError):
    """``dot`` took longer than the time limit and was stopped (its process group killed).

    Attributes:
        timeout: The limit in seconds.
        pid: The process id ``dot`` had (and its process group's id).
    """

    __module__ = "scalargrad.viz"  # tracebacks name it where it was always raised from

    def __init__(self, message: str, *, timeout: float, pid: int) -> None:
        super().__init__(message)
        self.timeout = timeout
        self.pid = pid


class DotNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed (the message says how to install it)."""

    __module__ = "scalargrad.viz"  # tracebacks name it where it was always raised from


class CheckArgumentError(ValueError):
    """The arguments of :func:`check_derivative` are wrong (names, ranges, callables)."""

    __module__ = "scalargrad.testing.derivation"  # as tracebacks have always named it


class OpDefinitionError(ValueError):
    """A :func:`define_op` call was refused; the message says what was wrong."""


class OpNameError(OpDefinitionError):
    """The name is not an identifier, is a Python keyword, or is already an op."""


class OpArityError(OpDefinitionError):
    """Not one derivative per input of ``forward`` (or ``forward`` has no fixed inputs)."""


class OpSymbolError(OpDefinitionError):
    """A derivative uses a symbol the op does not have (``Y`` of a one-input op, ``C``)."""


class PlaygroundError(ValueError):
    """Text the playground cannot read (the message says what to type instead)."""


class GraphTooLargeError(ValueError):
    """The graph to differentiate into a gradient graph has more nodes than ``max_nodes``.

    Attributes:
        limit: The ``max_nodes`` that was exceeded.
    """

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit
