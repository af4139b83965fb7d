"""Compiled replay: a finished graph turned into straight-line Python.

``compile_graph(root, inputs)`` walks the graph once and writes a function
that recomputes ``root`` and ``∂root/∂input`` for new input numbers with
plain floats: no :class:`~scalargrad.engine.Value` objects at run time. The
text comes from the rule table: each node's value is written from its rule's
forward form (``X * Y`` is ``x * y``; a rule that replays its own forward,
such as σ or an op of :func:`scalargrad.define_op`, is a call of it), and
each local derivative straight from the rule's symbolic derivative
(:mod:`scalargrad.forms`, the same form that gives its text, LaTeX and Value
graph), printed by the forms' one printer in its Python dialect (the printer
that also writes the notes' text and LaTeX, on the same precedence scale; no
template is parsed), so the backward part is the chain rule written out, one
line per named node::

    dC0_da2 = 2 * (a2 - y)
    dC0_dz2 = dC0_da2 * sigmoid_prime(z2)
    dC0_dw2 = dC0_dz2 * a1

Names come from labels (``a^(2)`` → ``a2``, ``w_12^(2)`` → ``w12_2``),
made unique in a fixed order, so the same graph always gives the same source.
Unlabelled nodes used once are written inline, up to a small depth and
length: past that they get a temporary name (``t1``, …), and long sums are
split over several lines, so the code stays flat for graphs of any depth
and is written in time linear in the graph's size. Leaves that are not
inputs are baked in as constants (labelled ones as named constants, e.g.
``y = 1.0``).

Numerics: every value and local derivative is computed as the rule table
computes it (σ' and tanh' by the rules' own forward functions, which a
:func:`~scalargrad.forms.named` derivative compiles to), and each product
``upstream · local`` is evaluated in the engine's order, so results equal
the engine's bit for bit, except n-ary sums and affine nodes, which are
replayed as left-to-right ``+`` (the engine uses ``math.fsum``) and agree to
rounding.

Domain errors: the replay checks its input numbers like ``Value`` does. A
non-finite number anywhere (a value or a gradient) is detected cheaply in the
fast code; the call then replays the graph once more with the rule table,
node by node, and raises the engine's :class:`~scalargrad.rules.DomainError`
naming the op, its operands and the node's label.
"""

from __future__ import annotations

import keyword
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from numbers import Real
from operator import add as _add
from typing import Any, NamedTuple

from .engine import Value, _check_number
from .forms import ATOM, POWER, PRODUCT, SUM, UNARY, Form, Printed, wrap
from .graph import Tape, forward_order, reverse, topological_order
from .rules import CONSTANT, RULES, DomainError, Rule

__all__ = ["Compiled", "compile_graph", "label_identifier"]

# Inline expressions get a name past this nesting depth or length; sums of
# more than _TERMS terms are split over several lines.
_DEPTH = 20
_LENGTH = 160
_TERMS = 40

# Code is printed by the forms' one printer (its Python dialect), on its one precedence
# scale (SUM, PRODUCT, UNARY, POWER, ATOM); each printed piece carries its nesting depth.


class _NotFinite(Exception):
    """Raised inside the fast code when a number is not finite (then diagnosed)."""


def _bad() -> None:
    raise _NotFinite


def _atom(text: str) -> Printed:
    return Printed(text, ATOM, 0)


def _literal(x: float) -> Printed:
    """A baked-in leaf's number as its exact Python literal (``repr``: not a display format)."""
    text = repr(x)
    return Printed(text, UNARY if text.startswith("-") else ATOM, 0)


def _join(terms: Sequence[Printed]) -> Printed:
    """``t0 + t1 + …`` (left to right, as written)."""
    if len(terms) == 1:
        return terms[0]
    text = " + ".join([wrap(terms[0], SUM), *(wrap(t, PRODUCT) for t in terms[1:])])
    return Printed(text, SUM, 1 + max(t.depth for t in terms))


