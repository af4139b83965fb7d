"""Derivation checks: is a hand-derived ∂f/∂x right? Hypothesis finds the smallest counterexample.

``check_derivative(f, wrt, claim)`` draws points with Hypothesis, compares
the claimed derivative with the engine's gradient at each, and on a
disagreement shrinks the point to the simplest one it can find (round
numbers, ends of ranges) and explains the engine's chain rule there, so the
student sees which factor their formula is missing::

    >>> r = check_derivative("(sigmoid(w*a + b) - y)**2", "w",
    ...                      "2*(sigmoid(w*a + b) - y)*a", seed=1)
    >>> r.ok, r.counterexample
    (False, {'w': 0.0, 'a': 1.0, 'b': 0.0, 'y': 0.0})
    >>> r.claimed, r.actual      # σ'(z) = 1/4 at z = 0 was forgotten
    (1.0, 0.25)

Agreement means ``|claimed − actual| ≤ RTOL·max(|claimed|, |actual|) +
ATOL·M`` with ``RTOL = 1e-7``, ``ATOL = 1e-10`` and ``M`` the largest of 1,
``|claimed|``, ``|actual|`` and every variable's ``|value|`` at the point
(an absolute floor scaled to the magnitudes involved, for claims that are
exactly 0 and sums that cancel; ``|f|`` itself is left out, since adding a
constant to ``f`` changes no derivative). Points where ``f`` or the claim is
undefined (``log`` of a negative number, division by 0, overflow) are
skipped and counted, never reported as counterexamples; when more than half
of the drawn points are skipped the verdict is "inconclusive". Points where
``f`` is not differentiable in ``wrt`` (a relu at 0: the one-sided slopes
differ) are skipped the same way when the claim disagrees there, since there
is no derivative to disagree with; the engine's value at a kink is one
one-sided choice. A kink is found by its scale, not by how near ``x`` is to 0:
the slopes must differ at steps down to the spacing of floats at the point
(``relu(x)`` at ``x = -1e-7`` has slope 0 and a claim of 1 fails there). When
the rounding of ``f`` hides the finest steps (``3 + relu(x)`` near 0) such a
point cannot be told from a kink and the verdict is "inconclusive", never
"holds". A check draws at most :data:`MAX_DRAWN` variables and
:data:`MAX_EXAMPLES` points; ranges may not have subnormal ends.

The run is reproducible: the result records its ``seed``; ``seed=None``
picks one at random, except under ``CI=true`` where it is 0.
"""

from __future__ import annotations

import inspect
import math
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..engine import Value
from ..errors import CheckArgumentError, TooManyPathsError
from ..explanations import explain
from ..notation import derivative_text, format_number
from ..parse import ParsedExpression, parse
from ..rules import DomainError

__all__ = [
    "ATOL",
    "DEFAULT_RANGE",
    "MAX_DRAWN",
    "MAX_EXAMPLES",
    "RTOL",
    "CheckArgumentError",
    "DerivativeCheck",
    "check_derivative",
    "kink_at",
    "pick_seed",
]

RTOL = 1e-7
"""Relative tolerance between the claimed and the engine's derivative."""
ATOL = 1e-10
"""Absolute floor, multiplied by the largest magnitude at the point (see the module doc)."""
DEFAULT_RANGE = (-3.0, 3.0)
"""The range a variable is drawn from when ``ranges`` does not name it."""
MAX_EXAMPLES = 100_000
"""The most points one check draws (``examples``)."""
MAX_DRAWN = 400
"""The most variables one check draws at once (fixed ones do not count): Hypothesis's
buffer for one point holds about this many floats, beyond which every draw is refused."""
_SMALLEST_NORMAL = 2.0**-1022
_MAX_PATHS = 200  # the explanation lists at most this many chain-rule paths

Range = tuple[float, float]


