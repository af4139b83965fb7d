"""The one hand-written sympy oracle of every op: what each op computes, written in sympy.

Written by hand from the ops' mathematical definitions, never read from the
rule table, so tests that compare the engine with sympy compare it with an
independent source. ``tests/test_registry.py`` fails when a built-in op has no
entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import sympy

# Each op as a sympy function of its inputs (pow takes its constant exponent last).
SYMPY: dict[str, Callable[..., sympy.Expr]] = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "neg": lambda x: -x,
    "square": lambda x: x**2,
    "sigmoid": lambda x: 1 / (1 + sympy.exp(-x)),
    "tanh": lambda x: sympy.tanh(x),
    "relu": lambda x: sympy.Max(0, x),
    "exp": lambda x: sympy.exp(x),
    "log": lambda x: sympy.log(x),
    "pow": lambda x, c: x ** sympy.nsimplify(c),
    "sum": lambda *xs: sympy.Add(*xs),
    "affine": lambda *xs: sympy.Add(*(w * a for w, a in zip(xs[0:-1:2], xs[1:-1:2])), xs[-1]),
}

# The smooth ops of one or two inputs, each with its arity (what test_forms checks).
FIXED_ARITY = {
    "add": 2, "sub": 2, "mul": 2, "div": 2, "neg": 1, "square": 1, "sigmoid": 1, "tanh": 1,
    "exp": 1, "log": 1,
}


def forward_in(x: sympy.Symbol, y: sympy.Symbol) -> dict[str, sympy.Expr]:
    """The forward expressions of the one- and two-input smooth ops over ``x`` and ``y``."""
    return {name: SYMPY[name](*(x, y)[:n]) for name, n in FIXED_ARITY.items()}


def expression_to_sympy(
    names: Sequence[str], records: Sequence[tuple[str, tuple[int, ...], float | None]],
    extra: Mapping[str, Callable[..., sympy.Expr]] | None = None,
) -> tuple[sympy.Expr, list[sympy.Symbol]]:
    """A drawn expression (variables, then ``(op, args, exponent)`` records) in sympy, op by op.

    Args:
        names: The variables' labels.
        records: The nodes, in build order (the last is the root).
        extra: Oracles of further ops (those a test defines with ``define_op``).
    """
    table = {**SYMPY, **(extra or {})}
    xs = list(sympy.symbols(" ".join(names) + " _", real=True))[: len(names)]
    nodes: list[sympy.Expr] = list(xs)
    for op, args, exponent in records:
        a = [nodes[i] for i in args]
        if op not in table:
            raise AssertionError(f"no sympy oracle for op {op!r}")
        if op == "pow":
            assert exponent is not None
            a.append(exponent)
        nodes.append(table[op](*a))
    return nodes[-1], xs
