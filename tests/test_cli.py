"""Tests for the scalargrad command line, run as real processes and in a real pseudo-terminal."""

from __future__ import annotations

import contextlib
import io
import math
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad.cli import main

PY = sys.executable
EXPR = "(sigmoid(w*a + b) - y)**2"
VALUES = ["w=0.5", "a=0.71", "b=0.1", "y=1"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "scalargrad", *args], capture_output=True, text=True, timeout=60,
        stdin=subprocess.DEVNULL,
    )


def hand() -> dict[str, float]:
    z = 0.5 * 0.71 + 0.1
    s = 1 / (1 + math.exp(-z))
    d_z = 2 * (s - 1) * s * (1 - s)
    return {"f": (s - 1) ** 2, "w": d_z * 0.71, "a": d_z * 0.5, "b": d_z, "y": -2 * (s - 1)}


def grads_in(text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^∂f/∂(\w+) = (\S+)$", text, re.M)}


def test_grad_prints_value_and_every_gradient() -> None:
    r = run("grad", EXPR, *VALUES)
    assert r.returncode == 0, r.stderr
    h = hand()
    value = float(re.search(r"^\s+= (\S+)$", r.stdout, re.M)[1])  # type: ignore[index]
    assert value == pytest.approx(h["f"], rel=1e-9)
    got = grads_in(r.stdout)
    assert list(got) == ["w", "a", "b", "y"]
    for k, v in got.items():
        assert v == pytest.approx(h[k], rel=1e-9)


def test_grad_steps_and_explain() -> None:
    r = run("grad", "square(sigmoid(w*a + b) - y)", "--steps", *VALUES, "--explain", "w")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "step 1/5: ∂f/∂f = 1" in out and "step 5/5: ∂f/∂(w·a)" in out
    assert "→ w: ∂(w·a)/∂w = a = 0.71, adds −0.1309 (0 → −0.1309)" in out
    assert "chain rule for ∂f/∂w:" in out
    assert "= 2(σ(w·a + b) − y) · σ'(w·a + b) · a" in out
    assert out.rstrip().endswith(f"= {hand()['w']:.4g}".replace("-", "−"))  # formulas' minus


def test_step_without_a_terminal_prints_every_step() -> None:
    r = run("step", EXPR, *VALUES)
    assert r.returncode == 0, r.stderr
    assert [int(n) for n in re.findall(r"^step (\d)/5", r.stdout, re.M)] == [1, 2, 3, 4, 5]
    assert grads_in(r.stdout)["b"] == pytest.approx(hand()["b"], rel=1e-9)


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["grad", "log(x)", "x=0"], 1, "log: log of 0.0 is undefined"),
        (["grad", "1/(x-x)", "x=2"], 1, "div: division by zero"),
        (["grad", "x.real", "x=1"], 2, "attribute access (.)"),
        (["grad", "__import__('os')", "x=1"], 2, "unknown function '__import__'"),
        (["grad", "x[0]", "x=1"], 2, "subscripts"),
        (["grad", "lambda: x", "x=1"], 2, "lambda"),
        (["grad", "'x'", "x=1"], 2, "strings are not allowed"),
        (["grad", "[x for x in y]", "x=1"], 2, "comprehensions"),
        (["grad", "2**x", "x=1"], 2, "exponent of ** must be a number"),
        (["grad", "x*y", "x=1"], 2, "no value for y"),
        (["grad", "x", "x=1", "z=2"], 2, "z not used"),
        (["grad", "x", "x"], 2, "'x' is not NAME=VALUE"),
        (["grad", "x", "x=abc"], 2, "the value is not a number"),
        (["grad", "x", "x=nan"], 2, "must be a finite number"),
        (["grad", "x", "x=1", "x=2"], 2, "x is given twice"),
        (["grad", "x*y", "x=1", "y=1", "--explain", "q"], 2, "--explain q: no such variable"),
        (["grad", "x", "x=1", "--draw", "out.xyz"], 2,
         "argument --draw: 'out.xyz': cannot write a drawing to a .xyz file; end the name "
         "with .svg, .png, .pdf, .dot or .gv"),
        (["grad", "x", "x=1", "--draw", "graph"], 2, "to a suffix-less file"),
        (["grad", "x", "x=1", "--html", "steps.svg"], 2,
         "argument --html: 'steps.svg': cannot write the step-through page to a .svg file"),
        (["grad", "x", "x=1", "--max-paths", "-1"], 2, "argument --max-paths: must be at least 1"),
        (["grad", "x", "x=1", "--max-paths", "0"], 2, "argument --max-paths: must be at least 1"),
        (["grad", "x", "x=1", "--max-nodes", "0"], 2, "argument --max-nodes: must be at least 1"),
        (["grad", "x", "x=1", "--max-nodes", "many"], 2, "'many' is not a whole number"),
        (["step", "x +", "x=1"], 2, "ends too early"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_refusals(args: list[str], status: int, message: str, tmp_path: Path) -> None:
    r = subprocess.run([PY, "-m", "scalargrad", *args], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path, stdin=subprocess.DEVNULL)
    assert r.returncode == status, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    if status == 2 and args[0] == "grad":
        assert r.stdout == ""  # refused before computing or printing anything
    assert not list(tmp_path.iterdir())  # and nothing written


def test_drawing_suffixes_are_the_ones_viz_writes() -> None:
    from scalargrad.cli import DRAWING_SUFFIXES
    from scalargrad.viz import DRAWING_SUFFIXES as VIZ_SUFFIXES

    assert sorted(DRAWING_SUFFIXES) == sorted(VIZ_SUFFIXES)


@pytest.mark.parametrize("option", ["--draw", "--html"])
def test_too_large_drawing_names_the_cli_option(option: str, tmp_path: Path) -> None:
    target = tmp_path / ("g.dot" if option == "--draw" else "g.html")
    expr = "*".join(["x"] * 6)  # x and 5 products: 6 Values
    r = run("grad", expr, "x=1", option, str(target), "--max-nodes", "5")
    assert r.returncode == 2, r.stderr
    assert "6 Values, more than the limit of 5" in r.stderr
    assert "--max-nodes 6" in r.stderr and "max_nodes=" not in r.stderr
    assert not target.exists()
    if option == "--draw":  # .dot needs no Graphviz
        ok = run("grad", expr, "x=1", option, str(target), "--max-nodes", "6")
        assert ok.returncode == 0, ok.stderr
        assert len(re.findall(r"^\tn\d+ \[", target.read_text(), re.M)) == 6
        assert f"wrote {target}" in ok.stdout


@pytest.mark.parametrize("option", ["--draw", "--html"])
def test_a_drawing_far_over_the_limit_is_refused_without_counting_it_all(
    option: str, tmp_path: Path
) -> None:
    target = tmp_path / ("g.dot" if option == "--draw" else "g.html")
    r = run("grad", "*".join(["x"] * 40), "x=1", option, str(target), "--max-nodes", "5")
    assert r.returncode == 2, r.stderr  # 40 Values; counting stops past 10
    assert "at least 11 Values (counting stopped there), more than the limit of 5" in r.stderr
    assert "pass a --max-nodes as large as the graph" in r.stderr
    assert not target.exists()


@pytest.mark.parametrize("option", ["--draw", "--html"])
def test_too_many_arrows_names_the_cli_option(option: str, tmp_path: Path) -> None:
    target = tmp_path / ("g.dot" if option == "--draw" else "g.html")
    expr = "+".join(["x*x"] * 40)  # 40 products, each x twice: 80 + 39·2 = 158 arrows
    r = run("grad", expr, "x=1", option, str(target), "--max-edges", "100")
    assert r.returncode == 2, r.stderr
    assert "158 arrows into its ops, more than the limit of 100" in r.stderr
    assert "--max-edges 158" in r.stderr and "max_edges=" not in r.stderr
    assert "Traceback" not in r.stderr and not target.exists()
    if option == "--draw":  # .dot needs no Graphviz
        ok = run("grad", expr, "x=1", option, str(target), "--max-edges", "158")
        assert ok.returncode == 0, ok.stderr
        assert f"wrote {target}" in ok.stdout


def test_leading_minus_needs_double_dash_and_then_works() -> None:
    assert main(["grad", "--", "-x**2", "x=3"]) == 0


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert main(["grad", "--help"]) == 0
    assert "NAME=VALUE" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import scalargrad

    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"scalargrad {scalargrad.__version__} from ")
    assert str(Path(scalargrad.__file__).parent) in out
    r = run("--version")  # and from a real process, as a user types it
    assert r.returncode == 0 and r.stdout.split()[:2] == ["scalargrad", scalargrad.__version__]
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", scalargrad.__version__)


