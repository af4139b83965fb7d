"""Practice: the student computes each backward step's gradient and the library checks it.

Every step of :func:`~scalargrad.trace.backward_steps` becomes a
:class:`Question`: "what is ``∂C/∂node``?" The right answer is the step's
upstream gradient, and the chain rule says where it comes from: one term per
edge into a consumer of the node, ``∂C/∂p · ∂p/∂node``, summed (the notes'
sum over ``j``). Each term's factors are known by then: ``∂C/∂p`` was the
answer of an earlier step and ``∂p/∂node`` is the number on the arrow.

An answer is read by one small state machine, :data:`READER` (linear in the
length of what is typed; the step-through page runs the same machine from its
data). It is right when it is within a relative ``1e-3`` of the exact value
(:data:`REL_TOL`); an absolute ``1e-4`` (:data:`ABS_TOL`) counts only for a
value that is 0 in exact arithmetic (:func:`window`). A wrong answer is
compared with the usual slips (the sign, a missing local derivative, a missing
upstream factor, only one path of a sum) to say which factor is off
(:func:`judge`), and :meth:`Question.working` gives the chain-rule text with
every factor's number but not the result; a factor whose number is the answer
is named, not numbered, and no line writes the quantity asked for on its own
right-hand side, so the answer is never given away before the student asks.

Once a step is answered its worked text (:func:`worked_lines`) says what it sent
down each arrow, but never a number that is the gradient of a node whose own
question is still to come: for an input with one consumer, what it is sent *is*
its gradient. Such a line names the product and the step that asks for it.

On request (:meth:`Question.sends`) the student then computes what the
step sends down each input arrow, ``∂C/∂node · ∂node/∂input``.

The step-through page (``practice=True``) and ``scalargrad step --practice``
both ask these questions.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .engine import Value
from .notation import LOCAL_MARK, derivative_text, format_number
from .steps import Contribution, Step

__all__ = [
    "ABS_TOL",
    "READER",
    "REL_TOL",
    "Question",
    "Send",
    "Term",
    "Verdict",
    "is_right",
    "judge",
    "local_text",
    "questions",
    "read_number",
    "slip_windows",
    "step_numbers",
    "window",
    "worked_lines",
]

REL_TOL = 1e-3
"""An answer within this relative distance of the exact value is right."""
ABS_TOL = 1e-4
"""An answer within this absolute distance of 0 is right when the exact value is 0."""

_ZERO_RESIDUE = 64 * sys.float_info.epsilon
"""A sum whose size is at most this share of its terms' sizes is 0 in exact arithmetic
(what is left is the rounding of adding them up)."""

READER: dict[str, Any] = {
    "skip": " \t\u00a0\u2009\u202f",
    "minus": "\u2212",
    "classes": {**dict.fromkeys("0123456789", "digit"), "+": "sign", "-": "sign",
                ".": "dot", "e": "exp", "E": "exp", "/": "slash"},
    # state → {character class → next state}; states 0-8 read the number (or the
    # numerator), 9-17 the denominator after "/"; one sign at most before each part
    "next": [
        {"digit": 2, "sign": 1, "dot": 4},       # 0 start
        {"digit": 2, "dot": 4},                  # 1 after the sign
        {"digit": 2, "dot": 3, "exp": 6, "slash": 9},   # 2 integer digits
        {"digit": 5, "exp": 6, "slash": 9},      # 3 "12."
        {"digit": 5},                            # 4 ".", no digit yet
        {"digit": 5, "exp": 6, "slash": 9},      # 5 fraction digits
        {"digit": 8, "sign": 7},                 # 6 "e"
        {"digit": 8},                            # 7 "e-"
        {"digit": 8, "slash": 9},                # 8 exponent digits
        {"digit": 11, "sign": 10, "dot": 13},    # 9 after "/"
        {"digit": 11, "dot": 13},                # 10
        {"digit": 11, "dot": 12, "exp": 15},     # 11
        {"digit": 14, "exp": 15},                # 12
        {"digit": 14},                           # 13
        {"digit": 14, "exp": 15},                # 14
        {"digit": 17, "sign": 16},               # 15
        {"digit": 17},                           # 16
        {"digit": 17},                           # 17
    ],
    "accept": [2, 3, 5, 8, 11, 12, 14, 17],
}
"""How an answer is read, as data: the page's script runs the same machine (one pass over
the text, so reading takes time proportional to its length).

