"""Drawings of a Value graph that read like the notes, and backward frames.

:func:`draw` returns a :class:`graphviz.Digraph`: one box per Value (its name
in the notes' notation, ``data`` and ``grad``) and one small circle per op
(``+``, ``×``, ``σ``, ``²`` …). The arrow from an input to an op carries the
local derivative ``∂out/∂in`` that the engine stored on the node, so the
chain rule can be read off the picture: the grad of a box is the sum, over
its outgoing arrows, of (arrow's number) × (grad of the box the op makes).

Every label is an HTML-like label built from fully escaped text, so quotes,
backslashes, ``< > { } |``, newlines and non-ASCII render as written and can
never inject DOT. Node ids come from the topological order (``n0`` is the
first input, the root is last), never from labels, so the DOT text is
deterministic. Numbers are fixed-width in a monospace font, so frames of the
same graph have identical node positions.

A Value used again many levels after its first use gets a dashed copy of
its box (its name only) beside each such consumer, and that arrow starts at
the copy: one arrow across every level in between would cost ``dot`` time
growing with the square of the depth. The grad in a box is the sum over all
its arrows, those from its copies included.

Producing DOT text never needs Graphviz's ``dot`` program; rendering does,
and :func:`render` (from :mod:`scalargrad.dot`, which runs it) says exactly
what to install when it is missing.
"""

from __future__ import annotations

import html
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from pathlib import Path as FilePath
from typing import Any, Literal, NamedTuple

import graphviz

from ._files import write_atomically
from .dot import DEFAULT_DOT_TIMEOUT, render, split_svgs
from .engine import Value, forward_order
from .errors import DotNotFoundError, DotTimeoutError, DrawingTooLargeError
from .explanations import Explanation, Path
from .names import typeset_parts
from .notation import format_number
from .rules import RULES, Rule
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

DEFAULT_MAX_NODES = 400
"""Largest graph :func:`draw` accepts by default (``dot`` needs ~1 s per 1,000 values)."""

ARROWS_PER_VALUE = 3
"""By default a drawing may have this many arrows into ops per Value of ``max_nodes``.

The node limit alone lets through dense fan-in: 400 Values each summing the
previous 10 (3,900 arrows) took 3-5 s of ``dot`` CPU, and one Σ over 6,960
repeated inputs minutes. At 3 × 400 = 1,200 arrows the worst graphs measured
(Σ nodes over repeated inputs, windows of sums) took 0.4-1.1 s of ``dot``
CPU, about ten times a 200-op chain; ordinary graphs have 1-2 arrows per
Value (an MLP about 1.5).
"""

ROLE_COLOURS = {
    "input": "#cfe2f3",  # a leaf the user gave: a^(0), x, y
    "parameter": "#fde7b0",  # a leaf whose label starts with w or b
    "constant": "#eeeeee",  # a number in the expression (the 2 in 2*x)
    "intermediate": "#ffffff",
    "cost": "#f6c9c4",  # the root
}
"""Fill colour of a Value box by its role."""

HIGHLIGHT = "#d62728"
RECEIVER = "#ff9f1c"
PARTIAL = "#b35900"
PENDING = "#8a8a8a"
_LOCAL = "#1f5fa8"
_SANS = "DejaVu Sans"
_MONO = "DejaVu Sans Mono"
_RANKDIRS = ("LR", "RL", "TB", "BT")
_WIDTH = 10  # characters of every number in a box
_NN_LABEL = re.compile(r"([wbza])(?:_([0-9,]+))?\^\(([^()]+)\)")
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


# --- labels ---------------------------------------------------------------------------


def html_text(text: str) -> str:
    r"""Escapes text for a Graphviz HTML-like label so that it renders as written.

    ``& < > " ' ]`` become entities, backslashes are doubled (Graphviz would
    expand ``\N`` to the node's id and ``\G`` to the graph's name even here),
    newlines become ``<BR/>``, and characters
    Graphviz cannot take (control characters, lone surrogates) are shown as
    ``\xNN`` / ``\uNNNN`` escapes instead of breaking the file.
    """
    lines = []
    for line in re.split(r"\r\n|\r|\n", text):
        chars = []
        for ch in line:
            code = ord(ch)
            if ch == "\t":
                chars.append("    ")
            elif unicodedata.category(ch) in ("Cc", "Cs") or code in (0xFFFE, 0xFFFF):
                chars.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            else:
                chars.append(ch)
        # Graphviz expands \N, \G, \E, \T, \H even in HTML labels; \\ is a backslash.
        # A "]" right after a tag is a syntax error in Graphviz's HTML parser: &#93;.
        lines.append(html.escape("".join(chars).replace("\\", "\\\\"), quote=True)
                     .replace("]", "&#93;"))
    return "<BR/>".join(lines)


