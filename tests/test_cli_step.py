"""Tests for ``scalargrad step`` (scalargrad._cli_step): a real pseudo-terminal, and pipes."""

from __future__ import annotations

import math
import re
import subprocess

import pexpect
import pytest
from cli_runs import EXPR, PY, VALUES, grads_in, hand, run


def test_step_without_a_terminal_prints_every_step() -> None:
    r = run("step", EXPR, *VALUES)
    assert r.returncode == 0, r.stderr
    assert [int(n) for n in re.findall(r"^step (\d)/5", r.stdout, re.M)] == [1, 2, 3, 4, 5]
    assert grads_in(r.stdout)["b"] == pytest.approx(hand()["b"], rel=1e-9)


def spawn_step() -> pexpect.spawn:
    return pexpect.spawn(PY, ["-m", "scalargrad", "step", EXPR, *VALUES], encoding="utf-8",
                         timeout=20, dimensions=(40, 200))


def test_step_in_a_terminal_next_back_quit() -> None:
    child = spawn_step()
    child.expect(r"step 1/5: ∂f/∂f = 1")
    child.expect_exact("[q] quit")
    child.send("\r")
    child.expect(r"step 2/5: ∂f/∂\(σ")
    child.send("b")
    child.expect(r"step 1/5: ∂f/∂f = 1")
    child.send("b")
    child.expect_exact("(this is the first step)")
    child.send(" ")
    child.expect(r"step 2/5")
    child.send("q")
    child.expect_exact("quit.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_step_in_a_terminal_to_the_end() -> None:
    child = spawn_step()
    for n in range(1, 6):
        child.expect(rf"step {n}/5")
        child.expect_exact("[q] quit")
        child.send("\r")
    child.expect_exact("backward done.")
    child.expect(r"∂f/∂y = 0\.776345")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


# --- practice ---------------------------------------------------------------------------


def practice_hand() -> dict[str, float]:
    """∂f/∂(σ − y) = 2(σ − y) and ∂f/∂z = 2(σ − y)·σ(z)(1 − σ(z)), by hand."""
    s = 1 / (1 + math.exp(-(0.5 * 0.71 + 0.1)))
    return {"d_sub": 2 * (s - 1), "d_z": 2 * (s - 1) * s * (1 - s)}


def spawn_practice() -> pexpect.spawn:
    return pexpect.spawn(PY, ["-m", "scalargrad", "step", "--practice", EXPR, *VALUES],
                         encoding="utf-8", timeout=20, dimensions=(40, 200))


def test_step_practice_right_wrong_reveal_quit() -> None:
    h = practice_hand()
    child = spawn_practice()
    child.expect_exact("relative 0.001 or an absolute 0.0001")
    child.expect_exact("step 1/5: ∂f/∂f = ?")
    child.sendline("2")  # wrong: does not move on, says why
    child.expect_exact("Not quite: you wrote 2.")
    child.expect_exact("try again")
    child.sendline("1")  # right
    child.expect_exact("Right: ∂f/∂f = 1.")
    child.expect_exact("step 2/5: ∂f/∂(σ(w·a + b) − y) = ?")
    child.sendline("r")  # reveal: ∂f/∂(σ − y) = 2(σ − y), by hand
    child.expect(r"revealed: ∂f/∂\(σ\(w·a \+ b\) − y\) = (−?[0-9.e−]+)")  # one minus (19.9)
    assert float(child.match.group(1).replace("−", "-")) == pytest.approx(h["d_sub"], rel=5e-4)
    child.expect_exact("step 3/5: ∂f/∂σ(w·a + b) = ?")
    child.sendline(f"{h['d_sub']:.6f}".replace("-", "−"))  # a typeset minus is a minus
    child.expect_exact("Right:")
    child.expect_exact("step 4/5: ∂f/∂(w·a + b) = ?")
    child.sendline(f"{h['d_sub']:.4f}")  # forgot σ'(z): the local derivative is named
    child.expect_exact("alone: multiply it by the local derivative ∂σ(w·a + b)/∂(w·a + b)")
    child.expect_exact("(step 3)")  # the chain rule with each factor's number …
    before = child.before or ""
    assert f"{h['d_z']:.4g}".replace("-", "−") not in before  # … and never the answer
    child.sendline(f"{-h['d_z']:.5f}")
    child.expect_exact("the sign is not")
    child.sendline("seven")
    child.expect_exact("type a number")
    child.sendline("q")
    child.expect_exact("quit: right 2, revealed 1, of 5 steps.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_step_practice_to_the_end_from_a_pipe() -> None:
    h = practice_hand()
    answers = ["1", f"{h['d_sub']:.6f}", f"{h['d_sub']:.6f}", "r", f"{h['d_z']:.6f}"]
    done = subprocess.run([PY, "-m", "scalargrad", "step", "--practice", EXPR, *VALUES],
                          input="\n".join(answers) + "\n", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Right:") == 4 and done.stdout.count("revealed:") == 1
    assert "backward done: right 4, revealed 1, of 5 steps." in done.stdout
    assert "∂f/∂w = " in done.stdout


def test_step_practice_asks_each_contribution_on_request() -> None:
    h = practice_hand()
    # step 1 (f = square): 1, then what it sends to σ − y: 1 · 2(σ − y)
    answers = ["1", f"{h['d_sub']:.6f}", "q"]
    done = subprocess.run(
        [PY, "-m", "scalargrad", "step", "--practice", "--contributions", EXPR, *VALUES],
        input="\n".join(answers) + "\n", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "→ σ(w·a + b) − y: ∂f/∂f · ∂f/∂(σ(w·a + b) − y) = ?" in done.stdout
    assert done.stdout.count("Right:") == 2
    assert "quit: right 1, revealed 0, of 5 steps." in done.stdout
    bad = run("step", EXPR, *VALUES, "--contributions")
    assert bad.returncode == 2 and "--contributions goes with --practice" in bad.stderr


def test_step_practice_survives_stacked_signs_and_a_pasted_line() -> None:
    # 1/++4 was checked with its signs stripped and converted with them: a traceback
    answers = ["1/++4", "--1", "7" * 50_000 + "x", "1"]
    done = subprocess.run([PY, "-m", "scalargrad", "step", "--practice", "x*x", "x=2"],
                          input="\n".join(answers) + "\n", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-500:]
    assert done.stdout.count("couldn't read") == 3
    assert "couldn't read '1/++4' as a number" in done.stdout
    assert "(50001 characters)" in done.stdout and "7" * 100 not in done.stdout
    assert "Right: ∂f/∂f = 1." in done.stdout and "backward done: right 1" in done.stdout


def test_step_practice_a_small_gradient_answered_0_is_wrong() -> None:
    # f = 0.00005·tanh(x) at x = 0.3, by hand: step 1 sends tanh(0.3) to the constant and
    # 0.00005 to tanh(x); ∂f/∂tanh(x) = 0.00005, which sends 0.00005·(1 − tanh²(0.3)) to x.
    # 0 is none of the small ones (the old absolute 1e-4 said "Right")
    send = 0.00005 * (1 - math.tanh(0.3) ** 2)
    answers = ["1", f"{math.tanh(0.3):.6f}", "0", "0.00005", "0", "0.00005", "0",
               f"{send:.6e}"]
    done = subprocess.run(
        [PY, "-m", "scalargrad", "step", "--practice", "--contributions", "0.00005*tanh(x)",
         "x=0.3"], input="\n".join(answers) + "\n", capture_output=True, text=True,
        timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Not quite: you wrote 0.") == 3
    assert "backward done: right 2, revealed 0, of 2 steps." in done.stdout


def test_step_with_stdin_closed_prints_every_step() -> None:
    # `scalargrad step "x*x" x=2 <&-` crashed: sys.stdin is None when fd 0 is closed
    r = subprocess.run(["sh", "-c", f'exec "{PY}" -m scalargrad step "x*x" x=2 <&-'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "step 1/1" in r.stdout and "∂f/∂x = 4" in r.stdout  # d(x²)/dx = 2x at x = 2
    practice = subprocess.run(
        ["sh", "-c", f'exec "{PY}" -m scalargrad step --practice "x*x" x=2 <&-'],
        capture_output=True, text=True, timeout=60)
    assert practice.returncode == 0 and "Traceback" not in practice.stderr
    assert "quit: right 0, revealed 0, of 1 steps." in practice.stdout


def test_step_practice_never_prints_a_later_questions_gradient() -> None:
    # 19.1: step 3 (σ) sends ∂f/∂σ · σ'(z) to z, whose one consumer it is: that amount is
    # step 4's answer ∂f/∂z, so the worked step names the product and the step, not the number
    h = practice_hand()
    answers = ["1", f"{h['d_sub']:.6f}", f"{h['d_sub']:.6f}", "q"]
    done = subprocess.run([PY, "-m", "scalargrad", "step", "--practice", EXPR, *VALUES],
                          input="\n".join(answers) + "\n", capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "step 4/5: ∂f/∂(w·a + b) = ?" in out
    assert "to w·a + b (its gradient is step 4's question)" in out
    for shown in (f"{h['d_z']:.4g}", f"{h['d_z']:.4f}", f"{h['d_z']:.3f}"):
        assert shown not in out and shown.replace("-", "−") not in out
    assert "→ y: ∂(σ(w·a + b) − y)/∂y = −1, adds" in out  # a leaf's share is no question