Characters in ``skip`` are dropped wherever they are, ``minus`` (U+2212, the minus the
tool prints) reads as ``-``; every other character is classed by ``classes`` (anything
else ends the reading: not a number) and moves the machine by ``next``. The text is a
number when the machine ends in an ``accept`` state: ``[sign] digits [. digits]
[e [sign] digits]``, optionally ``/`` and a second such number."""


def read_number(text: str) -> float | None:
    """Reads a student's number: ``-0.25``, ``−0.25``, ``2.5e-3``, ``1/4``, ``-3/4``.

    One pass over the text by the machine :data:`READER` (linear time, whatever is pasted).

    Returns:
        The number, or ``None`` when the text is not one (or not finite, or ``x/0``).
    """
    skip, minus = READER["skip"], READER["minus"]
    classes, table = READER["classes"], READER["next"]
    state, slash = 0, -1
    chars: list[str] = []
    for ch in text:
        if ch in skip:
            continue
        if ch == minus:
            ch = "-"
        kind = classes.get(ch)
        state = table[state].get(kind, -1) if kind is not None else -1
        if state < 0:
            return None
        if kind == "slash":
            slash = len(chars)
        chars.append(ch)
    if state not in READER["accept"]:
        return None
    clean = "".join(chars)
    if slash < 0:
        value = float(clean)
    else:
        bottom = float(clean[slash + 1:])
        if bottom == 0.0:
            return None
        value = float(clean[:slash]) / bottom
    return value if math.isfinite(value) else None


def window(answer: float, *, zero: bool = False, rel_tol: float = REL_TOL,
           abs_tol: float = ABS_TOL) -> tuple[float, float]:
    """The answers that count as ``answer``: ``[lo, hi]``.

    Within ``rel_tol`` of ``answer`` (relative); an absolute ``abs_tol`` only for a
    value that is 0 in exact arithmetic (``answer == 0``, or ``zero``: a sum that
    cancels to rounding). The page's script compares with these two numbers, so
    Python and the page agree on every answer.
    """
    half = abs_tol if zero or answer == 0.0 else rel_tol * abs(answer)
    return (answer - half, answer + half)


def is_right(value: float, answer: float, *, rel_tol: float = REL_TOL,
             abs_tol: float = ABS_TOL) -> bool:
    """True when ``value`` is in :func:`window` of ``answer``."""
    lo, hi = window(answer, rel_tol=rel_tol, abs_tol=abs_tol)
    return lo <= value <= hi


def judge(value: float, right: tuple[float, float] | list[float],
          slips: Iterable[tuple[float, float] | list[float]]) -> int | None:
    """The verdict on a number read from an answer.

    Returns:
        ``-1`` right, ``k`` the ``k``-th slip, ``None`` wrong with no slip recognised
        (the page's script does exactly this with the same windows).
    """
    if right[0] <= value <= right[1]:
        return -1
    for k, (lo, hi) in enumerate(slips):
        if lo <= value <= hi:
            return k
    return None


@dataclass(frozen=True, slots=True)
class Term:
    """One term of the chain rule for a step's node: ``∂C/∂p · ∂p/∂node``.

    Attributes:
        consumer: ``p``, a node that takes the step's node as an input.
        consumer_name: ``p``'s display name.
        step: The number (1, 2, …) of ``p``'s own step, which found ``∂C/∂p``.
        upstream: ``∂C/∂p``.
        local_grad: ``∂p/∂node``, the number on the arrow.
        formula: The rule's text of ``∂p/∂node`` with the graph's names.
        amount: ``upstream · local_grad``, what ``p``'s step sent.
        local: ``∂p/∂node`` as feedback writes it (:func:`local_text`: the symbol of
            ``p``'s step, ``∂f/∂x|local`` where it is not the total, or words where an
            unmarked ``∂root/∂node`` would be the very total asked for).
    """

    consumer: Value
    consumer_name: str
    step: int
    upstream: float
    local_grad: float
    formula: str
    amount: float
    local: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The check of one answer.

    Attributes:
        right: The answer is within the tolerance.
        message: What to tell the student (which factor is off, when it can tell).
        slip: The index of the slip recognised (in the question's ``slips``), or ``None``.
    """

    right: bool
    message: str
    slip: int | None = None


def local_text(step: Step, contribution: Contribution) -> str:
    """The local derivative ``∂node/∂input`` of one of ``step``'s arrows, as feedback writes it.

    The symbol is the steps' own (:meth:`Step.local_text`, one source): ``∂(x·y)/∂x``,
    and at the root of ``tanh(x·y) + x`` the marked ``∂f/∂x|local``. An unmarked
    ``∂root/∂input`` *is* the total derivative of the input, which is what the input's
    own question asks for: written there it would define the quantity by itself, so it is
    said in words.
    """
    symbol = step.local_text(contribution)
    if step.name == step.root_name and not symbol.endswith(LOCAL_MARK):
        return (f"(the local derivative on the arrow from {contribution.name} into "
                f"{step.name})")
    return symbol


def _short(local: str) -> str:
    """A local derivative's symbol, or "the local derivative" where it is said in words."""
    return "the local derivative" if local.startswith("(the local derivative") else local


def _in(value: float, right: tuple[float, float]) -> bool:
    return right[0] <= value <= right[1]


def _local_value(formula: str, value: float, right: tuple[float, float]) -> str:
    """A local derivative's formula and number; a number that is the answer is never shown."""
    if read_number(formula) is not None:  # the formula is a number, e.g. 1 or −0.5
        return ("a constant: how much the op's result changes per unit change of this "
                "input" if _in(value, right) else formula)
    if _in(value, right):
        return f"{formula}, at the forward values"
    return f"{formula} = {format_number(value)}"


@dataclass(frozen=True, slots=True)
class Question:
    """``∂C/∂node = ?`` for one backward step.

    Attributes:
        step: The step (its ``upstream`` is the answer).
        number: The step's number, 1 for the root.
        terms: The chain rule's terms, one per edge into a consumer, in step order.
        slips: ``(value, message)`` for each usual mistake: a wrong answer
            near ``value`` gets ``message``.
        zero: The answer is 0 in exact arithmetic (it is 0, or its terms cancel to
            rounding): then an absolute :data:`ABS_TOL` counts, not a relative one.
    """

    step: Step
    number: int
    terms: tuple[Term, ...]
    slips: tuple[tuple[float, str], ...]
    zero: bool = False

    @property
    def answer(self) -> float:
        """The right answer, ``∂C/∂node`` (the step's upstream gradient)."""
        return self.step.upstream

    @property
    def prompt(self) -> str:
        """The question: ``∂C/∂node = ?``."""
        return f"{derivative_text(self.step.root_name, self.step.name)} = ?"

    def window(self, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> tuple[float, float]:
        """The answers that are right (see :func:`window`)."""
        return window(self.answer, zero=self.zero, rel_tol=rel_tol, abs_tol=abs_tol)

    def working(self) -> list[str]:
        """The chain-rule text with the factors' numbers and without the result.

        ``∂C/∂x = ∂C/∂p · ∂p/∂x`` (one term per consumer edge, summed), then
        each factor with its number, so a student can find the factor they got
        wrong. A factor whose number is (within the tolerance) the answer is
        named, not numbered; no line defines a quantity by itself.
        """
        root, name = self.step.root_name, self.step.name
        head = derivative_text(root, name)
        if not self.terms:
            return [f"Backward starts at the cost itself: {head} asks how much {root} "
                    f"changes when {root} itself changes a little."]
        right = self.window()
        symbols = " + ".join(
            f"{derivative_text(root, t.consumer_name)} · {t.local}"
            for t in self.terms
        )
        lines = [f"{head} = {symbols}"]
        for t in self.terms:
            up = derivative_text(root, t.consumer_name)
            upstream = (f"{up} from step {t.step}" if _in(t.upstream, right)
                        else f"{up} = {format_number(t.upstream)} (step {t.step})")
            lines.append(f"  {upstream},  {_short(t.local)} = "
                         f"{_local_value(t.formula, t.local_grad, right)}")
        return lines

    def check(self, value: float, *, rel_tol: float = REL_TOL,
              abs_tol: float = ABS_TOL) -> Verdict:
        """Checks an answer; a wrong one's message says which factor is off when it can."""
        return _verdict(self, value, rel_tol, abs_tol)

    def sends(self) -> list[Send]:
        """The follow-up questions, asked on request: what the step sends down each arrow."""
        return [Send(self.step, self.number, k, _send_slips(self.step, k, self.zero),
                     self.zero or c.local_grad == 0.0)
                for k, c in enumerate(self.step.contributions)]


@dataclass(frozen=True, slots=True)
class Send:
    """What a step sends down one input arrow: ``∂C/∂node · ∂node/∂input = ?``.

    Asked on request, after the step's own gradient, for each of its arrows.

    Attributes:
        step: The step.
        number: The step's number, 1 for the root.
        index: The arrow's input position (``step.contributions[index]``).
        slips: ``(value, message)`` for each usual mistake.
        zero: The answer is 0 in exact arithmetic (a factor is), as :attr:`Question.zero`.
    """

    step: Step
    number: int
    index: int
    slips: tuple[tuple[float, str], ...]
    zero: bool = False

    @property
    def answer(self) -> float:
        """The right answer: the contribution's amount, upstream × local derivative."""
        return self.step.contributions[self.index].amount

    @property
    def prompt(self) -> str:
        """The question, e.g. ``→ w: ∂f/∂(w·a) · ∂(w·a)/∂w = ?``."""
        c = self.step.contributions[self.index]
        root, name = self.step.root_name, self.step.name
        return (f"→ {c.name}: {derivative_text(root, name)} · "
                f"{self.step.local_text(c)} = ?")

    def window(self, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> tuple[float, float]:
        """The answers that are right (see :func:`window`)."""
        return window(self.answer, zero=self.zero, rel_tol=rel_tol, abs_tol=abs_tol)

    def working(self) -> list[str]:
        """The two factors with their numbers, never their product (nor a factor equal to it)."""
        c = self.step.contributions[self.index]
        root, name = self.step.root_name, self.step.name
        right = self.window()
        up = derivative_text(root, name)
        upstream = (f"{up}: this step's gradient" if _in(self.step.upstream, right)
                    else f"{up} = {format_number(self.step.upstream)} (this step)")
        local = _short(local_text(self.step, c))
        return [f"{upstream},  {local} = {_local_value(c.formula, c.local_grad, right)}"]

    def check(self, value: float, *, rel_tol: float = REL_TOL,
              abs_tol: float = ABS_TOL) -> Verdict:
        """Checks an answer, as :meth:`Question.check` does."""
        return _verdict(self, value, rel_tol, abs_tol)


def slip_windows(item: Question | Send, *, rel_tol: float = REL_TOL,
                 abs_tol: float = ABS_TOL) -> list[tuple[float, float]]:
    """The answers that count as each of ``item``'s slips, in order."""
    return [window(v, rel_tol=rel_tol, abs_tol=abs_tol) for v, _ in item.slips]


def _verdict(item: Question | Send, value: float, rel_tol: float, abs_tol: float) -> Verdict:
    found = judge(value, item.window(rel_tol=rel_tol, abs_tol=abs_tol),
                  slip_windows(item, rel_tol=rel_tol, abs_tol=abs_tol))
    if found == -1:
        return Verdict(True, f"Right: {item.prompt[:-1]}{format_number(item.answer)}.")
    if found is not None:
        return Verdict(False, f"Not quite: you wrote {format_number(value)}. "
                              f"{item.slips[found][1]}", found)
    return Verdict(False, f"Not quite: you wrote {format_number(value)}. Check each factor:")


def _keep(out: list[tuple[float, str]], right: tuple[float, float]) -> tuple[
        tuple[float, str], ...]:
    """The slips that are slips: finite and not (close to) right themselves."""
    return tuple((v, m) for v, m in out if math.isfinite(v) and not _in(v, right))


_SIGN = "The size is right but the sign is not: check the sign of each factor."


def _one_factor(upstream: float, local_grad: float, formula: str, right: tuple[float, float],
                up: str, local: str, source: str) -> list[tuple[float, str]]:
    """The slips of a product ``up · local`` that is one factor alone (``source``: ``up``'s)."""
    formula = _local_value(formula, local_grad, right).split(" = ")[0]
    out = []
    if local_grad != 1.0:
        out.append((upstream, f"That is {up} alone: multiply it by the local derivative "
                              f"{local} = {formula}."))
    if upstream != 1.0:
        out.append((local_grad, f"That is the local derivative {local} alone: multiply it "
                                f"by {source}."))
    return out


def _send_slips(step: Step, index: int, zero: bool) -> tuple[tuple[float, str], ...]:
    c = step.contributions[index]
    right = window(c.amount, zero=zero or c.local_grad == 0.0)
    up = derivative_text(step.root_name, step.name)
    return _keep([(-c.amount, _SIGN), *_one_factor(
        step.upstream, c.local_grad, c.formula, right, up, local_text(step, c),
        f"this step's gradient {up}")], right)


def _slips(step: Step, terms: tuple[Term, ...], right: tuple[float, float]) -> tuple[
        tuple[float, str], ...]:
    """The usual mistakes for one step, as ``(value they give, what went wrong)``."""
    root, name = step.root_name, step.name
    answer = step.upstream
    out: list[tuple[float, str]] = []
    if not terms:
        out.append((0.0, f"0 would mean that {root} does not change when {root} itself "
                         f"changes."))
    if answer:
        out.append((-answer, _SIGN))
    if len(terms) == 1:
        t = terms[0]
        up = derivative_text(root, t.consumer_name)
        out += _one_factor(t.upstream, t.local_grad, t.formula, right, up, t.local,
                           f"the upstream gradient {up} from step {t.step}")
    elif terms:
        for t in terms:
            out.append((t.amount, f"That is only the term through {t.consumer_name}: {name} "
                                  f"feeds {len(terms)} arrows, add the terms of all of them "
                                  f"(the sum over j)."))
        out.append((math.fsum(t.upstream for t in terms),
                    "You added the upstream gradients but left out each local derivative."))
    # a slip that is itself (close to) right is no slip
    return _keep(out, right)


def step_numbers(steps: Iterable[Step]) -> dict[int, int]:
    """``id(node) → k`` for the node of each step (1 for the root): whose question is when."""
    return {id(step.node): number for number, step in enumerate(steps, 1)}


def worked_lines(step: Step, numbers: dict[int, int]) -> list[tuple[str, str | None, int]]:
    """A step's worked text for practice: ``(line, withheld, k)`` per line of :meth:`Step.lines`.

    ``withheld`` is ``None`` for a line that gives nothing away. For an arrow into a node
    with a question of its own (step ``k`` in ``numbers``, from :func:`step_numbers`) it is
    the line without the amount sent and the input's grad before and after (a partial
    sum, or for a single consumer the very gradient step ``k`` asks for), e.g. ``→ x·y:
    ∂tanh(x·y)/∂(x·y) = 1 − tanh(x·y)² = 0.42, sends ∂f/∂tanh(x·y) · ∂tanh(x·y)/∂(x·y)
    to x·y (its gradient is step 3's question)``. Show ``line`` once step ``k`` is
    answered or revealed, ``withheld`` until then.
    """
    first, *rest = step.lines()
    out: list[tuple[str, str | None, int]] = [(first, None, 0)]
    up = derivative_text(step.root_name, step.name)
    for c, line in zip(step.contributions, rest):
        k = numbers.get(id(c.input), 0)
        if not k:  # a leaf: no question asks for its gradient
            out.append((line, None, 0))
            continue
        head = line.rpartition(", adds ")[0] or line
        out.append((line, f"{head}, sends {up} · {step.local_text(c)} to {c.name} (its "
                          f"gradient is step {k}'s question)", k))
    return out


def questions(steps: Iterable[Step]) -> list[Question]:
    """One :class:`Question` per step, in backward order.

    Args:
        steps: The steps of one backward pass (``list(backward_steps(root))``).

    Returns:
        The questions; question ``k`` asks for ``steps[k].upstream``.
    """
    steps = list(steps)
    into: dict[int, list[Term]] = {}
    for number, step in enumerate(steps, 1):
        for c in step.contributions:
            into.setdefault(id(c.input), []).append(Term(
                step.node, step.name, number, step.upstream, c.local_grad, c.formula, c.amount,
                local_text(step, c),
            ))
    out = []
    for number, step in enumerate(steps, 1):
        terms = tuple(into.get(id(step.node), ()))
        size = math.fsum(abs(t.amount) for t in terms)
        zero = step.upstream == 0.0 or abs(step.upstream) <= _ZERO_RESIDUE * size
        right = window(step.upstream, zero=zero)
        out.append(Question(step, number, terms, _slips(step, terms, right), zero))
    return out
