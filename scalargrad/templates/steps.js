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
  }
  function fitZoom() {
    var svg = visibleFrame().querySelector("svg"), i = svgs.indexOf(svg);
    return Math.min((viewport.clientWidth - 28) / sizes[i][0],
                    (viewport.clientHeight - 28) / sizes[i][1]);
  }
  function centreStep() {  // the step's node, scrolled into view
    var node = visibleFrame().querySelector("g.value.highlight");
    if (!node) { return; }
    var r = node.getBoundingClientRect(), v = viewport.getBoundingClientRect();
    var left = v.left + viewport.clientLeft, top = v.top + viewport.clientTop;
    var w = viewport.clientWidth, h = viewport.clientHeight, m = 16;
    if (r.left < left + m || r.right > left + w - m) {
      viewport.scrollLeft += r.left + r.width / 2 - (left + w / 2);
    }
    if (r.top < top + m || r.bottom > top + h - m) {
      viewport.scrollTop += r.top + r.height / 2 - (top + h / 2);
    }
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
    current = Math.max(0, Math.min(last, k));
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
      $("verdict").innerHTML = verdicts[current].join("<br>");
      if (ask) {
        $("prompt").innerHTML = item(current).prompt;
        $("answer").value = "";
        $("feedback").innerHTML = "";
      }
    }
    centreStep();
  }
  prev.addEventListener("click", function () { show(current - 1); });
  next.addEventListener("click", function () { show(current + 1); });

  // --- practice ----------------------------------------------------------------------
  function readNumber(text) {
    text = text.trim().replace(/\u2212/g, "-").replace(/ /g, "");
    var num = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
    var parts = text.split("/");
    if (parts.length > 2 || !num.test(parts[0]) ||
        (parts.length === 2 && !num.test(parts[1].replace(/^\+/, "")))) { return null; }
    var value = parseFloat(parts[0]);
    if (parts.length === 2) {
      var d = parseFloat(parts[1]);
      if (d === 0) { return null; }
      value /= d;
    }
    return isFinite(value) ? value : null;
  }
  function isRight(value, answer) {
    return Math.abs(value - answer) <= Math.max(data.absTol, data.relTol * Math.abs(answer));
  }
  function updateTally() {
    $("tally-right").textContent = tally.right;
    $("tally-revealed").textContent = tally.revealed;
  }
  function item(k) {  // what position k asks now: its gradient, or what it sends down arrow j
    var q = data.questions[k - 1];
    return stage[k] === 0 ? q : q.sends[stage[k] - 1];
  }
  function settle(k, verdict) {
    var q = data.questions[k - 1];
    verdicts[k].push(verdict);
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
      var q = item(current), typed = $("answer").value;
      var value = readNumber(typed), feedback = $("feedback");
      if (value === null) {
        feedback.innerHTML = '<span class="wrong">Type a number, e.g. -0.25, 2.5e-3 or 1/4.</span>';
        return;
      }
      if (isRight(value, q.answer)) {
        if (stage[current] === 0) { tally.right += 1; }
        settle(current, '<span class="right">✓ Right:</span> ' + q.right);
        return;
      }
      var message = q.check;
      q.slips.forEach(function (slip) {
        if (message === q.check && isRight(value, slip[0])) { message = slip[1]; }
      });
      feedback.innerHTML = '<span class="wrong">Not quite: you wrote <span class="yours"></span>.</span> ' +
        message + '<div class="working">' + q.working + '</div>';
      feedback.querySelector(".yours").textContent = typed.trim();
      $("answer").select();
    });
    $("reveal").addEventListener("click", function () {
      if (stage[current] === 0) { tally.revealed += 1; }
      settle(current, '<span class="wrong">Revealed:</span> ' + item(current).right);
    });
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

  show(0);
  var fit = fitZoom();  // small graphs are enlarged (up to 150%), large ones never shrunk
  setZoom(fit > 1 ? Math.min(fit, 1.5) : 1);
  centreStep();
})();
