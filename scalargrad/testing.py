"""Gradient checks and Hypothesis strategies for your own property tests.

Three tools for checking a derivation against the engine::

    from scalargrad.testing import gradcheck, assert_grads_equal, chains

``gradcheck(fn, inputs)`` compares every input's gradient from ``backward()``
with a central finite difference ``(f(x + h) − f(x − h)) / 2h``.
``assert_grads_equal(engine, formula)`` compares the engine's grads with your
hand formula and names each label that disagrees. The Hypothesis strategies
:func:`expressions`, :func:`chains` and :func:`networks` draw random graphs,
the notes' one-neuron-per-layer chain and many-neuron networks, so a property
test of the notes' formula takes five lines::

    @given(chains(min_depth=1, max_depth=6))
    def test_notes_formula(ex):
        c = ex.build(); c.cost.backward()
        a, z = c.a[-1].data, c.z[-1].data                    # a^(L), z^(L)
        assert_grads_equal(c.w[-1:], [2 * (a - ex.y) * sigmoid_prime(z) * c.a[-2].data])

(``sigmoid_prime`` from :mod:`scalargrad.formulas`, or written by hand.)

Hypothesis is optional: this module imports it only when a strategy function
is called (install the ``test`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from . import nn
from .engine import Number, Value, sum_values
from .rules import DomainError

if TYPE_CHECKING:
    from hypothesis.strategies import DrawFn, SearchStrategy

__all__ = [
    "OPS",
    "ChainExample",
    "Expression",
    "ExpressionGraph",
    "GradcheckResult",
    "InputCheck",
    "NetworkExample",
    "NetworkGraph",
    "Record",
    "assert_grads_equal",
    "chains",
    "expressions",
    "gradcheck",
    "networks",
]

_EPS = 2.0**-52  # float64 machine epsilon: the relative rounding error of one operation

# --- gradcheck -----------------------------------------------------------------


@dataclass(frozen=True)
class InputCheck:
    """The check of one input.

    Attributes:
        index: The input's position in ``inputs``.
        name: Its label (or mapping key), else ``inputs[i]``.
        value: The input's value ``x``.
        analytic: ``∂f/∂x`` from ``backward()``.
        numeric: The central difference, or None when it could not be taken.
        status: ``"ok"``, ``"mismatch"``, ``"kink"`` (not smooth within 2h of
            x: not checked) or ``"domain"`` (f undefined within 2h of x: not
            checked).
        note: One line explaining the status.
    """

    index: int
    name: str
    value: float
    analytic: float
    numeric: float | None
    status: str
    note: str

    def line(self) -> str:
        """Returns this check as one report line."""
        mark = {"ok": "ok  ", "mismatch": "FAIL"}.get(self.status, "SKIP")
        return f"  {mark} {self.name} = {self.value:.10g}: {self.note}"


@dataclass(frozen=True)
class GradcheckResult:
    """What :func:`gradcheck` found; truthy when no input's gradient disagrees.

    Inputs that could not be checked (a kink or the edge of the domain within
    ``2h``) do not make the result false; they are listed in
    :attr:`inconclusive` and in the report. ``assert_ok(strict=True)`` also
    fails on them.

    Attributes:
        checks: One :class:`InputCheck` per input, in order.
        output: ``f`` at the given inputs.
        eps: The relative step used.
        rtol: The relative tolerance used.
        atol: The absolute tolerance used.
    """

    checks: tuple[InputCheck, ...]
    output: float
    eps: float
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        """True when no input's gradient disagrees with its central difference."""
        return not self.mismatches

    @property
    def mismatches(self) -> tuple[InputCheck, ...]:
        """The inputs whose gradients disagree."""
        return tuple(c for c in self.checks if c.status == "mismatch")

    @property
    def inconclusive(self) -> tuple[InputCheck, ...]:
        """The inputs that could not be checked (kink or domain edge)."""
        return tuple(c for c in self.checks if c.status in ("kink", "domain"))

    def __bool__(self) -> bool:
        return self.ok

    def report(self) -> str:
        """Returns a readable report: a summary line, then one line per input."""
        n, bad, skip = len(self.checks), len(self.mismatches), len(self.inconclusive)
        head = "gradcheck " + ("FAILED" if bad else "inconclusive" if skip else "passed") + ": "
        parts = [f"{bad} of {n} inputs disagree" if bad else f"{n - skip} of {n} inputs agree"]
        if skip:
            parts.append(f"{skip} not checked")
        settings = (
            f"(central differences, eps={self.eps:g}, rtol={self.rtol:g}, atol={self.atol:g})"
        )
        lines = [head + ", ".join(parts) + " " + settings, *(c.line() for c in self.checks)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def assert_ok(self, *, strict: bool = False) -> None:
        """Raises AssertionError with the report unless every gradient agrees.

        Args:
            strict: Also fail when some input could not be checked.
        """
        if self.mismatches or (strict and self.inconclusive):
            raise AssertionError(self.report())


def _normalise_inputs(
    inputs: Sequence[Value | Number] | Mapping[str, Value | Number], what: str
) -> tuple[list[str], list[float], list[str]]:
    """Returns (display names, values, leaf labels) for gradcheck's inputs."""
    if isinstance(inputs, (str, bytes)):
        raise TypeError(f"{what}: inputs must be a sequence or mapping of numbers, not a str")
    if isinstance(inputs, Mapping):
        keyed = [(str(k), v) for k, v in inputs.items()]
    elif isinstance(inputs, Sequence):
        keyed = [("", v) for v in inputs]
    else:
        raise TypeError(
            f"{what}: inputs must be a sequence or mapping, not {type(inputs).__name__}"
        )
    if not keyed:
        raise ValueError(f"{what}: inputs is empty")
    values, labels = [], []
    for i, (key, v) in enumerate(keyed):
        if isinstance(v, Value):
            values.append(v.data)
            labels.append(key or v.label)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{what}: inputs[{i}] must be a number or a Value, not {v!r}")
        elif not math.isfinite(v):
            raise ValueError(f"{what}: inputs[{i}] must be finite, got {v!r}")
        else:
            values.append(float(v))
            labels.append(key)
    plain = [lab or f"inputs[{i}]" for i, lab in enumerate(labels)]
    names = [f"{n} (inputs[{i}])" if plain.count(n) > 1 else n for i, n in enumerate(plain)]
    return names, values, labels


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Value | Number] | Mapping[str, Value | Number],
    *,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> GradcheckResult:
    """Checks ``backward()`` against central finite differences at one point.

    ``fn`` is called with one fresh leaf Value per input (positionally) and
    must return a Value ``f``. For each input ``x_i`` with step
    ``h = eps·max(1, |x_i|)`` the numeric derivative is the central difference
    ``(f(x_i + h) − f(x_i − h)) / 2h``, whose error is about ``h²·f'''/6``. The
    gradient agrees when ``|analytic − numeric| ≤ atol + rtol·|numeric|`` plus
    the difference's own rounding error (about ``ε·|f|/h``).

    Kinks are handled honestly: when the two disagree, ``f`` is also evaluated
    at ``x ± 2h``. On a smooth stretch the third and fourth differences
    ``Δ³, Δ⁴`` of these five values are of order ``h³f'''`` and ``h⁴f''''``;
    if ``(|Δ³| + |Δ⁴|)/h`` exceeds the tolerance, ``f`` is not smooth at the
    scale of ``h`` (a relu or abs kink within ``2h``, or curvature too large
    for ``eps``) and the input is reported as "too close to a
    non-differentiable point" instead of as a failure. A DomainError from a
    perturbed evaluation (``log`` of ``x − h ≤ 0``) is reported the same way.

    Args:
        fn: A function of Values returning a Value.
        inputs: The point: a sequence of numbers or Values (only their
            ``data`` and ``label`` are used; the caller's Values are not
            touched), or a mapping from label to number or Value. Values
            that ``fn`` captures itself are constants here (their grads do
            accumulate from the one ``backward()`` call).
        eps: The relative finite-difference step.
        rtol: Relative tolerance.
        atol: Absolute tolerance.

    Returns:
        A :class:`GradcheckResult`: truthy when every gradient agrees, with a
        ``report()`` naming each input and an ``assert_ok()``.

    Raises:
        TypeError: ``fn`` does not return a Value, or an input is not a number.
        DomainError: ``fn`` is undefined at the given point itself.

    Example:
        >>> gradcheck(lambda w, a: (w * a).sigmoid(), [0.5, 2.0]).ok
        True
    """
    for name, tol in (("eps", eps), ("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < math.inf:
            raise ValueError(f"gradcheck: {name} must be a finite number ≥ 0, got {tol!r}")
    if eps <= 0:
        raise ValueError(f"gradcheck: eps must be > 0, got {eps!r}")
    names, xs, labels = _normalise_inputs(inputs, "gradcheck")

    def call(point: Sequence[float]) -> Value:
        out = fn(*[Value(x, lab) for x, lab in zip(point, labels)])
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
        return out

    leaves = [Value(x, lab) for x, lab in zip(xs, labels)]
    try:
        out = fn(*leaves)
    except DomainError as err:
        raise DomainError(f"gradcheck: fn is undefined at the given inputs: {err}") from None
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__} ({out!r})")
    out.backward()
    checks = [
        _check_one(call, xs, i, names[i], leaves[i].grad, out.data, eps, rtol, atol)
        for i in range(len(xs))
    ]
    return GradcheckResult(tuple(checks), out.data, float(eps), float(rtol), float(atol))


def _check_one(
    call: Callable[[Sequence[float]], Value],
    xs: list[float],
    i: int,
    name: str,
    analytic: float,
    f0: float,
    eps: float,
    rtol: float,
    atol: float,
) -> InputCheck:
    x = xs[i]
    h = eps * max(1.0, abs(x))
    h = (x + h) - x  # a step that is exactly representable around x
    f: dict[int, float] = {0: f0}

    def at(k: int) -> float:
        if k not in f:
            point = list(xs)
            point[i] = x + k * h
            f[k] = call(point).data
        return f[k]

    def skip(status: str, numeric: float | None, note: str) -> InputCheck:
        return InputCheck(i, name, x, analytic, numeric, status, note)

    try:
        numeric = (at(1) - at(-1)) / (2 * h)
        noise = 2 * _EPS * max(abs(v) for v in f.values()) / h
        tol = atol + rtol * abs(numeric)
        err = abs(analytic - numeric)
        if err <= tol + noise:
            note = f"backward() {analytic:.10g} ≈ central difference {numeric:.10g}"
            return skip("ok", numeric, note)
        d3 = at(2) - 2 * at(1) + 2 * at(-1) - at(-2)
        d4 = at(2) - 4 * at(1) + 6 * f0 - 4 * at(-1) + at(-2)
    except DomainError as e:
        return skip("domain", None, f"not checked: fn is undefined within 2h = {2 * h:.3g} ({e})")
    noise = 2 * _EPS * max(abs(v) for v in f.values()) / h
    if (abs(d3) + abs(d4)) / h > tol + 30 * noise:
        right, left = (at(1) - f0) / h, (f0 - at(-1)) / h
        return skip(
            "kink", numeric,
            f"not checked: too close to a non-differentiable point (f is not smooth within "
            f"2h = {2 * h:.3g}: a kink, or too curved for this eps; one-sided differences "
            f"{left:.6g} left, {right:.6g} right; backward() gave {analytic:.6g})",
        )
    return skip(
        "mismatch", numeric,
        f"backward() gives {analytic:.10g} but the central difference is {numeric:.10g} "
        f"(|difference| {err:.3g} > allowed {tol + noise:.3g})",
    )


# --- assert_grads_equal --------------------------------------------------------


def _named_numbers(
    values: Sequence[Value | Number] | Mapping[str, Value | Number], what: str, use_grad: bool
) -> tuple[list[str], list[float], bool]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, Mapping)):
        raise TypeError(f"assert_grads_equal: {what} must be a sequence or mapping, "
                        f"not {type(values).__name__}")
    is_map = isinstance(values, Mapping)
    items = list(values.items()) if isinstance(values, Mapping) else [("", v) for v in values]
    names, nums = [], []
    for i, (key, v) in enumerate(items):
        if isinstance(v, Value):
            if not use_grad:
                raise TypeError(f"assert_grads_equal: {what}[{i}] is a Value; give plain floats")
            names.append(str(key) or v.label or f"[{i}]")
            nums.append(v.grad)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"assert_grads_equal: {what}[{key or i}] must be a number, not {v!r}")
        else:
            names.append(str(key) or f"[{i}]")
            nums.append(float(v))
    return names, nums, is_map


