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
from .errors import TooManyPathsError
from .graph import Tape, reverse
from .names import UNLABELLED_INPUT, abbreviations, display_names, where
from .notation import LOCAL_MARK, MINUS, SIGNIFICANT, format_number
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
    "latex_derivative",
    "latex_name",
    "paths_over_one",
]


def fmt(x: float, *, pad: bool = False) -> str:
    """A number as Python reads it back: :func:`scalargrad.notation.format_number` with ``-``.

    The same digits as every displayed number (``0.45``, ``-0.004103``,
    ``1.235e-05``, ``0``, never ``-0``); only the sign is the hyphen-minus.
    Steps, explanations, drawings and the page display numbers with the
    formulas' minus sign U+2212 instead.

    Args:
        x: The number.
        pad: Keep trailing zeros (the same digits, always 4 of them).

    Returns:
        The text, with a ``-`` sign only for negative numbers.
    """
    return format_number(x, pad=pad, minus="-")


def _factor_number(x: float, position: int, minus: str = MINUS) -> str:
    """A number inside a product or sum: negative ones after the first in brackets."""
    text = format_number(x, minus=minus)
    return f"({text})" if position and text.startswith(minus) else text


def _atom(name: str) -> str:
    """A name as it stands after ∂ or inside a product: parenthesised unless one token.

    A name is one token unless an operator appears outside its brackets
    (``a^(L) − y``, ``w·a``, ``x^2``, ``-1``); labels such as ``w_jk^(l)`` and
    calls such as ``σ(z)`` are tokens. The test is the rule table's own
    (:func:`scalargrad.rules.is_atom`), so names and formulas bracket alike.
    """
    return name if is_atom(name) else f"({name})"


def derivative_text(top: str, bottom: str, *, local: bool = False) -> str:
    """``∂top/∂bottom`` with each name bracketed unless it is one token: ``∂f/∂(w·a + b)``.

    The one bracketing rule for every ``∂…/∂…`` that steps, explanations, the
    command line and the step-through page print. ``local=True`` marks a
    local derivative that would otherwise read as the total one:
    ``∂f/∂x|local`` (:data:`scalargrad.notation.LOCAL_MARK`).
    """
    return f"∂{_atom(top)}/∂{_atom(bottom)}{LOCAL_MARK if local else ''}"


def latex_derivative(top: str, bottom: str, *, local: bool = False) -> str:
    r"""The LaTeX of :func:`derivative_text`: ``\frac{\partial f}{\partial x}``.

    A marked local derivative reads ``\left.\frac{∂f}{∂x}\right|_{\text{local}}``.
    """
    frac = (f"\\frac{{\\partial {latex_name(_atom(top))}}}"
            f"{{\\partial {latex_name(_atom(bottom))}}}")
    return f"\\left.{frac}\\right|_{{\\text{{local}}}}" if local else frac


def paths_over_one(root: Value) -> set[int]:
    """The ids of the nodes that reach ``root`` by more than one path.

    For those, a local derivative ``∂root/∂node`` (one edge) is not the total
    ``∂root/∂node``, so it is written with the local mark; for every other
    node the two are the same number and the notes' symbol serves for both.
    """
    count: dict[int, int] = {id(root): 1}
    for v in topological_order(root):  # consumers before inputs
        c = count.get(id(v), 0)
        for child in v.inputs:
            count[id(child)] = min(2, count.get(id(child), 0) + c)
    return {k for k, c in count.items() if c > 1}


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
        elif not depth and not alone and ch == " " and _infix(text, i):
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