@dataclass(frozen=True)
class DerivativeCheck:
    """The verdict of :func:`check_derivative` on one claimed derivative.

    Truthy exactly when the claim held at every checked point.

    Attributes:
        expression: The expression ``f`` (its text, or the callable's name).
        wrt: The variable the derivative is taken with respect to.
        claim: The claimed derivative (its text, or the callable's name).
        verdict: ``"holds"``, ``"fails"`` (a counterexample was found) or
            ``"inconclusive"`` (more than half of the points were skipped).
        points_checked: Distinct drawn points where both ``f`` and the claim
            were defined and agreed (before the first counterexample, if any).
        skipped: Distinct drawn points where ``f`` or the claim was undefined.
        counterexample: The shrunk point where they disagree, by name, or None.
        claimed: The claim's value at the counterexample, or None.
        actual: The engine's ``∂f/∂wrt`` at the counterexample, or None.
        explanation: The engine's chain rule for ``∂f/∂wrt`` at the
            counterexample (the ``explain`` text), or ``""``.
        ranges: Each variable's range ``(lo, hi)``; ``lo == hi`` is a fixed value.
        seed: The seed of the run (pass it again to reproduce it).
        examples: The number of points asked for.
        unresolved: Skipped points where the claim disagrees and the slopes of
            ``f`` differ at every step its rounding lets show, down to a step
            still wider than the spacing of floats there: a kink or a point
            right next to one, which floats cannot tell apart. Any makes the
            verdict ``"inconclusive"`` (never ``"holds"``).
        drawn: The points Hypothesis drew before a counterexample, repeats
            included (``points_checked + skipped`` are the distinct ones).
    """

    expression: str
    wrt: str
    claim: str
    verdict: str
    points_checked: int
    skipped: int
    counterexample: dict[str, float] | None
    claimed: float | None
    actual: float | None
    explanation: str
    ranges: dict[str, Range] = field(repr=False)
    seed: int = field(repr=False)
    examples: int = field(repr=False)
    unresolved: int = field(default=0, repr=False)
    drawn: int = field(default=0, repr=False)

    @property
    def ok(self) -> bool:
        """True when the claim agreed with the engine at every checked point."""
        return self.verdict == "holds"

    def __bool__(self) -> bool:
        return self.ok

    def _ranges_text(self) -> str:
        parts = [
            f"{n} = {_num(lo)}" if lo == hi else f"{n} in [{_num(lo)}, {_num(hi)}]"
            for n, (lo, hi) in self.ranges.items()
        ]
        return ", ".join(parts) or "no variables"

    def _drawn_text(self) -> str:
        """Why fewer distinct points than asked for: repeats, or the ranges held no more."""
        distinct = self.points_checked + self.skipped
        if not self.drawn or distinct >= self.examples:
            return ""
        if all(lo == hi for lo, hi in self.ranges.values()):
            return ("\n  (every variable is fixed: there is one point to check, "
                    f"of the {self.examples} asked for)")
        parts = [f"{distinct} distinct of the {self.examples} asked for"]
        if self.drawn < self.examples:
            parts.append(f"Hypothesis stopped after {self.drawn} draws, having drawn every "
                         "point it makes from these ranges")
        if self.drawn > distinct:
            k = self.drawn - distinct
            parts.append(f"{k} draw{'s' * (k != 1)} repeated a point already drawn")
        return f"\n  ({'; '.join(parts)})"

    def report(self) -> str:
        """Returns the verdict as text: one line when it holds, the counterexample otherwise."""
        d = derivative_text("f", self.wrt)
        head = f"{d} = {self.claim}"
        skipped = (f", {self.skipped} skipped (undefined or not differentiable there)"
                   if self.skipped else "")
        settings = f"{self._ranges_text()}; seed {self.seed}"
        if self.verdict == "holds":
            n = self.points_checked
            return (f"{head}\n  holds at {n} point{'s' * (n != 1)}{skipped} ({settings})"
                    f"{self._drawn_text()}")
        if self.verdict == "inconclusive" and self.unresolved:
            k = self.unresolved
            return (
                f"{head}\n  inconclusive: at {k} point{'s' * (k != 1)} the claim disagrees "
                f"with the engine where f looks like it has a kink at every step its rounding "
                f"lets show, so a kink there cannot be told from a point next to one "
                f"({self.points_checked} checked{skipped}; {settings}).\n"
                f"  Move the ranges off the kink, or subtract the large constant from f "
                f"(its rounding hides the fine steps)."
            )
        if self.verdict == "inconclusive":
            return (
                f"{head}\n  inconclusive: {self.skipped} of {self.skipped + self.points_checked}"
                f" drawn points were outside the domain of f or of the claim (or at a kink), "
                f"{self.points_checked} checked ({settings}).\n"
                f"  Give ranges inside the domain, e.g. x=0.1..3 for log(x)."
            )
        assert self.counterexample is not None
        point = ", ".join(f"{n} = {_num(v)}" for n, v in self.counterexample.items())
        return "\n".join([
            head,
            f"  FAILS at {point}",
            f"    your formula gives {_num(self.claimed)}",
            f"    the engine gives   {_num(self.actual)}",
            "  The engine's chain rule at this point:",
            *(f"    {line}" for line in self.explanation.splitlines()),
            f"  (the simplest counterexample Hypothesis found; {self.points_checked} "
            f"point{'s' * (self.points_checked != 1)} agreed before it{skipped})",
            f"  ({settings})",
        ])

    def __str__(self) -> str:
        return self.report()

    def assert_ok(self) -> None:
        """Raises AssertionError with :meth:`report` unless the claim held."""
        if not self.ok:
            raise AssertionError(self.report())


