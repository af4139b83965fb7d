"""The drawn examples: random expressions over :data:`OPS`, the notes' chain and networks.

These are plain frozen dataclasses (no Hypothesis needed): an
:class:`Expression` is variable values plus ``(op, earlier nodes)`` records;
a :class:`ChainExample` is the notes' one-neuron-per-layer chain and a
:class:`NetworkExample` a many-neuron network ``w_jk^(l)``, each with one
example. Each builds a fresh graph (``build()``) and can be called on Values
(for :func:`scalargrad.testing.gradcheck`). The strategies in
:mod:`scalargrad.testing.strategies` draw them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import nn
from ..engine import Number, Value, sum_values
from ..formulas import sigmoid
from ..notation import format_number
from ..ops import apply_rule
from ..rules import RULES, DomainError

__all__ = [
    "OPS",
    "POW_EXPONENTS",
    "ChainExample",
    "Expression",
    "ExpressionGraph",
    "NetworkExample",
    "NetworkGraph",
    "Record",
    "op_entry",
]

_LIMIT = 1e4  # every drawn node stays within ±_LIMIT for all variables in range
Interval = tuple[float, float]


def _mag(iv: Interval) -> float:
    return max(abs(iv[0]), abs(iv[1]))


def _away(iv: Interval, d: float) -> bool:
    return iv[0] >= d or iv[1] <= -d


def _sq(iv: Interval) -> Interval:
    lo, hi = iv
    return (min(lo * lo, hi * hi), _mag(iv) ** 2) if lo > 0 or hi < 0 else (0.0, _mag(iv) ** 2)


def _mul_iv(a: Interval, b: Interval) -> Interval:
    ps = [a[0] * b[0], a[0] * b[1], a[1] * b[0], a[1] * b[1]]
    return min(ps), max(ps)


class _Op(NamedTuple):
    arity: int
    ok: Callable[[Interval, float | None], bool]  # may this node be an operand?
    interval: Callable[[list[Interval], float | None], Interval]
    build: Callable[[list[Value], float | None], Value]
    text: str


def _pow_iv(xs: list[Interval], c: float | None) -> Interval:
    lo, hi = xs[0]
    assert c is not None
    if c == 2:
        return _sq(xs[0])
    if c == -1:
        return (1 / hi, 1 / lo)
    return (lo**c, hi**c)  # 3 and 0.5 are increasing on their domains


_POW_OK: dict[float, Callable[[Interval], bool]] = {
    2.0: lambda iv: _mag(iv) <= 100,
    3.0: lambda iv: _mag(iv) <= 20,
    -1.0: lambda iv: _away(iv, 0.1),
    0.5: lambda iv: iv[0] >= 0.01,
}
POW_EXPONENTS = tuple(_POW_OK)

OPS: dict[str, _Op] = {
    "add": _Op(2, lambda iv, c: _mag(iv) <= _LIMIT / 2,
               lambda x, c: (x[0][0] + x[1][0], x[0][1] + x[1][1]),
               lambda v, c: v[0] + v[1], "{0} + {1}"),
    "sub": _Op(2, lambda iv, c: _mag(iv) <= _LIMIT / 2,
               lambda x, c: (x[0][0] - x[1][1], x[0][1] - x[1][0]),
               lambda v, c: v[0] - v[1], "{0} − {1}"),
    "mul": _Op(2, lambda iv, c: _mag(iv) <= 100, lambda x, c: _mul_iv(x[0], x[1]),
               lambda v, c: v[0] * v[1], "{0}·{1}"),
    # position 0 is the numerator (|·| ≤ 100), position 1 the denominator (|·| ≥ 0.1)
    "div": _Op(2, lambda iv, c: True,
               lambda x, c: _mul_iv(x[0], (1 / x[1][1], 1 / x[1][0])),
               lambda v, c: v[0] / v[1], "{0}/{1}"),
    "neg": _Op(1, lambda iv, c: True, lambda x, c: (-x[0][1], -x[0][0]),
               lambda v, c: -v[0], "−{0}"),
    "square": _Op(1, lambda iv, c: _mag(iv) <= 100, lambda x, c: _sq(x[0]),
                  lambda v, c: v[0].square(), "{0}²"),
    "sigmoid": _Op(1, lambda iv, c: True, lambda x, c: (sigmoid(x[0][0]), sigmoid(x[0][1])),
                   lambda v, c: v[0].sigmoid(), "σ({0})"),
    "tanh": _Op(1, lambda iv, c: True, lambda x, c: (math.tanh(x[0][0]), math.tanh(x[0][1])),
                lambda v, c: v[0].tanh(), "tanh({0})"),
    "relu": _Op(1, lambda iv, c: True, lambda x, c: (max(0.0, x[0][0]), max(0.0, x[0][1])),
                lambda v, c: v[0].relu(), "relu({0})"),
    "exp": _Op(1, lambda iv, c: iv[1] <= math.log(_LIMIT),
               lambda x, c: (math.exp(x[0][0]), math.exp(x[0][1])),
               lambda v, c: v[0].exp(), "exp({0})"),
    "log": _Op(1, lambda iv, c: iv[0] >= 0.01,
               lambda x, c: (math.log(x[0][0]), math.log(x[0][1])),
               lambda v, c: v[0].log(), "log({0})"),
    "pow": _Op(1, lambda iv, c: _POW_OK[c or 0.0](iv), _pow_iv,
               lambda v, c: v[0] ** (c or 0.0), "{0}^{c}"),
    "sum": _Op(3, lambda iv, c: _mag(iv) <= _LIMIT / 3,
               lambda x, c: (sum(i[0] for i in x), sum(i[1] for i in x)),
               lambda v, c: sum_values(v), "Σ({0}, {1}, {2})"),
}
"""The ops :func:`expressions` draws from, by name, with the domain each keeps.