def test_options_may_come_between_assignments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", "x*y", "x=2", "--explain", "x", "y=3"]) == 0
    assert "∂f/∂x = 3" in capsys.readouterr().out


def test_root_name_avoids_a_variable_called_f(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", "f*g", "f=2", "g=3"]) == 0
    assert "∂out/∂f = 3" in capsys.readouterr().out


@pytest.mark.needs_dot
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
def test_grad_draws_the_graph(tmp_path: Path) -> None:
    target = tmp_path / "graph.svg"
    page = tmp_path / "steps.html"
    r = run("grad", "x*y + x", "x=2", "y=3", "--draw", str(target), "--html", str(page))
    assert r.returncode == 0, r.stderr
    assert f"wrote {target}" in r.stdout and f"wrote {page}" in r.stdout
    assert target.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert "<html" in page.read_text().lower()


def test_demo_runs(tmp_path: Path) -> None:
    r = run("demo", "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and r.stdout


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


def test_grad_practice_needs_html(tmp_path: Path) -> None:
    done = run("grad", EXPR, *VALUES, "--practice")
    assert done.returncode == 2 and "--practice needs --html FILE" in done.stderr
    page = tmp_path / "p.html"
    done = run("grad", EXPR, *VALUES, "--html", str(page), "--practice")
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert '<body class="practice">' in text and 'id="answer"' in text


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


def test_explain_refuses_a_text_too_large_and_names_the_option() -> None:
    # "x*x*…*x" with 1,000 factors printed 31 MB in 11–28 s; by hand it has 1,000 paths
    # holding 1 + 2 + … + 999 + 999 = 500,499 factors.
    r = run("grad", "*".join(["x"] * 1000), "x=1", "--explain", "x")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "500499 factors on the 1000 paths from x up to f" in r.stderr
    assert "more than --max-factors 20000. Pass --max-factors 500499" in r.stderr
    assert len(r.stdout) < 3000  # the value and the gradient, not the explanation
    assert "∂f/∂x = 1000" in r.stdout
    ok = run("grad", "x*x*x", "x=2", "--explain", "x", "--max-factors", "5")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.rstrip().endswith("= 12")  # 3x² at x = 2
    few = run("grad", "x*x*x", "x=2", "--explain", "x", "--max-factors", "4")
    assert few.returncode == 1 and "Pass --max-factors 5" in few.stderr


@pytest.mark.parametrize("expr", ["-x**2", "-2*x", "-x"])
def test_an_expression_starting_with_minus_gets_the_double_dash_hint(expr: str) -> None:
    r = run("grad", expr, "x=3")
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert "unrecognized arguments" not in r.stderr
    assert "Put -- before an expression that starts with '-'" in r.stderr
    assert f"scalargrad grad -- {shlex.quote(expr)} x=3" in r.stderr
    fixed = run("grad", "--", expr, "x=3")
    assert fixed.returncode == 0, fixed.stderr


def test_a_negative_number_is_still_an_expression() -> None:
    r = run("grad", "-5")
    assert r.returncode == 0 and "= -5" in r.stdout


def test_parse_error_caret_points_at_the_offending_column() -> None:
    r = run("grad", "2w + 1", "w=1")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].endswith("at column 2") and "2*w" in lines[0]
    assert lines[-2:] == ["  2w + 1", "   ^"]


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


def test_unicode_names_are_nfkc_normalised_as_in_python() -> None:
    # "ｘ*2" ｘ=1 was refused: the parser reads ｘ as x (Python's NFKC), the pair did not
    r = run("grad", "ｘ*2", "ｘ=1")
    assert r.returncode == 0, r.stderr
    assert "∂f/∂x = 2" in r.stdout
    twice = run("grad", "x*2", "ｘ=1", "x=2")
    assert twice.returncode == 2 and "x is given twice" in twice.stderr


def test_huge_literal_is_a_usage_error_with_a_short_message() -> None:
    r = run("grad", "x + " + "7" * 5000, "x=1")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "number too large for a float (an integer of 5000 digits)" in r.stderr
    assert len(r.stderr) < 400


@pytest.mark.needs_dot
@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
@pytest.mark.parametrize("option", ["--draw", "--html"])
def test_a_slow_layout_is_stopped_with_the_option_to_raise_the_limit(
    option: str, tmp_path: Path
) -> None:
    # --draw: 60 groups of 50 terms x*0.5, 9,001 Values (~15 s of dot); --html: tanh(…tanh(x*0.9
    # + x)…) 45 deep, 181 Values, one frame per step (~6 s of dot). (The drawing of the 29-deep
    # tanh, 117 Values, took 25-70 s of dot until its arrows from x were drawn from copies.)
    if option == "--draw":
        expr = " + ".join(["(" + " + ".join(["x*0.5"] * 50) + ")"] * 60)
    else:
        expr = "x"
        for _ in range(45):
            expr = f"tanh({expr}*0.9 + x)"
    target = tmp_path / ("g.svg" if option == "--draw" else "g.html")
    r = run("grad", expr, "x=0.5", option, str(target), "--dot-timeout", "1",
            "--max-nodes", "20000")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "did not finish the layout within 1 s and was stopped" in r.stderr
    assert "--dot-timeout 60" in r.stderr
    assert not target.exists()


@pytest.mark.parametrize("bad", ["0", "-3", "inf", "soon"])
def test_dot_timeout_must_be_positive_seconds(bad: str) -> None:
    r = run("grad", "x", "x=1", "--dot-timeout", bad)
    assert r.returncode == 2 and "argument --dot-timeout" in r.stderr and r.stdout == ""


CLI_TOKENS = ["x", "y", "0.5", "2", "1e308", "+", "-", "*", "/", "**", "(", ")", " ", "sigmoid(",
              "log(", "exp(", "@", "[", "1if", "--", "-x", "=", "\\", "ｘ", "\t"]


@settings(max_examples=60)
@given(st.lists(st.sampled_from(CLI_TOKENS), max_size=12).map("".join),
       st.sampled_from([[], ["x=0.5"], ["x=0.5", "y=2"], ["ｘ=1"], ["x=1e400"], ["--explain", "x"],
                        ["--steps"], ["x=2", "--max-factors", "3", "--explain", "x"]]))
def test_fuzzed_command_lines_end_in_0_1_or_2_without_a_traceback(
    expr: str, rest: list[str]
) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["grad", expr, *rest])
    assert status in (0, 1, 2), err.getvalue()
    assert "Traceback" not in err.getvalue() and "Warning" not in err.getvalue()
    if status:
        assert err.getvalue().strip()  # a refusal always says why


