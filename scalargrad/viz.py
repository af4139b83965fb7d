"""Drawings of a Value graph that read like the notes, and backward frames.

:func:`draw` returns a :class:`graphviz.Digraph`: one box per Value (its name
in the notes' notation, ``data`` and ``grad``) and one small circle per op
(``+``, ``×``, ``σ``, ``²`` …). The arrow from an input to an op carries the
local derivative ``∂out/∂in`` that the engine stored on the node, so the
chain rule can be read off the picture: the grad of a box is the sum, over
its outgoing arrows, of (arrow's number) × (grad of the box the op makes).
:func:`frames` and :func:`draw_steps` draw backward step by step, and
:func:`write_drawing` writes a drawing to a file.

This module turns a graph into nodes, arrows and their attributes (ids,
roles, highlights); the rest of a drawing lives beside it:

* :mod:`scalargrad.labels` writes the labels' text: every label is an
  HTML-like label built from fully escaped text, so quotes, backslashes,
  ``< > { } |``, newlines and non-ASCII render as written and can never
  inject DOT; numbers are fixed-width in a monospace font, so frames of the
  same graph have identical node positions;
* :mod:`scalargrad.layout` refuses graphs too large for ``dot``, and plans
  the ranks: a Value used again many levels after its first use gets a
  dashed copy of its box (its name only) beside each such consumer, and
  that arrow starts at the copy (one arrow across every level in between
  would cost ``dot`` time growing with the square of the depth). The grad
  in a box is the sum over all its arrows, those from its copies included;
* :mod:`scalargrad.dot` runs ``dot``.

Node ids come from the topological order (``n0`` is the first input, the
root is last), never from labels, so the DOT text is deterministic.
Producing DOT text never needs Graphviz's ``dot`` program; rendering does,
and :func:`render` says exactly what to install when it is missing.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any, Literal, NamedTuple

import graphviz

from ._files import write_atomically
from .dot import DEFAULT_DOT_TIMEOUT, render, split_svgs
from .engine import Value, forward_order
from .errors import DotNotFoundError, DotTimeoutError, DrawingTooLargeError
from .explanations import Explanation, Path
from .labels import HIGHLIGHT as HIGHLIGHT
from .labels import (
    LOCAL,
    MONO,
    SANS,
    box_label,
    graphviz_html_name,
    html_text,
    number_text,
    op_symbol,
    port_label,
)
from .labels import PARTIAL as PARTIAL
from .labels import PENDING as PENDING
from .labels import RECEIVER as RECEIVER
from .layout import ARROWS_PER_VALUE, DEFAULT_MAX_NODES, check_size, plan
from .steps import Step
from .walk import Walk

__all__ = [
    "ARROWS_PER_VALUE",
    "DEFAULT_DOT_TIMEOUT",
    "DEFAULT_MAX_NODES",
    "DRAWING_SUFFIXES",
    "ROLE_COLOURS",
    "DotNotFoundError",
    "DotTimeoutError",
    "Drawing",
    "DrawingTooLargeError",
    "Frames",
    "draw",
    "draw_steps",
    "forward_order",
    "frames",
    "graphviz_html_name",
    "html_text",
    "number_text",
    "render",
    "split_svgs",
    "write_drawing",
]

ROLE_COLOURS = {
    "input": "#cfe2f3",  # a leaf the user gave: a^(0), x, y
    "parameter": "#fde7b0",  # a leaf whose label starts with w or b
    "constant": "#eeeeee",  # a number in the expression (the 2 in 2*x)
    "intermediate": "#ffffff",
    "cost": "#f6c9c4",  # the root
}
"""Fill colour of a Value box by its role."""

html_name = graphviz_html_name
"""Deprecated: the old name of :func:`graphviz_html_name`, a Graphviz label (not in ``__all__``:
:func:`scalargrad.page.html_name` is the page's HTML for a browser)."""

_RANKDIRS = ("LR", "RL", "TB", "BT")
_PARAM_LABEL = re.compile(r"[wb](?:$|[_^(0-9\[{'])")
_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
DRAWING_SUFFIXES = tuple(_FORMATS)
"""The suffixes :func:`write_drawing` understands."""


class Drawing(graphviz.Digraph):  # type: ignore[misc]
    """A :class:`graphviz.Digraph` that renders through :func:`render`.

    In Jupyter it displays inline as SVG; when ``dot`` is missing the error
    says what to install, and a layout that runs too long is stopped.
    """

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None, **_: Any
    ) -> dict[str, str]:
        return {"image/svg+xml": render(self.source, "svg").decode("utf-8")}

    def svg(self, timeout: float = 120.0) -> str:
        """Renders the drawing with ``dot`` and returns the SVG text."""
        return render(self.source, "svg", timeout=timeout).decode("utf-8")


