"""Backward one step at a time, and the chain rule as a sum over paths.

:func:`backward_steps` performs ``backward`` node by node and yields a
:class:`Step` for each non-leaf node: its upstream gradient ``∂root/∂node``
(final at that moment, because every consumer has already sent its share) and
one :class:`Contribution` per input edge, ``amount = upstream · ∂node/∂input``.

:func:`explain` lists every path from a node up to the root. Each path is a
product of local derivatives (:class:`Factor`), and the gradient is the sum
of the products: the notes' ``∂C_0/∂w^(L) = ∂C_0/∂a^(L) · ∂a^(L)/∂z^(L) ·
∂z^(L)/∂w^(L)`` for one path, the sum over ``j`` for several.

Both read only what the engine stored on each node (``inputs``,
``local_grads``, the rule's formula text) and name nodes with
:func:`scalargrad.names.display_names`. Nothing here recurses.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import overload

from .engine import GRAD_LOCK, Value, topological_order
from .names import display_names
from .rules import DomainError, is_atom

__all__ = [
    "DEFAULT_MAX_FACTORS",
    "SIGNIFICANT",
    "Contribution",
    "Explanation",
    "Factor",
    "Path",
    "Step",
    "TooManyPathsError",
    "backward_steps",
    "derivative_text",
    "explain",
    "fmt",
    "latex_name",
]

# Ops whose local derivatives are identically 1 (folded away in explanations).
_UNIT_OPS = frozenset({"add", "sub", "sum"})


SIGNIFICANT = 4
"""Significant digits of every number the library shows (text, drawings, the page)."""


def fmt(x: float, *, pad: bool = False) -> str:
    """The one number format of steps, explanations, drawings and the page.

    :data:`SIGNIFICANT` (4) significant digits; fixed-point for magnitudes
    in ``[1e-4, 1e5)``, scientific only outside: ``0.45``, ``-0.004103``,
    ``12346``, ``1.235e-05``, and ``0`` (never ``-0``). Text drops trailing
    zeros; drawings pass ``pad=True`` to keep them (``0.4500``, ``1.000``) so
    that every number in a box has the same shape and frames never jump.

    Args:
        x: The number.
        pad: Keep trailing zeros (the same digits, always 4 of them).

    Returns:
        The text, with a ``-`` sign only for negative numbers.
    """
    x = float(x) + 0.0  # -0.0 → 0.0
    if not math.isfinite(x):
        return repr(x)
    if x == 0.0:
        return f"{0:.{SIGNIFICANT - 1}f}" if pad else "0"
    rounded = abs(float(f"{x:.{SIGNIFICANT - 1}e}"))  # decide after rounding: 9.9996 → 10.00
    if not 1e-4 <= rounded < 1e5:
        text = f"{x:.{SIGNIFICANT - 1}e}"
        if not pad:
            mantissa, _, exponent = text.partition("e")
            text = f"{_strip(mantissa)}e{exponent}"
        return text
    decimals = max(0, SIGNIFICANT - 1 - math.floor(math.log10(rounded)))
    text = f"{x:.{decimals}f}"
    return text if pad else _strip(text)


def _strip(text: str) -> str:
    """Drops trailing zeros after a decimal point (and the point itself): ``0.5000`` → ``0.5``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def _factor_number(x: float, position: int) -> str:
    """A number inside a product or sum: negative ones after the first in brackets."""
    text = fmt(x)
    return f"({text})" if position and text.startswith("-") else text


def _atom(name: str) -> str:
    """A name as it stands after ∂ or inside a product: parenthesised unless one token.

    A name is one token unless an operator appears outside its brackets
    (``a^(L) − y``, ``w·a``, ``x^2``, ``-1``); labels such as ``w_jk^(l)`` and
    calls such as ``σ(z)`` are tokens. The test is the rule table's own
    (:func:`scalargrad.rules.is_atom`), so names and formulas bracket alike.
    """
    return name if is_atom(name) else f"({name})"


