"""Practice: the student computes each backward step's gradient and the library checks it.

Every step of :func:`~scalargrad.trace.backward_steps` becomes a
:class:`Question`: "what is ``∂C/∂node``?" The right answer is the step's
upstream gradient, and the chain rule says where it comes from: one term per
edge into a consumer of the node, ``∂C/∂p · ∂p/∂node``, summed (the notes'
sum over ``j``). Each term's factors are known by then: ``∂C/∂p`` was the
answer of an earlier step and ``∂p/∂node`` is the number on the arrow.

An answer is right when it is within a relative ``1e-3`` or an absolute
``1e-4`` of the exact value (:data:`REL_TOL`, :data:`ABS_TOL`). A wrong
answer is compared with the usual slips (the sign, a missing local
derivative, a missing upstream factor, only one path of a sum) to say which
factor is off, and :meth:`Question.working` gives the chain-rule text with
every factor's number but not the result, so the answer is never given away
before the student asks for it.

On request (:meth:`Question.sends`) the student then computes what the
step sends down each input arrow, ``∂C/∂node · ∂node/∂input``.

The step-through page (``practice=True``) and ``scalargrad step --practice``
both ask these questions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from .engine import Value
from .trace import Step, derivative_text, fmt

__all__ = [
    "ABS_TOL",
    "REL_TOL",
    "Question",
    "Send",
    "Term",
    "Verdict",
    "is_right",
    "questions",
    "read_number",
]

REL_TOL = 1e-3
"""An answer within this relative distance of the exact value is right…"""
ABS_TOL = 1e-4
"""… and so is one within this absolute distance (for answers near 0)."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def read_number(text: str) -> float | None:
    """Reads a student's number: ``-0.25``, ``−0.25``, ``2.5e-3``, ``1/4``, ``-3/4``.

    Returns:
        The number, or ``None`` when the text is not one (or not finite).
    """
    text = text.strip().replace("−", "-").replace(" ", "")
    top, slash, bottom = text.partition("/")
    if not _NUMBER.fullmatch(top) or (slash and not _NUMBER.fullmatch(bottom.lstrip("+"))):
        return None
    value = float(top)
    if slash:
        d = float(bottom)
        if d == 0.0:
            return None
        value /= d
    return value if math.isfinite(value) else None


def is_right(value: float, answer: float, *, rel_tol: float = REL_TOL,
             abs_tol: float = ABS_TOL) -> bool:
    """True when ``value`` is within ``rel_tol`` (relative) or ``abs_tol`` of ``answer``."""
    return abs(value - answer) <= max(abs_tol, rel_tol * abs(answer))


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
    """

    consumer: Value
    consumer_name: str
    step: int
    upstream: float
    local_grad: float
    formula: str
    amount: float


@dataclass(frozen=True, slots=True)
class Verdict:
    """The check of one answer.

    Attributes:
        right: The answer is within the tolerance.
        message: What to tell the student (which factor is off, when it can tell).
    """

    right: bool
    message: str


@dataclass(frozen=True, slots=True)
class Question:
    """``∂C/∂node = ?`` for one backward step.

    Attributes:
        step: The step (its ``upstream`` is the answer).
        number: The step's number, 1 for the root.
        terms: The chain rule's terms, one per edge into a consumer, in step order.
        slips: ``(value, message)`` for each usual mistake: a wrong answer
            near ``value`` gets ``message``.
    """

    step: Step
    number: int
    terms: tuple[Term, ...]
    slips: tuple[tuple[float, str], ...]

    @property
    def answer(self) -> float:
        """The right answer, ``∂C/∂node`` (the step's upstream gradient)."""
        return self.step.upstream

    @property
    def prompt(self) -> str:
        """The question: ``∂C/∂node = ?``."""
        return f"{derivative_text(self.step.root_name, self.step.name)} = ?"

    def working(self) -> list[str]:
        """The chain-rule text with every factor's number and without the result.

        ``∂C/∂x = ∂C/∂p · ∂p/∂x`` (one term per consumer edge, summed), then
        the same with each factor's value, so a student can find the factor
        they got wrong.
        """
        root, name = self.step.root_name, self.step.name
        head = derivative_text(root, name)
        if not self.terms:
            return [f"{head} = 1: backward starts from the cost itself, which changes "
                    f"one-for-one with itself"]
        symbols = " + ".join(
            f"{derivative_text(root, t.consumer_name)} · {derivative_text(t.consumer_name, name)}"
            for t in self.terms
        )
        lines = [f"{head} = {symbols}"]
        for t in self.terms:
            local = derivative_text(t.consumer_name, name)
            shown = (t.formula if t.formula == fmt(t.local_grad)
                     else f"{t.formula} = {fmt(t.local_grad)}")
            lines.append(
                f"  {derivative_text(root, t.consumer_name)} = {fmt(t.upstream)} "
                f"(step {t.step}),  {local} = {shown}"
            )
        return lines

    def check(self, value: float, *, rel_tol: float = REL_TOL,
              abs_tol: float = ABS_TOL) -> Verdict:
        """Checks an answer; a wrong one's message says which factor is off when it can."""
        return _verdict(value, self.answer, self.prompt, self.slips, rel_tol, abs_tol)

    def sends(self) -> list[Send]:
        """The follow-up questions, asked on request: what the step sends down each arrow."""
        return [Send(self.step, self.number, k, _send_slips(self.step, k))
                for k in range(len(self.step.contributions))]


@dataclass(frozen=True, slots=True)
class Send:
    """What a step sends down one input arrow: ``∂C/∂node · ∂node/∂input = ?``.

    Asked on request, after the step's own gradient, for each of its arrows.

    Attributes:
        step: The step.
        number: The step's number, 1 for the root.
        index: The arrow's input position (``step.contributions[index]``).
        slips: ``(value, message)`` for each usual mistake.
    """

    step: Step
    number: int
    index: int
    slips: tuple[tuple[float, str], ...]

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
                f"{derivative_text(name, c.name)} = ?")

    def working(self) -> list[str]:
        """The two factors with their numbers, never their product."""
        c = self.step.contributions[self.index]
        root, name = self.step.root_name, self.step.name
        local = (c.formula if c.formula == fmt(c.local_grad)
                 else f"{c.formula} = {fmt(c.local_grad)}")
        return [f"{derivative_text(root, name)} = {fmt(self.step.upstream)} (this step),  "
                f"{derivative_text(name, c.name)} = {local}"]

    def check(self, value: float, *, rel_tol: float = REL_TOL,
              abs_tol: float = ABS_TOL) -> Verdict:
        """Checks an answer, as :meth:`Question.check` does."""
        return _verdict(value, self.answer, self.prompt, self.slips, rel_tol, abs_tol)