# --- the graph ------------------------------------------------------------------------


class _Asked(NamedTuple):
    """Highlight for a practice question: the node, and the arrows into its consumers."""

    node: Value


class _Graph:
    """What every frame of one graph shares: order, ids, names, roles and the layout plan."""

    def __init__(self, root: Value, max_nodes: int | None, walk: Walk | None = None,
                 max_edges: int | Literal["auto"] | None = "auto") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"draw needs a Value as root, not {type(root).__name__}")
        check_size(root, max_nodes, max_edges)
        if walk is None:
            walk = Walk(root)
        order = walk.order
        self.root = root
        self.walk = walk
        self.order = order
        self.index = {id(v): i for i, v in enumerate(order)}
        self.names = walk.names
        self.roles = [self._role(v) for v in order]
        self.layout = plan(order, self.index)

    def _copy_attrs(self, copy: str, c: int, hl_nodes: set[str],
                    receivers: set[str]) -> dict[str, str]:
        """Attributes of ``copy``, a copy of box ``c``: dashed, its name only, lit as the box is."""
        role = self.roles[c]
        attrs = {"id": copy, "class": f"copy {role}", "shape": "box",
                 "style": "rounded,filled,dashed", "fillcolor": ROLE_COLOURS[role],
                 "color": "#333333", "margin": "0.06,0.03", "fontsize": "14"}
        if f"n{c}" in hl_nodes:
            attrs.update({"class": f"copy {role} highlight", "color": HIGHLIGHT, "penwidth": "3"})
        elif f"n{c}" in receivers:
            attrs.update({"class": f"copy {role} receiver", "color": RECEIVER,
                          "penwidth": "2.5"})
        return attrs

    def _role(self, v: Value) -> str:
        if v is self.root:
            return "cost"
        if v.inputs:
            return "intermediate"
        if v.is_constant:
            return "constant"
        return "parameter" if _PARAM_LABEL.match(v.label) else "input"

    def find(self, v: object, what: str) -> int:
        if not isinstance(v, Value):
            raise TypeError(
                f"highlight: expected a Value, a Step, a Path, an Explanation or a list of "
                f"them, got {type(v).__name__} in {what}"
            )
        i = self.index.get(id(v))
        if i is None:
            raise ValueError(f"highlight: {v!r} is not in the drawn graph")
        return i

    def highlight(self, hl: object) -> tuple[set[str], set[str], set[str]]:
        """Returns (highlighted node ids, highlighted edge ids, receiving node ids).

        ``hl`` is a Value, a Step, a Path, an Explanation (all its paths) or a
        list of any of these. For a list of Values, the op nodes and edges that
        join two highlighted Values are highlighted too.
        """
        nodes: set[str] = set()
        edges: set[str] = set()
        receivers: set[str] = set()
        values: set[int] = set()
        work = [] if hl is None else [hl]
        while work:
            item = work.pop()
            if isinstance(item, Step):
                i = self.find(item.node, "the Step")
                nodes |= {f"n{i}", f"o{i}"}
                edges.add(f"e{i}")
                for c in item.contributions:
                    edges.add(f"e{i}_{c.index}")
                    receivers.add(f"n{self.find(c.input, 'the Step')}")
            elif isinstance(item, Path):
                nodes |= {f"n{self.find(v, 'the Path')}" for v in item.nodes}
                for f in item.factors:
                    i = self.find(f.parent, "the Path")
                    nodes.add(f"o{i}")
                    edges |= {f"e{i}", f"e{i}_{f.index}"}
            elif isinstance(item, Explanation):
                work.extend(item.paths)
            elif isinstance(item, _Asked):
                i = self.find(item.node, "the question")
                nodes.add(f"n{i}")
                for p in self.layout.consumers[i]:
                    q = self.order[p]
                    nodes.add(f"o{p}")
                    receivers.add(f"n{p}")
                    edges |= {f"e{p}_{k}" for k, c in enumerate(q.inputs) if c is item.node}
            elif isinstance(item, Value):
                i = self.find(item, "highlight")
                nodes.add(f"n{i}")
                values.add(i)
            elif isinstance(item, Iterable) and not isinstance(item, (str, bytes)):
                work.extend(item)
            else:
                self.find(item, "highlight")
        for i in values:  # edges between two highlighted Values
            v = self.order[i]
            joined = [k for k, c in enumerate(v.inputs) if self.index[id(c)] in values]
            if joined:
                nodes.add(f"o{i}")
                edges.add(f"e{i}")
                edges |= {f"e{i}_{k}" for k in joined}
        return nodes, edges, receivers - nodes

    def build(
        self, grads: Mapping[int, tuple[float, str]] | None, hl: object = None, *,
        rankdir: str = "LR", show_grad: bool = True, show_local_grads: bool = True,
        title: str | None = None,
    ) -> Drawing:
        """Builds the Digraph; ``grads`` maps id(node) → (grad, "final"|"partial")."""
        if rankdir not in _RANKDIRS:
            raise ValueError(f"rankdir must be one of {list(_RANKDIRS)}, got {rankdir!r}")
        hl_nodes, hl_edges, receivers = self.highlight(hl)
        g = Drawing(name="scalargrad", engine="dot", encoding="utf-8")
        g.attr("graph", rankdir=rankdir, nodesep="0.25", ranksep="0.35", bgcolor="white",
               fontname=SANS, newrank="true")
        layout = self.layout
        if layout.budgeted:  # a budget for positioning: minutes become about a second
            g.attr("graph", nslimit="0.2")
        if title is not None:
            g.attr("graph", label=f"<{graphviz_html_name(title, 16)}>", labelloc="t", fontsize="16")
        g.attr("node", fontname=SANS, fontsize="11")
        g.attr("edge", fontname=MONO, fontsize="10", color="#5a5a5a", arrowsize="0.6",
               fontcolor=LOCAL)
        for i, v in enumerate(self.order):
            nid = f"n{i}"
            grad = None if grads is None else grads.get(id(v))
            role = self.roles[i]
            attrs = {"id": nid, "class": f"value {role}", "shape": "box",
                     "style": "rounded,filled", "fillcolor": ROLE_COLOURS[role],
                     "color": "#333333", "margin": "0.06,0.03"}
            if nid in hl_nodes:
                attrs.update({"class": f"value {role} highlight", "color": HIGHLIGHT,
                              "penwidth": "3"})
            elif nid in receivers:
                attrs.update({"class": f"value {role} receiver", "color": RECEIVER,
                              "penwidth": "2.5"})
            g.node(nid, box_label(self.names[id(v)], v.data, grad, show_grad), **attrs)
            if not v.inputs:
                continue
            rule = v.rule
            assert rule is not None
            oid = f"o{i}"
            op_attrs = {"id": oid, "class": "op", "shape": "circle", "width": "0.3",
                        "margin": "0.02", "style": "filled", "fillcolor": "#f2f2f2",
                        "color": "#555555", "fontsize": "12"}
            if oid in hl_nodes:
                op_attrs.update({"class": "op highlight", "color": HIGHLIGHT, "penwidth": "2.5"})
            ports = len(v.inputs) > 2  # Σ nodes: one port per input, its number beside it
            if ports:
                op_attrs.update({"shape": "plain", "style": "", "margin": "0"})
                g.node(oid, port_label(rule.symbol, v.local_grads, show_local_grads,
                                       rankdir, oid in hl_nodes), **op_attrs)
            else:
                g.node(oid, f"<{html_text(op_symbol(rule))}>", **op_attrs)
            levels = [layout.levels[self.index[id(c)]] for c in v.inputs]
            main = levels.index(max(levels))
            for k, (child, local) in enumerate(zip(v.inputs, v.local_grads)):
                c = self.index[id(child)]
                tail = f"n{c}"
                if (c, i) in layout.far:  # drawn from a copy of the box, beside this op
                    tail = f"g{c}_{i}"
                    if k == v.inputs.index(child):
                        g.node(tail, f"<{graphviz_html_name(self.names[id(child)])}>",
                               **self._copy_attrs(tail, c, hl_nodes, receivers))
                eid = f"e{i}_{k}"
                e_attrs = {"id": eid}
                if show_local_grads and not ports:
                    e_attrs["label"] = f"<{html_text(number_text(local))}>"
                if eid in hl_edges:
                    e_attrs.update({"class": "highlight", "color": HIGHLIGHT, "penwidth": "2.5"})
                if ports and self.roles[c] != "parameter":
                    e_attrs["minlen"] = "2"  # a Σ node's parameters get a rank of their own
                if layout.far and k == main:
                    e_attrs["weight"] = "4"  # keeps the deepest path straight beside the copies
                side = {"LR": "w", "RL": "e", "TB": "n", "BT": "s"}[rankdir]
                g.edge(tail, f"{oid}:i{k}:{side}" if ports else oid, **e_attrs)
            e_attrs = {"id": f"e{i}"}
            if f"e{i}" in hl_edges:
                e_attrs.update({"class": "highlight", "color": HIGHLIGHT, "penwidth": "2.5"})
            g.edge(oid, nid, **e_attrs)
        for rank, ids in layout.groups:
            with g.subgraph() as s:
                s.attr(rank=rank)
                for i in ids:
                    s.node(f"n{i}")
                # invisible edges within the rank keep the members in index order
                for a, b in itertools.pairwise(ids):
                    s.edge(f"n{a}", f"n{b}", style="invis")
        return g


