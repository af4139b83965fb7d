"""Compiled replay: a finished graph turned into straight-line Python.

``compile_graph(root, inputs)`` walks the graph once and writes a function
that recomputes ``root`` and ``∂root/∂input`` for new input numbers with
plain floats: no :class:`~scalargrad.engine.Value` objects at run time. The
text comes from the rule table: each rule's ``code`` template gives the
forward expression and its ``code_grads`` templates the local derivatives, so
the backward part is the chain rule written out, one line per named node::

    dC0_da2 = 2 * (a2 - y)
    dC0_dz2 = dC0_da2 * a2 * (1 - a2)
    dC0_dw2 = dC0_dz2 * a1

Names come from labels (``a^(2)`` → ``a2``, ``w_12^(2)`` → ``w12_2``),
made unique in a fixed order, so the same graph always gives the same source.
Unlabelled nodes used once are written inline. Leaves that are not inputs are
baked in as constants (labelled ones as named constants, e.g. ``y = 1.0``).

Sums are replayed as left-to-right ``+`` (the engine uses ``math.fsum``), and
a few derivatives use their textbook form (σ' = σ(1 − σ)), so results agree
with the engine to rounding, not bit for bit.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from typing import Any

from .engine import Value, forward_order, topological_order
from .rules import CONSTANT, DomainError, Rule

__all__ = ["Compiled", "compile_graph"]

_ATOM = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|[A-Za-z_]\w*\([^()]*\)")


class Compiled:
    """A graph compiled to Python: call it with input numbers.

    Attributes:
        source: The generated Python source.
        inputs: The input leaves, in the order the call takes their numbers.
        names: The names the inputs have in ``source``.
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
    ) -> None:
        self.source = source
        self._fn = fn
        self.inputs = inputs
        self.names = names
        self.root_name = root_name

    def __call__(self, *values: float) -> tuple[float, tuple[float, ...]]:
        """Replays the graph at new input numbers.

        Args:
            *values: One number per input, in the order of ``inputs``.

        Returns:
            ``(root value, (∂root/∂input_0, ∂root/∂input_1, ...))``.

        Raises:
            ValueError: Wrong number of values.
            DomainError: An op left its domain (log of 0, division by 0,
                overflow), as in the engine.
        """
        if len(values) != len(self.names):
            raise ValueError(
                f"compiled {self.root_name}: expected {len(self.names)} input numbers "
                f"({', '.join(self.names[:5])}{', ...' if len(self.names) > 5 else ''}), "
                f"got {len(values)}"
            )
        try:
            out, grads = self._fn(values)
        except DomainError as err:
            raise DomainError(f"{err} [in the compiled replay of {self.root_name}]") from None
        except (OverflowError, ZeroDivisionError, TypeError) as err:
            raise DomainError(
                f"compiled {self.root_name}: {err} at inputs {_show(self.names, values)}"
            ) from None
        if out - out != 0.0 or not all(g - g == 0.0 for g in grads):
            raise DomainError(
                f"compiled {self.root_name}: the result is not finite (value {out!r}) "
                f"at inputs {_show(self.names, values)}"
            )
        return out, grads

    def __repr__(self) -> str:
        return f"Compiled({self.root_name}, inputs=[{', '.join(self.names)}])"


def _show(names: Sequence[str], values: Sequence[float]) -> str:
    pairs = [f"{n}={v!r}" for n, v in zip(names, values)]
    return ", ".join(pairs[:6]) + (", ..." if len(pairs) > 6 else "")


class _Names:
    """Allocates unique, valid identifiers in a fixed order."""

    def __init__(self, reserved: Sequence[str]) -> None:
        self.taken = set(reserved)

    def new(self, base: str) -> str:
        name = base if base.isidentifier() and not keyword.iskeyword(base) else base + "_"
        if not name.isidentifier():
            name = "v_" + name
        candidate, n = name, 1
        while candidate in self.taken:
            n += 1
            candidate = f"{name}_{n}"
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


def _is_atom(expr: str) -> bool:
    return _ATOM.fullmatch(expr) is not None


