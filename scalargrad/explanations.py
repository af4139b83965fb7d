"""The chain rule as a sum over paths: :func:`explain` and its :class:`Explanation`.

:func:`explain` lists every path from a node up to the root. Each path is a
product of local derivatives (:class:`Factor`), and the gradient is the sum
of the products: the notes' ``∂C_0/∂w^(L) = ∂C_0/∂a^(L) · ∂a^(L)/∂z^(L) ·
∂z^(L)/∂w^(L)`` for one path, the sum over ``j`` for several. Factors
identically 1 are folded away as the notes do (``∂z/∂(w·a) · ∂(w·a)/∂w``
reads ``∂z/∂w``).

It reads only what the engine stored on each node (``inputs``,
``local_grads``, the rule's formula text) and names nodes with
:func:`scalargrad.names.display_names`. Nothing here recurses.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

from .engine import Value, topological_order
from .errors import TooManyPathsError
from .names import UNLABELLED_INPUT, abbreviations, display_names, where
from .notation import (
    MINUS,
    derivative_text,
    format_number,
    latex_derivative,
    latex_name,
    outside_brackets,
)
from .steps import local_formula

__all__ = [
    "DEFAULT_MAX_FACTORS",
    "Explanation",
    "Factor",
    "Path",
    "TooManyPathsError",
    "explain",
]


def _factor_number(x: float, position: int, minus: str = MINUS) -> str:
    """A number inside a product or sum: negative ones after the first in brackets."""
    text = format_number(x, minus=minus)
    return f"({text})" if position and text.startswith(minus) else text



def _factor_text(text: str, position: int, alone: bool) -> str:
    """A formula as a factor of a product inside a sum.

    Bracketed when it is a sum or difference and not ``alone`` in its product
    (``σ(x) · (1 − tanh(x)²)``), and when it is negative and not the very
    first term (``position > 0``), like the numbers: ``a + (−1)``, never ``a + −1``.
    """
    for i, ch in outside_brackets(text):
        if not alone and ch == " " and _infix(text, i):
            return f"({text})"
    return f"({text})" if position and text[:1] in "-−" else text


def _infix(text: str, i: int) -> bool:
    """True when ``text[i]`` opens `` op `` of a sum or an infix op (``a + b``, ``a ⊕ b``).

    Not a LaTeX command (the product's cdot, σ's sigma): its token has letters.
    """
    end = text.find(" ", i + 1)
    token = text[i + 1:end] if end > i + 1 else ""
    return bool(token) and not any(c.isalnum() for c in token)


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, … ``11th``, ``21st``."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


DEFAULT_MAX_FACTORS = 20_000
"""The default cap on the factors an explanation lists (paths × path length)."""


@dataclass(frozen=True, slots=True)
class Factor:
    """One edge of a path: the local derivative ``∂parent/∂child``.

    Attributes:
        parent: The consumer node.
        child: The input node (``parent.inputs[index]``).
        index: The input's position in ``parent.inputs``.
        local_grad: ``∂parent/∂child`` as stored on the node.
        formula: The rule's text of ``∂parent/∂child`` with the graph's names.
        latex: The same in LaTeX.
        parent_name: The parent's display name.
        child_name: The child's display name.
    """

    parent: Value
    child: Value
    index: int
    local_grad: float
    formula: str
    latex: str = ""
    parent_name: str = ""
    child_name: str = ""

    @property
    def is_unit(self) -> bool:
        """True for a factor identically 1: an input of ``+``, ``−`` (first input) or ``Σ``."""
        rule = self.parent.rule  # Rule.unit: its local derivatives are identically 1
        return rule is not None and rule.unit and self.formula == "1"


@dataclass(frozen=True, slots=True)
class Path:
    """One path from the root down to the explained node.

    Attributes:
        factors: The local derivatives along the path, root-most first (leaf-most last).
        nodes: The nodes from the root down to the explained node.
        product: The product of the factors' ``local_grad``.
    """

    factors: tuple[Factor, ...]
    nodes: tuple[Value, ...]
    product: float


@dataclass(frozen=True)
class _Term:
    top: str
    bottom: str
    formula: str
    latex: str
    value: float
    local: bool = False  # ∂root/∂bottom of one path, while bottom reaches root by several


def _kept(v: Value) -> bool:
    """True for a node an explanation keeps when folding a unit factor (``Rule.kept_in_paths``).

    A function's value reads better in ∂C/∂σ(z) than the sum or product around it.
    """
    rule = v.rule
    return rule is not None and rule.kept_in_paths



def _terms(path: Path, root_name: str, shared: set[int] | None = None) -> list[_Term]:
    """The path's factors as the notes write them: factors identically 1 folded away.

    A unit factor ``∂P/∂X = 1`` merges into a neighbour so that an unlabelled
    node disappears: ``∂z/∂(w·a) · ∂(w·a)/∂w`` becomes ``∂z/∂w``, and
    ``∂C/∂(a − y) · ∂(a − y)/∂a`` becomes ``∂C/∂a``. When both ends are
    unlabelled, a function's node (``σ(…)``) outlives the sum above it. Between
    two labelled nodes (``∂z^(L)/∂b^(L) = 1``) it stays, as in the notes.
    """
    terms: list[_Term] = []
    pending_top = ""
    last = len(path.factors) - 1
    many = shared or set()

    def term(top: str, f: Factor, formula: str, latex: str, value: float) -> _Term:
        local = top == root_name and id(f.child) in many
        return _Term(top, f.child_name, formula, latex, value, local)

    for i, f in enumerate(path.factors):
        top = pending_top or f.parent_name
        merge_up = f.is_unit and not f.parent.label and terms and not pending_top
        if merge_up and (f.child.label or _kept(f.child) or i == last):
            # ∂f/∂(σ − y) · ∂(σ − y)/∂σ reads ∂f/∂σ: the unlabelled sum goes, σ stays
            prev = terms[-1]
            terms[-1] = term(prev.top, f, prev.formula, prev.latex, prev.value)
            continue
        if f.is_unit and not f.child.label and i < last:
            pending_top = top  # the next factor reads ∂top/∂…
            continue
        terms.append(term(top, f, f.formula, f.latex, f.local_grad))
        pending_top = ""
    if not terms:  # the explained node is the root
        terms.append(_Term(root_name, root_name, "1", "1", 1.0))
    return terms


@dataclass(frozen=True)
class Explanation:
    """``∂root/∂leaf`` as a sum over paths of products of local derivatives.

    Attributes:
        root: The differentiated node.
        leaf: The explained node (usually a leaf, any node of the graph works).
        paths: Every path from ``root`` down to ``leaf``, in a deterministic order.
        total: The sum of the paths' products; equals ``leaf.grad`` after
            ``root.backward()`` (from zero grads), to rounding.
        root_name: The root's display name.
        leaf_name: The leaf's display name.
    """

    root: Value
    leaf: Value
    paths: tuple[Path, ...]
    total: float
    root_name: str = ""
    leaf_name: str = ""
    _terms: tuple[tuple[_Term, ...], ...] = field(default=(), repr=False)

    def _notes(self) -> list[list[tuple[str, str]] | str]:
        """What tells apart paths whose factors read the same (``a·a`` has two ``∂f/∂a``).

        For each path: ``[]`` when its text is unique, else the edges that
        make it different, as ``(ordinal, parent name)`` for each edge that
        enters a node at a repeated input (``x·x``: its 1st or its 2nd
        input), or the text ``"path n"`` when that is not enough.
        """
        groups: dict[str, list[int]] = {}
        for i, ts in enumerate(self._terms):
            key = " · ".join(derivative_text(t.top, t.bottom, local=t.local) for t in ts)
            groups.setdefault(key, []).append(i)
        notes: list[list[tuple[str, str]] | str] = [[] for _ in self.paths]
        for members in groups.values():
            if len(members) < 2:
                continue
            found: list[list[tuple[str, str]] | str] = []
            for i in members:
                found.append([
                    (_ordinal(f.index + 1), f.parent_name)
                    for f in self.paths[i].factors
                    if sum(1 for c in f.parent.inputs if c is f.child) > 1
                ])
            if any(not n for n in found) or len({str(n) for n in found}) < len(found):
                found = [f"path {i + 1}" for i in members]
            for i, n in zip(members, found):
                notes[i] = n
        return notes

    def _rows(self, latex: bool) -> tuple[str, list[list[str]]]:
        """The right-hand sides, one row per line of algebra, one entry per path.

        A row that reads the same as the row before it is left out; in every
        sum a negative first term after the first entry is bracketed
        (``a + (-b)``), in the formulas and the numbers alike.
        """
        if latex:
            d = latex_derivative

            def note(n: list[tuple[str, str]] | str) -> str:
                if isinstance(n, str):
                    return f"\\quad\\text{{({n})}}"
                parts = "\\text{, }".join(
                    f"\\text{{{o} input of }}{latex_name(name)}" for o, name in n
                )
                return f"\\quad\\text{{(}}{parts}\\text{{)}}"
            dot = " \\cdot "
        else:
            d = derivative_text

            def note(n: list[tuple[str, str]] | str) -> str:
                if isinstance(n, str):
                    return f"  ({n})"
                return "  (" + ", ".join(f"{o} input of {name}" for o, name in n) + ")"
            dot = " · "
        minus = "-" if latex else MINUS  # LaTeX typesets "-" as the minus sign
        head = d(self.root_name, self.leaf_name)
        notes = self._notes()
        symbols = [dot.join(d(t.top, t.bottom, local=t.local) for t in ts) for ts in self._terms]
        rows = [
            [text + note(n) if n else text for text, n in zip(symbols, notes)],
            [dot.join(_factor_text(t.latex if latex else t.formula, i or k, len(ts) == 1)
                      for i, t in enumerate(ts)) for k, ts in enumerate(self._terms)],
            [dot.join(_factor_number(t.value, i or k, minus) for i, t in enumerate(ts))
             for k, ts in enumerate(self._terms)],
        ]
        if len(self.paths) > 1:
            products = (_factor_number(p.product, k, minus) for k, p in enumerate(self.paths))
            rows.append([" + ".join(products)])
        rows.append([format_number(self.total, minus=minus)])
        kept: list[list[str]] = []
        previous = head
        for row in rows:
            text = " + ".join(row)
            if text != previous:
                kept.append(row)
                previous = text
        return head, kept

    def __str__(self) -> str:
        head, rows = self._rows(latex=False)
        pad = " " * len(head)
        lines: list[str] = []
        for row in rows:
            for k, text in enumerate(row):
                lead = head if not lines else pad
                lines.append(f"{lead} {'+' if k else '='} {text}")
        text = "\n".join(lines)
        defined = where(self.root, text)  # every made-up name the text uses, defined
        return f"{text}\n{defined}" if defined else text

    def _repr_latex_(self) -> str:
        head, rows = self._rows(latex=True)
        lines = []
        for row in rows:
            for k, text in enumerate(row):
                lines.append(("&\\quad + " if k else "&= ") + text)
        defs = abbreviations(self.root, str(self))
        if defs:  # on the last line, which stays one "&= …" row
            lines[-1] += "\\quad\\text{where } " + ",\\ ".join(_latex_definition(d) for d in defs)
        body = " \\\\\n".join(lines)
        return f"$$\\begin{{aligned}}\n{head} {body}\n\\end{{aligned}}$$"


def _latex_definition(definition: str) -> str:
    """``u = σ(…) − y`` in LaTeX; the words of ``u = 1.5 (an unlabelled input)`` as text."""
    body, words = definition, ""
    if body.endswith(UNLABELLED_INPUT):
        body, words = body[: -len(UNLABELLED_INPUT)], f"\\text{{{UNLABELLED_INPUT}}}"
    return latex_name(body) + words


def explain(root: Value, leaf: Value, *, max_paths: int = 1000,
            max_factors: int = DEFAULT_MAX_FACTORS) -> Explanation:
    """Lists every path from ``leaf`` up to ``root`` with its local derivatives.

    ``∂root/∂leaf = Σ_paths Π_edges ∂parent/∂child``: the chain rule applied
    along each path, and the sum over every way ``leaf`` reaches ``root``
    (the notes' sum over ``j``). ``a * a`` gives two paths through its two
    edges. Paths are counted first (dynamic programming over the topological
    order) and enumerated without recursion.

    The work and the text grow with the number of factors written out, the
    sum of the paths' lengths: both limits are checked from counts alone,
    in time linear in the graph, before anything is named or listed. A
    10⁶-op chain has one path of 10⁶ factors and is refused at once.

    Args:
        root: The differentiated node (usually the cost).
        leaf: The node to explain (usually a weight, bias or input).
        max_paths: Refuse to enumerate more paths than this.
        max_factors: Refuse to list more factors than this, counted over
            every path (paths × path length; each factor is a few words on
            each of three lines of the text).

    Returns:
        The :class:`Explanation`; ``str()`` gives the text, ``_repr_latex_()`` LaTeX.

    Raises:
        TypeError: ``root`` or ``leaf`` is not a Value.
        ValueError: ``leaf`` is not in ``root``'s graph.
        TooManyPathsError: There are more than ``max_paths`` paths or more
            than ``max_factors`` factors; the message says how many and how
            to raise the limit.
    """
    for what, v in (("root", root), ("leaf", leaf)):
        if not isinstance(v, Value):
            raise TypeError(f"explain: {what} must be a Value, not {type(v).__name__}")
    for what, limit in (("max_paths", max_paths), ("max_factors", max_factors)):
        if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1:
            raise ValueError(f"explain: {what} must be a whole number ≥ 1, not {limit!r}")
    order = topological_order(root)
    # Count paths root → v (over edges, so a*a counts twice) and the factors on them
    # (every path to v, one edge longer, reaches each input); Python ints never overflow.
    count = {id(root): 1}
    length = {id(root): 0}
    for v in order:
        c = count.get(id(v), 0)
        longer = length.get(id(v), 0) + c
        for child in v.inputs:
            key = id(child)
            count[key] = count.get(key, 0) + c
            length[key] = length.get(key, 0) + longer
    if id(leaf) not in count:
        raise ValueError(
            f"explain: {leaf.label or repr(leaf)} is not in the graph of "
            f"{display_names(root)[id(root)]} (it does not affect it, so its gradient is 0)"
        )
    n, factors = count[id(leaf)], length[id(leaf)]
    if n > max_paths or factors > max_factors:
        raise _too_many(root, leaf, n, factors, max_paths, max_factors)
    names = display_names(root)
    # Nodes from which leaf is reachable (inputs first, so children are known first).
    reaches = {id(leaf)}
    for v in reversed(order):
        if any(id(c) in reaches for c in v.inputs):
            reaches.add(id(v))
    factor_of: dict[tuple[int, int], Factor] = {}

    def factor(v: Value, i: int) -> Factor:
        key = (id(v), i)
        f = factor_of.get(key)
        if f is None:
            c = v.inputs[i]
            f = Factor(v, c, i, v.local_grads[i], local_formula(v, i, names),
                       local_formula(v, i, names, latex=True), names[id(v)], names[id(c)])
            factor_of[key] = f
        return f

    paths: list[Path] = []
    # Depth-first with an explicit stack of (node, next input index); input order is kept.
    stack: list[tuple[Value, int]] = [(root, 0)]
    trail: list[Factor] = []
    while stack:
        v, i = stack.pop()
        if v is leaf:
            nodes = (root, *(f.child for f in trail))
            product = 1.0
            for f in trail:
                product *= f.local_grad
            paths.append(Path(tuple(trail), nodes, product))
            if trail:
                trail.pop()
            continue
        while i < len(v.inputs) and id(v.inputs[i]) not in reaches:
            i += 1
        if i == len(v.inputs):
            if trail:
                trail.pop()
            continue
        stack.append((v, i + 1))
        trail.append(factor(v, i))
        stack.append((v.inputs[i], 0))
    total = math.fsum(p.product for p in paths)
    root_name = names[id(root)]
    shared = {k for k, c in count.items() if c > 1}  # reach the root by several paths
    terms = tuple(tuple(_terms(p, root_name, shared)) for p in paths)
    return Explanation(root, leaf, tuple(paths), total, root_name, names[id(leaf)], terms)


def _many(n: int) -> str:
    return str(n) if n < 10**15 else f"about 10^{len(str(n)) - 1}"


def _too_many(root: Value, leaf: Value, n: int, factors: int, max_paths: int,
              max_factors: int) -> TooManyPathsError:
    """The refusal, named by labels only (naming every node would cost a graph walk)."""
    option, limit = ("max_paths", max_paths) if n > max_paths else ("max_factors", max_factors)
    needed = n if option == "max_paths" else factors
    where = f"from {leaf.label or 'the node'} up to {root.label or 'the root'}"
    what = (f"{_many(n)} paths {where}" if option == "max_paths" else
            f"{_many(factors)} factors on the {_many(n)} path{'s' if n != 1 else ''} {where} "
            f"(paths × their lengths, the size of the text)")
    raise_to = f"{option}={needed}" if needed < 10**15 else f"a larger {option}"
    return TooManyPathsError(
        f"explain: there are {what}, more than {option}={limit}. Pass {raise_to} to list "
        f"them all, explain a node nearer the root, or use backward() / backward_steps(), "
        f"which handle any number of paths in one pass.",
        paths=n, factors=factors, option=option, limit=limit, what=what,
    )