def _final_grads(graph: _Graph) -> dict[int, tuple[float, str]] | None:
    if graph.root.grad == 0.0:  # backward has not run (or grads were zeroed)
        return None
    return {id(v): (v.grad, "final") for v in graph.order}


def draw(
    root: Value,
    *,
    rankdir: str = "LR",
    show_grad: bool = True,
    show_local_grads: bool = True,
    highlight: Value | Step | Path | Explanation | Sequence[object] | None = None,
    grads: Mapping[Value, float] | None = None,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    title: str | None = None,
    max_edges: int | Literal["auto"] | None = "auto",
) -> Drawing:
    """Draws ``root``'s graph: a box per Value, a circle per op, local derivatives on arrows.

    Args:
        root: The node to draw from (usually the cost).
        rankdir: ``"LR"`` (inputs left, cost right), ``"RL"``, ``"TB"`` or ``"BT"``.
        show_grad: Show each box's ``grad`` row.
        show_local_grads: Label each input → op arrow with ``∂out/∂in``.
        highlight: A Value, a :class:`~scalargrad.trace.Step` (its node, its op
            and the arrows its gradient flows down; the inputs that receive it
            get an orange border), a :class:`~scalargrad.trace.Path` or a whole
            :class:`~scalargrad.trace.Explanation` from
            :func:`~scalargrad.trace.explain` (every path: the sum over j), or a
            list of these. Arrows joining two highlighted Values light up too.
        grads: The grads to show, by node; nodes missing from it show
            "not yet". By default every node's ``grad`` is shown once backward
            has run (the root's grad is not 0), and "not yet" before.
        max_nodes: Refuse graphs with more Values than this (``None``: no limit).
        title: A caption above the drawing.
        max_edges: Refuse graphs with more arrows into ops than this (every
            input of every op, an input used twice counted twice; ``None``: no
            limit). ``"auto"``: :data:`ARROWS_PER_VALUE` × ``max_nodes`` (no
            limit when ``max_nodes`` is ``None``). Dense fan-in (Σ nodes over
            hundreds of inputs) is what makes ``dot`` slow at few Values.

    Returns:
        A :class:`Drawing` (a :class:`graphviz.Digraph`): ``.source`` is the
        DOT text; it displays inline in Jupyter; see :func:`write_drawing`.

    Raises:
        DrawingTooLargeError: The graph has more than ``max_nodes`` Values or
            more than ``max_edges`` arrows (its ``what`` says which).
        ValueError: A highlighted node is not in the graph, or a bad ``rankdir``.
        TypeError: ``root`` or ``highlight`` has the wrong type.
    """
    graph = _Graph(root, max_nodes, max_edges=max_edges)
    if grads is None:
        state = _final_grads(graph)
    else:
        state = {id(v): (float(x), "final") for v, x in grads.items()}
    return graph.build(state, highlight, rankdir=rankdir, show_grad=show_grad,
                       show_local_grads=show_local_grads, title=title)