def derivative_text(top: str, bottom: str) -> str:
    """``∂top/∂bottom`` with each name bracketed unless it is one token: ``∂f/∂(w·a + b)``.

    The one bracketing rule for every ``∂…/∂…`` that steps, explanations, the
    command line and the step-through page print.
    """
    return f"∂{_atom(top)}/∂{_atom(bottom)}"


def _factor_text(text: str, position: int, alone: bool) -> str:
    """A formula as a factor of a product inside a sum.

    Bracketed when it is a sum or difference and not ``alone`` in its product
    (``σ(x) · (1 − tanh(x)²)``), and when it is negative and not the very
    first term (``position > 0``), like the numbers: ``a + (−1)``, never ``a + −1``.
    """
    depth = 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif not depth and not alone and text[i:i + 3] in (" + ", " − ", " - "):
            return f"({text})"
    return f"({text})" if position and text[:1] in "-−" else text


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, … ``11th``, ``21st``."""
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _formula(node: Value, index: int, names: Mapping[int, str], latex: bool = False) -> str:
    """The rule's text of ``∂node/∂node.inputs[index]`` with the graph's names.

    :meth:`Rule.render` parenthesises names that are expressions (``2(a − y)``).
    """
    rule = node.rule
    assert rule is not None
    conv = latex_name if latex else str
    inputs = _InputNames(node.inputs, names, conv)
    return rule.render(rule.formula(index, latex=latex), inputs, conv(names[id(node)]))


class _InputNames(Sequence[str]):
    """A node's input names, converted only when the template asks for one.

    A formula reads one or two inputs; building all of them for each input edge of
    an n-input node would make the steps and explanations quadratic in fan-in.
    """

    __slots__ = ("_conv", "_inputs", "_names")

    def __init__(self, inputs: tuple[Value, ...], names: Mapping[int, str],
                 conv: Callable[[str], str]) -> None:
        self._inputs = inputs
        self._names = names
        self._conv = conv

    def __len__(self) -> int:
        return len(self._inputs)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self._conv(self._names[id(c)]) for c in self._inputs[i]]
        return self._conv(self._names[id(self._inputs[i])])


def _is_number_text(text: str, x: float) -> bool:
    """True when a formula is just the number it evaluates to (``1``, ``−1``)."""
    try:
        return float(text.replace("−", "-")) == x
    except ValueError:
        return False


# --- steps ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one step sends down one input edge.

    Attributes:
        input: The input node (``node.inputs[index]``).
        index: The input's position in ``node.inputs``.
        local_grad: ``∂node/∂input``, as stored on the node.
        amount: ``upstream · local_grad``, added to ``input.grad``.
        grad_before: ``input.grad`` before this contribution.
        grad_after: ``input.grad`` after it.
        name: The input's display name.
        formula: The rule's text of ``∂node/∂input`` with the graph's names.
    """

    input: Value
    index: int
    local_grad: float
    amount: float
    grad_before: float
    grad_after: float
    name: str = ""
    formula: str = ""


@dataclass(frozen=True, slots=True)
class Step:
    """One node processed by backward.

    Attributes:
        index: 0 for the root, then 1, 2, … in backward order.
        node: The node processed.
        upstream: ``∂root/∂node`` from this pass, final now (all consumers contributed).
        contributions: One record per input edge, in ``node.inputs`` order.
        name: The node's display name.
        root_name: The root's display name.
    """

    index: int
    node: Value
    upstream: float
    contributions: tuple[Contribution, ...]
    name: str = ""
    root_name: str = ""

    def lines(self) -> list[str]:
        """The step as lines: the upstream gradient, then one line per input edge."""
        out = [f"{derivative_text(self.root_name, self.name)} = {fmt(self.upstream)}"]
        for c in self.contributions:
            local = f"{derivative_text(self.name, c.name)} = {c.formula}"
            if not _is_number_text(c.formula, c.local_grad):
                local += f" = {fmt(c.local_grad)}"
            out.append(
                f"→ {c.name}: {local}, adds {fmt(c.amount)} "
                f"({fmt(c.grad_before)} → {fmt(c.grad_after)})"
            )
        return out

    def __str__(self) -> str:
        return "; ".join(self.lines())