Every drawn node stays within ±10⁴ for every variable value in range:
``log`` and ``pow 0.5`` only take operands ≥ 0.01 everywhere, ``div``'s
denominator and ``pow −1``'s base stay ≥ 0.1 away from 0, ``exp``'s argument
≤ log(10⁴), ``mul``/``square`` operands within ±100. ``pow`` exponents are
2, 3, −1 and 0.5; ``sum`` is the engine's n-ary node over three operands.
"""


_SAMPLED: dict[str, tuple[Any, _Op]] = {}  # ops made by define_op: (rule, entry) by name


def op_entry(op: str) -> _Op:
    """The :data:`OPS` entry of an op, or one sampled from the forward of an op of ``define_op``.

    An op of :func:`scalargrad.define_op` has no interval information: it is
    drawn where its forward succeeds. An operand interval is usable when the
    forward and its local derivatives are finite and within ±10⁴ at a grid of
    points of it (every input at 5 points of it, ends included), and the
    output interval is the range at the grid of the operands' intervals,
    widened by a quarter of its width on each side.

    Raises:
        KeyError: ``op`` is neither in :data:`OPS` nor a callable op of the table.
    """
    found = OPS.get(op)
    if found is not None:
        return found
    rule = RULES.get(op)
    cached = _SAMPLED.get(op)
    if cached is not None and cached[0] is rule:
        return cached[1]
    if rule is None or not rule.callable or rule.arity is None:
        raise KeyError(op)
    n = rule.arity

    def grid(ivs: list[Interval]) -> list[tuple[float, ...]]:
        k = 5 if n <= 2 else 3
        axes = [[lo + (hi - lo) * t / (k - 1) for t in range(k)] for lo, hi in ivs]
        points: list[tuple[float, ...]] = [()]
        for axis in axes:
            points = [(*p, x) for p in points for x in axis]
        return points

    def outputs(ivs: list[Interval]) -> list[float] | None:
        outs = []
        for p in grid(ivs):
            try:
                out, grads = rule.forward(*p)
            except (DomainError, ArithmeticError, ValueError):
                return None
            if not all(abs(g) <= _LIMIT for g in grads) or not abs(out) <= _LIMIT:
                return None
            outs.append(out)
        return outs

    def ok(iv: Interval, c: float | None) -> bool:
        return _mag(iv) <= 100 and outputs([iv] * n) is not None

    def interval(xs: list[Interval], c: float | None) -> Interval:
        outs = outputs(xs) or [-_LIMIT, _LIMIT]
        lo, hi = min(outs), max(outs)
        pad = 0.25 * (hi - lo)
        return lo - pad, hi + pad

    text = rule.expr.replace("{x}", "{0}").replace("{y}", "{1}")  # past two: {0}, {1}, …
    entry = _Op(n, ok, interval, lambda v, c: apply_rule(rule, v), text)
    _SAMPLED[op] = (rule, entry)
    return entry


def _operand_ok(op: str, pos: int, iv: Interval, c: float | None) -> bool:
    if op == "div":
        return _mag(iv) <= 100 if pos == 0 else _away(iv, 0.1)
    return op_entry(op).ok(iv, c)


class Record(NamedTuple):
    """One drawn node: ``op`` applied to earlier nodes ``args`` (indices).

    Node indices count the variables first (``0 … n−1``), then the records.
    """

    op: str
    args: tuple[int, ...]
    exponent: float | None = None


class ExpressionGraph(NamedTuple):
    """A freshly built expression: the ``root``, the variable ``leaves`` and all ``nodes``."""

    root: Value
    leaves: list[Value]
    nodes: list[Value]


@dataclass(frozen=True)
class Expression:
    """A random expression: variable values plus ``(op, earlier-node indices)`` records.

    Call it like a function of Values (``expr(x0, x1)`` builds a fresh graph
    and returns its root, ready for :func:`gradcheck`), or use :meth:`build`.

    Attributes:
        names: The variables' labels.
        values: The variables' drawn values.
        records: The nodes, in build order; the last is the root.
    """

    names: tuple[str, ...]
    values: tuple[float, ...]
    records: tuple[Record, ...]

    def node_name(self, i: int) -> str:
        """Returns the label of node ``i`` (a variable's name, else ``n<i>``)."""
        return self.names[i] if i < len(self.names) else f"n{i}"

    def _build(self, inputs: Sequence[Value | Number]) -> list[Value]:
        if len(inputs) != len(self.names):
            raise TypeError(f"expression of {len(self.names)} variables called with {len(inputs)}")
        nodes = [v if isinstance(v, Value) else Value(v, n) for v, n in zip(inputs, self.names)]
        for rec in self.records:
            node = op_entry(rec.op).build([nodes[i] for i in rec.args], rec.exponent)
            nodes.append(node.label_as(self.node_name(len(nodes))))
        return nodes

    def __call__(self, *inputs: Value | Number) -> Value:
        """Builds the graph on ``inputs`` (Values or numbers) and returns the root."""
        return self._build(inputs)[-1]

    def leaves(self) -> list[Value]:
        """Returns fresh labelled leaves at the drawn values (for :func:`gradcheck`)."""
        return [Value(v, n) for v, n in zip(self.values, self.names)]

    def build(self) -> ExpressionGraph:
        """Builds a fresh graph at the drawn values."""
        leaves = self.leaves()
        nodes = self._build(leaves)
        return ExpressionGraph(nodes[-1], leaves, nodes)

    def __repr__(self) -> str:
        def _exponent(c: float | None) -> str:
            return "" if c is None else format_number(c, constant=True, minus="-")

        vs = ", ".join(f"{n}={v!r}" for n, v in zip(self.names, self.values))
        lines = [
            f"{self.node_name(len(self.names) + r)} = "
            + op_entry(rec.op).text.format(*map(self.node_name, rec.args),
                                      c=_exponent(rec.exponent))
            for r, rec in enumerate(self.records)
        ]
        return f"Expression({vs}; {'; '.join(lines)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Shows the same short text in Hypothesis's falsifying examples and IPython."""
        printer.text(repr(self))


# --- the notes' networks -------------------------------------------------------


def _net_cost(
    weights: Sequence[Sequence[Sequence[Value]]],
    biases: Sequence[Sequence[Value]],
    xs: Sequence[Value],
    ys: Sequence[Value],
    activation: str,
    half: bool,
) -> Value:
    """``C_0 = Σ_j (a_j^(L) − y_j)²`` built directly from Values (no nn classes)."""
    f = nn.ACTIVATIONS[activation]
    a = list(xs)
    single = all(len(w) == 1 for w in weights) and len(xs) == 1
    for layer, (wl, bl) in enumerate(zip(weights, biases), start=1):
        nxt = []
        for j, (row, b) in enumerate(zip(wl, bl)):
            z = sum_values([w * ak for w, ak in zip(row, a)] + [b],
                           nn.label("z", layer, j, single=single))
            out = f(z)
            if out is not z:
                out.label = nn.label("a", layer, j, single=single)
            nxt.append(out)
        a = nxt
    terms = [(aj - yj).square() for aj, yj in zip(a, ys)]
    cost = terms[0] if len(terms) == 1 else sum_values(terms)
    return (0.5 * cost if half else cost).label_as("C_0")


class NetworkGraph(NamedTuple):
    """A built network: its ``cost`` ``C_0``, the ``net`` and the input Values ``a_k^(0)``."""

    cost: Value
    net: nn.MLP
    inputs: list[Value]


@dataclass(frozen=True)
class NetworkExample:
    """A drawn many-neuron network with one example.

    Attributes:
        widths: ``(n_0, n_1, …, n_L)``: inputs, then each layer's width.
        weights: ``weights[l-1][j][k]`` is ``w_jk^(l)``.
        biases: ``biases[l-1][j]`` is ``b_j^(l)``.
        x: The input ``a^(0)``.
        y: The target.
        activation: The activation of every layer.
        half: Cost ``½‖a − y‖²`` instead of ``Σ_j (a_j − y_j)²``.
    """

    widths: tuple[int, ...]
    weights: tuple[tuple[tuple[float, ...], ...], ...]
    biases: tuple[tuple[float, ...], ...]
    x: tuple[float, ...]
    y: tuple[float, ...]
    activation: str = "sigmoid"
    half: bool = False

    @property
    def single(self) -> bool:
        """True when every width is 1 (the notes' single-neuron notation)."""
        return all(n == 1 for n in self.widths)

    def build(self) -> NetworkGraph:
        """Builds the network with :meth:`scalargrad.nn.MLP.from_weights` and its cost."""
        net = nn.MLP.from_weights(self.weights, self.biases, self.activation)
        xs = [Value(v, nn.label("a", 0, k, single=self.single)) for k, v in enumerate(self.x)]
        out = net(xs)
        cost = nn.squared_error(out, list(self.y), half=self.half)
        return NetworkGraph(cost, net, xs)

    def leaves(self) -> list[Value]:
        """Fresh labelled leaves: every ``w_jk^(l)``, every ``b_j^(l)``, ``a_k^(0)``, ``y_j``."""
        s = self.single
        return (
            [Value(w, nn.label("w", l1 + 1, j, k, single=s))
             for l1, wl in enumerate(self.weights) for j, row in enumerate(wl)
             for k, w in enumerate(row)]
            + [Value(b, nn.label("b", l1 + 1, j, single=s))
               for l1, bl in enumerate(self.biases) for j, b in enumerate(bl)]
            + [Value(v, nn.label("a", 0, k, single=s)) for k, v in enumerate(self.x)]
            + [Value(v, nn.label("y", None, j, single=s)) for j, v in enumerate(self.y)]
        )

    def __call__(self, *values: Value) -> Value:
        """Returns ``C_0`` built on Values given in :meth:`leaves` order."""
        it = iter(values)
        ws = [[[next(it) for _ in row] for row in wl] for wl in self.weights]
        bs = [[next(it) for _ in bl] for bl in self.biases]
        xs = [next(it) for _ in self.x]
        ys = [next(it) for _ in self.y]
        return _net_cost(ws, bs, xs, ys, self.activation, self.half)


@dataclass(frozen=True)
class ChainExample:
    """A drawn one-neuron-per-layer chain: ``a^(l) = f(w^(l) a^(l-1) + b^(l))``.

    Attributes:
        weights: ``w^(1) … w^(L)``.
        biases: ``b^(1) … b^(L)``.
        x: The input ``a^(0)``.
        y: The target.
        activation: The activation of every layer.
    """

    weights: tuple[float, ...]
    biases: tuple[float, ...]
    x: float
    y: float
    activation: str = "sigmoid"

    @property
    def depth(self) -> int:
        """The number of layers ``L``."""
        return len(self.weights)

    def build(self) -> nn.Chain:
        """Builds the chain with :func:`scalargrad.nn.chain` (``cost, w, b, z, a``)."""
        return nn.chain(list(self.weights), list(self.biases), self.x, self.y, self.activation)

    def leaves(self) -> list[Value]:
        """Fresh labelled leaves ``w^(1) … w^(L), b^(1) … b^(L), a^(0), y``."""
        return (
            [Value(w, f"w^({i})") for i, w in enumerate(self.weights, 1)]
            + [Value(b, f"b^({i})") for i, b in enumerate(self.biases, 1)]
            + [Value(self.x, "a^(0)"), Value(self.y, "y")]
        )

    def __call__(self, *values: Value) -> Value:
        """Returns ``C_0 = (a^(L) − y)²`` built on Values given in :meth:`leaves` order."""
        n = self.depth
        ws = [[[w]] for w in values[:n]]
        bs = [[b] for b in values[n:2 * n]]
        return _net_cost(ws, bs, [values[2 * n]], [values[2 * n + 1]], self.activation, False)