def _num(x: float | None) -> str:
    """A number of the report, to read back: the one number format's 10-digit constant."""
    if x is None:
        return "?"
    return format_number(x, constant=True, digits=10, minus="-")


# --- the two sides: f (engine) and the claim (plain numbers) --------------------------


class _Side:
    """``f`` or the claim: its variable names and how to evaluate it at a point."""

    def __init__(self, what: str, thing: Any) -> None:
        self.what = what
        self.expression: ParsedExpression | None = None
        self.function: Callable[..., Any] | None = None
        self.positional: tuple[str, ...] = ()
        self.any_names = False
        if isinstance(thing, str):
            self.expression = parse(thing)
            self.names: tuple[str, ...] = self.expression.variables
            self.text = self.expression.text
        elif callable(thing):
            self.function = thing
            self.text = getattr(thing, "__name__", repr(thing))
            if self.text == "<lambda>":
                self.text = f"the {what} function"
            try:
                params = list(inspect.signature(thing).parameters.values())
            except (TypeError, ValueError):
                raise CheckArgumentError(
                    f"check_derivative: cannot read the parameter names of {what} {thing!r}"
                ) from None
            kinds = inspect.Parameter
            self.any_names = any(p.kind == kinds.VAR_KEYWORD for p in params)
            self.positional = tuple(p.name for p in params if p.kind == kinds.POSITIONAL_ONLY)
            self.names = tuple(
                p.name for p in params
                if p.kind not in (kinds.VAR_KEYWORD, kinds.VAR_POSITIONAL)
                and p.default is inspect.Parameter.empty
            )
        else:
            raise CheckArgumentError(
                f"check_derivative: {what} must be an expression string or a function, "
                f"not {type(thing).__name__} ({thing!r})"
            )

    def call(self, point: Mapping[str, Any]) -> Any:
        assert self.function is not None
        names = point if self.any_names else {n: point[n] for n in self.names}
        args = [names[n] for n in self.positional]
        kwargs = {n: v for n, v in names.items() if n not in self.positional}
        return self.function(*args, **kwargs)


def _engine(f: _Side, wrt: str, point: Mapping[str, float]) -> tuple[Value, Value]:
    """Builds ``f`` at the point and runs backward; returns (root, the wrt leaf)."""
    if f.expression is not None:
        root, leaves = f.expression.evaluate({n: point[n] for n in f.names})
    else:
        leaves = {n: Value(x, n) for n, x in point.items()}
        root = f.call(leaves)
        if not isinstance(root, Value):
            raise CheckArgumentError(
                f"check_derivative: f must return a Value built from its arguments, "
                f"got {type(root).__name__} ({root!r})"
            )
    root.backward()
    return root, leaves[wrt]