def _depth0(expr: str) -> str:
    """The expression with everything inside parentheses removed."""
    out, depth = [], 0
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _is_product(expr: str) -> bool:
    """True for an atom or a chain of ``*`` at the top level (safe left of ``*``)."""
    if _is_atom(expr):
        return True
    top = _depth0(expr)
    return not expr.startswith("-") and not any(
        op in top for op in (" + ", " - ", " / ", " if ", " ** ")
    )


def _wrap(expr: str) -> str:
    return expr if _is_atom(expr) else f"({expr})"


def _times(upstream: str, local: str) -> str:
    """``upstream · local`` written the way one would by hand."""
    if local == "1":
        return upstream
    if upstream == "1":
        return local
    if local == "-1":
        return "-" + _wrap(upstream)
    left = upstream if _is_product(upstream) else f"({upstream})"
    return f"{left} * {local if _is_product(local) else '(' + local + ')'}"


def _render(rule: Rule, template: str, args: Sequence[str], out: str, f: str) -> str:
    text = template.replace("{f}", f)
    if rule.exponent is not None:
        c = rule.exponent
        text = text.replace("{c-1}", _wrap(repr(c - 1.0))).replace("{c}", _wrap(repr(c)))
    if rule.arity is None:
        items = [a if _is_product(a) else f"({a})" for a in args]
        text = text.replace("{all}", " + ".join(items))
    else:
        for key, a in zip(rule.keys(), args):
            text = text.replace(key, _wrap(a))
    return text.replace("{out}", _wrap(out))


def _placeholder(rule: Rule, i: int) -> str:
    return "{all}" if rule.arity is None else rule.keys()[i]


