"""Tests of ``scalargrad check`` (scalargrad._cli_check), run as real processes.

The formulas are the notes' derivatives, derived by hand; the wrong ones are
mistakes students make. Exit status: 0 holds, 1 counterexample, 2 usage error
or inconclusive.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys

import pytest

EXPR = "(sigmoid(w*a + b) - y)**2"
S = "sigmoid(w*a + b)"
RIGHT_W = f"2*({S} - y)*{S}*(1 - {S})*a"  # ∂C_0/∂w^(L) = 2(a^(L) − y) σ'(z^(L)) a^(L−1)
FORGOT_SIGMA_PRIME = f"2*({S} - y)*a"


def run(*args: str, ci: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "scalargrad", "check", *args], capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL, env=env,
    )


def test_a_right_formula_holds_exit_0() -> None:
    r = run(EXPR, "--wrt", "w", RIGHT_W, "--examples", "50")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    assert r.stdout.splitlines()[0] == f"f = {EXPR}"
    assert re.search(r"holds at (4[5-9]|50) points \(w in \[-3, 3\], a in \[-3, 3\], "
                     r"b in \[-3, 3\], y in \[-3, 3\]; seed 0\)", r.stdout), r.stdout


def test_the_one_line_readme_check_finds_the_missing_sigma_prime_exit_1() -> None:
    r = run(EXPR, "--wrt", "w", FORGOT_SIGMA_PRIME)
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout
    m = re.search(r"FAILS at (.*)$", out, re.M)
    assert m is not None, out
    point = {k: float(v) for k, v in re.findall(r"(\w+) = (\S+?)(?:,|$)", m[1])}
    assert set(point) == {"w", "a", "b", "y"}
    assert all(abs(v - round(v)) < 1e-9 for v in point.values())  # shrunk to integers
    w, a, b, y = point["w"], point["a"], point["b"], point["y"]
    s = 1 / (1 + math.exp(-(w * a + b)))
    claimed = float(re.search(r"your formula gives (\S+)", out)[1])  # type: ignore[index]
    actual = float(re.search(r"the engine gives\s+(\S+)", out)[1])  # type: ignore[index]
    assert claimed == pytest.approx(2 * (s - y) * a, rel=1e-9, abs=1e-12)
    assert actual == pytest.approx(2 * (s - y) * s * (1 - s) * a, rel=1e-9, abs=1e-12)
    assert "The engine's chain rule at this point:" in out
    assert "σ'(w·a + b)" in out  # the factor the student missed
    assert "seed 0" in out


def test_several_claims_one_verdict_each() -> None:
    right_b = f"2*({S} - y)*{S}*(1 - {S})"
    r = run(EXPR, "--wrt", "w", RIGHT_W, "--wrt", "b", right_b, "--wrt", "y", "-2*(" + S + " - y)",
            "--wrt", "a", FORGOT_SIGMA_PRIME.replace("*a", "*w"), "y=0..1", "--examples", "40")
    assert r.returncode == 1, r.stdout + r.stderr
    verdicts = re.findall(r"^∂f/∂(\w+) = .*\n  (holds|FAILS)", r.stdout, re.M)
    assert verdicts == [("w", "holds"), ("b", "holds"), ("y", "holds"), ("a", "FAILS")]
    assert "y in [0, 1]" in r.stdout


def test_ranges_and_fixed_values() -> None:
    r = run("x**3", "--wrt", "x", "3*x", "x=1.5..4", "--seed", "5")
    assert r.returncode == 1
    x = float(re.search(r"FAILS at x = (\S+)", r.stdout)[1])  # type: ignore[index]
    assert 1.5 <= x <= 4 and (abs(x - round(x)) < 1e-9 or x in (1.5, 4.0))
    assert "seed 5" in r.stdout
    fixed = run("x*y", "--wrt", "x", "y", "x=2", "y=-1.5")
    assert fixed.returncode == 0 and "holds at 1 point (x = 2, y = -1.5" in fixed.stdout


def test_domain_skips_are_counted_and_too_many_exit_2() -> None:
    r = run("log(x)*y", "--wrt", "x", "y/x", "x=-1..3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"holds at \d+ points, \d+ skipped \(undefined or not differentiable",
                     r.stdout)
    bad = run("log(x)", "--wrt", "x", "1/x", "x=-3..0.5")
    assert bad.returncode == 2
    assert "inconclusive" in bad.stdout and "outside the domain" in bad.stdout


def test_seed_is_random_without_ci_and_reproducible() -> None:
    a = run("x*x", "--wrt", "x", "3*x", ci=False)
    b = run("x*x", "--wrt", "x", "3*x", ci=False)
    seeds = [re.search(r"seed (\d+)", r.stdout)[1] for r in (a, b)]  # type: ignore[index]
    assert seeds[0] != seeds[1]
    again = run("x*x", "--wrt", "x", "3*x", "--seed", seeds[0], ci=False)
    assert again.stdout == a.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([EXPR, "--wrt", "q", "1"], r"--wrt q: no such variable \(variables of .*: w, a, b, y\)"),
        ([EXPR, "--wrt", "w", "2*z"], r"the claim uses z, which the expression does not have"),
        ([EXPR, "--wrt", "w", "2*(a-"], r"'\(' was never closed"),
        (["(a - ", "--wrt", "a", "1"], r"invalid syntax"),
        ([EXPR, "--wrt", "w", "open('x')"], r"unknown function 'open'"),
        ([EXPR, "--wrt", "w", "1", "q=1"], r"q=\.\.\.: no such variable"),
        ([EXPR, "--wrt", "w", "1", "w=2..1"], r"w=2\.\.1: the range is empty"),
        ([EXPR, "--wrt", "w", "1", "w=a..b"], r"not a number or a range LO\.\.HI"),
        ([EXPR, "--wrt", "w", "1", "w=1..2..3"], r"one '\.\.'"),
        ([EXPR, "--wrt", "w", "1", "w=nan"], r"finite"),
        ([EXPR, "--wrt", "w", "1", "w=1", "w=2"], r"w is given twice"),
        ([EXPR], r"required: --wrt"),
        ([EXPR, "--wrt", "w"], r"--wrt: expected 2 arguments"),
        ([EXPR, "--wrt", "w", "1", "--examples", "0"], r"must be at least 1"),
        ([EXPR, "--wrt", "w", "1", "--seed", "x"], r"invalid int value"),
    ],
)
def test_bad_input_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    r = run(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert re.search(message, r.stderr), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


def test_a_claim_starting_with_minus_needs_no_quoting_tricks() -> None:
    r = run("(a - y)**2", "--wrt", "y", "-2*(a - y)", "--examples", "30")
    assert r.returncode == 0, r.stderr
    wrong = run("(a - y)**2", "--wrt", "y", "2*(a - y)", "--examples", "30")  # sign error
    assert wrong.returncode == 1 and "FAILS" in wrong.stdout


def test_help_states_the_tolerance() -> None:
    r = subprocess.run([sys.executable, "-m", "scalargrad", "check", "--help"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "1e-7*max(|claim|, |engine|) + 1e-10*M" in text
    assert "--wrt NAME CLAIM" in text and "--examples N" in text and "--seed S" in text


def test_without_hypothesis_it_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['hypothesis'] = None\n"
        "from scalargrad.cli import main\n"
        "sys.exit(main(['check', 'x*x', '--wrt', 'x', '2*x']))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "check_derivative needs Hypothesis" in r.stderr and "pip install" in r.stderr
    assert "Traceback" not in r.stderr


# --- edge cases of ranges and counts (issue 20 item 6, issue 19 item 8) -------------------


@pytest.mark.parametrize("args, message", [
    (["tiny*2", "--wrt", "tiny", "2", "tiny=1e-320..2e-320"],
     "the range of tiny has the subnormal float 1e-320"),
    (["x*x", "--wrt", "x", "2*x", "x=1...2"],
     "'x=1...2': a range is LO..HI with exactly two dots"),
    (["x*x", "--wrt", "x", "2*x", "--examples", "1000000"],
     "--examples: at most 100,000 points per claim, got 1,000,000"),
    (["+".join(f"x{i}" for i in range(600)), "--wrt", "x0", "1"],
     "600 variables are drawn, more than the 400 one check can draw at once"),
])
def test_ranges_the_checker_cannot_draw_are_usage_errors_exit_2(
        args: list[str], message: str) -> None:
    r = run(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and "Traceback" not in r.stderr


def test_a_range_near_the_largest_float_is_checked_not_blamed_on_the_user() -> None:
    # the midpoint (lo + hi)/2 of 1e308..1.7e308 overflowed to inf, which was then reported
    # as the user's "x = inf"; 0.5·x is defined on the whole range, with derivative 0.5
    r = run("x*0.5", "--wrt", "x", "0.5", "x=1e308..1.7e308", "--examples", "30")
    assert r.returncode == 0 and "holds at" in r.stdout and "inf" not in r.stderr + r.stdout


def test_range_names_are_nfkc_normalised_as_fixed_values_are() -> None:
    # "ｘ" (fullwidth) is the identifier x to Python, to the expression and to NAME=VALUE
    r = run("x*x", "--wrt", "x", "2*x", "ｘ=1..2", "--examples", "20")
    assert r.returncode == 0 and "x in [1, 2]" in r.stdout, (r.stdout, r.stderr)


def test_the_count_of_points_says_why_fewer_than_asked_were_checked() -> None:
    # seed 3 draws one point twice: "holds at 199 points" said nothing about the 200th
    r = run("x*x", "--wrt", "x", "2*x", "--seed", "3")
    assert r.returncode == 0
    n = int(re.search(r"holds at (\d+) points", r.stdout).group(1))  # type: ignore[union-attr]
    if n < 200:
        assert f"({n} distinct of the 200 asked for; {200 - n} draw" in r.stdout
    fixed = run("x*y", "--wrt", "x", "y", "x=2", "y=-1.5")
    assert "every variable is fixed: there is one point to check, of the 200 asked" in (
        fixed.stdout)


def test_a_tiny_range_around_relu_s_kink_does_not_hold_a_wrong_claim() -> None:
    for lo_hi in ("x=-1e-6..1e-6", "x=-1e-300..1e-300"):
        r = run("relu(x)", "--wrt", "x", "1", lo_hi, "--seed", "3")
        assert r.returncode == 1 and "FAILS at x = -" in r.stdout, r.stdout


def test_the_command_line_allows_as_many_points_as_the_checker(
        capsys: pytest.CaptureFixture[str]) -> None:
    # the command line refuses --examples above its limit before importing the checker;
    # that limit must be the checker's own, neither lower nor higher
    from scalargrad.cli import main
    from scalargrad.testing.derivation import MAX_EXAMPLES

    assert main(["check", "x*x", "--wrt", "x", "2*x", "--examples", f"{MAX_EXAMPLES + 1}"]) == 2
    err = capsys.readouterr().err
    assert f"--examples: at most {MAX_EXAMPLES:,} points per claim, got {MAX_EXAMPLES + 1:,}" in err
    assert main(["check", "--help"]) == 0
    assert f"(default 200, at most {MAX_EXAMPLES:,})" in " ".join(capsys.readouterr().out.split())