def test_grad_hessian_prints_each_second_derivative(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", "x*x*y + exp(y)", "x=2", "y=0.5", "--hessian"]) == 0
    out = capsys.readouterr().out
    found = {m[1]: float(m[2]) for m in re.finditer(r"^(∂²f/\S+) = (\S+)$", out, re.M)}
    # f = x²y + e^y by hand: f_xx = 2y, f_xy = 2x, f_yy = e^y
    assert list(found) == ["∂²f/∂x²", "∂²f/∂x∂y", "∂²f/∂y²"]
    assert found["∂²f/∂x²"] == 1.0 and found["∂²f/∂x∂y"] == 4.0
    assert math.isclose(found["∂²f/∂y²"], math.exp(0.5), rel_tol=1e-9)


def test_hessian_at_a_kink_warns() -> None:
    """Issue 19.8: relu(x)·x at x = 0 is x² on one side and 0 on the other: say so."""
    r = run("grad", "--hessian", "relu(x)*x", "x=0")
    assert r.returncode == 0 and "∂²f/∂x² = 0" in r.stdout
    assert "warning: relu(x) is at the kink" in r.stderr
    smooth = run("grad", "--hessian", "relu(x)*x", "x=0.5")
    assert "∂²f/∂x² = 2" in smooth.stdout and "warning" not in smooth.stderr  # x² there


def test_grad_hessian_refuses_more_variables_than_max_hessian_before_computing(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 variables are 820 second derivatives (1,000 were 501,000 lines): refused unless
    # --max-hessian says so; the refusal comes before the Hessian is computed at all
    import scalargrad._cli_grad as cli_grad
    import scalargrad.higher as higher

    names = [f"x{i}" for i in range(40)]
    args = ["grad", "*".join(names), *(f"{n}=1" for n in names), "--hessian"]
    calls: list[int] = []
    real = higher.hessian
    counted = lambda *a, **k: calls.append(1) or real(*a, **k)  # noqa: E731
    for module in (higher, cli_grad):  # wherever the CLI reads it from
        monkeypatch.setattr(module, "hessian", counted)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert ("--hessian: 40 variables have 820 second derivatives to print, more than "
            "--max-hessian 30 variables allows; pass --max-hessian 40") in err
    assert calls == []
    assert main([*args, "--max-hessian", "40"]) == 0
    out = capsys.readouterr().out
    # f = Π x_i at x = 1: ∂²f/∂x_i∂x_j = 1 for i ≠ j and 0 for i = j, by hand
    lines = re.findall(r"^∂²f/(\S+) = (\S+)$", out, re.M)
    assert len(lines) == 820 and calls == [1]
    assert sum(float(v) for _, v in lines) == 780.0


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