def _verdict(value: float, answer: float, prompt: str, slips: tuple[tuple[float, str], ...],
             rel_tol: float, abs_tol: float) -> Verdict:
    if is_right(value, answer, rel_tol=rel_tol, abs_tol=abs_tol):
        return Verdict(True, f"Right: {prompt[:-1]}{fmt(answer)}.")
    for slip, message in slips:
        if is_right(value, slip, rel_tol=rel_tol, abs_tol=abs_tol):
            return Verdict(False, f"Not quite: you wrote {fmt(value)}. {message}")
    return Verdict(False, f"Not quite: you wrote {fmt(value)}. Check each factor:")


def _send_slips(step: Step, index: int) -> tuple[tuple[float, str], ...]:
    c = step.contributions[index]
    root, name = step.root_name, step.name
    up, local = derivative_text(root, name), derivative_text(name, c.name)
    out = [(-c.amount, "The size is right but the sign is not: check the sign of each "
                       "factor.")]
    if c.local_grad != 1.0:
        out.append((step.upstream, f"That is {up} alone: multiply it by the local derivative "
                                   f"{local} = {c.formula}."))
    if step.upstream != 1.0:
        out.append((c.local_grad, f"That is the local derivative {local} alone: multiply it "
                                  f"by this step's gradient {up}."))
    return tuple((v, m) for v, m in out if not is_right(v, c.amount) and math.isfinite(v))


def _slips(step: Step, terms: tuple[Term, ...]) -> tuple[tuple[float, str], ...]:
    """The usual mistakes for one step, as ``(value they give, what went wrong)``."""
    root, name = step.root_name, step.name
    answer = step.upstream
    out: list[tuple[float, str]] = []
    if not terms:
        out.append((0.0, f"Backward starts with {derivative_text(root, root)} = 1."))
    if answer:
        out.append((-answer, "The size is right but the sign is not: check the sign of "
                             "each factor."))
    if len(terms) == 1:
        t = terms[0]
        up = derivative_text(root, t.consumer_name)
        local = derivative_text(t.consumer_name, name)
        if t.local_grad != 1.0:
            out.append((t.upstream, f"That is {up} alone: multiply it by the local derivative "
                                    f"{local} = {t.formula}."))
        if t.upstream != 1.0:
            out.append((t.local_grad, f"That is the local derivative {local} alone: multiply "
                                      f"it by the upstream gradient {up} from step {t.step}."))
    elif terms:
        for t in terms:
            out.append((t.amount, f"That is only the term through {t.consumer_name}: {name} "
                                  f"feeds {len(terms)} arrows, add the terms of all of them "
                                  f"(the sum over j)."))
        out.append((math.fsum(t.upstream for t in terms),
                    "You added the upstream gradients but left out each local derivative."))
    # a slip that is itself (close to) right is no slip
    return tuple((v, m) for v, m in out if not is_right(v, answer) and math.isfinite(v))


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
            ))
    out = []
    for number, step in enumerate(steps, 1):
        terms = tuple(into.get(id(step.node), ()))
        out.append(Question(step, number, terms, _slips(step, terms)))
    return out