def graphviz_html_name(text: str, size: float = 14) -> str:
    """A name typeset for a Graphviz HTML-like label: real subscripts and superscripts.

    Names in the notes' notation get ``<SUB>``/``<SUP>`` in a smaller
    ``<FONT>`` (Graphviz draws scripts at full size otherwise):
    ``w_00^(1)`` reads w₀₀⁽¹⁾, ``a^(L-1)`` a⁽ᴸ⁻¹⁾, ``C_0`` C₀. Anything else
    is shown literally, escaped by :func:`html_text`
    (see :func:`scalargrad.names.typeset_parts`).

    Args:
        text: A display name (or text containing names).
        size: The point size of the surrounding text; scripts get 70% of it.
    """
    small = f"{size * 0.7:g}"
    out: list[str] = []
    for kind, chars in typeset_parts(text):
        body = html_text(chars)
        if kind == "text":
            # Graphviz drops a blank next to a script (a⁽³⁾− y): keep it as a no-break space
            out.append(body.replace(" ", "&#160;") if len(out) else body)
        else:
            tag = kind.upper()
            out.append(f'<FONT POINT-SIZE="{small}"><{tag}>{body}</{tag}></FONT>')
    return "".join(out)


html_name = graphviz_html_name
"""Deprecated: the old name of :func:`graphviz_html_name`, a Graphviz label (not in ``__all__``:
:func:`scalargrad.page.html_name` is the page's HTML for a browser)."""


def _cell(x: float) -> str:
    """A number in exactly ``_WIDTH`` characters: ``       0.5``, ``   −0.1309``.

    The text is :func:`~scalargrad.notation.format_number`'s, the same as the
    steps beside the drawing; the fixed width keeps node positions identical
    from frame to frame.
    """
    return format_number(x, width=_WIDTH)


def _symbol(rule: Rule) -> str:
    """An op's symbol in its box; ``x**2`` shows as ``x.square()`` does, ``²``."""
    return RULES["square"].symbol if rule.exponent == 2 else rule.symbol


def number_text(x: float) -> str:
    """The number as drawings show it on an arrow: the steps' text, ``0.5``, ``−0.1309``."""
    return format_number(x)


def _mono(text: str, colour: str = "") -> str:
    attrs = f' COLOR="{colour}"' if colour else ""
    body = html_text(text).replace(" ", "&#160;")
    return f'<FONT FACE="{_MONO}"{attrs}>{body}</FONT>'


def _box_label(name: str, data: float, grad: tuple[float, str] | None, show_grad: bool) -> str:
    rows = [
        f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="14">{graphviz_html_name(name)}</FONT></TD></TR>',
        f'<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">data </FONT></TD>'
        f'<TD ALIGN="RIGHT">{_mono(_cell(data))}</TD></TR>',
    ]
    if show_grad:
        if grad is None:
            value = _mono("not yet".rjust(_WIDTH), PENDING)
        elif grad[1] == "ask":
            value = f"<B>{_mono('?'.rjust(_WIDTH), HIGHLIGHT)}</B>"
        else:
            value = _mono(_cell(grad[0]), PARTIAL if grad[1] == "partial" else "")
        rows.append(
            f'<TR><TD ALIGN="LEFT"><FONT COLOR="#555555">grad </FONT></TD>'
            f'<TD ALIGN="RIGHT">{value}</TD></TR>'
        )
    body = "".join(rows)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def _port_label(symbol: str, locals_: Sequence[float], show: bool, rankdir: str,
                lit: bool) -> str:
    """An op with many inputs: a cell (port ``i<k>``) per input, holding ``∂out/∂in_k``.

    Each arrow ends at its own cell, so every local derivative sits on its own
    arrow however many inputs the op has (a neuron's Σ node has 2n + 1).
    """
    colour = HIGHLIGHT if lit else "#555555"
    cells = []
    for k, local in enumerate(locals_):
        text = _mono(number_text(local), _LOCAL) if show else " "
        cells.append(f'<TD PORT="i{k}" ALIGN="RIGHT" CELLPADDING="1">'
                     f'<FONT POINT-SIZE="10">{text}</FONT></TD>')
    head = (f'<TD ROWSPAN="{len(cells)}" BGCOLOR="#f2f2f2"><FONT POINT-SIZE="12">'
            f"{html_text(symbol)}</FONT></TD>")
    if rankdir in ("LR", "RL"):
        first = f"{cells[0]}{head}" if rankdir == "LR" else f"{head}{cells[0]}"
        rows = [first, *cells[1:]]
    else:
        head = head.replace(f'ROWSPAN="{len(cells)}"', f'COLSPAN="{len(cells)}"')
        rows = ["".join(cells), head] if rankdir == "TB" else [head, "".join(cells)]
    body = "".join(f"<TR>{r}</TR>" for r in rows)
    width = "3" if lit else "1"
    return (f'<<TABLE BORDER="{width}" CELLBORDER="1" CELLSPACING="0" COLOR="{colour}" '
            f'STYLE="ROUNDED" BGCOLOR="white">{body}</TABLE>>')


