"""Tests of scalargrad.practice: questions, checks with a stated tolerance, named slips.

Oracles: gradients derived by hand in each test (never the engine's own steps).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad import Value, backward_steps, topological_order
from scalargrad.names import display_names
from scalargrad.notation import LOCAL_MARK
from scalargrad.notation import format_number as shown  # the one number format (19.9)
from scalargrad.practice import (
    ABS_TOL,
    REL_TOL,
    Question,
    Send,
    is_right,
    questions,
    read_number,
)
from scalargrad.testing import expressions
from scalargrad.trace import derivative_text


def minus(text: str) -> str:
    """Python's digits with the minus sign the tool displays numbers with (U+2212)."""
    return text.replace("-", "\u2212")


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
    assert minus(f"{up:.4g}") in working and minus(f"{local:.4g}") in working
    assert minus(f"{up * local:.4g}") not in working and f"{up * local:.4g}" not in working


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
    assert minus(f"{d_z:.4g}") not in "\n".join(send.working())


# --- round two: no answer given away, the stated tolerance, linear reading ------------------

NUMBER = re.compile(r"[+\-−]?(?:\d+\.?\d*|\.\d+)(?:e[+\-−]?\d+)?")


def graphs() -> dict[str, Value]:
    from scalargrad.nn import MLP, chain, squared_error

    x, y = Value(0.5, "x"), Value(-2.0, "y")
    net = MLP(2, [3, 1], seed=1)
    f, _ = neuron()
    t = Value(0.3, "x")
    return {
        "chain": chain([0.5, -1.2, 0.8], [0.1, 0.2, -0.3], 0.7, 1.0).cost,
        "mlp": squared_error(net([0.5, -1.0]), [1.0]),
        "tanh": ((x * y).tanh() + x).label_as("f"),
        "neuron": f,
        "small": (0.00005 * t.tanh()).label_as("f"),
    }


def numbers_in(text: str) -> list[float]:
    """The numbers a text shows, leaving out step numbers and the indices of names."""
    text = re.sub(r"step \d+|\^\(\d+\)|_\d+|∂\(?[-−]?[0-9.]+\)?", " ", text)  # ∂1: a constant
    return [float(m.replace("−", "-")) for m in NUMBER.findall(text)]


def factors(side: str) -> set[str]:
    """The symbols multiplied or added on one side of a chain-rule line."""
    return {f.strip() for term in side.split(" + ") for f in term.split(" · ")}


@pytest.mark.parametrize("name", ["chain", "mlp", "tanh", "neuron", "small"])
def test_feedback_never_shows_the_answer_nor_defines_it_by_itself(name: str) -> None:
    assert_no_leak(graphs()[name])


small_floats = st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3)


@given(st.lists(small_floats, min_size=8, max_size=8))
def test_feedback_never_shows_the_answer_at_random_points(values: list[float]) -> None:
    from scalargrad.nn import chain

    w, b, x, y = values[:3], values[3:6], values[6], values[7]
    x2, y2 = Value(w[0], "x"), Value(w[1], "y")
    assert_no_leak(chain(w, b, x, y).cost)
    assert_no_leak(((x2 * y2).tanh() + x2 * b[0]).label_as("f"))


def assert_no_leak(root: Value) -> None:

    asked = questions(backward_steps(root))
    # names and formulas with a digit in them (x·1, 1 − tanh(x)²) show no number: left out
    texts = {*display_names(root).values(),
             *(c.formula for q in asked for c in q.step.contributions)}
    names = sorted({n for n in texts if re.search(r"\d", n) and read_number(n) is None},
                   key=len, reverse=True)
    seen = 0
    for q in asked:
        for item in [q, *q.sends()]:
            a = item.answer  # the stated tolerance, from the test: relative, 0 alone absolute
            lo, hi = sorted((a * (1 - REL_TOL), a * (1 + REL_TOL))) if a else (-ABS_TOL, ABS_TOL)
            wrong = [v for v, _ in item.slips] + [0.123, 7.0, item.answer * 1.01 + 1e-3]
            for value in wrong:
                verdict = item.check(value)
                if verdict.right:
                    continue
                seen += 1
                said = verdict.message.replace(f"you wrote {shown(value)}", "") + "\n".join(
                    item.working())
                for label in names:  # a name such as x·1 is no number shown
                    said = said.replace(label, " ")
                leaked = [x for x in numbers_in(said) if lo <= x <= hi]
                assert not leaked, (item.prompt, said)
            head, _, rhs = item.working()[0].partition(" = ")
            if isinstance(item, type(q)) and item.terms:
                assert head not in factors(rhs), item.working()[0]
    assert seen > 0


