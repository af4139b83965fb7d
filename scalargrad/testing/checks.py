"""Gradient checks: ``gradcheck`` (central differences) and ``assert_grads_equal``.

``gradcheck(fn, inputs)`` compares every input's gradient from ``backward()``
with a central finite difference ``(f(x + h) − f(x − h)) / 2h`` and is honest
about kinks and domain edges. ``assert_grads_equal(engine, formula)`` compares
the engine's grads with your hand formula and names each label that disagrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..engine import Number, Value
from ..rules import DomainError

__all__ = ["GradcheckResult", "InputCheck", "assert_grads_equal", "gradcheck"]

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
