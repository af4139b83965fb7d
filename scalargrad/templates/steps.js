// The step-through page: one position per frame (before backward, each step, all
// gradients), zoom and pan of the graph, and practice mode. No network, no libraries.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("page-data").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var last = data.counters.length - 1;
  var viewport = $("viewport"), prev = $("prev"), next = $("next");
  var svgs = Array.prototype.slice.call(document.querySelectorAll("#canvas svg"));
  var sizes = svgs.map(function (svg) {  // the drawing's own size in CSS px (1pt = 4/3 px)
    return [parseFloat(svg.getAttribute("width")) * 4 / 3,
            parseFloat(svg.getAttribute("height")) * 4 / 3];
  });
  var answered = data.counters.map(function () { return !data.practice; });
  var stage = data.counters.map(function () { return 0; });  // 0: the gradient, k: send k
  var verdicts = data.counters.map(function () { return []; });
  var tally = {right: 0, revealed: 0};
  var current = 0, zoom = 1;

  function asking(k) { return data.practice && k > 0 && k < last && !answered[k]; }
  function firstOpen() {  // practice: no position past the first question not yet answered
    if (!data.practice) { return last; }
    for (var k = 1; k < last; k++) { if (!answered[k]) { return k; } }
    return last;
  }
  function visibleFrame() { return document.querySelector(".frame:not([hidden])"); }

  // --- zoom and pan ----------------------------------------------------------------
  function setZoom(z, cx, cy) {
    z = Math.max(0.1, Math.min(4, z));
    if (cx === undefined) { cx = viewport.clientWidth / 2; cy = viewport.clientHeight / 2; }
    var x = (viewport.scrollLeft + cx) / zoom, y = (viewport.scrollTop + cy) / zoom;
    zoom = z;
    svgs.forEach(function (svg, i) {
      svg.style.width = (sizes[i][0] * z) + "px";
      svg.style.height = (sizes[i][1] * z) + "px";
    });
    viewport.scrollLeft = x * z - cx;
    viewport.scrollTop = y * z - cy;
    $("zoom-level").textContent = Math.round(z * 100) + "%";
    layout();
  }
  // A wide drawing has the text below it: the text gets the height it needs (at most 45%
  // when the graph needs the room), the graph all the rest.
  var main = document.querySelector("main"), aside = document.querySelector("aside");
  var wide = main.classList.contains("wide");
  function spare() {  // main's height for the graph and the text together
    var st = getComputedStyle(main);
    return main.clientHeight - parseFloat(st.paddingTop) - parseFloat(st.paddingBottom) -
           parseFloat(st.rowGap || st.gap || "0");
  }
  function textNeed() {
    aside.style.flex = "none"; aside.style.height = "auto";
    return aside.getBoundingClientRect().height;
  }
  function layout() {
    if (!wide) { return; }
    var avail = spare(), need = textNeed();
    var svg = visibleFrame().querySelector("svg"), i = svgs.indexOf(svg);
    var graph = sizes[i][1] * zoom + 26 + (viewport.offsetHeight - viewport.clientHeight);
    var a = Math.max(0, Math.min(need, Math.max(0.45 * avail, avail - graph)));
    aside.style.height = a + "px";
    viewport.style.flex = "none";
    viewport.style.height = Math.max(0, avail - a) + "px";
  }
  function fitZoom() {
    var svg = visibleFrame().querySelector("svg"), i = svgs.indexOf(svg);
    var h = viewport.clientHeight;
    if (wide) {  // the height the graph gets once it is fitted
      var avail = spare();
      h = avail - Math.min(textNeed(), 0.45 * avail) -
          (viewport.offsetHeight - viewport.clientHeight);
      layout();
    }
    return Math.min((viewport.clientWidth - 28) / sizes[i][0], (h - 28) / sizes[i][1]);
  }
  function centreStep() {  // the step's node and the nodes on its lit arrows, in view
    var frame = visibleFrame(), node = frame.querySelector("g.value.highlight");
    if (!node) { return; }
    var r = node.getBoundingClientRect(), v = viewport.getBoundingClientRect();
    var u = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    frame.querySelectorAll("g.value.receiver").forEach(function (g) {
      var b = g.getBoundingClientRect();
      u.left = Math.min(u.left, b.left); u.top = Math.min(u.top, b.top);
      u.right = Math.max(u.right, b.right); u.bottom = Math.max(u.bottom, b.bottom);
    });
    var left = v.left + viewport.clientLeft, top = v.top + viewport.clientTop;
    var w = viewport.clientWidth, h = viewport.clientHeight, m = 16;
    function shift(lo, hi, nodeLo, nodeHi, start, size) {
      if (hi - lo <= size - 2 * m) {  // all of it fits: the smallest scroll that shows it
        if (lo < start + m) { return lo - (start + m); }
        if (hi > start + size - m) { return hi - (start + size - m); }
        return 0;
      }
      return (nodeLo + nodeHi) / 2 - (start + size / 2);  // too big: the node in the middle
    }
    viewport.scrollLeft += shift(u.left, u.right, r.left, r.right, left, w);
    viewport.scrollTop += shift(u.top, u.bottom, r.top, r.bottom, top, h);
  }
  viewport.addEventListener("wheel", function (e) {
    if (!e.ctrlKey) { return; }
    e.preventDefault();
    var v = viewport.getBoundingClientRect();
    setZoom(zoom * Math.exp(-e.deltaY * 0.002), e.clientX - v.left, e.clientY - v.top);
  }, {passive: false});
  var drag = null;
  viewport.addEventListener("pointerdown", function (e) {
    if (e.button !== 0) { return; }
    drag = {x: e.clientX, y: e.clientY, left: viewport.scrollLeft, top: viewport.scrollTop};
    viewport.classList.add("dragging");
  });
  window.addEventListener("pointermove", function (e) {
    if (!drag) { return; }
    viewport.scrollLeft = drag.left - (e.clientX - drag.x);
    viewport.scrollTop = drag.top - (e.clientY - drag.y);
  });
  window.addEventListener("pointerup", function () {
    drag = null;
    viewport.classList.remove("dragging");
  });
  $("zoom-in").addEventListener("click", function () { setZoom(zoom * 1.25); });
  $("zoom-out").addEventListener("click", function () { setZoom(zoom / 1.25); });
  $("zoom-reset").addEventListener("click", function () { setZoom(1); centreStep(); });
  $("zoom-fit").addEventListener("click", function () { setZoom(fitZoom()); });

  // --- positions ---------------------------------------------------------------------
  function show(k) {
    current = Math.max(0, Math.min(firstOpen(), k));
    var ask = asking(current);
    var frameId = ask ? "q" + current : "f" + current;
    document.querySelectorAll(".frame").forEach(function (f) { f.hidden = f.id !== frameId; });
    document.querySelectorAll(".text").forEach(function (t) {
      t.hidden = ask || t.id !== "t" + current;
    });
    $("counter").textContent = data.counters[current];
    $("heading").innerHTML = data.titles[current];
    prev.disabled = current === 0;
    next.disabled = current === last || ask;
    if (data.practice) {
      $("practice").hidden = !ask;
      $("verdict").hidden = verdicts[current].length === 0;
      $("verdict").innerHTML = verdicts[current].map(verdictHtml).join("<br>");
      if (ask) {
        $("prompt").innerHTML = item(current).prompt;
        $("answer").value = "";
        $("feedback").innerHTML = "";
      }
    }
    withhold();
    layout();
    centreStep();
    save();
  }
  // Practice: a gradient whose own question is still to come is never shown, not in a
  // box's grad nor in what a worked step says it sent; it appears once it is answered.
  function known(k) { return answered[k] || stage[k] > 0; }
  function withhold() {
    if (!data.practice) { return; }
    var frame = visibleFrame();
    if (frame && frame.id === "f" + current && current < last) {
      (data.held[current] || []).forEach(function (h) {
        var box = frame.querySelector('g[id="' + h[0] + '"]');
        var cells = box ? box.querySelectorAll("text") : [];
        if (!cells.length) { return; }
        var cell = cells[cells.length - 1];  // the box's last cell is its grad
        if (!cell.hasAttribute("data-grad-text")) {
          cell.setAttribute("data-grad-text", cell.textContent);
          cell.setAttribute("data-grad-fill", cell.getAttribute("fill") || "");
        }
        var hide = !known(h[1]);
        cell.textContent = hide ? data.heldText : cell.getAttribute("data-grad-text");
        var fill = hide ? data.heldColour : cell.getAttribute("data-grad-fill");
        if (fill) { cell.setAttribute("fill", fill); } else { cell.removeAttribute("fill"); }
      });
    }
    var text = $("t" + current);
    if (!text) { return; }
    text.querySelectorAll(".sent").forEach(function (line) {
      var open = known(+line.getAttribute("data-step"));
      line.querySelector(".full").hidden = !open;
      line.querySelector(".held").hidden = open;
    });
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });

  // --- practice ----------------------------------------------------------------------
  // Reading and judging an answer follow the data the page was made with (the same
  // machine and windows scalargrad.practice uses): one pass over the text, two comparisons.
  function readNumber(text) {
    var r = data.reader, state = 0, chars = [], slash = -1;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (r.skip.indexOf(ch) >= 0) { continue; }
      if (ch === r.minus) { ch = "-"; }
      var kind = Object.prototype.hasOwnProperty.call(r.classes, ch) ? r.classes[ch] : null;
      var to = kind === null ? undefined : r.next[state][kind];
      if (to === undefined) { return null; }
      state = to;
      if (kind === "slash") { slash = chars.length; }
      chars.push(ch);
    }
    if (r.accept.indexOf(state) < 0) { return null; }
    var clean = chars.join(""), value;
    if (slash < 0) { value = Number(clean); } else {
      var bottom = Number(clean.slice(slash + 1));
      if (bottom === 0) { return null; }
      value = Number(clean.slice(0, slash)) / bottom;
    }
    return isFinite(value) ? value : null;
  }
  function judge(value, q) {  // -1 right, k the k-th slip, null wrong
    if (q.window[0] <= value && value <= q.window[1]) { return -1; }
    for (var k = 0; k < q.slips.length; k++) {
      if (q.slips[k][0] <= value && value <= q.slips[k][1]) { return k; }
    }
    return null;
  }
  function verdictOf(text, q) {  // what the page says of an answer, for the tests too
    var value = readNumber(text);
    return value === null ? "unreadable" : judge(value, q);
  }
  function at(k, s) {  // question k at stage s: its gradient (0) or what it sends down arrow s
    var q = data.questions[k - 1];
    return s === 0 ? q : q.sends[s - 1];
  }
  function verdictHtml(v) {  // v = [kind, stage]
    return (v[0] === "right" ? '<span class="right">✓ Right:</span> '
                             : '<span class="wrong">Revealed:</span> ') + at(current, v[1]).right;
  }
  // --- progress, kept in the browser per page (when the browser lets the page keep it) ---
  var store = null;
  if (data.practice) {
    try {
      store = window.localStorage;
      store.setItem(data.key + ":probe", "1");
      store.removeItem(data.key + ":probe");
    } catch (e) { store = null; }  // file:// in some browsers, a sandboxed frame: not kept
  }
  function save() {
    if (!store) { return; }
    try {
      store.setItem(data.key, JSON.stringify({answered: answered, stage: stage,
        verdicts: verdicts, current: current, sends: $("ask-sends").checked}));
    } catch (e) {  // full, or taken away: go on without it, and say so
      store = null;
      $("kept").textContent = "(no longer kept: the browser refused to store more)";
    }
  }
  function load() {
    if (!store) { return; }
    var saved;
    try { saved = JSON.parse(store.getItem(data.key) || "null"); } catch (e) { return; }
    var n = data.counters.length;
    if (!saved || !Array.isArray(saved.answered) || saved.answered.length !== n ||
        !Array.isArray(saved.stage) || saved.stage.length !== n ||
        !Array.isArray(saved.verdicts) || saved.verdicts.length !== n) { return; }
    for (var k = 1; k < last; k++) {
      var q = data.questions[k - 1], ok = Array.isArray(saved.verdicts[k]) &&
        saved.verdicts[k].every(function (v) {
          return Array.isArray(v) && (v[0] === "right" || v[0] === "revealed") &&
                 v[1] === (v[1] | 0) && v[1] >= 0 && v[1] <= q.sends.length;
        });
      if (!ok || typeof saved.answered[k] !== "boolean" || saved.stage[k] !== (saved.stage[k] | 0) ||
          saved.stage[k] < 0 || saved.stage[k] > q.sends.length) { return; }
    }
    for (k = 1; k < last; k++) {
      answered[k] = saved.answered[k]; stage[k] = saved.stage[k]; verdicts[k] = saved.verdicts[k];
      verdicts[k].forEach(function (v) {
        if (v[1] === 0) { tally[v[0] === "right" ? "right" : "revealed"] += 1; }
      });
    }
    $("ask-sends").checked = saved.sends === true;
    current = typeof saved.current === "number" ? saved.current : 0;
  }
  function updateTally() {
    $("tally-right").textContent = tally.right;
    $("tally-revealed").textContent = tally.revealed;
  }
  function item(k) { return at(k, stage[k]); }  // what position k asks now
  function settle(k, kind) {
    var q = data.questions[k - 1];
    verdicts[k].push([kind, stage[k]]);
    var more = stage[k] === 0 ? $("ask-sends").checked && q.sends.length > 0
                              : stage[k] < q.sends.length;
    if (more) { stage[k] += 1; } else { answered[k] = true; }
    updateTally();
    show(k);
    if (more) { $("answer").focus(); }
  }
  if (data.practice) {
    // Check by click or Enter, not by submitting a form: a sandboxed frame (show_steps in
    // Jupyter) blocks form submission.
    $("answer").addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); $("check").click(); }
    });
    $("check").addEventListener("click", function () {
      var q = item(current), typed = $("answer").value, feedback = $("feedback");
      var found = verdictOf(typed, q);
      if (found === "unreadable") {
        feedback.innerHTML = '<span class="wrong">Couldn\u2019t read that as a number. Type a number, ' +
          'e.g. -0.25, 2.5e-3 or 1/4 (one sign at most).</span>';
        return;
      }
      if (found === -1) {
        if (stage[current] === 0) { tally.right += 1; }
        settle(current, "right");
        return;
      }
      var message = found === null ? q.check : q.slips[found][2];
      feedback.innerHTML = '<span class="wrong">Not quite: you wrote <span class="yours"></span>.</span> ' +
        message + '<div class="working">' + q.working + '</div>';
      var t = typed.trim();
      feedback.querySelector(".yours").textContent =
        t.length <= 40 ? t : t.slice(0, 40) + "\u2026 (" + t.length + " characters)";
      $("answer").select();
      layout();
    });
    $("reveal").addEventListener("click", function () {
      if (stage[current] === 0) { tally.revealed += 1; }
      settle(current, "revealed");
    });
    $("ask-sends").addEventListener("change", save);
    var armed = null;  // Reset takes two clicks: one slip of the mouse loses no work
    $("reset").addEventListener("click", function () {
      var button = $("reset");
      if (armed === null) {
        button.textContent = "Click again to forget every answer";
        armed = setTimeout(function () { armed = null; button.textContent = "Reset"; }, 4000);
        return;
      }
      clearTimeout(armed); armed = null; button.textContent = "Reset";
      for (var k = 1; k < last; k++) { answered[k] = false; stage[k] = 0; verdicts[k] = []; }
      tally.right = 0; tally.revealed = 0;
      if (store) { try { store.removeItem(data.key); } catch (e) { store = null; } }
      updateTally();
      show(0);
    });
    $("kept").textContent = store ? "(kept in this browser)" : "(not kept: this browser keeps nothing for this page)";
    // for tests and the docs playground: what the page says of an answer
    window.scalargradVerdict = function (k, s, text) { return verdictOf(text, at(k, s)); };
  }

  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) { return; }
    var to = {ArrowRight: current + 1, ArrowLeft: current - 1, PageDown: current + 1,
              PageUp: current - 1, Home: 0, End: last}[e.key];
    if (to !== undefined) {
      e.preventDefault();
      if (to > current && asking(current)) { $("answer").focus(); return; }
      show(to);
      return;
    }
    var zooms = {"+": zoom * 1.25, "=": zoom * 1.25, "-": zoom / 1.25, "_": zoom / 1.25, "0": 1};
    if (zooms[e.key] !== undefined) { e.preventDefault(); setZoom(zooms[e.key]); centreStep(); }
    else if (e.key === "f") { e.preventDefault(); setZoom(fitZoom()); }
  });

  window.addEventListener("resize", function () { layout(); });
  if (data.practice) { load(); updateTally(); }
  show(current);
  var fit = fitZoom();  // small graphs are enlarged (up to 150%), large ones never shrunk
  setZoom(fit > 1 ? Math.min(fit, 1.5) : 1);
  centreStep();
})();