def test_chain_step_two_feedback_names_the_factors_not_the_number() -> None:
    # ∂C/∂(a − y) = ∂C/∂C · ∂C/∂(a − y) = 2(a − y): the old text defined it by itself and
    # printed 2(a − y) = −1.002, the answer
    q = questions(backward_steps(graphs()["chain"]))[1]
    a3 = q.step.node.inputs[0].data  # the chain's output a(3), y = 1.0
    assert q.answer == pytest.approx(2 * (a3 - 1.0))  # by hand
    text = "\n".join([q.check(-q.answer).message, *q.working()])
    assert "sign" in text and "2(a^(3) − y)" in text and shown(q.answer) not in text
    assert "∂C_0/∂(a^(3) − y) = ∂C_0/∂C_0 · ∂C_0/∂(a^(3) − y)" not in text


def test_a_small_true_value_is_not_right_when_answered_0() -> None:
    # f = 0.00005·tanh(x) at x = 0.3: ∂f/∂tanh(x) = 0.00005, by hand
    f = graphs()["small"]
    asked = questions(backward_steps(f))
    q = asked[1]
    assert q.answer == pytest.approx(0.00005)
    assert not q.check(0.0).right and not q.check(0.00006).right
    assert q.check(0.00005 * (1 + 0.9 * REL_TOL)).right
    assert not q.check(0.00005 * (1 + 1.1 * REL_TOL)).right
    (send,) = q.sends()  # → x: 0.00005 · (1 − tanh²(0.3)) ≈ 4.57e-05, by hand
    assert send.answer == pytest.approx(0.00005 * (1 - math.tanh(0.3) ** 2))
    assert not send.check(0.0).right and send.check(send.answer * (1 - 5e-4)).right


def test_the_absolute_floor_only_for_values_zero_in_exact_arithmetic() -> None:
    x, y = Value(-1.0, "x"), Value(3.0, "y")
    u = (y + 1.0).label_as("u")
    f = ((2.0 * x).relu() * u).label_as("f")  # ∂f/∂u = relu(−2) = 0 exactly
    asked = {q.step.name: q for q in questions(backward_steps(f))}
    q = asked["u"]
    assert q.answer == 0.0 and q.zero
    assert q.check(0.5 * ABS_TOL).right and not q.check(1.5 * ABS_TOL).right
    # terms that cancel: ∂g/∂v = 0.1 + 0.2 − 0.3, 0 in exact arithmetic, 5.6e-17 in floats
    v = (x * 1.0).label_as("v")
    g = (v * 0.1 + v * 0.2 - v * 0.3).label_as("g")
    q = {q.step.name: q for q in questions(backward_steps(g))}["v"]
    assert q.answer != 0.0 and abs(q.answer) < 1e-15 and q.zero
    assert q.check(0.0).right
    # a value that is not 0 is never right by an absolute distance, however small it is
    assert not is_right(0.0, 1e-9) and not is_right(0.0, -7.731e-05)


@pytest.mark.parametrize("text", ["1/++4", "++4", "--4", "+-4", "1/--4", "1/+-4", "1e++4",
                                  "1/", "/4", "1//4", "-", ".", "e5", "1e", "1.2.3", "1/4/"])
def test_stacked_signs_and_fragments_are_not_numbers(text: str) -> None:
    assert read_number(text) is None


def test_one_sign_before_each_part_is_read() -> None:
    assert read_number("1/-4") == -0.25 and read_number("1/+4") == 0.25
    assert read_number("−1/−4") == 0.25 and read_number("1 / 4") == 0.25
    assert read_number("1.e2") == 100.0 and read_number("-.5e-1") == -0.05
    assert read_number("1\u202f000") == 1000.0  # a narrow no-break space groups digits


READ_TIMES = r"""
import resource, sys, time
resource.setrlimit(resource.RLIMIT_CPU, (20, 25))
from scalargrad.practice import read_number

def cpu(text, repeat):
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for _ in range(repeat):
            read_number(text)
        best = min(best, (time.process_time() - t) / repeat)
    return best

for body in ("1" * N + "x", "1/" + "1" * N + "x", "." + "5" * N + "x", "1e" + "7" * N + "x",
             "1" * N, "1." + "0" * N + "1/2"):
    short = body[:SHORT] if body[-1] != "x" else body[:SHORT] + "x"
    print(cpu(body, 1) / cpu(short, 100))
"""


