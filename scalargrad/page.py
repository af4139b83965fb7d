"""The step-through page: backward one step at a time, in one self-contained HTML file.

:func:`save_steps_html` writes a single file with every frame's SVG inlined,
its own small script and style, and a Content-Security-Policy that forbids any
network access, so a teacher can open it from ``file://`` in class with no
server and nothing to download. Frames: the forward values (no gradient yet),
one frame per backward step (the step's node and arrows highlighted, its text
beside the graph), and a final frame with every gradient. Prev/Next buttons,
the ← / → keys (and Home / End) move between frames.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path as FilePath

from .engine import Value
from .names import display_names
from .trace import derivative_text
from .viz import HIGHLIGHT, PARTIAL, PENDING, RECEIVER, ROLE_COLOURS, frames, render, split_svgs

__all__ = ["DEFAULT_PAGE_MAX_NODES", "save_steps_html", "steps_html"]

DEFAULT_PAGE_MAX_NODES = 150
"""Largest graph the page accepts by default (one inlined SVG per step)."""

_STRIP = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->|<title>.*?</title>", re.DOTALL)

_STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif;
       color: #222; background: #fafafa; }
header { display: flex; align-items: center; gap: 1.2em; padding: .6em 1.2em;
         background: #24323f; color: #fff; }
header h1 { font-size: 1.2em; margin: 0; font-weight: 600; flex: 1; }
nav { display: flex; align-items: center; gap: .6em; }
button { font-size: 1em; padding: .35em 1em; border-radius: .4em; border: 1px solid #889;
         background: #fff; cursor: pointer; }
button:disabled { opacity: .4; cursor: default; }
#counter { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; min-width: 6em;
           text-align: center; }
main { display: flex; gap: 1em; padding: 1em; align-items: flex-start; }
main.wide { flex-direction: column; align-items: stretch; }
main.wide aside { display: flex; gap: 1.5em; align-items: flex-start; }
main.wide aside > div { flex: 1; }
#graph { flex: 3; background: #fff; border: 1px solid #ddd; border-radius: .5em;
         padding: .5em; overflow: auto; }
#graph svg { width: 100%; height: auto; max-height: 78vh; display: block; }
#graph svg text[font-family^="DejaVu Sans Mono"] {
  font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace; }
aside { flex: 2; min-width: 22em; }
aside h2 { font-size: 1.1em; margin: 0 0 .5em; }
.text { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: .95em;
        white-space: pre-wrap; background: #fff; border: 1px solid #ddd; border-radius: .5em;
        padding: .8em; margin: 0 0 1em; line-height: 1.5; }
.text table { border-collapse: collapse; }
.text td, .text th { padding: .1em .8em .1em 0; text-align: left; }
.text td.num { text-align: right; }
.legend { font-size: .85em; color: #444; line-height: 1.7; }
.sw { display: inline-block; width: 1.1em; height: .9em; border: 1px solid #555;
      border-radius: .2em; vertical-align: middle; margin-right: .3em; }
.hint { font-size: .8em; color: #777; }
[hidden] { display: none !important; }
"""

_SCRIPT = """
(function () {
  var frames = Array.prototype.slice.call(document.querySelectorAll(".frame"));
  var texts = Array.prototype.slice.call(document.querySelectorAll(".text"));
  var titles = JSON.parse(document.getElementById("titles").textContent);
  var prev = document.getElementById("prev"), next = document.getElementById("next");
  var counter = document.getElementById("counter"), heading = document.getElementById("heading");
  var current = 0;
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    frames.forEach(function (f, j) { f.hidden = j !== current; });
    texts.forEach(function (t, j) { t.hidden = j !== current; });
    counter.textContent = (current + 1) + " / " + frames.length;
    heading.textContent = titles[current];
    prev.disabled = current === 0;
    next.disabled = current === frames.length - 1;
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var to = {ArrowRight: current + 1, ArrowLeft: current - 1, PageDown: current + 1,
              PageUp: current - 1, Home: 0, End: frames.length - 1}[e.key];
    if (to !== undefined) { e.preventDefault(); show(to); }
  });
  show(0);
})();
"""


def _svg_body(svg: str) -> str:
    return _STRIP.sub("", svg).strip()


