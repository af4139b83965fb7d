"""Backward one step at a time: :func:`backward_steps`, its :class:`Step` and :class:`Contribution`.

:func:`backward_steps` performs ``backward`` node by node and yields a
:class:`Step` for each non-leaf node: its upstream gradient ``∂root/∂node``
(final at that moment, because every consumer has already sent its share) and
one :class:`Contribution` per input edge, ``amount = upstream · ∂node/∂input``.
The steps replay :func:`scalargrad.graph.reverse`, the one reverse walk.

They read only what the engine stored on each node (``inputs``,
``local_grads``, the rule's formula text) and name nodes with
:func:`scalargrad.names.display_names`. Nothing here recurses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from .engine import GRAD_LOCK, Value, topological_order
from .graph import Tape, reverse
from .names import display_names
from .notation import MINUS, derivative_text, format_number, latex_name
from .rules import DomainError

__all__ = ["Contribution", "Step", "backward_steps", "local_formula", "paths_over_one"]


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


def local_formula(node: Value, index: int, names: Mapping[int, str], latex: bool = False) -> str:
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
                names[id(child)], local_formula(v, i, names),
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
    d_child = derivative_text(root_name, names[id(child)])
    local = derivative_text(names[id(v)], names[id(child)])
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