def _claimed(claim: _Side, point: Mapping[str, float]) -> float:
    if claim.expression is not None:
        value, _ = claim.expression.evaluate({n: point[n] for n in claim.names})
        return value.data
    out = claim.call(point)
    if isinstance(out, Value):
        out = out.data
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        raise CheckArgumentError(
            f"check_derivative: the claim must return a number, got {type(out).__name__} "
            f"({out!r})"
        )
    return float(out)


class _Undefined(Exception):
    """f or the claim is undefined at this point (the point is skipped)."""


def _compare(f: _Side, wrt: str, claim: _Side, point: Mapping[str, float]) -> tuple[
        float, float, float]:
    """Returns (claimed, actual, allowed difference) at a point, or raises _Undefined."""
    try:
        _, leaf = _engine(f, wrt, point)
        claimed = _claimed(claim, point)
    except (DomainError, ZeroDivisionError, OverflowError) as err:
        raise _Undefined(str(err)) from None
    except ValueError as err:
        if "math domain error" in str(err):  # a claim function using math.log(-1) …
            raise _Undefined(str(err)) from None
        raise
    actual = leaf.grad
    if not (math.isfinite(actual) and math.isfinite(claimed)):
        raise _Undefined("not finite")
    scale = max(1.0, abs(claimed), abs(actual), *(abs(x) for x in point.values()))
    return claimed, actual, RTOL * max(abs(claimed), abs(actual)) + ATOL * scale


def _value(f: _Side, point: Mapping[str, float]) -> float:
    """``f`` at a point, forward only."""
    if f.expression is not None:
        return f.expression.evaluate({n: point[n] for n in f.names})[0].data
    root = f.call({n: Value(x, n) for n, x in point.items()})
    return root.data if isinstance(root, Value) else math.nan


_EPS = 2.0**-52  # the relative rounding of one float operation (twice, to be safe)
_TINY = 2.0**-1074  # the absolute rounding of a subnormal result
_SMOOTH, _KINK, _UNRESOLVED = "smooth", "kink", "unresolved"


def _kink(f: _Side, wrt: str, point: Mapping[str, float]) -> str:
    """Is ``f`` differentiable in ``wrt`` at the point (see :func:`kink_at`)."""
    return kink_at(lambda t: _value(f, {**point, wrt: t}), point[wrt])[0]


