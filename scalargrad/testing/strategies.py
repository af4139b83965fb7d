"""Hypothesis strategies: :func:`expressions`, :func:`chains` and :func:`networks`.

Hypothesis is optional: this module imports it only when a strategy function
is called (install the ``test`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import nn
from .examples import (
    OPS,
    POW_EXPONENTS,
    ChainExample,
    Expression,
    Interval,
    NetworkExample,
    Record,
    _operand_ok,
    op_entry,
)

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

__all__ = ["chains", "expressions", "networks"]

def _strategy(value: Any, name: str, default: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """A value → ``just(value)``; a strategy as is; None → ``default``."""
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, st.SearchStrategy) for v in value):
        raise InvalidArgument(f"{name}: give either a value or a strategy, not a mix of both")
    return st.just(value)


def _example_strategies(
    weights: Any, biases: Any, x: Any, y: Any, activation: Any,
) -> tuple[SearchStrategy[float], SearchStrategy[float], SearchStrategy[float],
           SearchStrategy[float], SearchStrategy[str]]:
    """The draws shared by :func:`chains` and :func:`networks`.

    Defaults: weights, biases and inputs in [−2, 2], targets in [0, 1], sigmoid.
    """
    from hypothesis import strategies as st

    return (
        _number_strategy(weights, "weights", _floats(-2, 2)),
        _number_strategy(biases, "biases", _floats(-2, 2)),
        _number_strategy(x, "x", _floats(-2, 2)),
        _number_strategy(y, "y", _floats(0, 1)),
        _strategy(activation, "activation", st.just("sigmoid")),
    )


def _number_strategy(
    value: Any, name: str, default: SearchStrategy[float],
) -> SearchStrategy[float]:
    """A finite number → ``just(value)``; a strategy → its draws, each checked; None → ``default``.

    Raises:
        InvalidArgument: ``value`` is neither a finite real number nor a strategy.
    """
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    def number(x: Any, drawn: bool) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            source = f"the strategy for {name} drew" if drawn else "got"
            raise InvalidArgument(
                f"{name} must be a finite number or a strategy of finite numbers; {source} {x!r}"
            )
        return float(x)

    if isinstance(value, st.SearchStrategy):
        return value.map(lambda x: number(x, True))
    plain = _strategy(value, name, default)  # None: the default; a mix of both is refused
    return plain if value is None else st.just(number(value, False))


def _check_range(name: str, lo: Any, hi: Any, least: int) -> None:
    from hypothesis.errors import InvalidArgument

    for n, v in ((f"min_{name}", lo), (f"max_{name}", hi)):
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise InvalidArgument(f"{n} must be an int ≥ {least}, got {v!r}")
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo!r} is larger than max_{name}={hi!r}")


def _floats(lo: float, hi: float) -> SearchStrategy[float]:
    from hypothesis import strategies as st

    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)


def _check_activation(activation: Any) -> None:
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    if not isinstance(activation, (str, st.SearchStrategy)):
        raise InvalidArgument(
            f"activation must be an activation name or a strategy of names, got {activation!r}"
        )
    if isinstance(activation, str) and activation not in nn.ACTIVATIONS:
        raise InvalidArgument(
            f"unknown activation {activation!r} (must be one of {sorted(nn.ACTIVATIONS)})"
        )


def _defined(op: object) -> bool:
    """True for a callable op of the table outside :data:`OPS` (one of ``define_op``)."""
    try:
        op_entry(op)  # type: ignore[arg-type]
    except (KeyError, TypeError):
        return False
    return True


def _live(nvars: int, records: list[Record]) -> tuple[Record, ...]:
    """Drops records that do not feed the root (the last), renumbering the rest."""
    n = nvars + len(records)
    live = [i < nvars for i in range(n)]
    live[-1] = True
    for i in range(n - 1, nvars - 1, -1):
        if live[i]:
            for a in records[i - nvars].args:
                live[a] = True
    new_index: dict[int, int] = {}
    for i in range(n):
        if live[i]:
            new_index[i] = len(new_index)
    return tuple(
        Record(r.op, tuple(new_index[a] for a in r.args), r.exponent)
        for i, r in enumerate(records, nvars) if live[i]
    )


def expressions(
    *,
    min_nodes: int = 1,
    max_nodes: int = 8,
    variables: int | Sequence[str] = 2,
    ops: Sequence[str] | None = None,
    min_value: float = -2.0,
    max_value: float = 2.0,
) -> SearchStrategy[Expression]:
    """A strategy for random expressions (DAGs) over a few variables.

    Each of the ``min_nodes … max_nodes`` op nodes applies an op to earlier
    nodes (variables or ops) chosen freely, so reuse (``x·x``), shared
    subexpressions and diamonds appear naturally; nodes that do not feed the
    root are dropped. Each op's domain is kept by
    construction: an operand is eligible only if its value lies in the op's
    domain for *every* choice of variables in ``[min_value, max_value]``
    (interval arithmetic; see :data:`OPS`), so no draw raises DomainError and
    gradcheck's small perturbations stay inside. Shrinks towards fewer nodes,
    the first op in ``ops`` and the earliest operands.

    Args:
        min_nodes: Fewest op nodes drawn (≥ 1).
        max_nodes: Most op nodes drawn. Nodes that do not lead to the root
            (the last one) are dropped, so an expression may have fewer.
        variables: The number of variables (labelled ``x0, x1, …``) or their labels.
        ops: Op names to draw from (default: all of :data:`OPS`); an op made by
            :func:`scalargrad.define_op` is drawn where its forward succeeds
            (see :func:`~scalargrad.testing.examples.op_entry`).
        min_value: Smallest variable value (≥ −100).
        max_value: Largest variable value (≤ 100).

    Returns:
        A strategy of :class:`Expression`.
    """
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    _check_range("nodes", min_nodes, max_nodes, 1)
    if isinstance(variables, int) and not isinstance(variables, bool):
        if variables < 1:
            raise InvalidArgument(f"variables must be ≥ 1, got {variables!r}")
        names = tuple(f"x{i}" for i in range(variables))
    elif isinstance(variables, Sequence) and not isinstance(variables, str) and variables and all(
        isinstance(n, str) and n for n in variables
    ) and len(set(variables)) == len(variables):
        names = tuple(variables)
    else:
        raise InvalidArgument(
            f"variables must be a count or distinct non-empty labels, got {variables!r}"
        )
    if isinstance(ops, str):
        raise InvalidArgument(
            f"ops must be a list of op names, not the string {ops!r} (did you mean ops=[{ops!r}]?)"
        )
    if ops is not None and not isinstance(ops, Sequence):
        raise InvalidArgument(f"ops must be a list of op names, got {ops!r}")
    op_names = list(OPS) if ops is None else list(ops)
    if not op_names:
        raise InvalidArgument(f"ops must name at least one op (from {list(OPS)}), got {ops!r}")
    unknown = [o for o in op_names if o not in OPS and not _defined(o)]
    if unknown:
        raise InvalidArgument(f"unknown ops {unknown!r} (must be among {list(OPS)})")
    for n, v in (("min_value", min_value), ("max_value", max_value)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not -100 <= v <= 100:
            raise InvalidArgument(f"{n} must be a number in [-100, 100], got {v!r}")
    if min_value > max_value:
        raise InvalidArgument(f"min_value={min_value!r} is larger than max_value={max_value!r}")
    margin = 1e-3 * max(1.0, abs(min_value), abs(max_value))
    leaf_iv = (min_value - margin, max_value + margin)
    choices = [(o, c) for o in op_names for c in (POW_EXPONENTS if o == "pow" else (None,))]

    def usable(ivs: list[Interval]) -> list[tuple[str, float | None]]:
        return [
            (o, c) for o, c in choices
            if all(any(_operand_ok(o, p, iv, c) for iv in ivs) for p in range(op_entry(o).arity))
        ]

    if not usable([leaf_iv]):
        raise InvalidArgument(
            f"none of the ops {op_names} can be applied to variables in "
            f"[{min_value}, {max_value}] within their domains"
        )

    # Each record is drawn as raw integers and read relative to the nodes before it
    # (op = usable[i % n], operand = eligible[j % n]), so the records form a plain
    # list that Hypothesis shrinks by deleting any record, not only the last. Small
    # numbers pick the first op, the newest node as first operand (a chain) and
    # the oldest nodes (the variables) as further operands.
    raw = st.tuples(
        st.integers(0, 255), st.tuples(st.integers(0, 2), st.integers(0, 255), st.integers(0, 255))
    )

    @st.composite
    def draw_expression(draw: DrawFn) -> Expression:
        values = tuple(draw(_floats(min_value, max_value)) for _ in names)
        ivs = [leaf_iv] * len(names)
        records = []
        for op_i, arg_is in draw(st.lists(raw, min_size=min_nodes, max_size=max_nodes)):
            ops_now = usable(ivs)
            op, c = ops_now[op_i % len(ops_now)]
            args = []
            for p in range(op_entry(op).arity):
                eligible = [i for i, iv in enumerate(ivs) if _operand_ok(op, p, iv, c)]
                k = arg_is[p] % len(eligible)  # the first operand is one of the three
                args.append(eligible[-1 - k if p == 0 else k])  # newest nodes: deep graphs
            records.append(Record(op, tuple(args), c))
            ivs.append(op_entry(op).interval([ivs[i] for i in args], c))
        return Expression(names, values, _live(len(names), records))

    return draw_expression()


def chains(
    min_depth: int = 1,
    max_depth: int = 6,
    *,
    weights: float | SearchStrategy[float] | None = None,
    biases: float | SearchStrategy[float] | None = None,
    x: float | SearchStrategy[float] | None = None,
    y: float | SearchStrategy[float] | None = None,
    activation: str | SearchStrategy[str] = "sigmoid",
) -> SearchStrategy[ChainExample]:
    """A strategy for the notes' one-neuron-per-layer chain and one example.

    Args:
        min_depth: Fewest layers ``L`` (≥ 1).
        max_depth: Most layers.
        weights: Each ``w^(l)``: a number or a strategy (default floats in [−2, 2]).
        biases: Each ``b^(l)``: a number or a strategy (default floats in [−2, 2]).
        x: The input ``a^(0)``: a number or a strategy (default floats in [−2, 2]).
        y: The target: a number or a strategy (default floats in [0, 1]).
        activation: An activation name or a strategy of names.

    Returns:
        A strategy of :class:`ChainExample`; ``.build()`` gives the :class:`scalargrad.nn.Chain`.
    """
    from hypothesis import strategies as st

    _check_range("depth", min_depth, max_depth, 1)
    _check_activation(activation)
    ws, bs, xs, target, act = _example_strategies(weights, biases, x, y, activation)

    @st.composite
    def draw_chain(draw: DrawFn) -> ChainExample:
        depth = draw(st.integers(min_depth, max_depth))
        w = tuple(float(draw(ws)) for _ in range(depth))
        b = tuple(float(draw(bs)) for _ in range(depth))
        return ChainExample(w, b, float(draw(xs)), float(draw(target)), draw(act))

    return draw_chain()


def networks(
    *,
    min_layers: int | None = None,
    max_layers: int | None = None,
    min_width: int | None = None,
    max_width: int | None = None,
    widths: Sequence[int] | SearchStrategy[Sequence[int]] | None = None,
    weights: float | SearchStrategy[float] | None = None,
    biases: float | SearchStrategy[float] | None = None,
    x: float | SearchStrategy[float] | None = None,
    y: float | SearchStrategy[float] | None = None,
    activation: str | SearchStrategy[str] = "sigmoid",
    half: bool = False,
) -> SearchStrategy[NetworkExample]:
    """A strategy for many-neuron networks ``w_jk^(l)``, ``b_j^(l)`` with one example.

    Give either ``widths`` (``(n_0, n_1, …, n_L)`` including the input width,
    or a strategy of such) or the ranges ``min_layers``/``max_layers``
    (default 1, 3) and ``min_width``/``max_width`` (default 1, 3), not both.

    Args:
        min_layers: Fewest layers ``L``.
        max_layers: Most layers.
        min_width: Narrowest layer (and input).
        max_width: Widest layer (and input).
        widths: Fixed widths, or a strategy of them.
        weights: Each ``w_jk^(l)``: a number or a strategy (default floats in [−2, 2]).
        biases: Each ``b_j^(l)``: a number or a strategy (default floats in [−2, 2]).
        x: Each input ``a_k^(0)``: a number or a strategy (default floats in [−2, 2]).
        y: Each target ``y_j``: a number or a strategy (default floats in [0, 1]).
        activation: An activation name or a strategy of names.
        half: Use the cost ``½‖a − y‖²``.

    Returns:
        A strategy of :class:`NetworkExample`; ``.build()`` uses
        :meth:`scalargrad.nn.MLP.from_weights` and :func:`scalargrad.nn.squared_error`.
    """
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    ranges = (min_layers, max_layers, min_width, max_width)
    if widths is not None and any(r is not None for r in ranges):
        raise InvalidArgument("give either widths or min/max layers and widths, not both")
    _check_activation(activation)
    if widths is None:
        lo_l, hi_l = min_layers or 1, max_layers or 3
        lo_w, hi_w = min_width or 1, max_width or 3
        _check_range("layers", lo_l, hi_l, 1)
        _check_range("width", lo_w, hi_w, 1)
        shape: SearchStrategy[Sequence[int]] = st.lists(
            st.integers(lo_w, hi_w), min_size=lo_l + 1, max_size=hi_l + 1
        )
    elif isinstance(widths, st.SearchStrategy):
        shape = widths
    else:
        if len(widths) < 2 or not all(isinstance(n, int) and n >= 1 for n in widths):
            raise InvalidArgument(f"widths must be ≥ 2 positive ints (n_0 … n_L), got {widths!r}")
        shape = st.just(tuple(widths))
    ws, bs, xs, target, act = _example_strategies(weights, biases, x, y, activation)

    @st.composite
    def draw_network(draw: DrawFn) -> NetworkExample:
        n = tuple(draw(shape))
        w = tuple(
            tuple(tuple(float(draw(ws)) for _ in range(n[lay])) for _ in range(n[lay + 1]))
            for lay in range(len(n) - 1)
        )
        b = tuple(tuple(float(draw(bs)) for _ in range(n[lay + 1])) for lay in range(len(n) - 1))
        xv = tuple(float(draw(xs)) for _ in range(n[0]))
        yv = tuple(float(draw(target)) for _ in range(n[-1]))
        return NetworkExample(n, w, b, xv, yv, draw(act), half)

    return draw_network()
