"""The compiled replay at run time: the :class:`Compiled` function and what its code calls.

:mod:`scalargrad.codegen` writes a graph as straight-line Python; this module
is what that code runs with. :class:`Compiled` checks the input numbers like
``Value`` does, calls the generated ``replay`` (or ``replay_rows`` over a
batch, :meth:`Compiled.mean`), and when a number is not finite replays the
graph once more with the rule table, node by node, from a plain record of
it (its diagnostic tape, :func:`_tape`), to raise the engine's
:class:`~scalargrad.rules.DomainError` naming the op, its operands and the
node's label. The generated code calls a rule's own forward value
(:func:`_value_of`) and its own float derivative (:func:`_derivative_of`),
and :func:`_bad` when an operand it checks is not finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from numbers import Real
from operator import add as _add
from typing import Any, NamedTuple

from .engine import Value, _check_number, _describe_operands
from .graph import Tape, reverse
from .rules import CONSTANT, DomainError, Rule

__all__ = ["Compiled"]


class _NotFinite(Exception):
    """Raised inside the fast code when a number is not finite (then diagnosed)."""


def _bad() -> None:
    raise _NotFinite


class _Node(NamedTuple):
    """One node of the diagnostic tape (forward order)."""

    rule: Rule | None  # None for a leaf
    args: tuple[int, ...]  # tape positions of the inputs
    label: str
    value: float  # a leaf's baked-in value
    slot: int  # an input leaf's position in the call, else -1
    needed: bool  # depends on an input (so it has a gradient)
    constant: bool


class Compiled:
    """A graph compiled to Python (by :func:`scalargrad.compile`): call it with input numbers.

    Attributes:
        source: The generated Python source.
        inputs: The input leaves, in the order the call takes their numbers
            (their gradients are returned).
        names: The names the inputs have in ``source``.
        data: The data leaves, whose numbers the call takes after the inputs'.
        data_names: The names the data leaves have in ``source``.
        root_name: The name of the root in ``source``.

    Example:
        >>> import scalargrad
        >>> from scalargrad import Value
        >>> w, a = Value(0.5, "w"), Value(2.0, "a")
        >>> f = scalargrad.compile((w * a).label_as("z"), [w, a])
        >>> f(3.0, 4.0)
        (12.0, (4.0, 3.0))
    """

    def __init__(
        self, source: str, fn: Callable[[Sequence[float]], tuple[float, tuple[float, ...]]],
        inputs: tuple[Value, ...], names: tuple[str, ...], root_name: str,
        tape: list[_Node], data: tuple[Value, ...] = (), data_names: tuple[str, ...] = (),
        rows_fn: Callable[..., tuple[list[float], tuple[float, ...]]] | None = None,
    ) -> None:
        self._rows_fn = rows_fn
        self.source = source
        self._fn = fn
        self.inputs = inputs
        self.names = names
        self.data = data
        self.data_names = data_names
        self.root_name = root_name
        self._tape = tape

    def __call__(self, *values: float) -> tuple[float, tuple[float, ...]]:
        """Replays the graph at new input numbers.

        Args:
            *values: One number (int or float) per input, in the order of
                ``inputs``, then one per data leaf, in the order of ``data``.

        Returns:
            ``(root value, (∂root/∂input_0, ∂root/∂input_1, ...))``.

        Raises:
            TypeError: A value is not an int or a float (bools are refused).
            ValueError: Wrong number of values, or a value is NaN or infinite.
            DomainError: An op left its domain (log of 0, division by 0,
                overflow) or a gradient is not finite; the message names the
                op, its operands and the node's label, as the engine does.
        """
        names = self.names + self.data_names if self.data_names else self.names
        if len(values) != len(names):
            what = (f"{len(names)} input numbers" if not self.data_names else
                    f"{len(names)} numbers ({len(self.names)} inputs, then "
                    f"{len(self.data_names)} data)")
            raise ValueError(
                f"compiled {self.root_name}: expected {what} "
                f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}), "
                f"got {len(values)}"
            )
        values = _checked(values, names, self.root_name)
        try:
            out, grads = self._fn(values)
        except (_NotFinite, DomainError, ArithmeticError):
            return self._diagnose(values)
        total = sum(grads) + out
        if total - total != 0.0:  # some number is inf or NaN (or the sum overflowed)
            return self._diagnose(values)
        return out, grads

    def mean(
        self, inputs: Sequence[float], rows: Iterable[Sequence[float]]
    ) -> tuple[float, tuple[float, ...]]:
        """The mean of the root and of its gradients over a batch: one replay per row.

        Compile the cost of *one* example, with that example's leaves (its
        ``x`` and ``y``) as ``data``; then ``mean(params, rows)`` is the batch
        cost ``C = (1/n) Σ_k C_k`` and ``∂C/∂input = (1/n) Σ_k ∂C_k/∂input``
        for any batch size and any parameter values, all from that one
        compile (whose code is one example long).

        Args:
            inputs: One number per input (e.g. the parameters).
            rows: One sequence of data numbers per example, in the order of
                ``data``.

        Returns:
            ``(mean root value, mean gradients of the inputs)``; the mean
            root is ``fsum(C_k) · (1/n)``, as :func:`scalargrad.nn.mean_cost`.

        Raises:
            ValueError: No rows, a row of the wrong length, or a number that
                is NaN or infinite (the message names the row).
            TypeError: A number is not an int or a float.
            DomainError: As :meth:`__call__`, naming the row.
        """
        params = tuple(inputs)
        n_in, width = len(self.names), len(self.data_names)
        if len(params) != n_in:
            raise ValueError(
                f"compiled {self.root_name}.mean: expected {n_in} input numbers, got {len(params)}"
            )
        params = _checked(params, self.names, self.root_name)
        rows = _rows(rows, width, self.root_name)
        if not rows:
            raise ValueError(f"compiled {self.root_name}.mean: the batch has no rows")
        fast = self._rows_fn is not None
        for row in rows:  # every number a finite float, every row full: the fast loop
            if len(row) != width:
                fast = False
                break
            for v in row:
                if v.__class__ is not float or v - v != 0.0:
                    fast = False
                    break
        if fast:
            assert self._rows_fn is not None
            try:
                roots, total = self._rows_fn(params, rows)
            except (_NotFinite, DomainError, ArithmeticError):
                fast = False
            else:
                check = sum(total) + sum(roots)
                fast = check - check == 0.0
        if not fast:  # row by row: checks, diagnoses and names the row at fault
            roots, sums = [], [0.0] * n_in
            for k, row in enumerate(rows):
                try:
                    out, grads = self(*params, *row)
                except (TypeError, ValueError) as err:  # DomainError is a ValueError
                    raise type(err)(f"{err} (row {k} of the batch)") from None
                roots.append(out)
                sums = list(map(_add, sums, grads))
            total = tuple(sums)
            check = sum(total) + sum(roots)
            if check - check != 0.0:
                raise DomainError(
                    f"compiled {self.root_name}.mean: every row is finite but the sum over "
                    f"the batch of {len(rows)} rows overflows; rescale the cost"
                )
        scale = 1.0 / len(rows)
        return math.fsum(roots) * scale, tuple([g * scale for g in total])

    def _diagnose(self, values: Sequence[float]) -> tuple[float, tuple[float, ...]]:
        """Replays the graph node by node with the rule table, raising the engine's error.

        The fast code only detects that some number is not finite; this finds
        the first node whose value (or, going backward, whose gradient) is not,
        and names it. When every number is finite after all (a left-to-right
        sum overflowed where the engine's exact sum does not), it returns the
        rule table's result.
        """
        tape = self._tape
        shown = _show(self.names + self.data_names, values)
        where = f"[in the compiled replay of {self.root_name} at inputs {shown}]"
        data = [0.0] * len(tape)
        local: list[tuple[float, ...]] = [()] * len(tape)
        for k, node in enumerate(tape):
            r = node.rule
            if r is None:
                data[k] = values[node.slot] if node.slot >= 0 else node.value
                continue
            xs = [data[a] for a in node.args]
            at = f" at node {node.label!r}" if node.label else ""
            try:
                out, grads = r.forward(*xs)
            except DomainError as err:
                raise DomainError(f"{err} [{self._describe(node, xs)}]{at} {where}") from None
            if out - out != 0.0:
                raise DomainError(
                    f"{r.name}: result {out!r} is not a finite float "
                    f"[{self._describe(node, xs)}]{at} {where}"
                )
            data[k], local[k] = out, grads
        # Backward over the replay: the reverse walk, from the root (last in the tape).
        last = len(tape) - 1
        back = Tape(tape[::-1], [tuple([last - a for a in node.args]) for node in tape[::-1]],
                    local[::-1])
        out_grads = [0.0] * len(self.names)
        for j, g, _ in reverse(back, needed=[node.needed for node in back.nodes]):
            node = back.nodes[j]
            if g - g != 0.0:
                what = repr(node.label) if node.label else f"an unlabelled {_rule_name(node)}"
                raise DomainError(
                    f"backward: the gradient ∂{self.root_name}/∂{what} is {g!r}, "
                    f"not a finite float {where}"
                )
            if 0 <= node.slot < len(out_grads):
                out_grads[node.slot] = g
        return data[-1], tuple(out_grads)

    def _describe(self, node: _Node, xs: Sequence[float]) -> str:
        tape = self._tape
        return _describe_operands((tape[a].label, tape[a].constant, x)
                                 for a, x in zip(node.args, xs))

    def __repr__(self) -> str:
        data = f", data=[{', '.join(self.data_names)}]" if self.data_names else ""
        return f"Compiled({self.root_name}, inputs=[{', '.join(self.names)}]{data})"


def _rows(rows: object, width: int, root: str) -> list[tuple[Any, ...]]:
    """``mean``'s ``rows`` as tuples, refusing a row that is a number, a str, a dict or a set.

    A dict's or a set's order is not the order of ``data``, and a bare number
    is one example's datum given where the example's row belongs.
    """
    where = f"compiled {root}.mean"
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise TypeError(f"{where}: rows must be an iterable of rows (one sequence of {width} "
                        f"data numbers per example), not {type(rows).__name__}")
    out = []
    for k, row in enumerate(rows):
        if isinstance(row, (str, bytes, Mapping, AbstractSet)) or not isinstance(row, Iterable):
            hint = (f"; for one datum per example write each row as ({row!r},)"
                    if isinstance(row, Real) and not isinstance(row, bool) else "")
            raise TypeError(f"{where}: rows[{k}] must be a sequence of {width} data number"
                            f"{'s' * (width != 1)} (a tuple, a list or a 1-D array), not "
                            f"{type(row).__name__} ({row!r}){hint}")
        out.append(tuple(row))
    return out


def _checked(values: tuple[Any, ...], names: Sequence[str], root: str) -> tuple[float, ...]:
    """``values`` as floats, each checked like a Value's data (a fast pass when all are floats).

    Raises:
        TypeError, ValueError: A value is not a finite real number; the message
            names the input by position and name.
    """
    for v in values:
        if v.__class__ is not float or v - v != 0.0:
            return tuple(_check_number(v, f"compiled {root}: input {i} ({names[i]})")
                         for i, v in enumerate(values))
    return values


def _rule_name(node: _Node) -> str:
    return "leaf" if node.rule is None else f"{node.rule.name} node"


def _show(names: Sequence[str], values: Sequence[float]) -> str:
    pairs = [f"{n}={v!r}" for n, v in zip(names, values)]
    return ", ".join(pairs[:6]) + (", ..." if len(pairs) > 6 else "")


def _tape(forward: list[Value], index: dict[Value, int], needs: dict[Value, bool]) -> list[_Node]:
    """The graph as plain records, for :meth:`Compiled._diagnose` (the root last).

    Args:
        forward: The nodes in forward order (inputs first, the root last).
        index: Each input and data leaf → its position in the call.
        needs: Each node → whether it depends on an input (has a gradient).
    """
    position = {v: k for k, v in enumerate(forward)}
    get = index.get
    return [
        _Node._make((v._rule if v.inputs else None, tuple([position[c] for c in v.inputs]),
                     v.label, v.data, get(v, -1), needs[v], v._rule is CONSTANT))
        for v in forward
    ]


def _value_of(rule: Rule) -> Callable[..., float]:
    """The forward value of ``rule``; a non-finite operand or result raises _NotFinite."""
    forward = rule.forward
    if rule.arity == 1:

        def value1(x: float) -> float:
            if x - x != 0.0:
                raise _NotFinite
            out = forward(x)[0]
            if out - out != 0.0:
                raise _NotFinite
            return out

        value1.__name__ = rule.name
        return value1

    def value(*xs: float) -> float:
        for x in xs:
            if x - x != 0.0:
                raise _NotFinite
        out = forward(*xs)[0]
        if out - out != 0.0:
            raise _NotFinite
        return out

    value.__name__ = rule.name
    return value


def _derivative_of(rule: Rule) -> Callable[..., float]:
    """The local derivative ``∂out/∂x`` of a one-input ``rule``, from its own forward."""
    forward = rule.forward
    if rule.arity != 1:
        raise ValueError(f"compile: an own float derivative is only for one-input rules, "
                         f"not {rule.name!r}")

    def prime(x: float) -> float:
        return forward(x)[1][0]

    prime.__name__ = f"{rule.name}_prime"
    return prime
