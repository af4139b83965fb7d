"""Tests for scalargrad.dot: running the real Graphviz ``dot``.

Timeouts, killing the process group and a missing ``dot`` are tested in
test_viz.py through the names viz re-exports; here: several graphs in one
process split into one SVG per graph, a failing ``dot`` names its exit status,
and viz's names are this module's.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from scalargrad import dot, viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


def test_viz_re_exports_the_runner() -> None:
    assert viz.render is dot.render and viz.split_svgs is dot.split_svgs
    assert viz.DEFAULT_DOT_TIMEOUT == dot.DEFAULT_DOT_TIMEOUT == 120.0


@needs_dot
def test_one_dot_process_renders_several_graphs_split_into_one_svg_each() -> None:
    source = "\n".join(f'digraph g{k} {{ a{k} [label="node {k}"] }}' for k in range(3))
    svgs = dot.split_svgs(dot.render(source, "svg", timeout=60.0))
    assert len(svgs) == 3
    for k, svg in enumerate(svgs):
        texts = [t.text for t in ET.fromstring(svg.encode()).iter(
            "{http://www.w3.org/2000/svg}text")]
        assert texts == [f"node {k}"]


@needs_dot
def test_a_dot_syntax_error_is_reported_with_dots_message() -> None:
    with pytest.raises(RuntimeError, match=r"dot -Tsvg failed \(exit 1\): .*syntax error"):
        dot.render("digraph { a -> }", timeout=60.0)
