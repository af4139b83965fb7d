"""The worked example of `scalargrad demo`, against numbers computed here by hand."""

from __future__ import annotations

import io
import math
import re

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


def test_demo_shows_the_notes_formula_for_the_last_layer() -> None:
    out = io.StringIO()
    run_demo(stream=out)
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
    assert svg.lstrip().startswith("<?xml") and "C_0" in svg and "w^(1)" in svg
    page = (tmp_path / "new" / "chain_steps.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 10  # before backward, one per step, all grads
    assert f"Wrote the drawing to   {tmp_path / 'new' / 'chain.svg'}" in text