def compile_graph(root: Value, inputs: Sequence[Value]) -> Compiled:
    """Compiles the graph below ``root`` into a function of ``inputs``.

    Args:
        root: The node to compute (usually a cost).
        inputs: Leaves of the graph whose numbers the compiled function
            takes; every other leaf is baked in with its current value. An
            input the root does not depend on gets gradient 0.0.

    Returns:
        A :class:`Compiled`; ``compiled(*numbers)`` returns
        ``(root value, gradients)`` and ``compiled.source`` is the code.

    Raises:
        TypeError: ``root`` or an input is not a Value.
        ValueError: An input is not a leaf, or is given twice; or the graph
            has an op without code templates (it names the op and the node).
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile: root must be a Value, not {type(root).__name__}")
    inputs = tuple(inputs)
    index: dict[Value, int] = {}
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"compile: input {i} must be a Value, not {type(v).__name__}")
        if v.inputs:
            raise ValueError(
                f"compile: input {i} ({v.label or 'unlabelled'}, op {v.op!r}) is not a leaf; "
                "inputs must be leaves of the graph"
            )
        if v in index:
            raise ValueError(f"compile: input {i} ({v.label or 'unlabelled'}) is given twice")
        index[v] = i
    order = topological_order(root)  # consumers first: backward's order
    forward = forward_order(root)  # inputs first, in reading order
    for v in order:
        r = v._rule
        if v.inputs and (r is None or not r.code or not r.code_grads):
            name = r.name if r is not None else "?"
            raise ValueError(
                f"compile: cannot replay op {name!r} of node {v.label or '(unlabelled)'} "
                "(its rule has no code templates)"
            )
    # Which nodes depend on an input (only they need a gradient).
    needs = {v: v in index for v in forward}
    for v in forward:
        if v.inputs:
            needs[v] = any(needs[c] for c in v.inputs)

    # Function names: one per distinct rule that calls its own forward ({f}).
    reserved = {"max", "replay", "_in"}
    funcs: dict[Rule, str] = {}
    namespace: dict[str, Any] = {"__builtins__": {"max": max}}
    for v in forward:
        r = v._rule
        if r is not None and "{f}" in r.code and r not in funcs:
            base = r.name if r.exponent is None else f"pow_{label_identifier(repr(r.exponent))}"
            fname, k = base, 1
            while fname in namespace or fname in reserved:
                k += 1
                fname = f"{base}_{k}"
            funcs[r] = fname
            namespace[fname] = _value_of(r)
    names = _Names(sorted(reserved | set(namespace)))

    # References: how often each node's value will be written in the code.
    refs = dict.fromkeys(forward, 0)
    refs[root] += 1
    for v in forward:
        r = v._rule
        if not v.inputs or r is None:
            continue
        grads = r.code_grads
        live = [j for j, c in enumerate(v.inputs) if needs[c]] if needs[v] else []
        for j in live:
            refs[v] += grads[0 if r.arity is None else j].count("{out}")
        for i, c in enumerate(v.inputs):
            key = _placeholder(r, i)
            refs[c] += r.code.count(key)
            for j in live:
                refs[c] += grads[0 if r.arity is None else j].count(key)

    # Forward: an expression per node; a line for each node that gets a name.
    expr: dict[Value, str] = {}
    header: list[str] = []
    lines: list[str] = []
    input_names = tuple(names.new(label_identifier(v.label) or f"x{i}") for i, v in
                        enumerate(inputs))
    for v, name in zip(inputs, input_names):
        expr[v] = name
    temp = 0
    for v in forward:
        if v in expr:
            continue
        r = v._rule
        if not v.inputs:
            literal = repr(v.data)
            if v.label and r is not CONSTANT:
                n = names.new(label_identifier(v.label) or "c")
                header.append(f"    {n} = {literal}")
                expr[v] = n
            else:
                expr[v] = literal if v.data >= 0.0 else f"({literal})"
            continue
        assert r is not None
        args = [expr[c] for c in v.inputs]
        text = _render(r, r.code, args, "", funcs.get(r, ""))
        simple = "{f}" not in r.code and all(_is_atom(a) for a in args)
        if v is not root and not v.label and (refs[v] <= 1 or (refs[v] == 2 and simple)):
            expr[v] = text
            continue
        if v.label:
            n = names.new(label_identifier(v.label) or "t")
        else:
            temp += 1
            n = names.new(f"t{temp}")
        lines.append(f"    {n} = {text}")
        expr[v] = n
    root_name = expr[root] if _is_atom(expr[root]) else "out"

    # Backward: each node's gradient is the sum of its consumers' contributions.
    lines.append(f"    # backward: d{root_name}_dv = Σ over consumers of upstream · local")
    contrib: dict[Value, list[str]] = {v: [] for v in order}
    contrib[root].append("1")
    grad_expr: dict[Value, str] = {}
    for v in order:
        if not needs[v] or not contrib[v]:
            continue
        g = " + ".join(contrib[v])
        r = v._rule
        live = [j for j, c in enumerate(v.inputs) if needs[c]]
        if v in index or (v.label and v is not root) or (len(live) > 1 and not _is_atom(g)):
            # d<root>_d<the node's own name in the forward code>
            stem = expr[v] if expr[v].isidentifier() else label_identifier(v.label)
            n = names.new(f"d{root_name}_d{stem}" if stem else f"d{root_name}_dt")
            lines.append(f"    {n} = {g}")
            g = n
        grad_expr[v] = g
        if r is None or not live:
            continue
        args = [expr[c] for c in v.inputs]
        for j in live:
            template = r.code_grads[0 if r.arity is None else j]
            local = _render(r, template, args, expr[v], funcs.get(r, ""))
            contrib[v.inputs[j]].append(_times(g, local))
    outs = [grad_expr.get(v, "0.0") for v in inputs]
    unpack = f"    ({', '.join(input_names)},) = _in" if inputs else "    pass"
    value = expr[root]
    source = "\n".join(
        ["def replay(_in):", unpack, *header, *lines,
         f"    return {value}, ({', '.join(outs)}{',' if len(outs) == 1 else ''})", ""]
    )
    code = compile(source, f"<scalargrad.compile {root_name}>", "exec")
    exec(code, namespace)
    return Compiled(source, namespace["replay"], inputs, input_names, root.label or root_name)


def _value_of(rule: Rule) -> Callable[..., float]:
    """The forward value of ``rule`` (its domain errors included)."""
    forward = rule.forward

    def value(*xs: float) -> float:
        out = forward(*xs)[0]
        if out - out != 0.0:
            raise DomainError(f"{rule.name}: result {out!r} is not a finite float")
        return out

    value.__name__ = rule.name
    return value
