"""Tests for ``scalargrad grad`` (scalargrad._cli_grad), run as real processes and in-process."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from cli_runs import EXPR, VALUES, grads_in, hand, run

from scalargrad.cli import main


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


def test_grad_practice_needs_html(tmp_path: Path) -> None:
    done = run("grad", EXPR, *VALUES, "--practice")
    assert done.returncode == 2 and "--practice needs --html FILE" in done.stderr
    page = tmp_path / "p.html"
    done = run("grad", EXPR, *VALUES, "--html", str(page), "--practice")
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert '<body class="practice">' in text and 'id="answer"' in text


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