# --- the graph ------------------------------------------------------------------------


class _Asked(NamedTuple):
    """Highlight for a practice question: the node, and the arrows into its consumers."""

    node: Value


def _refuse_beyond(root: Value, limit: int | None, arrow_limit: int | None) -> None:
    """Raises :class:`DrawingTooLargeError` when ``root``'s graph is over either limit.

    ``limit`` bounds the Values, ``arrow_limit`` the arrows into ops (every
    input of every op, a repeated input once per use, as drawn); ``None``
    is no bound. One walk counts both and stops at twice either limit, so
    refusing a graph of millions costs about as much as counting to the
    limit: up to twice the limit the message gives the exact count, beyond
    it "at least" the count reached.
    """
    stop = math.inf if limit is None else 2 * limit
    arrow_stop = math.inf if arrow_limit is None else 2 * arrow_limit
    seen = {id(root)}
    stack = [root]
    arrows = 0
    push, pop, add = stack.append, stack.pop, seen.add
    while stack and len(seen) <= stop and arrows <= arrow_stop:
        inputs = pop().inputs
        arrows += len(inputs)
        for c in inputs:
            if id(c) not in seen:
                add(id(c))
                push(c)
    count = len(seen)
    exact = not stack
    name = root.label or "this Value"
    if limit is not None and count > limit:
        if exact:
            raise DrawingTooLargeError(
                f"the graph of {name} has {count} Values, more than max_nodes={limit}; dot "
                f"needs about a second per 1,000 Values and much longer beyond (minutes at "
                f"10,000). Draw one example rather than a batch, or pass max_nodes={count} "
                f"(or max_nodes=None) to draw it anyway.", count, limit,
            )
        raise DrawingTooLargeError(
            f"the graph of {name} has at least {count} Values (counting stopped there), "
            f"more than twice max_nodes={limit}; dot needs about a second per 1,000 Values "
            f"and much longer beyond (minutes at 10,000). Draw one example rather than a "
            f"batch, or pass max_nodes=None to draw it anyway.", count, limit, exact=False,
        )
    if arrow_limit is None or arrows <= arrow_limit:
        return
    why = "dot's layout time grows much faster than the arrows: one Σ over 7,000 takes minutes"
    if exact:
        raise DrawingTooLargeError(
            f"the graph of {name} has {arrows} arrows into its ops (an input used twice "
            f"counts twice), more than max_edges={arrow_limit} ({why}). Draw a smaller "
            f"graph, or pass max_edges={arrows} (or max_edges=None) to draw it anyway.",
            arrows, arrow_limit, what="arrows",
        )
    raise DrawingTooLargeError(
        f"the graph of {name} has at least {arrows} arrows into its ops (counting stopped "
        f"there), more than twice max_edges={arrow_limit} ({why}). Draw a smaller graph, "
        f"or pass max_edges=None to draw it anyway.", arrows, arrow_limit, exact=False,
        what="arrows",
    )