def assert_grads_equal(
    engine_values: Sequence[Value | Number] | Mapping[str, Value | Number],
    formula_values: Sequence[Number] | Mapping[str, Number],
    *,
    rtol: float = 1e-7,
    atol: float = 1e-10,
) -> None:
    """Asserts that the engine's gradients equal hand-formula values.

    Args:
        engine_values: Values (their ``.grad`` is compared, named by label) or
            plain floats; a sequence, or a mapping from name to Value/float.
        formula_values: The hand formula's floats: a sequence in the same
            order, or a mapping from name (label) to float, matched by name.
        rtol: Relative tolerance (relative to the formula value).
        atol: Absolute tolerance.

    Raises:
        AssertionError: Some value disagrees; the message is a table naming
            every entry with both numbers.
        ValueError: The two do not have the same entries.
    """
    names, got, _ = _named_numbers(engine_values, "engine_values", True)
    fnames, want, fmap = _named_numbers(formula_values, "formula_values", False)
    if fmap:
        table = dict(zip(fnames, want))
        missing = [n for n in names if n not in table]
        extra = [n for n in fnames if n not in names]
        if missing or extra:
            raise ValueError(
                f"assert_grads_equal: names differ: no formula for {missing}, "
                f"no engine value for {extra}"
            )
        want = [table[n] for n in names]
    elif len(want) != len(got):
        raise ValueError(
            f"assert_grads_equal: {len(got)} engine values but {len(want)} formula values"
        )
    bad = [
        not (abs(g - w) <= atol + rtol * abs(w)) for g, w in zip(got, want)
    ]  # `not <=` also catches NaN
    if any(bad):
        width = max(len(n) for n in [*names, "name"])
        rows = [f"  {'name':<{width}}  {'engine':>22}  {'formula':>22}  {'difference':>10}"]
        for n, g, w, b in zip(names, got, want, bad):
            rows.append(f"  {n:<{width}}  {g:>22.15g}  {w:>22.15g}  {abs(g - w):>10.3g}"
                        + ("  ✗" if b else ""))
        raise AssertionError(
            f"{sum(bad)} of {len(bad)} gradients disagree with the formula "
            f"(rtol={rtol:g}, atol={atol:g}):\n" + "\n".join(rows)
        )