def kink_at(value: Callable[[float], float], x: float) -> tuple[str, float]:
    """Is ``value`` differentiable at ``x``: "smooth", "kink" or "unresolved", and a step.

    The gap between the one-sided slopes ``(f(x + h) − f(x))/h`` and
    ``(f(x) − f(x − h))/h`` is about ``h·f''`` where ``f`` is smooth, so it
    shrinks tenfold with ``h``; at a kink it stays the jump in the slope. Near
    a kink (relu(x) at x = 10⁻⁷, the kink 10⁻⁷ away) the gap stays while ``h``
    spans the kink and closes once ``h`` is shorter than the distance to it,
    so a gap that does not shrink from ``h = 10⁻⁴·max(1, |x|)`` to ``h/10`` is
    followed down to the finest step where the rounding of ``f`` still lets
    it show, and down to the spacing of floats at ``x`` (``ulp(x)``; for
    x = 0 the smallest normal float), below which there is no other point.
    This is the one kink test of the package: ``check_derivative`` and
    :func:`~scalargrad.testing.gradcheck` both use it.

    Args:
        value: ``f`` as a function of the one variable (the others fixed).
        x: The point.

    Returns:
        The verdict — ``"smooth"`` when the slopes agree at some step (a
        counterexample can be reported); ``"kink"`` when they differ down to
        ``ulp(x)`` (there is no derivative to disagree with); ``"unresolved"``
        when they differ at every step the rounding of ``f`` allows but those
        stop above ``ulp(x)`` (``3 + relu(x)`` near 0: a kink within ~10⁻¹⁴
        or one at ``x``, which floats cannot tell apart) — and the last step
        tried (for ``"smooth"``: one at which ``f`` looked smooth).
    """
    floor = math.ulp(x) if x else 2.0**-1022
    h = 1e-4 * max(1.0, abs(x))
    try:
        f0 = value(x)

        def at(h: float) -> tuple[float, float, float]:
            """(gap between the slopes, its rounding error, the largest |f|) for step h."""
            up, down = x + h, x - h
            if up - down == math.inf:
                raise OverflowError("x ± h is not a finite float")
            hr, hl = up - x, x - down  # the steps actually taken (exact)
            lo, hi = value(down), value(up)
            m = max(abs(f0), abs(lo), abs(hi))
            gap = abs((hi - f0) / hr - (f0 - lo) / hl)
            return gap, (4 * _EPS * m + 64 * _TINY) / min(hl, hr), m

        g0, _, _ = at(h)
        h /= 10
        g, noise, m = at(h)
        if not (g > 10 * noise and 0.5 * g0 < g < 2 * g0):
            # the gap shrinks with h (smooth), or grows like 1/h: the rounding of f, larger
            # than its size suggests ((x + 1e6) − 1e6), not a kink, whose gap stays the jump
            return _SMOOTH, h
        while h > floor:
            # the finest step at which a gap of g stands 40× above the rounding of f
            finer = max(floor, 40 * (4 * _EPS * m + 64 * _TINY) / g)
            if finer > h / 2 and finer > floor:  # (at the floor: the last step, taken)
                return _UNRESOLVED, h  # rounding hides whatever is closer to x
            gf, noise, mf = at(finer)
            if gf < 0.5 * g:  # the gap closed: the kink is elsewhere, f is smooth at x
                return (_SMOOTH if 20 * noise < g else _UNRESOLVED), finer
            if gf <= 10 * noise:
                return _UNRESOLVED, finer
            if gf > 2 * g:  # grows as h shrinks: rounding, not a kink (see above)
                return _SMOOTH, finer
            h, g, m = finer, gf, mf
        return _KINK, h
    except (DomainError, ZeroDivisionError, OverflowError):
        return _SMOOTH, h  # the edge of the domain is not a kink: the point stays


# --- arguments --------------------------------------------------------------------------


def _ranges(names: tuple[str, ...], ranges: Mapping[str, Any] | None) -> dict[str, Range]:
    out = {n: DEFAULT_RANGE for n in names}
    if ranges is None:
        return out
    if not isinstance(ranges, Mapping):
        raise CheckArgumentError(
            f"check_derivative: ranges must map names to (lo, hi) or a number, "
            f"not {type(ranges).__name__}"
        )
    for name, r in ranges.items():
        if name not in out:
            raise CheckArgumentError(
                f"check_derivative: ranges names {name!r}, which is not a variable of the "
                f"expression (it uses {', '.join(names) or 'no variables'})"
            )
        lo_hi = (r, r) if _is_number(r) else r
        if (
            not isinstance(lo_hi, (tuple, list)) or len(lo_hi) != 2
            or not all(_is_number(v) and math.isfinite(v) for v in lo_hi)
        ):
            raise CheckArgumentError(
                f"check_derivative: the range of {name} must be (lo, hi) or a number, "
                f"both finite, got {r!r}"
            )
        lo, hi = float(lo_hi[0]), float(lo_hi[1])
        for v in (lo, hi):
            if v and abs(v) < _SMALLEST_NORMAL:
                smallest = format_number(_SMALLEST_NORMAL, minus="-")  # 2.225e-308
                raise CheckArgumentError(
                    f"check_derivative: the range of {name} has the subnormal float {v!r} "
                    f"(nonzero but smaller than {smallest} in size), where floats "
                    f"lose precision and the checker does not draw; use 0 or a number of at "
                    f"least {smallest} in size"
                )
        if lo > hi:
            raise CheckArgumentError(
                f"check_derivative: the range of {name} is empty: lo = {lo:g} > hi = {hi:g}"
            )
        out[name] = (lo, hi)
    return out


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float))


