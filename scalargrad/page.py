"""The step-through page: backward one step at a time, in one self-contained HTML file.

:func:`save_steps_html` writes a single file with every frame's SVG inlined,
its own script and style, and a Content-Security-Policy that forbids any
network access, so a teacher can open it from ``file://`` in class with no
server and nothing to download. Positions: the forward values (no gradient
yet), one per backward step (the step's node and arrows highlighted, its text
beside the graph), and all gradients. One counter ("Step 3 of 8") says where
you are; Prev/Next, ← / → (and Home / End) move.

The graph is drawn at its own size (node text 12–15 CSS px, readable on a
projector) and scrolls and pans (drag, scroll bars); zoom with the buttons,
``+`` / ``-`` / ``0`` (100%) / ``f`` (fit) or Ctrl+wheel. Every step scrolls
its node into view.

With ``practice=True`` each step first asks the student for the node's
gradient ``∂C/∂node`` (see :mod:`scalargrad.practice`) and, when they tick
the box, what the step sends down each input arrow; the step's text and
numbers appear once the answers are right or revealed, and a tally counts
right and revealed gradients. No key or button goes past the first question
not yet answered, and no answered step's text or drawing shows the gradient of a
node whose own question is still to come (its box reads "not shown", the text
names what is sent and which step asks for it; both appear once it is answered).
The script reads and judges answers by the data
:mod:`scalargrad.practice` writes into the page (its :data:`READER` state
machine, each question's windows and slips), so the page and Python agree on
every answer (``window.scalargradVerdict(k, stage, text)`` in the page returns
the verdict, for tests); progress is kept in ``localStorage`` under a hash of
the page's content, when the browser allows it.

The frames are laid out by Graphviz's ``dot`` program, or by any other
:class:`Renderer` passed as ``render=`` (the docs playground passes Graphviz
compiled to WebAssembly).

The page's HTML, CSS and JavaScript are package data files
(``scalargrad/templates/steps.html``, ``steps.css``, ``steps.js``,
``practice.html``) read with :mod:`importlib.resources`.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path as FilePath
from typing import Literal, Protocol

from ._files import write_atomically
from .engine import Value
from .names import plain_name, typeset_parts, where
from .notation import LOCAL_MARK, derivative_text, format_number
from .practice import (
    ABS_TOL,
    READER,
    REL_TOL,
    Question,
    Send,
    questions,
    slip_windows,
    step_numbers,
    worked_lines,
)
from .steps import Step
from .viz import HIGHLIGHT, PARTIAL, PENDING, RECEIVER, ROLE_COLOURS, frames, render, split_svgs
from .walk import Walk

__all__ = [
    "DEFAULT_PAGE_MAX_NODES",
    "Renderer",
    "StepsView",
    "html_name",
    "save_steps_html",
    "show_steps",
    "steps_html",
]

DEFAULT_PAGE_MAX_NODES = 150
"""Largest graph the page accepts by default (one inlined SVG per step)."""

HELD = "not shown"
"""A practice box's grad while its own step's question is still to come."""
_BOX_WIDTH = 10  # characters of a box's number cell in the drawings


class Renderer(Protocol):
    """Lays out DOT text: the signature of :func:`scalargrad.dot.render` (the ``dot`` program).

    ``source`` may hold several graphs, one after another; the result is their outputs
    (SVG documents for ``fmt="svg"``) one after another, as ``dot`` writes them.
    """

    def __call__(self, source: str, fmt: str = "svg", *, timeout: float = ...) -> bytes:
        """The laid-out graphs of ``source`` in format ``fmt``, within ``timeout`` seconds."""
        ...


_STRIP = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<title>.*?</title>", re.DOTALL)
_SLOT = re.compile(r"\{\{(\w+)\}\}")


@functools.cache
def _template(name: str) -> str:
    """A file of the page, read from the installed package (``scalargrad/templates``)."""
    return resources.files("scalargrad").joinpath("templates").joinpath(name).read_text(
        encoding="utf-8")


def _fill(template: str, **slots: str) -> str:
    """Fills every ``{{slot}}`` in one pass (filled text is never scanned again)."""
    missing = set(_SLOT.findall(template)) - set(slots)
    if missing:
        raise KeyError(f"page template slots without a value: {sorted(missing)}")
    return _SLOT.sub(lambda m: slots[m.group(1)], template)


def html_name(text: str) -> str:
    """Text for the page with names typeset: ``w_00^(1)`` → ``w<sub>00</sub><sup>(1)</sup>``.

    Everything is HTML-escaped; text that is not a name in the notes' form
    is shown as written (see :func:`scalargrad.names.typeset_parts`).
    """
    out = []
    for kind, chars in typeset_parts(text):
        body = html.escape(chars, quote=True)
        out.append(body if kind == "text" else f"<{kind}>{body}</{kind}>")
    return "".join(out)


def _svg_body(svg: str) -> str:
    return _STRIP.sub("", svg).strip()


def _shape(svg: str) -> str:
    """``"wide"`` for a drawing much wider than tall: the text then goes below it."""
    m = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    if m and float(m.group(1)) > 2.0 * float(m.group(2)):
        return "wide"
    return "tall"


def _legend(practice: bool) -> str:
    roles = [("input", "input"), ("parameter", "parameter (w, b)"), ("constant", "constant"),
             ("intermediate", "intermediate"), ("cost", "cost (the root)")]

    def item(swatch: str, text: str) -> str:  # a swatch never wraps away from its label
        return f'<span class="item">{swatch}{text}</span>'

    swatches = " ".join(
        item(f'<span class="sw" style="background:{ROLE_COLOURS[r]}"></span>', text)
        for r, text in roles
    )
    asked = (" " + item(f'<b style="color:{HIGHLIGHT}">?</b>: ', "the gradient you are asked "
                        "for") + "; " + item('<span class="sw from"></span>',
                                             "the nodes it comes from")) if practice else ""
    held = (f'; <b style="color:{PENDING}">{HELD}</b>: a gradient a later step asks for'
            if practice else "")
    return (
        f'<div class="legend">{swatches}<br>'
        + item(f'<span class="sw" style="border:3px solid {HIGHLIGHT}"></span>',
               "node of this step") + ", "
        + item(f'<span class="sw" style="border:3px solid {RECEIVER}"></span>',
               "inputs it sends to")
        + f'{asked}<br>'
        f'numbers on arrows: the local derivative ∂out/∂in (written ∂…{LOCAL_MARK} in the '
        f'text where it is not the total)<br>'
        f'grad in <b style="color:{PARTIAL}">orange</b>: a partial sum (not every consumer '
        f'has added its share yet); <b style="color:{PENDING}">not yet</b>: no gradient has '
        f'arrived{held}<br><span class="hint">Keys: → next, ← back, Home / End; + / − zoom, '
        f'0 actual size, f fit; drag to pan, Ctrl+wheel to zoom.</span></div>'
    )


def _question_data(q: Question | Send) -> dict[str, object]:
    """What the page's script needs for one question (HTML already escaped and typeset).

    The script reads the answer with :data:`~scalargrad.practice.READER` and judges it
    by these windows, exactly as :meth:`Question.check` does: ``window`` is right,
    else the first of ``slips`` whose ``[lo, hi]`` holds the number names the slip.
    """
    data: dict[str, object] = {
        "prompt": html_name(q.prompt),
        "window": list(q.window()),
        "slips": [[lo, hi, html_name(message)]
                  for (lo, hi), (_, message) in zip(slip_windows(q), q.slips)],
        "check": "Check each factor:",
        "working": "\n".join(html_name(line) for line in q.working()),
        "right": html_name(f"{q.prompt[:-1]}{format_number(q.answer)}"),
    }
    if isinstance(q, Question):
        data["sends"] = [_question_data(s) for s in q.sends()]
    return data


def _held(line: str, held: str | None, k: int) -> str:
    """A worked line for practice: the script shows ``line`` once step ``k`` is answered."""
    if held is None:
        return html_name(line)
    return (f'<span class="sent" data-step="{k}"><span class="full" hidden>{html_name(line)}'
            f'</span><span class="held">{html_name(held)}</span></span>')


def _held_boxes(made_steps: Sequence[tuple[Step, object]], order: Sequence[Value],
                numbers: dict[int, int]) -> list[list[list[object]]]:
    """``[box id, k]`` per position, for each box shown with a grad before step ``k`` asks it.

    The script hides those grads until step ``k`` is answered or revealed.
    """
    box = {id(v): f"n{i}" for i, v in enumerate(order)}
    out: list[list[list[object]]] = [[]]
    reached: dict[int, int] = {}  # id → step k of a node some step has sent a share to
    for number, (step, _) in enumerate(made_steps, 1):
        for c in step.contributions:
            k = numbers.get(id(c.input), 0)
            if k > number:
                reached[id(c.input)] = k
        out.append([[box[i], k] for i, k in reached.items() if k > number])
    return out


def _all_lines(steps: Sequence[tuple[Step, object]]) -> str:
    return "\n".join(line for step, _ in steps for line in step.lines())


def steps_html(
    root: Value | Walk, *, title: str | None = None, max_nodes: int | None = DEFAULT_PAGE_MAX_NODES,
    rankdir: str = "LR", timeout: float = 300.0, practice: bool = False,
    max_edges: int | Literal["auto"] | None = "auto",
    render: Renderer = render,
) -> str:
    """Returns the step-through page for ``root`` as HTML text (see :func:`save_steps_html`).

    ``root`` may be a :class:`~scalargrad.walk.Walk`: its names and steps are used.

    Args:
        root: The node to differentiate, or a :class:`~scalargrad.walk.Walk` of it.
        title: The page heading (default "Backpropagation through <root>").
        max_nodes: Refuse graphs with more Values.
        rankdir: See :func:`scalargrad.viz.draw`.
        timeout: Seconds for the layout of every frame (passed to ``render``).
        practice: Ask for each step's gradient first (see :func:`save_steps_html`).
        max_edges: Refuse graphs with more arrows (see :func:`scalargrad.viz.draw`).
        render: Lays the frames out: called once as ``render(source, "svg",
            timeout=timeout)`` with every frame's DOT graph in ``source``, it returns their
            SVG documents one after another (a :class:`Renderer`). The default runs
            Graphviz's ``dot`` (:func:`scalargrad.dot.render`); the docs playground passes
            Graphviz compiled to WebAssembly.
    """
    walk = root if isinstance(root, Walk) else Walk(root) if isinstance(root, Value) else None
    made = frames(root if walk is None else walk, max_nodes=max_nodes, rankdir=rankdir,
                  practice=practice, max_edges=max_edges)
    assert walk is not None  # frames refused anything else
    names = walk.names
    root = walk.root
    drawings = [made.before, *(d for _, d in made.steps), made.final, *made.questions]
    svgs = split_svgs(render("\n".join(d.source for d in drawings), "svg", timeout=timeout))
    if len(svgs) != len(drawings):
        raise RuntimeError(f"the layout (render) returned {len(svgs)} SVGs for {len(drawings)} "
                           f"frames")
    root_name = names[id(root)]
    n = len(made.steps)
    counters = ["Before backward", *(f"Step {k} of {n}" for k in range(1, n + 1)),
                "All gradients"]
    titles = [html.escape("The forward values")]
    texts = [html_name(
        f"Every box shows its data; no gradient has been computed yet.\n\n"
        f"Backward starts at {root_name} with {derivative_text(root_name, root_name)} = 1, "
        f"then visits each op once, every consumer before its inputs. Each step multiplies "
        f"the node's gradient by the local derivative on each input arrow and adds the "
        f"result to that input's grad (the chain rule).\n\n"
        + ("At each step you compute the node's gradient first. " if practice else "")
        + "Press Next or →."
    )]
    defined = where(root, _all_lines(made.steps), walk.naming)  # the made-up names every step uses
    if defined:
        texts[0] += "\n\n" + html_name(defined)
    numbers = step_numbers(s for s, _ in made.steps)
    for step, _ in made.steps:
        titles.append(f"Backward at {html_name(step.name)}")
        lines = step.lines()
        # each step's text defines its made-up names
        defined = where(root, "\n".join(lines), walk.naming)
        shown = ([html_name(line) for line in lines] if not practice else
                 [_held(line, held, k) for line, held, k in worked_lines(step, numbers)])
        texts.append("\n".join(shown + ([html_name(defined)] if defined else [])))
    titles.append(f"All gradients of {html_name(root_name)}")
    rows = "".join(
        f'<tr data-node="{nid}" data-grad="{g!r}"><td>'
        f'{html_name(derivative_text(root_name, name))}</td>'
        f'<td class="num">{format_number(g)}</td></tr>'
        for nid, name, g in made.grads
    )
    texts.append(f'<table class="grads"><tr><th>gradient</th><th>value</th></tr>{rows}</table>')
    heading = title if title is not None else f"Backpropagation through {root_name}"
    frame_ids = [f"f{k}" for k in range(n + 2)] + [f"q{k}" for k in range(1, n + 1)]
    frame_divs = "\n".join(
        f'<div class="frame" id="{fid}" hidden>{_svg_body(svg)}</div>'
        for fid, svg in zip(frame_ids, svgs)
    )
    text_divs = "\n".join(
        f'<div class="text" id="t{k}" hidden>{t}</div>' for k, t in enumerate(texts)
    )
    if practice:
        asked = questions(s for s, _ in made.steps)
        panel = _fill(_template("practice.html"), rel_tol=f"{REL_TOL:g}",
                      abs_tol=f"{ABS_TOL:g}", total=str(n), tally_hidden="")
        panel += '<div id="verdict" hidden></div>'
    else:
        asked = []
        panel = ""
    data = {
        "practice": practice,
        "counters": counters,
        "titles": titles,
        "questions": [_question_data(q) for q in asked],
        "relTol": REL_TOL,
        "absTol": ABS_TOL,
        "reader": READER if practice else None,
    }
    if practice:  # the boxes whose grad waits for a later question, and how they read
        data.update(held=_held_boxes(made.steps, walk.order, numbers),
                    heldText=HELD.rjust(_BOX_WIDTH), heldColour=PENDING)
    # progress is kept in the browser per page: the key is a hash of what the page shows
    content = json.dumps(data, ensure_ascii=False) + frame_divs + text_divs
    data["key"] = "scalargrad-steps:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]
    # "</" and "<!--" can never appear inside the script element's JSON
    data_json = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return _fill(
        _template("steps.html"),
        doc_title=html.escape(plain_name(heading)), title=html_name(heading),
        mode="practice" if practice else "watch",
        counter=counters[0], shape=_shape(svgs[0]), frames=frame_divs, heading=titles[0],
        practice=panel, texts=text_divs, legend=_legend(practice), data=data_json,
        style=_template("steps.css"), script=_template("steps.js"),
    )


def save_steps_html(
    root: Value, path: str | FilePath, *, title: str | None = None,
    max_nodes: int | None = DEFAULT_PAGE_MAX_NODES, rankdir: str = "LR", timeout: float = 300.0,
    practice: bool = False, max_edges: int | Literal["auto"] | None = "auto",
) -> FilePath:
    """Writes the step-through page: one self-contained HTML file, no network needed.

    The graph's own grads are left as they were (the steps run from zero
    grads, which are restored afterwards).

    Args:
        root: The node to differentiate (usually the cost).
        path: The ``.html`` file to write.
        title: The page heading (default "Backpropagation through <root>").
        max_nodes: Refuse graphs with more Values (each step inlines one SVG).
        rankdir: See :func:`scalargrad.viz.draw`.
        timeout: Seconds for ``dot`` to lay out every frame.
        practice: Ask the student for each step's gradient before showing it
            (checked within a relative 1e-3; an absolute 1e-4 only for values that are
            0 in exact arithmetic). Progress is kept in the browser's storage for the
            page, with a Reset button.
        max_edges: Refuse graphs with more arrows into ops (see
            :func:`scalargrad.viz.draw`; by default 3 per Value of ``max_nodes``).

    Returns:
        The path written.

    Raises:
        DrawingTooLargeError: The graph has more than ``max_nodes`` Values
            or more than ``max_edges`` arrows.
        DotNotFoundError: Graphviz's ``dot`` program is missing.
        OSError: The file could not be written; a file that was there is left
            unchanged (the page goes to a temporary file renamed into place).
    """
    text = steps_html(root, title=title, max_nodes=max_nodes, rankdir=rankdir,
                      timeout=timeout, practice=practice, max_edges=max_edges)
    return write_atomically(path, text)


class StepsView:
    """The step-through page shown inline in Jupyter (a sandboxed ``<iframe srcdoc>``).

    Attributes:
        html: The whole page (what :func:`save_steps_html` would write).
        height: The frame's height in CSS px.
    """

    def __init__(self, page: str, height: int = 640) -> None:
        self.html = page
        self.height = height

    def _repr_html_(self) -> str:
        # allow-scripts without allow-same-origin: the page runs in an opaque origin and
        # cannot touch the notebook; its own CSP still forbids any network access.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
            f'style="width:100%;height:{self.height}px;border:1px solid #ccd;'
            f'border-radius:6px" title="backward, step by step"></iframe>'
        )

    def save(self, path: str | FilePath) -> FilePath:
        """Writes the page to an ``.html`` file and returns its path."""
        return write_atomically(path, self.html)


def show_steps(
    root: Value, practice: bool = False, *, title: str | None = None,
    max_nodes: int | None = DEFAULT_PAGE_MAX_NODES, rankdir: str = "LR", height: int = 640,
) -> StepsView:
    """The step-through page for a notebook: display the result (last line of a cell).

    Args:
        root: The node to differentiate (usually the cost).
        practice: Ask for each step's gradient first (see :func:`save_steps_html`).
        title: The page heading.
        max_nodes: Refuse graphs with more Values.
        rankdir: See :func:`scalargrad.viz.draw`.
        height: The inline frame's height in CSS px.

    Returns:
        A :class:`StepsView`; Jupyter shows it as the interactive page.
    """
    if isinstance(height, bool) or not isinstance(height, int) or height < 100:
        raise ValueError(f"show_steps: height must be a whole number of px ≥ 100, got {height!r}")
    page = steps_html(root, title=title, max_nodes=max_nodes, rankdir=rankdir,
                      practice=practice)
    return StepsView(page, height)
