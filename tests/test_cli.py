"""Tests for the scalargrad command line (scalargrad.cli): parsing, options, exit statuses.

Run as real processes; the commands' own tests are test_cli_grad.py, test_cli_step.py and
test_cli_check.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import textwrap
from pathlib import Path

import pytest
from cli_runs import PY, run
from hypothesis import given, settings
from hypothesis import strategies as st

from scalargrad.cli import main


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


def test_demo_runs(tmp_path: Path) -> None:
    r = run("demo", "--out", str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and r.stdout


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


def test_only_check_loads_the_testing_package_and_hypothesis() -> None:
    # grad, step and every --help start without scalargrad.testing (and so without
    # Hypothesis); check loads both when it runs, which shows the probe sees a load
    probe = textwrap.dedent("""
        import contextlib, io, sys
        from scalargrad.cli import main

        def loaded():
            return sorted(m for m in sys.modules if m.split(".")[0] == "hypothesis"
                          or m.startswith("scalargrad.testing"))

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            codes = [main(["grad", "x*x", "x=3", "--steps", "--explain", "x"]),
                     main(["step", "x*x", "x=3"]), main(["--help"]), main(["check", "--help"]),
                     main(["check", "x*x", "--wrt", "y", "2*x"])]
            before = loaded()
            codes.append(main(["check", "x*x", "--wrt", "x", "2*x", "--examples", "5"]))
        print(codes, before, "scalargrad.testing.derivation" in loaded(),
              "hypothesis" in loaded())
    """)
    r = subprocess.run([PY, "-c", probe], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "CI": "true"}, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["[0,", "0,", "0,", "0,", "2,", "0]", "[]", "True", "True"]