def _limits(max_nodes: object, max_edges: object) -> tuple[int | None, int | None]:
    """Checks both limits; ``"auto"`` arrows are :data:`ARROWS_PER_VALUE` × ``max_nodes``."""
    def check(limit: object, name: str) -> int | None:
        if limit is None:
            return None
        if isinstance(limit, bool) or not isinstance(limit, Integral) or limit < 1:
            raise ValueError(f"{name} must be a positive int or None, got {limit!r}")
        return int(limit)  # a numpy integer counts like an int

    nodes = check(max_nodes, "max_nodes")
    if isinstance(max_edges, str) and max_edges == "auto":
        return nodes, None if nodes is None else ARROWS_PER_VALUE * nodes
    return nodes, check(max_edges, 'max_edges (or "auto")')


_FAR = 3
"""Levels an arrow may span beyond a node's first use before it is drawn from a copy."""


def _levels(order: Sequence[Value], index: Mapping[int, int],
            consumers: Sequence[Sequence[int]]) -> tuple[list[int], list[int]]:
    """Each node's earliest and latest level (``order`` has inputs first, the root last).

    Earliest: 0 for a leaf, else one more than its deepest input's. Latest:
    the root's earliest level for the root, else one less than its earliest
    consumer's. ``dot`` ranks every node somewhere between the two.
    """
    early = [0] * len(order)
    for i, v in enumerate(order):
        inputs = v.inputs
        if inputs:
            early[i] = 1 + max([early[index[id(c)]] for c in inputs])
    late = [0] * len(order)
    top = early[-1] if early else 0
    for i in range(len(order) - 1, -1, -1):
        users = consumers[i]
        late[i] = min([late[u] for u in users]) - 1 if users else top
    return early, late


def _far_inputs(levels: Sequence[Sequence[int]],
                consumers: Sequence[Sequence[int]]) -> frozenset[tuple[int, int]]:
    """The (input, consumer) pairs whose arrow is drawn from a copy of the input's box.

    A node used again many levels after its first use (``x`` in
    ``tanh(tanh(x·0.9 + x)·0.9 + x)…``, or in ``x·0.5 + x·0.5 + …``) would
    need an arrow across every level in between; ``dot`` routes each such
    arrow through one virtual node per rank, and laying those out grows with
    the square of the depth (29 levels: ~40 s; 100 terms: ~40 s). So an
    arrow to a consumer more than :data:`_FAR` levels after the node's first
    consumer, counted in earliest or in latest levels (:func:`_levels`),
    starts at a dashed copy of the box drawn next to that consumer. The
    first consumer's arrow always starts at the box itself.
    """
    far: set[tuple[int, int]] = set()
    for c, users in enumerate(consumers):
        if len(users) > 1:
            for level in levels:
                first = min([level[i] for i in users])
                far.update((c, i) for i in users if level[i] - first > _FAR)
    return frozenset(far)


_SPAN = 1000
"""Above this :func:`_span`, ``dot``'s positioning pass is given an iteration budget."""


def _span(order: Sequence[Value], index: Mapping[int, int], early: Sequence[int],
          late: Sequence[int], far: frozenset[tuple[int, int]]) -> int:
    """About how many levels all arrows cross: the virtual nodes ``dot`` will position.

    Each arrow counts the larger of its lengths in earliest levels (a leaf
    sitting just before its first consumer) and in latest levels; an arrow
    from a copy counts 1. Dense graphs (many arrows into wide Σ nodes) reach
    thousands even with copies; above :data:`_SPAN` the drawing sets
    ``nslimit`` so that placing the nodes stays within seconds.
    """
    place = list(early)
    for j, v in enumerate(order):
        if not v.inputs:
            place[j] = late[j]  # a leaf: just before its first consumer
    total = 0
    for i, v in enumerate(order):
        for c in v.inputs:
            j = index[id(c)]
            total += 1 if (j, i) in far else max(early[i] - place[j], late[i] - late[j])
    return total