def _shape(svg: str) -> str:
    """``"wide"`` for a drawing much wider than tall: the text then goes below it."""
    m = re.search(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"', svg)
    if m and float(m.group(1)) > 2.0 * float(m.group(2)):
        return "wide"
    return "tall"


def _legend() -> str:
    roles = [("input", "input"), ("parameter", "parameter (w, b)"), ("constant", "constant"),
             ("intermediate", "intermediate"), ("cost", "cost (the root)")]
    swatches = " ".join(
        f'<span><span class="sw" style="background:{ROLE_COLOURS[r]}"></span>{text}</span>'
        for r, text in roles
    )
    return (
        f'<div class="legend">{swatches}<br>'
        f'<span class="sw" style="border:3px solid {HIGHLIGHT}"></span>node of this step, '
        f'<span class="sw" style="border:3px solid {RECEIVER}"></span>inputs it sends to<br>'
        f'numbers on arrows: the local derivative ∂out/∂in<br>'
        f'grad in <b style="color:{PARTIAL}">orange</b>: a partial sum (not every consumer '
        f'has added its share yet); <b style="color:{PENDING}">not yet</b>: no gradient has '
        f'arrived<br><span class="hint">Keys: → next, ← back, Home / End.</span></div>'
    )


def steps_html(
    root: Value, *, title: str | None = None, max_nodes: int | None = DEFAULT_PAGE_MAX_NODES,
    rankdir: str = "LR", timeout: float = 300.0,
) -> str:
    """Returns the step-through page for ``root`` as HTML text (see :func:`save_steps_html`)."""
    before, steps, final, grads = frames(root, max_nodes=max_nodes, rankdir=rankdir)
    names = display_names(root)
    drawings = [before, *(d for _, d in steps), final]
    svgs = split_svgs(render("\n".join(d.source for d in drawings), "svg", timeout=timeout))
    if len(svgs) != len(drawings):
        raise RuntimeError(f"dot returned {len(svgs)} SVGs for {len(drawings)} frames")
    root_name = names[id(root)]
    n = len(steps)
    titles = ["Before backward: the forward values"]
    texts = [html.escape(
        f"Every box shows its data; no gradient has been computed yet.\n\n"
        f"Backward starts at {root_name} with ∂{root_name}/∂{root_name} = 1, then "
        f"visits each op once, every consumer before its inputs. Each step multiplies "
        f"the node's gradient by the local derivative on each input arrow and adds the "
        f"result to that input's grad (the chain rule).\n\nPress Next or →."
    )]
    for k, (step, _) in enumerate(steps, 1):
        titles.append(f"Step {k} of {n}: {step.name}")
        texts.append(html.escape("\n".join(step.lines())))
    titles.append(f"All gradients of {root_name}")
    rows = "".join(
        f'<tr data-node="{nid}" data-grad="{g!r}"><td>'
        f"{html.escape(derivative_text(root_name, name))}</td><td class=\"num\">{g:.6g}</td></tr>"
        for nid, name, g in grads
    )
    texts.append(f'<table class="grads"><tr><th>gradient</th><th>value</th></tr>{rows}</table>')
    heading = html.escape(title if title is not None else f"Backpropagation through {root_name}")
    frame_divs = "\n".join(
        f'<div class="frame" data-frame="{i}" hidden>{_svg_body(svg)}</div>'
        for i, svg in enumerate(svgs)
    )
    text_divs = "\n".join(
        f'<div class="text" data-frame="{i}" hidden>{t}</div>' for i, t in enumerate(texts)
    )
    titles_json = json.dumps(titles).replace("<", "\\u003c")
    csp = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
           "img-src data:")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title>
<style>{_STYLE}</style>
</head>
<body>
<header><h1>{heading}</h1>
<nav><button id="prev" type="button">← Prev</button><span id="counter">1 / {len(svgs)}</span>
<button id="next" type="button">Next →</button></nav></header>
<main class="{_shape(svgs[0])}">
<section id="graph">
{frame_divs}
</section>
<aside>
<div><h2 id="heading">{html.escape(titles[0])}</h2>
{text_divs}</div>
{_legend()}
</aside>
</main>
<script type="application/json" id="titles">{titles_json}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""


def save_steps_html(
    root: Value, path: str | FilePath, *, title: str | None = None,
    max_nodes: int | None = DEFAULT_PAGE_MAX_NODES, rankdir: str = "LR", timeout: float = 300.0,
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

    Returns:
        The path written.

    Raises:
        DrawingTooLargeError: The graph has more than ``max_nodes`` Values.
        DotNotFoundError: Graphviz's ``dot`` program is missing.
    """
    path = FilePath(path)
    text = steps_html(root, title=title, max_nodes=max_nodes, rankdir=rankdir, timeout=timeout)
    path.write_text(text, encoding="utf-8")
    return path