def _times(upstream: Printed, local: Printed) -> Printed:
    """``upstream · local``, evaluated in the engine's order (the local derivative first)."""
    if local.text == "1":
        return upstream
    if upstream.text == "1":
        return local
    depth = 1 + max(upstream.depth, local.depth)
    if local.text == "-1":
        return Printed("-" + wrap(upstream, POWER), UNARY, depth)
    return Printed(f"{wrap(upstream, PRODUCT)} * {wrap(local, UNARY)}", PRODUCT, depth)


# --- the compiled function --------------------------------------------------------------


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
    """A graph compiled to Python: call it with input numbers.

    Attributes:
        source: The generated Python source.
        inputs: The input leaves, in the order the call takes their numbers
            (their gradients are returned).
        names: The names the inputs have in ``source``.
        data: The data leaves, whose numbers the call takes after the inputs'.
        data_names: The names the data leaves have in ``source``.
        root_name: The name of the root in ``source``.

    Example:
        >>> from scalargrad import Value
        >>> w, a = Value(0.5, "w"), Value(2.0, "a")
        >>> f = compile_graph((w * a).label_as("z"), [w, a])
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
        parts = []
        for i, (a, x) in enumerate(zip(node.args, xs)):
            leaf = self._tape[a]
            name = repr(leaf.label) if leaf.label else (
                "constant" if leaf.constant else "unlabelled")
            parts.append(f"input {i}: {name} = {x!r}")
        return "; ".join(parts)

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


class _Names:
    """Allocates unique, valid identifiers in a fixed order (amortised constant time)."""

    def __init__(self, reserved: Sequence[str]) -> None:
        self.taken = set(reserved)
        self.last: dict[str, int] = {}

    def new(self, base: str) -> str:
        name = base if base.isidentifier() and not keyword.iskeyword(base) else base + "_"
        if not name.isidentifier():
            name = "v_" + name
        candidate, n = name, self.last.get(name, 1)
        if n > 1:
            candidate = f"{name}_{n}"
        while candidate in self.taken:
            n += 1
            candidate = f"{name}_{n}"
        self.last[name] = n
        self.taken.add(candidate)
        return candidate


def label_identifier(label: str) -> str:
    """Turns a label in the notes' notation into a Python identifier stem.

    The alphanumeric runs of the label are kept: the first two joined, the
    rest after underscores (``"C_0"`` → ``"C0"``, ``"a^(2)"`` → ``"a2"``,
    ``"w_12^(2)"`` → ``"w12_2"``, ``"w_1,12^(2)"`` → ``"w1_12_2"``).

    Args:
        label: A node label.

    Returns:
        The stem ("" when the label has no ASCII letters or digits).
    """
    parts = re.findall(r"[A-Za-z0-9]+", label)
    if not parts:
        return ""
    head = parts[0] + (parts[1] if len(parts) > 1 else "")
    return "_".join([head, *parts[2:]])


class _Functions(NamedTuple):
    """A rule's functions in the compiled namespace ("" for none)."""

    forward: str  # its own forward value (σ, div, an op of define_op)
    derivative: str  # its own float derivative (σ', tanh')
    calls: dict[str, str]  # the ops its derivative forms call, by op name


def _local(form: Form, rule: Rule, args: Sequence[Printed], out: Printed | None,
           funcs: _Functions) -> Printed:
    """A form of ``rule`` (a local derivative, or with ``out`` None its forward) as Python.

    Printed by the forms' one printer in its Python dialect (no template is parsed).
    """
    return form.python(args, out, rule=rule.name, c=rule.exponent or 0.0,
                       own=funcs.derivative, calls=funcs.calls)