# --- random expressions --------------------------------------------------------

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


def _sig(t: float) -> float:
    return 1 / (1 + math.exp(-t)) if t >= 0 else math.exp(t) / (1 + math.exp(t))


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
    "sigmoid": _Op(1, lambda iv, c: True, lambda x, c: (_sig(x[0][0]), _sig(x[0][1])),
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


def _operand_ok(op: str, pos: int, iv: Interval, c: float | None) -> bool:
    if op == "div":
        return _mag(iv) <= 100 if pos == 0 else _away(iv, 0.1)
    return OPS[op].ok(iv, c)


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
            node = OPS[rec.op].build([nodes[i] for i in rec.args], rec.exponent)
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
        vs = ", ".join(f"{n}={v!r}" for n, v in zip(self.names, self.values))
        lines = [
            f"{self.node_name(len(self.names) + r)} = "
            + OPS[rec.op].text.format(*map(self.node_name, rec.args),
                                      c=f"{rec.exponent:g}" if rec.exponent is not None else "")
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


# --- Hypothesis strategies (Hypothesis is imported only when they are called) ----


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

    if value is None:
        return default
    if isinstance(value, st.SearchStrategy):
        return value.map(lambda x: number(x, True))
    if isinstance(value, (list, tuple)) and any(isinstance(v, st.SearchStrategy) for v in value):
        raise InvalidArgument(f"{name}: give either a value or a strategy, not a mix of both")
    return st.just(number(value, False))


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
        ops: Op names to draw from (default: all of :data:`OPS`).
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
    unknown = [o for o in op_names if o not in OPS]
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
            if all(any(_operand_ok(o, p, iv, c) for iv in ivs) for p in range(OPS[o].arity))
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
            for p in range(OPS[op].arity):
                eligible = [i for i, iv in enumerate(ivs) if _operand_ok(op, p, iv, c)]
                k = arg_is[p] % len(eligible)  # the first operand is one of the three
                args.append(eligible[-1 - k if p == 0 else k])  # newest nodes: deep graphs
            records.append(Record(op, tuple(args), c))
            ivs.append(OPS[op].interval([ivs[i] for i in args], c))
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
