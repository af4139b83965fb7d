"""What the drawing tests share: the real-dot marker, example graphs, reading DOT and SVG.

Used by ``tests/test_viz.py`` (nodes, arrows, frames, files), ``tests/test_labels.py``
(the labels' text) and ``tests/test_layout.py`` (the size guard, copies, layer ranks).
DOT text is read with regular expressions written for the format :func:`scalargrad.viz.draw`
writes; SVG with :mod:`xml.etree.ElementTree`, from what the real ``dot`` produced.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from typing import TypeVar

import pytest

from scalargrad import Value, sum_values

_NO_DOT = pytest.mark.skipif(shutil.which("dot") is None,
                             reason="Graphviz's dot is not installed (apt-get install graphviz)")


T = TypeVar("T")


def needs_dot(test: T) -> T:
    """Marks a test that runs the real dot (``-m needs_dot``), skipped when dot is missing."""
    return pytest.mark.needs_dot(_NO_DOT(test))  # type: ignore[no-any-return]


SVG = "{http://www.w3.org/2000/svg}"
EDGE = re.compile(r"^\t(\w+) -> (\w+)(?::\w+)* \[(.*)\]$", re.M)  # head ports dropped


def classroom() -> tuple[Value, dict[str, Value]]:
    """The issue's example (σ(w·a + b) − y)², built fresh each time."""
    w, a, b, y = Value(0.5, "w"), Value(1.5, "a"), Value(0.1, "b"), Value(1.0, "y")
    cost = ((w * a + b).sigmoid() - y) ** 2
    return cost, {"w": w, "a": a, "b": b, "y": y}


def edges(source: str) -> dict[str, tuple[str, str, str]]:
    """Edge id → (tail, head, attribute text) from DOT text."""
    out = {}
    for tail, head, attrs in EDGE.findall(source):
        eid = re.search(r"\bid=(\w+)", attrs)
        assert eid, attrs
        out[eid.group(1)] = (tail, head, attrs)
    return out


def node_line(source: str, nid: str) -> str:
    m = re.search(rf"^\t{nid} \[(.*)\]$", source, re.M)
    assert m, nid
    return m.group(1)


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg.encode("utf-8"))
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g") if "node" in g.get("class", "")}


def texts(g: ET.Element) -> list[str]:
    return [(t.text or "").replace("\xa0", " ") for t in g.iter(f"{SVG}text")]


def centre(g: ET.Element) -> tuple[float, float]:
    """The centre of a node's first polygon or ellipse, from the SVG."""
    for el in g:
        if el.tag == f"{SVG}polygon" or el.tag == f"{SVG}path":
            pts = el.get("points") or el.get("d", "")
            nums = [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", pts)]
            xs, ys = nums[0::2], nums[1::2]
            return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        if el.tag == f"{SVG}ellipse":
            return float(el.get("cx", "nan")), float(el.get("cy", "nan"))
    raise AssertionError("no shape in node")


def slow_layout_graph() -> Value:
    """117 Values, under max_nodes, and dot needs minutes: one Σ over 6,960 arrows.

    The arrow limit (max_edges) refuses it by default; the time-limit tests
    lift that limit explicitly to reach the last guard.

    116 leaves, each an input of the Σ node 60 times (duplicates are kept, as
    in ``a * a``): the node limit counts Values, not arrows, and a node with
    6,960 input cells is what the time limit is left to guard against. (This
    was ``tanh(…tanh(x·0.9 + x)…)`` 29 deep, 25–70 s of dot until its arrows
    from ``x`` were drawn from copies: now 0.04 s, see
    ``test_a_leaf_feeding_every_level_draws_about_as_fast_as_a_small_graph``.)
    """
    leaves = [Value(0.01 * j, f"x{j}") for j in range(116)]
    return sum_values(leaves * 60)


def tanh_chain(levels: int) -> tuple[Value, Value]:
    """tanh(…tanh(x·0.9 + x)…·0.9 + x): ``x`` feeds every level; 4·levels + 1 Values."""
    x = Value(0.5, "x")
    v = x
    for _ in range(levels):
        v = (v * 0.9 + x).tanh()
    return x, v