def _forward_terms(rule: Rule, args: Sequence[Printed], funcs: _Functions) -> list[Printed]:
    """A node's value as Python, as the top-level terms of a sum (a long sum spans lines).

    Written from the rule's forward form (``X * Y`` is ``x * y``) by the same
    walker as the local derivatives; ``{f}`` rules call their own forward
    (its domain checks and numerics); ``sum`` and ``affine`` are their terms.
    """
    if rule.arity is None:  # sum: its inputs, added left to right
        return list(args)
    if funcs.forward:
        depth = 1 + max(a.depth for a in args)
        return [Printed(f"{funcs.forward}({', '.join(a.text for a in args)})", ATOM, depth)]
    if rule.form is None:  # affine: w_0 * a_0 + … + b
        products = [Printed(f"{wrap(w, PRODUCT)} * {wrap(a, UNARY)}", PRODUCT,
                            1 + max(w.depth, a.depth))
                    for w, a in zip(args[0:-1:2], args[1:-1:2])]
        return [*products, args[-1]]
    return [_local(rule.form, rule, args, None, funcs)]


def _count(form: Form, rule: Rule, counts: dict[int, int], forward: bool = False) -> None:
    """Adds to ``counts`` how often :func:`_local` writes each input (-1: the output).

    ``forward``: ``form`` is the rule's forward form (it does not stand for the output).
    """
    stack = [form]
    while stack:
        f = stack.pop()
        k, a = f.kind, f.args
        own = not forward and k == rule.name
        if own and all(g.kind == "arg" and g.value == i for i, g in enumerate(a)):
            counts[-1] = counts.get(-1, 0) + 1
        elif k == "arg":
            i = int(f.value)
            counts[i] = counts.get(i, 0) + 1
        elif k == "out":
            counts[-1] = counts.get(-1, 0) + 1
        elif k == "named" and f.value:  # the rule's own float derivative of every input
            for i in range(rule.arity or 0):
                counts[i] = counts.get(i, 0) + 1
        elif k == "named" or not f.is_constant():
            stack.extend(a)


