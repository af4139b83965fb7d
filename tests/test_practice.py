"""Tests of scalargrad.practice: questions, checks with a stated tolerance, named slips.

Oracles: gradients derived by hand in each test (never the engine's own steps).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scalargrad import Value, backward_steps
from scalargrad.practice import ABS_TOL, REL_TOL, is_right, questions, read_number


def neuron() -> tuple[Value, float]:
    """f = (σ(w·a + b) − y)² at w=0.5, a=1.5, b=0.1, y=1; returns f and σ."""
    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    f = ((w * a + b).sigmoid() - y).square().label_as("f")
    return f, 1 / (1 + math.exp(-0.85))


def test_each_question_asks_for_the_steps_gradient_by_hand() -> None:
    f, s = neuron()
    asked = questions(backward_steps(f))
    hand = [1.0, 2 * (s - 1), 2 * (s - 1), 2 * (s - 1) * s * (1 - s), 2 * (s - 1) * s * (1 - s)]
    assert [q.answer for q in asked] == pytest.approx(hand)
    assert [q.number for q in asked] == [1, 2, 3, 4, 5]
    assert asked[0].prompt == "∂f/∂f = ?" and asked[0].terms == ()
    assert asked[3].prompt == "∂f/∂(w·a + b) = ?"
    # z's one term: ∂f/∂σ from step 3 times σ'(z) on the arrow
    (t,) = asked[3].terms
    assert t.step == 3 and t.upstream == pytest.approx(2 * (s - 1))
    assert t.local_grad == pytest.approx(s * (1 - s)) and t.formula == "σ'(w·a + b)"


def test_right_within_the_tolerance_and_wrong_outside() -> None:
    f, s = neuron()
    q = questions(backward_steps(f))[3]
    answer = 2 * (s - 1) * s * (1 - s)
    assert q.check(answer * (1 + 0.9 * REL_TOL)).right
    assert not q.check(answer * (1 + 1.1 * REL_TOL)).right
    assert is_right(0.5 * ABS_TOL, 0.0) and not is_right(1.5 * ABS_TOL, 0.0)
    assert q.check(answer).message.startswith("Right: ∂f/∂(w·a + b) = ")


def test_wrong_answers_say_which_factor_is_off() -> None:
    f, s = neuron()
    q = questions(backward_steps(f))[3]
    up, local = 2 * (s - 1), s * (1 - s)
    missing_local = q.check(up).message
    assert "alone: multiply it by the local derivative ∂σ(w·a + b)/∂(w·a + b)" in missing_local
    assert "σ'(w·a + b)" in missing_local
    missing_upstream = q.check(local).message
    assert "the upstream gradient ∂f/∂σ(w·a + b) from step 3" in missing_upstream
    assert "sign" in q.check(-up * local).message
    other = q.check(0.123)
    assert not other.right and other.message.endswith("Check each factor:")
    # the working shows every factor's number and never the product
    working = "\n".join(q.working())
    assert f"{up:.4g}" in working and f"{local:.4g}" in working
    assert f"{up * local:.4g}" not in working


def test_a_node_with_several_consumers_asks_for_the_sum_over_j() -> None:
    # C = x·y + x: ∂C/∂x = y + 1, two terms; x is a leaf, so ask about u = 2·x instead
    x, y = Value(2.0, "x"), Value(3.0, "y")
    u = (2.0 * x).label_as("u")
    c = (u * y + u).label_as("C")
    asked = {q.step.name: q for q in questions(backward_steps(c))}
    q = asked["u"]
    assert q.answer == pytest.approx(3.0 + 1.0)  # ∂C/∂u = y + 1, by hand
    assert len(q.terms) == 2
    only_one = q.check(3.0).message
    assert "only the term through u·y" in only_one and "sum over j" in only_one
    assert "∂C/∂(u·y) · ∂(u·y)/∂u" in q.working()[0]


@pytest.mark.parametrize(("text", "value"), [
    ("-0.25", -0.25), ("−0.25", -0.25), (" 2.5e-3 ", 2.5e-3), ("1/4", 0.25), ("-3/4", -0.75),
    (".5", 0.5), ("+1", 1.0), ("1e400", None), ("1/0", None), ("abc", None), ("", None),
    ("1/2/3", None), ("nan", None), ("inf", None), ("0x10", None),
])
def test_read_number(text: str, value: float | None) -> None:
    assert read_number(text) == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_read_number_reads_what_python_writes(x: float) -> None:
    assert read_number(repr(x)) == x


def test_on_request_each_arrow_of_a_step_is_asked_too() -> None:
    f, s = neuron()
    q = questions(backward_steps(f))[3]  # z = w·a + b: sends to w·a and to b
    sends = q.sends()
    assert [x.prompt for x in sends] == [
        "→ w·a: ∂f/∂(w·a + b) · ∂(w·a + b)/∂(w·a) = ?",
        "→ b: ∂f/∂(w·a + b) · ∂(w·a + b)/∂b = ?",
    ]
    d_z = 2 * (s - 1) * s * (1 - s)  # by hand; both local derivatives are 1
    assert [x.answer for x in sends] == pytest.approx([d_z, d_z])
    assert sends[0].check(d_z).right and "sign" in sends[0].check(-d_z).message
    # σ's step sends ∂f/∂σ · σ'(z): forgetting σ'(z) is named
    (send,) = questions(backward_steps(f))[2].sends()
    assert send.answer == pytest.approx(d_z)
    assert "alone: multiply it by the local derivative" in send.check(2 * (s - 1)).message
    assert "this step's gradient" in send.check(s * (1 - s)).message
    assert f"{d_z:.4g}" not in "\n".join(send.working())