def pick_seed(seed: int | None = None) -> int:
    """Returns ``seed``, or for None a random one (0 under ``CI``, for deterministic runs).

    Raises:
        CheckArgumentError: ``seed`` is not an int.
    """
    if seed is None:
        return 0 if os.environ.get("CI") else random.randrange(2**32)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CheckArgumentError(f"check_derivative: seed must be an int, got {seed!r}")
    return seed


# --- the check --------------------------------------------------------------------------


def check_derivative(
    f: str | Callable[..., Value],
    wrt: str,
    claim: str | Callable[..., float],
    *,
    ranges: Mapping[str, tuple[float, float] | float] | None = None,
    examples: int = 200,
    seed: int | None = None,
) -> DerivativeCheck:
    """Checks a claimed derivative ``∂f/∂wrt`` against the engine at points Hypothesis draws.

    Each point gives every variable a value from its range. At each, ``f`` is
    built and ``backward()`` run; the claim is evaluated on plain numbers.
    On the first disagreement Hypothesis shrinks the point to the simplest
    it can (integers, range ends, fewer non-zero values), and the result
    holds the claim's and the engine's values there and the engine's
    chain-rule explanation. See the module doc for the tolerance and skips.

    Args:
        f: The expression: a string for :func:`scalargrad.parse.parse`
            (``"(sigmoid(w*a + b) - y)**2"``), or a function taking one
            Value per variable, by parameter name, and returning a Value.
        wrt: The variable to differentiate with respect to.
        claim: The claimed ``∂f/∂wrt``: a string in the same language using
            only ``f``'s variables, or a function taking floats by name
            (any subset of ``f``'s variables) and returning a number.
        ranges: Per variable, ``(lo, hi)`` to draw from or a number to fix it
            (default ``[-3, 3]`` for every variable).
        examples: How many points to draw (at most; fewer when a range is fixed).
        seed: Makes the run reproducible; None picks one (0 under ``CI``).

    Returns:
        A :class:`DerivativeCheck` with ``.ok``, the counts, the
        counterexample, both values, the explanation and ``assert_ok()``.

    Raises:
        scalargrad.parse.ParseError: ``f`` or the claim is not a valid expression.
        CheckArgumentError: ``wrt``, the claim's or the ranges' names are not
            ``f``'s variables; a range, ``examples`` or ``seed`` is invalid;
            ``f`` does not return a Value or the claim a number.
        ImportError: Hypothesis is not installed (the message says how to install it).
    """
    try:
        from hypothesis import HealthCheck, Phase, find, settings
        from hypothesis import strategies as st
        from hypothesis.errors import NoSuchExample, Unsatisfiable
    except ImportError:
        raise ImportError(
            "check_derivative needs Hypothesis to draw and shrink the points: "
            "pip install hypothesis (or the package's test extra, "
            "pip install 'scalargrad-backprop[test]')"
        ) from None

    side_f = _Side("f", f)
    side_c = _Side("claim", claim)
    names = side_f.names
    if not isinstance(wrt, str) or wrt not in names:
        raise CheckArgumentError(
            f"check_derivative: wrt={wrt!r} is not a variable of the expression "
            f"(it uses {', '.join(names) or 'no variables'})"
        )
    foreign = [n for n in side_c.names if n not in names]
    if foreign:
        raise CheckArgumentError(
            f"check_derivative: the claim uses {', '.join(foreign)}, which the expression "
            f"does not have (it uses {', '.join(names)})"
        )
    if (isinstance(examples, bool) or not isinstance(examples, int)
            or not 1 <= examples <= MAX_EXAMPLES):
        raise CheckArgumentError(
            f"check_derivative: examples must be a whole number from 1 to {MAX_EXAMPLES:,}, "
            f"got {examples!r}"
        )
    bounds = _ranges(names, ranges)
    drawn = [n for n, (lo, hi) in bounds.items() if lo != hi]
    if len(drawn) > MAX_DRAWN:
        raise CheckArgumentError(
            f"check_derivative: {len(drawn)} variables are drawn, more than the {MAX_DRAWN} "
            f"one check can draw at once (Hypothesis's buffer for a point holds about that "
            f"many floats); fix the others to a value (ranges={{name: value}}, NAME=VALUE "
            f"on the command line)"
        )
    run_seed = pick_seed(seed)

    # One evaluation at the middle of the ranges turns a wrong f or claim (not a
    # Value, not a number, a TypeError inside) into a clear error before Hypothesis runs.
    middle = {n: lo / 2 + hi / 2 for n, (lo, hi) in bounds.items()}  # (lo + hi) may overflow
    try:
        _compare(side_f, wrt, side_c, middle)
    except _Undefined:
        pass
    except CheckArgumentError:
        raise
    except Exception as err:
        raise CheckArgumentError(
            f"check_derivative: evaluating f or the claim at {middle} raised "
            f"{type(err).__name__}: {err}"
        ) from err

    strategy = st.fixed_dictionaries({
        n: st.just(lo) if lo == hi else st.floats(
            lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
        for n, (lo, hi) in bounds.items()
    })
    counts = {"checked": 0, "skipped": 0, "unresolved": 0, "drawn": 0}
    found = [False]

    seen: set[tuple[float, ...]] = set()  # Hypothesis may replay a point: count it once

    def disagrees(point: dict[str, float]) -> bool:
        key = tuple(point[n] for n in bounds)
        counts["drawn"] += not found[0]
        new = not found[0] and key not in seen
        seen.add(key)
        try:
            claimed, actual, allowed = _compare(side_f, wrt, side_c, point)
        except _Undefined:
            counts["skipped"] += new
            return False
        bad = not abs(claimed - actual) <= allowed
        if bad:
            where = _kink(side_f, wrt, point)
            if where != _SMOOTH:  # no derivative here to disagree with, or none floats can see
                counts["skipped"] += new
                counts["unresolved"] += new and where == _UNRESOLVED
                return False
        counts["checked"] += new and not bad
        found[0] = found[0] or bad
        return bad

    run_settings = settings(
        max_examples=examples, database=None, deadline=None, derandomize=False,
        phases=[Phase.generate, Phase.shrink],  # no explain phase: it costs 20× the shrink
        suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
    )

    def result(verdict: str, point: dict[str, float] | None = None, claimed: float | None = None,
               actual: float | None = None, explanation: str = "") -> DerivativeCheck:
        return DerivativeCheck(
            expression=side_f.text, wrt=wrt, claim=side_c.text, verdict=verdict,
            points_checked=counts["checked"], skipped=counts["skipped"], counterexample=point,
            claimed=claimed, actual=actual, explanation=explanation, ranges=bounds,
            seed=run_seed, examples=examples, unresolved=counts["unresolved"],
            drawn=counts["drawn"],
        )

    try:
        point = find(strategy, disagrees, settings=run_settings,
                     random=random.Random(run_seed))
    except Unsatisfiable as err:  # every draw refused (a guard: MAX_DRAWN keeps this away)
        raise CheckArgumentError(
            f"check_derivative: Hypothesis could not draw points for {len(drawn)} variables "
            f"({err}); fix some of them to a value"
        ) from None
    except NoSuchExample:
        clear = counts["skipped"] <= counts["checked"] and not counts["unresolved"]
        return result("holds" if clear else "inconclusive")
    claimed, actual, _ = _compare(side_f, wrt, side_c, point)
    root, leaf = _engine(side_f, wrt, point)
    if not root.label:
        root.label = "f"
    try:
        text = str(explain(root, leaf, max_paths=_MAX_PATHS))
    except TooManyPathsError as err:
        text = str(err)
    except ValueError:  # wrt does not reach f: its gradient is 0
        text = f"{derivative_text('f', wrt)} = 0: f does not depend on {wrt}"
    return result("fails", {n: point[n] for n in bounds}, claimed, actual, text)