class _Graph:
    """What every frame of one graph shares: order, ids, names, roles, layer groups."""

    def __init__(self, root: Value, max_nodes: int | None, walk: Walk | None = None,
                 max_edges: int | Literal["auto"] | None = "auto") -> None:
        if not isinstance(root, Value):
            raise TypeError(f"draw needs a Value as root, not {type(root).__name__}")
        nodes, arrows = _limits(max_nodes, max_edges)
        if nodes is not None or arrows is not None:
            _refuse_beyond(root, nodes, arrows)
        if walk is None:
            walk = Walk(root)
        order = walk.order
        self.root = root
        self.walk = walk
        self.order = order
        self.index = {id(v): i for i, v in enumerate(order)}
        self.names = walk.names
        self.roles = [self._role(v) for v in order]
        self.consumers: list[list[int]] = [[] for _ in order]  # index → consumer indices
        for i, v in enumerate(order):
            for c in dict.fromkeys(id(c) for c in v.inputs):
                self.consumers[self.index[c]].append(i)
        self.levels, late = _levels(order, self.index, self.consumers)
        self.far = _far_inputs((self.levels, late), self.consumers)
        self.span = _span(order, self.index, self.levels, late, self.far)
        # Layer groups: every z_j^(l) (a_j^(l), b_j^(l), w_jk^(l)) of one layer on one
        # rank, in the order of their indices j (then k), as in the notes' diagrams.
        # Layer groups, one rank each, members in the notes' index order: every z_j^(l);
        # every a_j^(l); and each layer's parameters neuron by neuron (w_j0, w_j1, …, b_j,
        # then neuron j + 1), so that a neuron's weights and bias sit next to its Σ node.
        groups: dict[tuple[str, str], list[tuple[tuple[int, ...], int]]] = {}
        for i, v in enumerate(order):
            m = _NN_LABEL.fullmatch(v.label)
            if m:
                kind, sub, layer = m.groups()
                ix = _indices(sub or "")
                if kind in "wb":
                    key: tuple[int, ...] = (*ix[:1], kind == "b", *ix[1:])
                    groups.setdefault(("wb", layer), []).append((key, i))
                else:
                    groups.setdefault((kind, layer), []).append((ix, i))
        self.groups: list[tuple[str, list[int]]] = []
        for members in groups.values():
            ids = [i for _, i in sorted(members)]
            if len(ids) > 1:
                self.groups.append(("same", ids))

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
                for p in self.consumers[i]:
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
               fontname=_SANS, newrank="true")
        if self.span > _SPAN:  # a budget for positioning: minutes become about a second
            g.attr("graph", nslimit="0.2")
        if title is not None:
            g.attr("graph", label=f"<{graphviz_html_name(title, 16)}>", labelloc="t", fontsize="16")
        g.attr("node", fontname=_SANS, fontsize="11")
        g.attr("edge", fontname=_MONO, fontsize="10", color="#5a5a5a", arrowsize="0.6",
               fontcolor=_LOCAL)
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
            g.node(nid, _box_label(self.names[id(v)], v.data, grad, show_grad), **attrs)
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
                g.node(oid, _port_label(rule.symbol, v.local_grads, show_local_grads,
                                        rankdir, oid in hl_nodes), **op_attrs)
            else:
                g.node(oid, f"<{html_text(_symbol(rule))}>", **op_attrs)
            levels = [self.levels[self.index[id(c)]] for c in v.inputs]
            main = levels.index(max(levels))
            for k, (child, local) in enumerate(zip(v.inputs, v.local_grads)):
                c = self.index[id(child)]
                tail = f"n{c}"
                if (c, i) in self.far:  # drawn from a copy of the box, beside this op
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
                if self.far and k == main:
                    e_attrs["weight"] = "4"  # keeps the deepest path straight beside the copies
                side = {"LR": "w", "RL": "e", "TB": "n", "BT": "s"}[rankdir]
                g.edge(tail, f"{oid}:i{k}:{side}" if ports else oid, **e_attrs)
            e_attrs = {"id": f"e{i}"}
            if f"e{i}" in hl_edges:
                e_attrs.update({"class": "highlight", "color": HIGHLIGHT, "penwidth": "2.5"})
            g.edge(oid, nid, **e_attrs)
        for rank, ids in self.groups:
            with g.subgraph() as s:
                s.attr(rank=rank)
                for i in ids:
                    s.node(f"n{i}")
                # invisible edges within the rank keep the members in index order
                for a, b in itertools.pairwise(ids):
                    s.edge(f"n{a}", f"n{b}", style="invis")
        return g


def _indices(sub: str) -> tuple[int, ...]:
    """The indices of a label's subscript: ``"01"`` → (0, 1), ``"1,12"`` → (1, 12)."""
    parts = sub.split(",") if "," in sub else list(sub)
    return tuple(int(p) for p in parts if p)


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