def backward_steps(root: Value) -> Iterator[Step]:
    """Runs ``root.backward()`` one node at a time, yielding a :class:`Step` per non-leaf node.

    The order is backward's (reverse topological, deterministic). Each step
    adds ``upstream · ∂node/∂input`` to every input's ``grad``, the chain
    rule. Accumulation follows :meth:`Value.backward` exactly: the root gets
    ``+1``, only this pass's gradients are propagated, and what an earlier
    pass left on a node is kept and added to. Once the iterator is exhausted
    every ``grad`` equals what ``backward()`` would give; stopping early
    leaves exactly the contributions of the steps taken so far.

    Never a silent NaN: a step whose contribution would make a gradient
    ±inf or NaN raises instead of yielding. That step changes nothing and,
    as for an early stop, the grads keep the contributions of the steps
    already yielded (unlike :meth:`Value.backward`, which undoes its pass).

    Nothing happens until the first ``next()``.

    Args:
        root: The node to differentiate (usually the cost).

    Returns:
        An iterator of :class:`Step`.

    Raises:
        TypeError: ``root`` is not a Value.
        DomainError: (from ``next()``) a step's contribution is not finite;
            the message names the step, the node, the input and the numbers.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_steps needs a Value, not {type(root).__name__}")
    return _steps(root)


def _steps(root: Value) -> Iterator[Step]:
    order = topological_order(root)
    names = display_names(root)
    root_name = names[id(root)]
    saved = {id(v): v.grad for v in order}
    this_pass: dict[int, float] = {id(v): 0.0 for v in order}
    this_pass[id(root)] = 1.0
    root.grad = _plus(1.0, saved[id(root)])
    expected = dict(saved)  # each grad as this pass last left it: anything else is refused
    expected[id(root)] = root.grad
    index = 0
    for v in order:
        if not v.inputs:
            continue
        g = this_pass[id(v)]
        # Work the whole step out first, so a step that fails changes nothing.
        tentative: dict[int, tuple[Value, float, float]] = {}  # id → (input, this pass, grad)
        contributions = []
        for i, (child, local) in enumerate(zip(v.inputs, v.local_grads)):
            key = id(child)
            _, total, before = tentative.get(key, (child, this_pass[key], child.grad))
            amount = g * local
            after = before
            if g:  # as backward(): a zero upstream sends nothing
                sent_before = total
                total += amount
                after = _plus(total, saved[key])
                if after - after != 0.0:  # ±inf or NaN: never a silent one
                    raise _not_finite(index, v, i, g, amount, sent_before, saved[key], after,
                                      names, root_name)
                tentative[key] = (child, total, after)
            contributions.append(Contribution(
                child, i, local, amount, before, after,
                names[id(child)], _formula(v, i, names),
            ))
        with GRAD_LOCK:  # whole, and never inside another thread's backward pass
            for key, (child, _, _) in tentative.items():
                if child.grad != expected[key]:
                    raise RuntimeError(
                        f"backward_steps: the grad of {names[key]!r} is {child.grad!r}, not the "
                        f"{expected[key]!r} this step-through left there: something else "
                        f"(another thread's backward, zero_grad or an assignment) changed it "
                        f"between steps, so this step cannot add its share exactly. Nothing "
                        f"was changed by this step; step through a graph nothing else is "
                        f"changing, or use backward()"
                    )
            for key, (child, total, after) in tentative.items():
                this_pass[key] = total
                child.grad = after
                expected[key] = after
        yield Step(index, v, g, tuple(contributions), names[id(v)], root_name)
        index += 1


def _not_finite(
    index: int, v: Value, i: int, g: float, amount: float, sent_before: float,
    earlier: float, after: float, names: Mapping[int, str], root_name: str,
) -> DomainError:
    """The error for step ``index`` sending a contribution that makes a grad not finite."""
    child = v.inputs[i]
    d_child = f"∂{_atom(root_name)}/∂{_atom(names[id(child)])}"
    local = f"∂{_atom(names[id(v)])}/∂{_atom(names[id(child)])}"
    if amount - amount != 0.0:
        why = (f"the upstream gradient {g!r} times {local} = {v.local_grads[i]!r} "
               f"overflows to {amount!r}")
    elif (sent_before + amount) - (sent_before + amount) != 0.0:
        why = (f"its contribution {amount!r} added to the {sent_before!r} already sent to "
               f"{names[id(child)]} in this pass overflows")
    else:
        why = (f"{d_child} from this pass, {sent_before + amount!r}, added to the "
               f"{earlier!r} that earlier backward passes left in its grad overflows")
    kept = ("" if not index else "; the grads keep the contribution of step 0" if index == 1
            else f"; the grads keep the contributions of steps 0–{index - 1}")
    return DomainError(
        f"backward_steps: step {index} (the {v.op} node {names[id(v)]!r}) would make "
        f"{d_child} = {after!r}, not finite: {why}. This step changed nothing{kept}"
    )


def _plus(this_pass: float, before: float) -> float:
    """``this_pass + before`` in the same order and with the same zero rule as backward()."""
    return this_pass + before if before else this_pass


# --- explanations ---------------------------------------------------------------------


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

    def __init__(self, message: str, *, paths: int, factors: int, option: str,
                 limit: int, what: str = "") -> None:
        super().__init__(message)
        self.what = what
        self.paths = paths
        self.factors = factors
        self.option = option
        self.limit = limit
        self.needed = paths if option == "max_paths" else factors


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
        return self.parent.op in _UNIT_OPS and self.formula == "1"


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


# Nodes an explanation keeps when folding a unit factor (a function's value reads better
# in ∂C/∂σ(z) than the sum or product around it).
_FUNCTION_OPS = frozenset({"sigmoid", "tanh", "relu", "exp", "log", "square", "pow"})


def _terms(path: Path, root_name: str) -> list[_Term]:
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
    for i, f in enumerate(path.factors):
        top = pending_top or f.parent_name
        merge_up = f.is_unit and not f.parent.label and terms and not pending_top
        if merge_up and (f.child.label or f.child.op in _FUNCTION_OPS):
            # ∂f/∂(σ − y) · ∂(σ − y)/∂σ reads ∂f/∂σ: the unlabelled sum goes, σ stays
            prev = terms[-1]
            terms[-1] = _Term(prev.top, f.child_name, prev.formula, prev.latex, prev.value)
            continue
        if f.is_unit and not f.child.label and i < last:
            pending_top = top  # the next factor reads ∂top/∂…
            continue
        if f.is_unit and not f.parent.label and terms and not pending_top:
            prev = terms[-1]
            terms[-1] = _Term(prev.top, f.child_name, prev.formula, prev.latex, prev.value)
            continue
        terms.append(_Term(top, f.child_name, f.formula, f.latex, f.local_grad))
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
            key = " · ".join(derivative_text(t.top, t.bottom) for t in ts)
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
            def d(top: str, bottom: str) -> str:
                return (f"\\frac{{\\partial {latex_name(_atom(top))}}}"
                        f"{{\\partial {latex_name(_atom(bottom))}}}")

            def note(n: list[tuple[str, str]] | str) -> str:
                if isinstance(n, str):
                    return f"\\quad\\text{{({n})}}"
                parts = "\\text{, }".join(
                    f"\\text{{{o} input of }}{latex_name(name)}" for o, name in n
                )
                return f"\\quad\\text{{(}}{parts}\\text{{)}}"
            dot = " \\cdot "
        else:
            def d(top: str, bottom: str) -> str:
                return derivative_text(top, bottom)

            def note(n: list[tuple[str, str]] | str) -> str:
                if isinstance(n, str):
                    return f"  ({n})"
                return "  (" + ", ".join(f"{o} input of {name}" for o, name in n) + ")"
            dot = " · "
        head = d(self.root_name, self.leaf_name)
        notes = self._notes()
        symbols = [dot.join(d(t.top, t.bottom) for t in ts) for ts in self._terms]
        rows = [
            [text + note(n) if n else text for text, n in zip(symbols, notes)],
            [dot.join(_factor_text(t.latex if latex else t.formula, i or k, len(ts) == 1)
                      for i, t in enumerate(ts)) for k, ts in enumerate(self._terms)],
            [dot.join(_factor_number(t.value, i or k) for i, t in enumerate(ts))
             for k, ts in enumerate(self._terms)],
        ]
        if len(self.paths) > 1:
            products = (_factor_number(p.product, k) for k, p in enumerate(self.paths))
            rows.append([" + ".join(products)])
        rows.append([fmt(self.total)])
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
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        head, rows = self._rows(latex=True)
        lines = []
        for row in rows:
            for k, text in enumerate(row):
                lines.append(("&\\quad + " if k else "&= ") + text)
        body = " \\\\\n".join(lines)
        return f"$$\\begin{{aligned}}\n{head} {body}\n\\end{{aligned}}$$"


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
            f = Factor(v, c, i, v.local_grads[i], _formula(v, i, names),
                       _formula(v, i, names, latex=True), names[id(v)], names[id(c)])
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
    terms = tuple(tuple(_terms(p, root_name)) for p in paths)
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


# --- LaTeX ----------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z]+)([0-9]*)(?:_([A-Za-z0-9,]+))?(?:\^\(([^()]*)\))?")
_POWER = re.compile(r"\^(-?[0-9.]+(?:e-?[0-9]+)?|[A-Za-z]+)")
_SYMBOLS = {"−": "-", "·": " \\cdot ", "σ": "\\sigma ", "²": "^2", "δ": "\\delta ",
            "Σ": "\\Sigma ", "∂": "\\partial "}
# LaTeX's special characters, escaped so that they print as themselves in math mode.
_SPECIALS = {"\\": "\\backslash ", "{": "\\{", "}": "\\}", "%": "\\%", "&": "\\&",
             "$": "\\$", "#": "\\#", "_": "\\_", "~": "\\sim ", "^": "\\wedge "}


def _latex_chars(text: str) -> str:
    """Plain characters in LaTeX math: the notes' symbols converted, specials escaped."""
    return "".join(_SYMBOLS.get(ch) or _SPECIALS.get(ch) or ch for ch in text)


def latex_name(text: str) -> str:
    r"""Converts a display name or formula text to LaTeX math: ``w_jk^(l)`` → ``w_{jk}^{(l)}``.

    The notes' notation is converted: ``name_sub^(sup)`` tokens, ``x^2`` and
    ``x^-1`` powers, and the symbols ``− · σ ² δ Σ ∂``. Every other character
    that is special to LaTeX (``\ { } % & $ # _ ~ ^``) is escaped, so any
    label (``rate%``, ``a&b``, ``cost$``, ``loss#1``) prints as written and
    cannot break the surrounding LaTeX. Labels are text, never raw LaTeX:
    write Greek letters as Unicode (``α``).
    """
    out: list[str] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m:
            base, digits, sub, sup = m.groups()
            out.append(base if len(base) == 1 else f"\\mathrm{{{base}}}")
            out.append(digits)
            if sub:
                out.append(f"_{{{sub}}}")
            if sup is not None:
                out.append(f"^{{({_latex_chars(sup)})}}")
            i = m.end()
            continue
        p = _POWER.match(text, i)
        if p and i:
            out.append(f"^{{{_latex_chars(p.group(1))}}}")
            i = p.end()
            continue
        out.append(_latex_chars(text[i]))
        i += 1
    return "".join(out)