def compile_graph(root: Value, inputs: Sequence[Value], data: Sequence[Value] = ()) -> Compiled:
    """Compiles the graph below ``root`` into a function of ``inputs`` (and ``data``).

    The code depends only on the graph's *structure*: the numbers of
    ``inputs`` and ``data`` are arguments, so one compile serves every
    parameter value and every batch of the same shape. For a training loop,
    make the parameters the ``inputs`` and the batch's leaves (``x``, ``y``)
    the ``data``, compile the cost of one batch once, and call the result
    with each batch's numbers::

        f = scalargrad.compile(cost, net.parameters(), data=[*x_leaves, *y_leaves])
        loss, grads = f(*param_numbers, *batch_numbers)

    Time and the size of the code are linear in the number of nodes, and
    graphs of any depth compile (a chain 10⁵ ops deep, ``sum()`` of 10⁵
    products).

    Args:
        root: The node to compute (usually a cost).
        inputs: Leaves of the graph whose numbers the compiled function
            takes and whose gradients it returns. An input the root does not
            depend on gets gradient 0.0.
        data: Further leaves whose numbers the compiled function takes after
            the inputs' (no gradient is computed for them). Every leaf that
            is neither an input nor data is baked in with its current value.

    Returns:
        A :class:`Compiled`; ``compiled(*input_numbers, *data_numbers)``
        returns ``(root value, gradients of the inputs)`` and
        ``compiled.source`` is the code.

    Raises:
        TypeError: ``root`` or an input is not a Value.
        ValueError: An input or data leaf is not a leaf, or is given twice; or the graph
            has an op without code templates (it names the op and the node);
            or Python cannot compile the generated code (it names the size).
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile: root must be a Value, not {type(root).__name__}")
    inputs, data = tuple(inputs), tuple(data)
    index: dict[Value, int] = {}  # inputs and data: their position in the call
    for i, v in enumerate((*inputs, *data)):
        what = f"input {i}" if i < len(inputs) else f"data {i - len(inputs)}"
        if not isinstance(v, Value):
            raise TypeError(f"compile: {what} must be a Value, not {type(v).__name__}")
        if v.inputs:
            raise ValueError(
                f"compile: {what} ({v.label or 'unlabelled'}, op {v.op!r}) is not a leaf; "
                "inputs and data must be leaves of the graph"
            )
        if v in index:
            raise ValueError(f"compile: {what} ({v.label or 'unlabelled'}) is given twice")
        index[v] = i
    n_inputs = len(inputs)
    order = topological_order(root)  # consumers first: backward's order
    forward = forward_order(root)  # inputs first, in reading order
    for v in order:
        r = v._rule
        if v.inputs and (r is None or not r.code or not r.derivatives):
            name = r.name if r is not None else "?"
            raise ValueError(
                f"compile: cannot replay op {name!r} of node {v.label or '(unlabelled)'} "
                "(its rule has no code templates)"
            )
    # Which nodes depend on an input (only they need a gradient).
    needs = {v: index.get(v, n_inputs) < n_inputs for v in forward}
    for v in forward:
        if v.inputs:
            needs[v] = any(needs[c] for c in v.inputs)

    # Functions: a rule's forward value and its own local derivative, and the ops its
    # derivatives call (σ(x) in softplus's), each a name in the namespace.
    reserved = {"max", "replay", "_in", "_bad"}
    funcs: dict[int, _Functions] = {}  # by id(rule): hashing a Rule hashes its fields
    namespace: dict[str, Any] = {"__builtins__": {"max": max}, "_bad": _bad}
    for v in forward:
        r = v._rule
        if r is None or id(r) in funcs or not v.inputs:
            continue
        own_forward, own_derivative = "{f}" in r.code, _uses_own_derivative(r)
        f = d = ""
        if own_forward or own_derivative:
            base = r.name if r.exponent is None else f"pow_{label_identifier(repr(r.exponent))}"
            fname, k = base, 1
            while fname in namespace or fname in reserved or f"{fname}_prime" in namespace:
                k += 1
                fname = f"{base}_{k}"
            if own_forward:
                f = fname
                namespace[fname] = _value_of(r)
            if own_derivative:
                d = f"{fname}_prime"
                namespace[d] = _derivative_of(r)
        calls: dict[str, str] = {}
        for op in _called(r):
            fname, k = RULES[op].call[2], 1
            while fname in namespace or fname in reserved:
                k += 1
                fname = f"{RULES[op].call[2]}_{k}"
            calls[op] = fname
            namespace[fname] = _value_of(RULES[op])
        funcs[id(r)] = _Functions(f, d, calls)
    names = _Names(sorted(reserved | set(namespace)))

    # References: how often each node's value will be written in the code, counted
    # once per form (not once per node), so an affine node with n inputs costs O(n).
    refs = dict.fromkeys(forward, 0)
    refs[root] += 1
    counted: dict[tuple[int, bool], dict[int, int]] = {}

    def uses(form: Form, r: Rule, forward: bool = False) -> dict[int, int]:
        found = counted.get((id(form), forward))
        if found is None:
            found = counted[id(form), forward] = {}
            _count(form, r, found, forward)
        return found

    for v in forward:
        r = v._rule
        if not v.inputs or r is None:
            continue
        inputs_ = v.inputs
        live = [j for j, c in enumerate(inputs_) if needs[c]] if needs[v] else []
        if r.form is None or "{f}" in r.code:  # its terms, or its own forward: each input once
            total: dict[int, int] = dict.fromkeys(range(len(inputs_)), 1)
        else:
            total = dict(uses(r.form, r, forward=True))
        for j in live:
            for i, k in uses(r.derivative(j), r).items():
                total[i] = total.get(i, 0) + k
        refs[v] += total.get(-1, 0)
        for i, c in enumerate(inputs_):
            refs[c] += total.get(i, 0)

    # Forward: an expression per node; a line for each node that gets a name.
    expr: dict[Value, Printed] = {}
    checked: set[str] = set()  # names known to hold finite numbers
    header: list[str] = []
    lines: list[str] = []
    input_names = tuple(names.new(label_identifier(v.label) or f"x{i}") for i, v in
                        enumerate(inputs))
    data_names = tuple(names.new(label_identifier(v.label) or f"d{i}") for i, v in
                       enumerate(data))
    for v, name in zip((*inputs, *data), (*input_names, *data_names)):
        expr[v] = _atom(name)
        checked.add(name)
    temp = 0

    def emit(name: str, terms: Sequence[Printed]) -> None:
        """``name = t0 + t1 + …``, _TERMS terms a line."""
        lines.append(f"    {name} = {_join(terms[:_TERMS]).text}")
        for s in range(_TERMS, len(terms), _TERMS):
            rest = " + ".join(wrap(t, PRODUCT) for t in terms[s:s + _TERMS])
            lines.append(f"    {name} = {name} + {rest}")

    def temp_name() -> str:
        nonlocal temp
        temp += 1
        return names.new(f"t{temp}")

    for v in forward:
        if v in expr:
            continue
        r = v._rule
        if not v.inputs:
            if v.label and r is not CONSTANT:
                n = names.new(label_identifier(v.label) or "c")
                header.append(f"    {n} = {v.data!r}")
                expr[v] = _atom(n)
                checked.add(n)
            else:
                expr[v] = _literal(v.data)
                checked.add(expr[v].text)
            continue
        assert r is not None
        if not r.propagates_nonfinite and "{f}" not in r.code:
            # relu's max(x, 0.0) would turn -inf into 0: its operands must be checked.
            for c in v.inputs:
                e = expr[c]
                if e.text in checked:
                    continue
                if e.depth or e.prec != ATOM:
                    n = temp_name()
                    lines.append(f"    {n} = {e.text}")
                    e = expr[c] = _atom(n)
                lines.append(f"    if {e.text} - {e.text} != 0.0: _bad()")
                checked.add(e.text)
        args = [expr[c] for c in v.inputs]
        terms = _forward_terms(r, args, funcs[id(r)])
        if len(terms) <= _TERMS:
            whole = _join(terms)
            simple = "{f}" not in r.code and all(a.depth == 0 and a.prec == ATOM for a in args)
            if (v is not root and not v.label and (refs[v] <= 1 or (refs[v] == 2 and simple))
                    and whole.depth <= _DEPTH and len(whole.text) <= _LENGTH):
                expr[v] = whole
                continue
        n = names.new(label_identifier(v.label) or "t") if v.label else temp_name()
        emit(n, terms)
        expr[v] = _atom(n)
        if "{f}" in r.code:
            checked.add(n)
    root_name = expr[root].text if expr[root].depth == 0 and expr[root].prec == ATOM else "out"

    # Backward: each node's gradient is the sum of its consumers' contributions.
    lines.append(f"    # backward: d{root_name}_dv = Σ over consumers of upstream · local")
    contrib: dict[Value, list[Printed]] = {v: [] for v in order}
    contrib[root].append(_atom("1"))
    grad_expr: dict[Value, str] = {}
    for v in order:
        terms = contrib.pop(v)
        if not needs[v] or not terms:
            continue
        r = v._rule
        live = [j for j, c in enumerate(v.inputs) if needs[c]]
        g = _join(terms) if len(terms) <= _TERMS else None
        if (g is None or v in index or (v.label and v is not root)
                or (len(live) > 1 and (g.depth or g.prec != ATOM))
                or g.depth > _DEPTH or len(g.text) > _LENGTH):
            # d<root>_d<the node's own name in the forward code>
            own = expr[v].text
            stem = own if own.isidentifier() else label_identifier(v.label)
            n = names.new(f"d{root_name}_d{stem}" if stem else f"d{root_name}_dt")
            emit(n, terms)
            g = _atom(n)
        grad_expr[v] = g.text
        if r is None or not live:
            continue
        args = [expr[c] for c in v.inputs]
        for j in live:
            local = _local(r.derivative(j), r, args, expr[v], funcs[id(r)])
            contrib[v.inputs[j]].append(_times(g, local))
    outs = [grad_expr.get(v, "0.0") for v in inputs]
    arguments = (*input_names, *data_names)
    unpack = f"    ({', '.join(arguments)},) = _in" if arguments else "    pass"
    source = "\n".join(
        ["def replay(_in):", unpack, *header, *lines,
         f"    return {expr[root].text}, ({', '.join(outs)}{',' if len(outs) == 1 else ''})",
         ""]
    )
    if data:
        # The same code in a loop over rows of data numbers, the inputs unpacked once
        # and each input's gradient summed (Compiled.mean): no call per example.
        summed = [(k, text) for k, text in enumerate(outs) if text != "0.0"]
        source += "\n".join([
            "",
            "def replay_rows(_in, _rows):",
            f"    ({', '.join(input_names)},) = _in" if inputs else "    pass",
            *header,
            *(f"    _g{k} = 0.0" for k, _ in summed),
            "    _roots = []",
            f"    for ({', '.join(data_names)},) in _rows:",
            *("    " + line for line in lines),
            f"        _roots.append({expr[root].text})",
            *(f"        _g{k} += {text}" for k, text in summed),
            "    return _roots, (" + ", ".join(
                f"_g{k}" if text != "0.0" else "0.0" for k, text in enumerate(outs))
            + ("," if len(outs) == 1 else "") + ")",
            "",
        ])
    try:
        code = compile(source, f"<scalargrad.compile {root_name}>", "exec")
        exec(code, namespace)
    except (SyntaxError, RecursionError, MemoryError) as err:
        raise ValueError(
            f"compile: Python could not compile the replay of {root.label or root_name} "
            f"({len(forward)} nodes, {len(lines)} lines of code): {type(err).__name__}: {err}"
        ) from None
    return Compiled(source, namespace["replay"], inputs, input_names, root.label or root_name,
                    _tape(forward, index, needs), data, data_names,
                    namespace.get("replay_rows"))


def _tape(forward: list[Value], index: dict[Value, int], needs: dict[Value, bool]) -> list[_Node]:
    """The graph as plain records, for :meth:`Compiled._diagnose` (the root last)."""
    position = {v: k for k, v in enumerate(forward)}
    get = index.get
    return [
        _Node._make((v._rule if v.inputs else None, tuple([position[c] for c in v.inputs]),
                     v.label, v.data, get(v, -1), needs[v], v._rule is CONSTANT))
        for v in forward
    ]


def _uses_own_derivative(rule: Rule) -> bool:
    """True when a derivative of ``rule`` is compiled as its own float derivative (σ')."""
    stack = list(rule.derivatives)
    while stack:
        f = stack.pop()
        if f.kind == "named" and f.value:
            return True
        stack.extend(f.args)
    return False


def _called(rule: Rule) -> list[str]:
    """The ops that ``rule``'s derivative forms call by name.

    Not its own output, and not an op written by a call pattern (relu's ``max({0}, 0.0)``).
    """
    found: list[str] = []
    stack = [d for d in rule.derivatives if d.kind != "named" or not d.value]
    while stack:
        f = stack.pop()
        if f.kind == "named" and f.value:
            continue  # compiled as the rule's own float derivative
        own = f.kind == rule.name and all(a.kind == "arg" for a in f.args)
        call = RULES[f.kind].call if f.kind in RULES else ("", "", "")
        if call[0] and "{0}" not in call[2] and not own and f.kind not in found:
            found.append(f.kind)
        stack.extend(f.args)
    return found


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
        raise ValueError(f"compile: {{d}} is only for one-input rules, not {rule.name!r}")

    def prime(x: float) -> float:
        return forward(x)[1][0]

    prime.__name__ = f"{rule.name}_prime"
    return prime
