"""The worked example of `scalargrad demo`, against numbers computed here by hand."""

from __future__ import annotations

import io
import math
import os
import re
import subprocess
import sys
from pathlib import Path

from scalargrad.demo import BIASES, WEIGHTS, X, Y, run_demo

NUMBER = r"([+-]\d\.\d{8})"
ROW = re.compile(rf"\s+(∂C_0/∂[wba]\^\(\d\))\s+{NUMBER}\s+(.+?)\s+{NUMBER}\s+✓")


def _hand_chain() -> dict[str, float]:
    """The first note's formulas, unrolled for L = 3 without loops."""

    def s(z: float) -> float:
        return 1.0 / (1.0 + math.exp(-z))

    (w1, w2, w3), (b1, b2, b3) = WEIGHTS, BIASES
    z1 = w1 * X + b1
    a1 = s(z1)
    z2 = w2 * a1 + b2
    a2 = s(z2)
    z3 = w3 * a2 + b3
    a3 = s(z3)
    d3 = 2 * (a3 - Y) * a3 * (1 - a3)  # ∂C0/∂z^(3)
    d2 = d3 * w3 * a2 * (1 - a2)  # ∂C0/∂z^(2)
    d1 = d2 * w2 * a1 * (1 - a1)  # ∂C0/∂z^(1)
    return {
        "C_0": (a3 - Y) ** 2,
        "∂C_0/∂w^(3)": d3 * a2,
        "∂C_0/∂b^(3)": d3,
        "∂C_0/∂a^(2)": d3 * w3,
        "∂C_0/∂w^(2)": d2 * a1,
        "∂C_0/∂b^(2)": d2,
        "∂C_0/∂a^(1)": d2 * w2,
        "∂C_0/∂w^(1)": d1 * X,
        "∂C_0/∂b^(1)": d1,
        "∂C_0/∂a^(0)": d1 * w1,
    }


def test_demo_table_matches_hand_derivation(tmp_path) -> None:
    out = io.StringIO()
    assert run_demo(out_dir=tmp_path, stream=out) == 0
    text = out.getvalue()
    hand = _hand_chain()
    assert f"C_0 = {hand['C_0']:.6f}" in text
    rows = 0
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            name, engine, formula_text, formula = m.groups()
            rows += 1
            assert math.isclose(float(engine), hand[name], rel_tol=1e-7, abs_tol=1e-8), name
            assert math.isclose(float(formula), hand[name], rel_tol=1e-7, abs_tol=1e-8), name
            assert "σ'(z^(" in formula_text
    assert rows == 9, text
    assert "All engine gradients equal the hand formulas." in text
    assert "✗" not in text


def test_demo_shows_the_notes_formula_for_the_last_layer(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(out_dir=tmp_path, stream=out) == 0  # into tmp_path, not the repository
    assert "2(a^(3) − y)·σ'(z^(3))·a^(2)" in out.getvalue()


def test_demo_shows_steps_and_the_chain_rule_and_writes_the_drawings(tmp_path) -> None:
    out = io.StringIO()
    assert run_demo(out_dir=tmp_path / "new", stream=out) == 0
    text = out.getvalue()
    hand = _hand_chain()
    # 8 steps: square, sub, then (sigmoid, affine) for each of the 3 layers
    assert "step  8/8:" in text and "/9:" not in text
    assert "∂z^(3)/∂w^(3) = a^(2)" in text and "∂z^(3)/∂b^(3) = 1" in text
    assert "∂a^(3)/∂z^(3) = σ'(z^(3))" in text
    assert "= 2(a^(3) − y) · σ'(z^(3)) · w^(3) · σ'(z^(2)) · w^(2) · σ'(z^(1)) · a^(0)" in text
    total = text.split("= 2(a^(3) − y) · σ'(z^(3))")[1].split("\n\n")[0].splitlines()[-1]
    assert float(total.split("=")[-1]) == float(f"{hand['∂C_0/∂w^(1)']:.4g}")
    svg = (tmp_path / "new" / "chain.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml")
    # names typeset: C with a subscript 0, w with a superscript (1)
    assert re.search(r'>C</text>\s*<text[^>]*baseline-shift="sub"[^>]*>0</text>', svg)
    assert re.search(r'>w</text>\s*<text[^>]*baseline-shift="super"[^>]*>\(1\)</text>', svg)
    page = (tmp_path / "new" / "chain_steps.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 10  # before backward, one per step, all grads
    assert f"Wrote the drawing to   {tmp_path / 'new' / 'chain.svg'}" in text
    practice = (tmp_path / "new" / "chain_practice.html").read_text(encoding="utf-8")
    assert '<body class="practice">' in practice and practice.count("<svg") == 10 + 8
    assert f"Wrote the practice page to {tmp_path / 'new' / 'chain_practice.html'}" in text


def _demo_process(
    *args: str, cwd: Path, path_env: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if path_env is not None:
        env["PATH"] = path_env
    return subprocess.run([sys.executable, "-m", "scalargrad", "demo", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_demo_fails_when_it_cannot_write_into_the_given_place(tmp_path: Path) -> None:
    a_file = tmp_path / "not_a_dir"
    a_file.write_text("x")
    blocked = tmp_path / "blocked"
    (blocked / "chain.svg").mkdir(parents=True)  # a directory where the drawing should go
    for where, reason in [(a_file, "it is a file, not a directory"),
                          (Path("/proc/scalargrad_demo"), "No such file or directory"),
                          (blocked, "Is a directory")]:
        r = _demo_process("--out", str(where), cwd=tmp_path)
        assert r.returncode == 1, (where, r.stdout[-300:], r.stderr)
        assert f"scalargrad demo: cannot write the drawings into {where}: " in r.stderr
        assert reason in r.stderr and "Traceback" not in r.stderr
        assert "All engine gradients equal the hand formulas." in r.stdout  # the lesson ran
    out = io.StringIO()
    assert run_demo(out_dir=a_file, stream=out) == 1
    assert "cannot write the drawings into" in out.getvalue()


def test_without_dot_the_demo_skips_drawings_unless_asked_for_files(tmp_path: Path) -> None:
    no_dot = tmp_path / "bin"  # a PATH with no Graphviz on it
    no_dot.mkdir()
    r = _demo_process(cwd=tmp_path, path_env=str(no_dot))
    assert r.returncode == 0, r.stderr
    assert "Drawings skipped: Graphviz's `dot` program was not found" in r.stdout
    assert "apt-get install graphviz" in r.stdout
    asked = _demo_process("--out", str(tmp_path / "figs"), cwd=tmp_path, path_env=str(no_dot))
    assert asked.returncode == 1
    assert f"scalargrad demo: cannot draw into {tmp_path / 'figs'}: " in asked.stderr
    assert "apt-get install graphviz" in asked.stderr and "Traceback" not in asked.stderr
    assert not list((tmp_path / "figs").glob("chain*"))