class Frames(NamedTuple):
    """Backward as drawings (see :func:`frames`)."""

    before: Drawing
    steps: list[tuple[Step, Drawing]]
    final: Drawing
    grads: list[tuple[str, str, float]]
    """(node id, display name, grad) for every node, inputs first."""
    questions: list[Drawing]
    """With ``practice=True``, one per step: the graph as the step's question
    shows it (the node's grad a "?", the arrows into its consumers lit, only
    the gradients of earlier steps shown); else empty."""


def frames(root: Value | Walk, *, max_nodes: int | None = DEFAULT_MAX_NODES,
           practice: bool = False, max_edges: int | Literal["auto"] | None = "auto",
           **options: Any) -> Frames:
    """Backward as drawings: before, (step, frame) per step, all grads, and the grads.

    The graph's grads are left exactly as they were: the steps are taken
    from zero grads and the previous grads are restored afterwards.

    Args:
        root: The node to differentiate (usually the cost), or a
            :class:`~scalargrad.walk.Walk` of it (its order, names and steps
            are used, not computed again).
        max_nodes: See :func:`draw`.
        practice: Also draw each step's question (see :attr:`Frames.questions`).
        max_edges: See :func:`draw`.
        **options: ``rankdir``, ``show_grad``, ``show_local_grads``, ``title``.

    Returns:
        The frame before backward, one frame per step, the final frame,
        ``(node id, name, grad)`` for every node, and the practice questions.
    """
    if isinstance(root, Walk):
        graph = _Graph(root.root, max_nodes, root, max_edges)
    else:
        graph = _Graph(root, max_nodes, max_edges=max_edges)
    walk = graph.walk
    state: dict[int, tuple[float, str]] = {}
    out = []
    asked = []
    shown = {id(v) for v in graph.order if not v.inputs}  # leaves, then each step's node
    for step, finals in zip(walk.steps, walk.finals):
        if practice:
            ask = {key: value for key, value in state.items() if key in shown}
            ask[id(step.node)] = (0.0, "ask")
            asked.append(graph.build(ask, _Asked(step.node), **options))
            shown.add(id(step.node))
        state[id(step.node)] = (step.upstream, "final")
        for sent, done in zip(step.contributions, finals):
            state[id(sent.input)] = (sent.grad_after, "final" if done else "partial")
        out.append((step, graph.build(dict(state), step, **options)))
    final = {key: (g, "final") for key, g in walk.final.items()}
    grads = [(f"n{i}", graph.names[id(v)], final[id(v)][0]) for i, v in enumerate(graph.order)]
    return Frames(graph.build({}, None, **options), out, graph.build(final, None, **options),
                  grads, asked)