def _formula(node: Value, index: int, names: Mapping[int, str], latex: bool = False) -> str:
    """The rule's text of ``∂node/∂node.inputs[index]`` with the graph's names.

    :meth:`Rule.render` parenthesises names that are expressions (``2(a − y)``).
    """
    rule = node.rule
    assert rule is not None
    conv = latex_name if latex else str
    inputs = _InputNames(node.inputs, names, conv)
    return rule.render(rule.formula(index, latex=latex), inputs, conv(names[id(node)]),
                       minus=MINUS)  # x^−2


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
        num = format_number
        out = [f"{derivative_text(self.root_name, self.name)} = {num(self.upstream)}"]
        marked = self._marked()  # once per step: a Σ of 2,000 inputs walks the graph once
        for c in self.contributions:
            local = f"{self._symbol(c, marked)} = {c.formula}"
            if not _is_number_text(c.formula, c.local_grad):
                local += f" = {num(c.local_grad)}"
            out.append(
                f"→ {c.name}: {local}, adds {num(c.amount)} "
                f"({num(c.grad_before)} → {num(c.grad_after)})"
            )
        return out

    def _marked(self) -> set[int] | None:
        """The inputs whose local derivative needs the local mark (``None``: every one).

        Only a step at a node named like the root writes locals ``∂root/∂input``
        that could be read as totals: at the root, those of inputs that reach
        it by other paths too; at another node of that name, all of them.
        """
        if self.name != self.root_name:
            return set()
        return paths_over_one(self.node) if self.index == 0 else None

    def local_text(self, contribution: Contribution) -> str:
        """The symbol of ``contribution``'s local derivative, marked when it could be read as total.

        ``∂(x·y)/∂x``; at the root of ``tanh(x·y) + x``, ``∂f/∂x|local``
        (``x`` also reaches ``f`` through ``x·y``), but ``∂f/∂tanh(x·y)``.
        """
        return self._symbol(contribution, self._marked())

    def _symbol(self, contribution: Contribution, marked: set[int] | None) -> str:
        local = marked is None or id(contribution.input) in marked
        return derivative_text(self.name, contribution.name, local=local)

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


def _steps(root: Value, tape: Tape[Value] | None = None,
           names: Mapping[int, str] | None = None,
           finals: list[tuple[bool, ...]] | None = None) -> Iterator[Step]:
    """The reverse walk as Steps, applied to the grads (``finals`` gets each step's final flags)."""
    if tape is None:
        tape = Tape.of(root)
    if names is None:
        names = display_names(root)
    nodes = tape.nodes
    root_name = names[id(root)]
    saved = [v.grad for v in nodes]
    root.grad = _plus(1.0, saved[0])
    expected = list(saved)  # each grad as this pass last left it: anything else is refused
    expected[0] = root.grad
    index = 0
    for k, g, sent in reverse(tape):
        v = nodes[k]
        if not sent:
            continue
        # Work the whole step out first, so a step that fails changes nothing.
        tentative: dict[int, float] = {}  # position → grad after this step's edges so far
        contributions = []
        for i, c, amount, total, after_pass, _ in sent:
            child = nodes[c]
            before = tentative.get(c, child.grad)
            after = before
            if g:  # as backward(): a zero upstream sends nothing
                after = _plus(after_pass, saved[c])
                if after - after != 0.0:  # ±inf or NaN: never a silent one
                    raise _not_finite(index, v, i, g, amount, total, saved[c], after,
                                      names, root_name)
                tentative[c] = after
            contributions.append(Contribution(
                child, i, tape.local_grads[k][i], amount, before, after,
                names[id(child)], _formula(v, i, names),
            ))
        with GRAD_LOCK:  # whole, and never inside another thread's backward pass
            for c in tentative:
                if nodes[c].grad != expected[c]:
                    raise RuntimeError(
                        f"backward_steps: the grad of {names[id(nodes[c])]!r} is "
                        f"{nodes[c].grad!r}, not the {expected[c]!r} this step-through left "
                        f"there: something else (another thread's backward, zero_grad or an "
                        f"assignment) changed it between steps, so this step cannot add its "
                        f"share exactly. Nothing was changed by this step; step through a "
                        f"graph nothing else is changing, or use backward()"
                    )
            for c, after in tentative.items():
                nodes[c].grad = after
                expected[c] = after
        if finals is not None:
            finals.append(tuple(s[5] for s in sent))
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
        if merge_up and (f.child.label or _kept(f.child)):
            # ∂f/∂(σ − y) · ∂(σ − y)/∂σ reads ∂f/∂σ: the unlabelled sum goes, σ stays
            prev = terms[-1]
            terms[-1] = term(prev.top, f, prev.formula, prev.latex, prev.value)
            continue
        if f.is_unit and not f.child.label and i < last:
            pending_top = top  # the next factor reads ∂top/∂…
            continue
        if f.is_unit and not f.parent.label and terms and not pending_top:
            prev = terms[-1]
            terms[-1] = term(prev.top, f, prev.formula, prev.latex, prev.value)
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


# --- LaTeX ----------------------------------------------------------------------------

_TOKEN = re.compile(r"([A-Za-z]+)([0-9]*)(?:_([A-Za-z0-9,]+))?(?:\^\(([^()]*)\))?")
_POWER = re.compile(r"\^([-−]?[0-9.]+(?:e[-−]?[0-9]+)?|[A-Za-z]+)")
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
