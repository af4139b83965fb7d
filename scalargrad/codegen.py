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

The compiler is four stages, one function each, and :func:`compile_graph`
calls them in turn: :func:`_plan` reads the graph once (its two orders, which
nodes need a gradient, the functions each rule's code calls, how often each
value is written), :func:`_emit_forward` writes the values,
:func:`_emit_backward` the chain rule, and :func:`_assemble` the source,
compiled into a :class:`~scalargrad.compiled.Compiled`. What runs then (the
call's checks, batch means, the diagnosis, the functions the code calls)
lives in :mod:`scalargrad.compiled`.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from .compiled import Compiled, _bad, _derivative_of, _tape, _value_of
from .engine import Value
from .forms import ATOM, POWER, PRODUCT, SUM, UNARY, Form, Printed, wrap
from .graph import forward_order, topological_order
from .rules import CONSTANT, RULES, Rule

__all__ = ["Compiled", "compile_graph", "label_identifier"]

# Inline expressions get a name past this nesting depth or length; sums of
# more than _TERMS terms are split over several lines.
_DEPTH = 20
_LENGTH = 160
_TERMS = 40
# Names the generated code defines or reads itself: never given to a node or a function.
_RESERVED = frozenset({"max", "replay", "_in", "_bad"})

# Code is printed by the forms' one printer (its Python dialect), on its one precedence
# scale (SUM, PRODUCT, UNARY, POWER, ATOM); each printed piece carries its nesting depth.


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
            has an op that cannot be replayed (it names the op and the node);
            or Python cannot compile the generated code (it names the size).
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile: root must be a Value, not {type(root).__name__}")
    plan = _plan(root, tuple(inputs), tuple(data))
    forward = _emit_forward(plan)
    backward, grads = _emit_backward(plan, forward)
    return _assemble(plan, forward, backward, grads)


# --- the stages ---------------------------------------------------------------------------


class _Plan(NamedTuple):
    """The graph read once, before a line is written: what the emitting stages read."""

    root: Value
    inputs: tuple[Value, ...]
    data: tuple[Value, ...]
    positions: dict[Value, int]  # each input and data leaf: its position in the call
    order: list[Value]  # consumers first: backward's order
    forward: list[Value]  # inputs first, in reading order: the code's order
    needs: dict[Value, bool]  # depends on an input (so it has a gradient)
    uses: dict[Value, int]  # how often the code will write each node's value
    functions: dict[int, _Functions]  # by id(rule): its functions' names in the namespace
    namespace: dict[str, Any]  # what the code runs with: those functions, by name
    names: _Names  # the identifiers taken (the functions'); the emitters take more


class _Forward(NamedTuple):
    """The forward pass as code: every node's value as a name or an inline expression."""

    expr: dict[Value, Printed]  # each node's value in the code
    input_names: tuple[str, ...]
    data_names: tuple[str, ...]
    header: list[str]  # named constants: once per call, outside a loop over rows
    lines: list[str]  # the forward lines
    root_name: str  # the root's name in the code ("out" when it is an expression)


def _plan(root: Value, inputs: tuple[Value, ...], data: tuple[Value, ...]) -> _Plan:
    """Reads the graph before any code is written: what every later stage needs.

    The graph's two orders (:func:`~scalargrad.graph.topological_order` for
    backward, :func:`~scalargrad.graph.forward_order` for the code), then one
    pass in forward order that finds, for each node: whether it depends on an
    input (``needs``: only those get a gradient), that its rule can be
    replayed, its rule's functions bound to names in the namespace (its own
    forward value, its own float derivative, the ops its derivatives call),
    and how often the code will write its value (``uses``, :func:`_add_uses`).

    Raises:
        TypeError: An input or data leaf is not a Value.
        ValueError: One is not a leaf or is given twice, or an op cannot be replayed.
    """
    positions = _positions(inputs, data)
    n_inputs = len(inputs)
    order = topological_order(root)
    forward = forward_order(root)
    needs: dict[Value, bool] = {}
    uses = dict.fromkeys(forward, 0)
    uses[root] += 1
    functions: dict[int, _Functions] = {}  # by id(rule): hashing a Rule hashes its fields
    namespace: dict[str, Any] = {"__builtins__": {"max": max}, "_bad": _bad}
    counted: dict[tuple[int, int, bool], dict[int, int]] = {}
    for v in forward:
        r = v._rule
        if not v.inputs:
            needs[v] = positions.get(v, n_inputs) < n_inputs
            continue
        if r is None or not _replayable(r):
            name = r.name if r is not None else "?"
            raise ValueError(
                f"compile: cannot replay op {name!r} of node {v.label or '(unlabelled)'} "
                "(its rule has no derivative forms, or no forward form to write)"
            )
        needs[v] = any(needs[c] for c in v.inputs)
        funcs = functions.get(id(r))
        if funcs is None:
            funcs = functions[id(r)] = _bind(r, namespace)
        _add_uses(v, r, funcs, needs, uses, counted)
    return _Plan(root, inputs, data, positions, order, forward, needs, uses, functions, namespace,
                 _Names(sorted(_RESERVED | set(namespace))))


def _emit_forward(plan: _Plan) -> _Forward:
    """Writes each node's value, in forward order: inline where used once, else a named line.

    Inputs and data are the call's arguments; baked-in leaves are literals
    (labelled ones named constants, in ``header``). A node gets a line when it
    is labelled, the root, used more than once (twice for a cheap expression
    of names), or its expression would pass :data:`_DEPTH` or :data:`_LENGTH`
    (a long sum spans several lines). Operands of an op that does not carry
    a non-finite number through (relu's ``max(x, 0.0)``) are checked first.
    """
    root, names = plan.root, plan.names
    expr: dict[Value, Printed] = {}
    checked: set[str] = set()  # names known to hold finite numbers
    header: list[str] = []
    lines: list[str] = []
    input_names = tuple(names.new(label_identifier(v.label) or f"x{i}") for i, v in
                        enumerate(plan.inputs))
    data_names = tuple(names.new(label_identifier(v.label) or f"d{i}") for i, v in
                       enumerate(plan.data))
    for v, name in zip((*plan.inputs, *plan.data), (*input_names, *data_names)):
        expr[v] = _atom(name)
        checked.add(name)
    for v in plan.forward:
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
        if not r.propagates_nonfinite and not r.own_replay:
            # relu's max(x, 0.0) would turn -inf into 0: its operands must be checked.
            for c in v.inputs:
                e = expr[c]
                if e.text in checked:
                    continue
                if e.depth or e.prec != ATOM:
                    n = names.temp()
                    lines.append(f"    {n} = {e.text}")
                    e = expr[c] = _atom(n)
                lines.append(f"    if {e.text} - {e.text} != 0.0: _bad()")
                checked.add(e.text)
        args = [expr[c] for c in v.inputs]
        terms = _forward_terms(r, args, plan.functions[id(r)])
        if len(terms) <= _TERMS:
            whole = _join(terms)
            simple = not r.own_replay and all(a.depth == 0 and a.prec == ATOM for a in args)
            uses = plan.uses[v]
            if (v is not root and not v.label and (uses <= 1 or (uses == 2 and simple))
                    and whole.depth <= _DEPTH and len(whole.text) <= _LENGTH):
                expr[v] = whole
                continue
        n = names.new(label_identifier(v.label) or "t") if v.label else names.temp()
        _assign(lines, n, terms)
        expr[v] = _atom(n)
        if r.own_replay:
            checked.add(n)
    root_name = expr[root].text if expr[root].depth == 0 and expr[root].prec == ATOM else "out"
    return _Forward(expr, input_names, data_names, header, lines, root_name)


def _emit_backward(plan: _Plan, fwd: _Forward) -> tuple[list[str], list[str]]:
    """Writes the chain rule, consumers first: each gradient is the sum of upstream · local.

    A node's gradient is named (``dC0_da2``) when it is an input's, labelled,
    feeds more than one needed input while not a name, or would be too deep
    or long inline; else it is written into its inputs' contributions. Each
    local derivative is the rule's form printed at the node's operands.

    Returns:
        The backward lines, and each input's gradient in the code (``"0.0"``
        for an input the root does not depend on).
    """
    expr, names, needs, root = fwd.expr, plan.names, plan.needs, plan.root
    lines = [f"    # backward: d{fwd.root_name}_dv = Σ over consumers of upstream · local"]
    contrib: dict[Value, list[Printed]] = {v: [] for v in plan.order}
    contrib[root].append(_atom("1"))
    grad_expr: dict[Value, str] = {}
    for v in plan.order:
        terms = contrib.pop(v)
        if not needs[v] or not terms:
            continue
        r = v._rule
        live = [j for j, c in enumerate(v.inputs) if needs[c]]
        g = _join(terms) if len(terms) <= _TERMS else None
        if (g is None or v in plan.positions or (v.label and v is not root)
                or (len(live) > 1 and (g.depth or g.prec != ATOM))
                or g.depth > _DEPTH or len(g.text) > _LENGTH):
            # d<root>_d<the node's own name in the forward code>
            own = expr[v].text
            stem = own if own.isidentifier() else label_identifier(v.label)
            n = names.new(f"d{fwd.root_name}_d{stem}" if stem else f"d{fwd.root_name}_dt")
            _assign(lines, n, terms)
            g = _atom(n)
        grad_expr[v] = g.text
        if r is None or not live:
            continue
        args = [expr[c] for c in v.inputs]
        funcs = plan.functions[id(r)]
        for j in live:
            local = _local(r.derivative(j), r, args, expr[v], funcs)
            contrib[v.inputs[j]].append(_times(g, local))
    return lines, [grad_expr.get(v, "0.0") for v in plan.inputs]


def _assemble(plan: _Plan, fwd: _Forward, backward: list[str], grads: list[str]) -> Compiled:
    """The source (``replay``, and ``replay_rows`` with data), compiled into :class:`Compiled`.

    Raises:
        ValueError: Python cannot compile the source (it names the size).
    """
    input_names, data_names, header, root = fwd.input_names, fwd.data_names, fwd.header, plan.root
    lines = fwd.lines + backward
    arguments = (*input_names, *data_names)
    unpack = f"    ({', '.join(arguments)},) = _in" if arguments else "    pass"
    result = fwd.expr[root].text
    source = "\n".join(
        ["def replay(_in):", unpack, *header, *lines,
         f"    return {result}, ({', '.join(grads)}{',' if len(grads) == 1 else ''})", ""]
    )
    if plan.data:
        # The same code in a loop over rows of data numbers, the inputs unpacked once
        # and each input's gradient summed (Compiled.mean): no call per example.
        summed = [(k, text) for k, text in enumerate(grads) if text != "0.0"]
        source += "\n".join([
            "",
            "def replay_rows(_in, _rows):",
            f"    ({', '.join(input_names)},) = _in" if plan.inputs else "    pass",
            *header,
            *(f"    _g{k} = 0.0" for k, _ in summed),
            "    _roots = []",
            f"    for ({', '.join(data_names)},) in _rows:",
            *("    " + line for line in lines),
            f"        _roots.append({result})",
            *(f"        _g{k} += {text}" for k, text in summed),
            "    return _roots, (" + ", ".join(
                f"_g{k}" if text != "0.0" else "0.0" for k, text in enumerate(grads))
            + ("," if len(grads) == 1 else "") + ")",
            "",
        ])
    namespace = plan.namespace
    try:
        code = compile(source, f"<scalargrad.compile {fwd.root_name}>", "exec")
        exec(code, namespace)
    except (SyntaxError, RecursionError, MemoryError) as err:
        raise ValueError(
            f"compile: Python could not compile the replay of {root.label or fwd.root_name} "
            f"({len(plan.forward)} nodes, {len(lines)} lines of code): "
            f"{type(err).__name__}: {err}"
        ) from None
    return Compiled(source, namespace["replay"], plan.inputs, input_names,
                    root.label or fwd.root_name, _tape(plan.forward, plan.positions, plan.needs),
                    plan.data, data_names, namespace.get("replay_rows"))


# --- what the stages use ------------------------------------------------------------------


def _positions(inputs: tuple[Value, ...], data: tuple[Value, ...]) -> dict[Value, int]:
    """Each input and data leaf → its position in the call (inputs first), checked."""
    index: dict[Value, int] = {}
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
    return index


def _replayable(rule: Rule) -> bool:
    """The rule has derivative forms and its forward can be written (form, own, sum, affine)."""
    return bool(rule.derivatives) and (
        rule.own_replay or rule.form is not None or rule.arity is None or rule.name == "affine")


class _Functions(NamedTuple):
    """A rule's functions in the compiled namespace ("" for none)."""

    forward: str  # its own forward value (σ, div, an op of define_op)
    derivative: str  # its own float derivative (σ', tanh')
    calls: dict[str, str]  # the ops its derivative forms call, by op name


def _bind(rule: Rule, namespace: dict[str, Any]) -> _Functions:
    """Puts the functions ``rule``'s code calls into ``namespace``, each under a free name.

    Its own forward value when it replays its own forward (``own_replay``),
    its own float derivative when a derivative is a :func:`~scalargrad.forms.named`
    form with its own float (σ'), and the value of each op its derivatives call.
    """
    own_forward, own_derivative = rule.own_replay, _uses_own_derivative(rule)
    f = d = ""
    if own_forward or own_derivative:
        base = (rule.name if rule.exponent is None
                else f"pow_{label_identifier(repr(rule.exponent))}")
        fname, k = base, 1
        while fname in namespace or fname in _RESERVED or f"{fname}_prime" in namespace:
            k += 1
            fname = f"{base}_{k}"
        if own_forward:
            f = fname
            namespace[fname] = _value_of(rule)
        if own_derivative:
            d = f"{fname}_prime"
            namespace[d] = _derivative_of(rule)
    calls: dict[str, str] = {}
    for op in _called(rule):
        fname, k = RULES[op].call[2], 1
        while fname in namespace or fname in _RESERVED:
            k += 1
            fname = f"{RULES[op].call[2]}_{k}"
        calls[op] = fname
        namespace[fname] = _value_of(RULES[op])
    return _Functions(f, d, calls)


def _add_uses(v: Value, rule: Rule, funcs: _Functions, needs: dict[Value, bool],
              uses: dict[Value, int], counted: dict[tuple[int, int, bool], dict[int, int]],
              ) -> None:
    """Adds how often node ``v``'s code writes each of its inputs, and ``v`` itself, to ``uses``.

    Its forward writes each input once (a sum, an affine node, a call of its
    own forward) or as its forward form does; each needed input's local
    derivative adds what that form writes (exp's is ``v`` itself). Counted
    by printing each form once per rule with the forms' printer
    (:meth:`~scalargrad.forms.Form.python`, which reports what it writes), so
    an affine node with n inputs costs O(n).
    """
    holes = [_HOLE] * len(v.inputs)
    if rule.form is None or rule.own_replay:
        total = dict.fromkeys(range(len(v.inputs)), 1)
    else:
        total = dict(_written(rule.form, rule, holes, None, funcs, counted))
    if needs[v]:
        for j, c in enumerate(v.inputs):
            if needs[c]:
                for i, k in _written(rule.derivative(j), rule, holes, _HOLE, funcs,
                                     counted).items():
                    total[i] = total.get(i, 0) + k
    uses[v] += total.get(-1, 0)
    for i, c in enumerate(v.inputs):
        uses[c] += total.get(i, 0)


_HOLE = Printed("_", ATOM, 0)
"""The operand a form is printed at to count what it writes (the text is thrown away)."""


def _written(form: Form, rule: Rule, holes: Sequence[Printed], out: Printed | None,
             funcs: _Functions, counted: dict[tuple[int, int, bool], dict[int, int]],
             ) -> dict[int, int]:
    """How often :func:`_local` writes each input of ``form`` (-1: the output), once per rule.

    The printer reports it while printing (``used``); ``out`` None: the forward form.
    """
    key = (id(rule), id(form), out is None)
    found = counted.get(key)
    if found is None:
        found = counted[key] = {}
        _local(form, rule, holes, out, funcs, used=found)
    return found


def _local(form: Form, rule: Rule, args: Sequence[Printed], out: Printed | None,
           funcs: _Functions, used: dict[int, int] | None = None) -> Printed:
    """A form of ``rule`` (a local derivative, or with ``out`` None its forward) as Python.

    Printed by the forms' one printer in its Python dialect (no template is
    parsed); ``used``, when given, counts what it writes.
    """
    return form.python(args, out, rule=rule.name, c=rule.exponent or 0.0,
                       own=funcs.derivative, calls=funcs.calls, used=used)


def _forward_terms(rule: Rule, args: Sequence[Printed], funcs: _Functions) -> list[Printed]:
    """A node's value as Python, as the top-level terms of a sum (a long sum spans lines).

    Written from the rule's forward form (``X * Y`` is ``x * y``) by the same
    printer as the local derivatives; a rule that replays its own forward
    (``own_replay``) calls it (its domain checks and numerics); ``sum`` and
    ``affine`` are their terms.
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


def _assign(lines: list[str], name: str, terms: Sequence[Printed]) -> None:
    """Appends ``name = t0 + t1 + …`` to ``lines``, :data:`_TERMS` terms a line."""
    lines.append(f"    {name} = {_join(terms[:_TERMS]).text}")
    for s in range(_TERMS, len(terms), _TERMS):
        rest = " + ".join(wrap(t, PRODUCT) for t in terms[s:s + _TERMS])
        lines.append(f"    {name} = {name} + {rest}")


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


class _Names:
    """Allocates unique, valid identifiers in a fixed order (amortised constant time)."""

    def __init__(self, reserved: Sequence[str]) -> None:
        self.taken = set(reserved)
        self.last: dict[str, int] = {}
        self.temps = 0

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

    def temp(self) -> str:
        """The next temporary name: ``t1``, ``t2``, … (each made unique as :meth:`new` does)."""
        self.temps += 1
        return self.new(f"t{self.temps}")


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
