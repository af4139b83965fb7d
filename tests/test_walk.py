"""Tests for scalargrad.walk: the teaching path reads a graph once.

The oracle for the counts is the path itself: one ``grad --html`` run needs the
graph's reading order, its names and one replay of backward, each once (the
architecture review measured 4×, 3× and a replay per consumer before the Walk).
Grads and names are checked against numbers derived by hand.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

import scalargrad.steps
import scalargrad.walk
from scalargrad import Value
from scalargrad.cli import main
from scalargrad.graph import forward_order
from scalargrad.names import naming
from scalargrad.walk import Walk


def _count_calls(monkeypatch: pytest.MonkeyPatch, work: Any) -> Counter[str]:
    """Runs ``work()``; counts naming (display_names, where), forward_order, backward, replays."""
    counts: Counter[str] = Counter()
    watched = {naming.__code__: "naming", forward_order.__code__: "forward_order",
               Value.backward.__code__: "backward"}
    steps = scalargrad.steps._steps

    def counted_steps(*args: Any, **kwargs: Any) -> Any:
        counts["replay"] += 1
        return steps(*args, **kwargs)

    # Both names of the replay generator: steps' own (backward_steps) and the walk's.
    monkeypatch.setattr(scalargrad.steps, "_steps", counted_steps)
    if hasattr(scalargrad.walk, "_steps"):
        monkeypatch.setattr(scalargrad.walk, "_steps", counted_steps)

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "call":
            name = watched.get(frame.f_code)
            if name is not None:
                counts[name] += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return counts


@pytest.mark.parametrize("practice", [False, True])
def test_one_html_run_computes_order_names_and_the_replay_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    practice: bool,
) -> None:
    out = tmp_path / "page.html"
    argv = ["grad", "sigmoid(w*a+b)", "w=0.5", "a=0.7", "b=0.1", "--html", str(out)]
    argv += ["--practice"] if practice else []
    counts = _count_calls(monkeypatch, lambda: main(argv))
    assert out.read_text(encoding="utf-8").count('class="frame"') == 5 + 3 * practice
    # The CLI's own backward prints the grads; the page replays backward once more.
    assert counts == {"naming": 1, "forward_order": 1, "backward": 1, "replay": 1}
    s = 1 / (1 + math.exp(-(0.5 * 0.7 + 0.1)))
    assert f"∂f/∂w = {s * (1 - s) * 0.7:.10g}" in capsys.readouterr().out


def test_a_walk_computes_each_datum_on_first_use_and_keeps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, a = Value(0.5, "w"), Value(-2.0, "a")
    c = (w * a + w).label_as("c")  # ∂c/∂w = a + 1 = −1, ∂c/∂a = w = 0.5
    c.grad, w.grad = 7.0, 3.0  # what an earlier pass left: the replay restores it
    walk = Walk(c)

    def read() -> None:
        for _ in range(3):
            assert [walk.names[id(v)] for v in walk.order] == ["w", "a", "w·a", "c"]
            assert len(walk.steps) == 2 and len(walk.finals) == 2
            assert walk.final[id(w)] == -1.0 and walk.final[id(a)] == 0.5
    counts = _count_calls(monkeypatch, read)
    assert counts == {"naming": 1, "forward_order": 1, "replay": 1}
    assert (c.grad, w.grad, a.grad) == (7.0, 3.0, 0.0)
    # Step 0 (c = w·a + w) sends a partial sum into w (w·a still has to send), final into w·a.
    assert walk.finals[0] == (True, False)
    assert walk.finals[1] == (True, True)


def test_a_walk_needs_a_value() -> None:
    with pytest.raises(TypeError, match="Walk needs a Value, not float"):
        Walk(1.0)  # type: ignore[arg-type]