def test_reading_an_answer_takes_time_linear_in_its_length() -> None:
    """A 100,000-character answer costs about 100× a 1,000-character one (linear), not
    10,000× (quadratic: the old regular expression took 303 s on it)."""
    import subprocess
    import sys

    script = READ_TIMES.replace("SHORT", "1000").replace("N", "100_000")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"killed after 20 s of CPU: {done.stderr[-300:]}"
    ratios = [float(line) for line in done.stdout.split()]
    assert len(ratios) == 6 and max(ratios) < 400, ratios


def test_what_a_zero_sends_is_zero_too() -> None:
    # ∂g/∂v = 0.1 + 0.2 − 0.3 cancels to 5.6e-17; what v = x·1 then sends to x is
    # that times 1: 0 in exact arithmetic, so 0 is right for it as well
    x = Value(-1.0, "x")
    v = (x * 1.0).label_as("v")
    g = (v * 0.1 + v * 0.2 - v * 0.3).label_as("g")
    q = {q.step.name: q for q in questions(backward_steps(g))}["v"]
    to_x = next(s for s in q.sends() if s.step.contributions[s.index].name == "x")
    assert to_x.answer != 0.0 and to_x.zero and to_x.check(0.0).right
    assert not to_x.check(2 * ABS_TOL).right


# --- 19.5 / 19.9 in practice: local told from total, one number format -------------------

_NUMBER = r"(−?[0-9]+(?:\.[0-9]+)?(?:e−?[0-9]+)?)(?![0-9])"  # as displayed: U+2212


def _unlabelled(expr: Any) -> Value:
    """The expression's graph with only its variables labelled, the root named f."""
    from scalargrad.testing.examples import OPS
    nodes = expr.leaves()
    for rec in expr.records:
        nodes.append(OPS[rec.op].build([nodes[i] for i in rec.args], rec.exponent))
    return nodes[-1].label_as("f")


@settings(max_examples=60, deadline=None)
@given(expressions(variables=["x", "y", "w"], min_nodes=2, max_nodes=8))
def test_practice_tells_local_from_total_and_writes_one_minus(expr: Any) -> None:
    """In every prompt, working and feedback: an unmarked ∂f/∂X means X's total gradient.

    Oracle: the engine's grads after a whole backward pass (each node's total), looked up by
    the name the text uses; a local derivative is checked through the factor it stands for.
    """
    root = _unlabelled(expr)
    names = display_names(root)
    asked = questions(backward_steps(root))  # fresh grads: afterwards each grad is the total
    totals: dict[str, list[float]] = {}
    for v in topological_order(root):
        totals.setdefault(names[id(v)], []).append(v.grad)

    def is_total(name: str, value: float, digits: bool = False) -> bool:
        tol = dict(rel=2e-3, abs=1e-9) if digits else dict(rel=1e-9, abs=1e-12)
        return any(value == pytest.approx(g, **tol) for g in totals[name])

    texts: list[str] = []
    for q in asked:
        items: list[Question | Send] = [q, *q.sends()]
        for item in items:
            said = [item.prompt, *item.working()]
            for value in [item.answer, -item.answer, 0.123, *(v for v, _ in item.slips)]:
                said.append(item.check(value).message)
            texts += said
        # the local derivatives the texts write, each checked through its factor's number
        for t in q.terms:
            if t.local.startswith("∂f/") and not t.local.endswith(LOCAL_MARK):
                assert is_total(q.step.name, t.local_grad), (t.local, t.local_grad)
        head = q.working()[0]
        for t in q.terms:  # the head line writes each term's local with its own symbol
            assert f"{derivative_text('f', t.consumer_name)} · {t.local}" in head
        for s in q.sends():
            c = s.step.contributions[s.index]
            local = s.prompt.split(" · ", 1)[1].removesuffix(" = ?")
            assert local == s.step.local_text(c)  # the steps' own symbol: one source
            if local.startswith("∂f/") and not local.endswith(LOCAL_MARK):
                assert is_total(c.name, c.local_grad), (s.prompt, c.local_grad)
    # "∂f/∂X = number" (unmarked: "∂f/∂X|local = …" is another text): X's total, to the
    # digits shown
    stated = {name: re.compile(r"(?<![^\s(])" + re.escape(derivative_text("f", name)) + " = "
                               + _NUMBER) for name in totals}
    seen = 0
    for text in texts:
        assert not re.search(r"-[0-9.]", text), text  # numbers: U+2212, never a hyphen
        for name, pattern in stated.items():
            for m in pattern.finditer(text):
                seen += 1
                assert is_total(name, float(m.group(1).replace("−", "-")), digits=True), text
    assert seen > 0  # ∂f/∂f = 1 at least: the property is read, not skipped