def draw_steps(root: Value, *, max_nodes: int | None = DEFAULT_MAX_NODES,
               max_edges: int | Literal["auto"] | None = "auto",
               **options: Any) -> list[Drawing]:
    """One drawing per backward step, then one with every grad.

    Frame ``k`` highlights step ``k``'s node and the arrows its gradient flows
    down, and shows grads as of that step: final ones in black, partial sums
    (not every consumer has added its share yet) in orange, "not yet" for
    nodes no gradient has reached. Node positions are identical from frame to
    frame. The graph's own grads are left as they were.

    Args:
        root: The node to differentiate (usually the cost).
        max_nodes: See :func:`draw`.
        max_edges: See :func:`draw`.
        **options: ``rankdir``, ``show_grad``, ``show_local_grads``, ``title``.

    Returns:
        ``len(steps) + 1`` drawings.
    """
    made = frames(root, max_nodes=max_nodes, max_edges=max_edges, **options)
    return [d for _, d in made.steps] + [made.final]


def write_drawing(root: Value, path: str | FilePath, **options: Any) -> FilePath:
    """Draws ``root`` and writes the drawing; the format comes from the suffix.

    Args:
        root: The node to draw from.
        path: Where to write: ``.svg``, ``.png``, ``.pdf``, or ``.dot`` / ``.gv``
            (DOT text, which needs no Graphviz).
        **options: Passed to :func:`draw`, plus ``timeout`` (seconds for ``dot``).

    Returns:
        The path written.

    Raises:
        ValueError: The suffix is not one of the above.
        DotNotFoundError: ``dot`` is needed and missing.
        OSError: The file could not be written; a file that was there is left
            unchanged (the drawing goes to a temporary file renamed into place).
    """
    path = FilePath(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"write_drawing: cannot tell the format from {path.name!r}; "
            f"use one of the suffixes {sorted(_FORMATS)}"
        )
    timeout = float(options.pop("timeout", 120.0))
    drawing = draw(root, **options)
    data = drawing.source if fmt == "dot" else render(drawing.source, fmt, timeout=timeout)
    return write_atomically(path, data)
