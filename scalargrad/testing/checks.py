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
from .derivation import kink_at

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
    for ``eps``). Then the package's one kink test
    (:func:`scalargrad.testing.derivation.kink_at`, which follows the slopes
    down to the spacing of floats at ``x``) decides whether ``x`` itself is a
    kink. If it is not (relu at ``1e-6`` or ``1e-300``: the kink at 0 is
    nearer than ``2h``), the comparison is repeated at finer steps, and a
    wrong gradient there is a mismatch; otherwise (or when a finer step
    agrees) the input is reported as "too close to a non-differentiable
    point", not checked at this ``eps``, never as passed. A DomainError from
    a perturbed evaluation (``log`` of ``x − h ≤ 0``) is reported likewise.

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

    def value(t: float) -> float:
        """``f`` with input ``i`` at ``t`` (the others as given)."""
        if t == x:
            return f0
        point = list(xs)
        point[i] = t
        return call(point).data

    def skip(status: str, numeric: float | None, note: str) -> InputCheck:
        return InputCheck(i, name, x, analytic, numeric, status, note)

    try:
        status, numeric, allowed, f = _judge(value, x, h, f0, analytic, rtol, atol)
    except DomainError as e:
        return skip("domain", None, f"not checked: fn is undefined within 2h = {2 * h:.3g} ({e})")
    if status == "ok":
        note = f"backward() {analytic:.10g} ≈ central difference {numeric:.10g}"
        return skip("ok", numeric, note)
    if status == "mismatch":
        return skip(
            "mismatch", numeric,
            f"backward() gives {analytic:.10g} but the central difference is {numeric:.10g} "
            f"(|difference| {abs(analytic - numeric):.3g} > allowed {allowed:.3g})",
        )
    # f is not smooth within 2h. Whether x itself is a kink is derivation's one scale-aware
    # test (down to the spacing of floats at x); when it is not (relu at 1e-6 or 1e-300, the
    # kink at 0 closer than 2h), the derivative is checked at finer steps that miss the kink.
    right, left = (f[1] - f0) / h, (f0 - f[-1]) / h
    where, step = kink_at(value, x)
    if where == "kink" and status == "spanning":  # |x| at 0: backward()'s 0 is the mean slope
        note = (f"backward() {analytic:.10g} ≈ central difference {numeric:.10g} (x is a "
                f"kink: the mean of the one-sided slopes {left:.6g} and {right:.6g})")
        return skip("ok", numeric, note)
    finer = ""
    if where == "smooth":
        tried = sorted({c for c in (h / 10, eps * abs(x), step) if 0 < c < h}, reverse=True)
        tried += [tried[-1] / 4**k for k in range(1, 5)] if tried else []
        for s in tried:
            s = (x + s) - x
            if not s > 0:
                continue
            try:
                got, num, allowed, _ = _judge(value, x, s, f0, analytic, rtol, atol)
            except DomainError:
                break
            if got == "mismatch":
                return skip(
                    "mismatch", num,
                    f"backward() gives {analytic:.10g} but the central difference is "
                    f"{num:.10g} at h = {s:.3g} (|difference| {abs(analytic - num):.3g} > "
                    f"allowed {allowed:.3g}; f is not smooth within 2h = {2 * h:.3g} of x "
                    f"but is at x, so the step was made finer)",
                )
            if got == "ok":
                finer = (f"; at the finer step h = {s:.3g}, which misses it, backward() agrees "
                         f"with the central difference {num:.10g}")
                break
    what = {"kink": "f has a kink at x (the one-sided slopes differ down to the spacing of "
                    "floats)",
            "unresolved": "the rounding of f hides whether x itself is a kink"}.get(
                where, "a kink, or too curved for this eps")
    return skip(
        "kink", numeric,
        f"not checked: too close to a non-differentiable point (f is not smooth within "
        f"2h = {2 * h:.3g}: {what}; one-sided differences {left:.6g} left, {right:.6g} "
        f"right; backward() gave {analytic:.6g}{finer})",
    )


def _judge(value: Callable[[float], float], x: float, h: float, f0: float, analytic: float,
           rtol: float, atol: float) -> tuple[str, float, float, dict[int, float]]:
    """The central difference at step ``h`` against ``analytic``: status, numeric, allowed, f.

    The status is ``"ok"``, ``"mismatch"``, ``"rough"`` (they disagree, and
    ``f`` is not smooth at the scale of ``h``) or ``"spanning"`` (they agree,
    but ``f`` is not smooth at that scale, so the agreement may be the mean of
    the slopes on the two sides of a kink). When the two disagree, or the
    one-sided slopes do, ``f`` is also evaluated at ``x ± 2h``; on a smooth
    stretch the third and fourth differences ``Δ³, Δ⁴`` are of order
    ``h³f'''`` and ``h⁴f''''``, so ``(|Δ³| + |Δ⁴|)/h`` above the tolerance
    means ``f`` is not smooth there. ``f`` maps k to ``f(x + k·h)`` for the k used.
    """
    f = {0: f0, 1: value(x + h), -1: value(x - h)}
    numeric = (f[1] - f[-1]) / (2 * h)
    noise = 2 * _EPS * max(abs(v) for v in f.values()) / h
    tol = atol + rtol * abs(numeric)
    agrees = abs(analytic - numeric) <= tol + noise
    # agreeing, and the one-sided slopes agree too (they differ by about h·f''): smooth
    if agrees and abs(f[1] - 2 * f0 + f[-1]) / h <= tol + 2 * noise:
        return "ok", numeric, tol + noise, f
    f[2], f[-2] = value(x + 2 * h), value(x - 2 * h)
    d3 = f[2] - 2 * f[1] + 2 * f[-1] - f[-2]
    d4 = f[2] - 4 * f[1] + 6 * f0 - 4 * f[-1] + f[-2]
    noise5 = 2 * _EPS * max(abs(v) for v in f.values()) / h
    if (abs(d3) + abs(d4)) / h > tol + 30 * noise5:
        # not smooth at the scale of h; an agreeing central difference may be the mean of
        # two slopes across a kink (0.5 for relu at 1e-300), so it proves nothing
        return ("spanning" if agrees else "rough"), numeric, tol + noise5, f
    return ("ok", numeric, tol + noise, f) if agrees else ("mismatch", numeric, tol + noise5, f)


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
