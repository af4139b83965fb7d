// The playground page: sends the typed grad arguments to the worker (worker.js), shows
// grad's output, the drawing, the step-through page (in a sandboxed iframe) and check's
// verdict. The worker runs the real scalargrad in Pyodide; nothing here computes.
const here = new URL("./", import.meta.url);
const $ = (id) => document.getElementById(id);
const BUDGET = { grad: 30, steps: 90, check: 90 }; // seconds before the worker is restarted

let worker = null;
let ready = false;
let pending = null; // {id, kind, resolve, timer, started}
let nextId = 1;
let queued = null;

function status(text, kind) {
  const el = $("pg-status");
  el.textContent = text;
  el.dataset.kind = kind || "info";
}

function busy(on) {
  $("pg-stop").disabled = !on;
  for (const b of document.querySelectorAll(".pg-run")) b.disabled = on || !ready;
}

function startWorker() {
  ready = false;
  busy(false);
  if (typeof WebAssembly !== "object" || typeof Worker !== "function") {
    status("This browser cannot run the playground: it needs WebAssembly and Web Workers " +
           "(any current Chrome, Firefox, Safari or Edge has both).", "error");
    return;
  }
  status("Loading Python and scalargrad in the browser (about 5–10 s the first time) …", "busy");
  worker = new Worker(new URL("worker.js", here), { type: "module" });
  worker.onmessage = (event) => {
    const m = event.data;
    if (m.type === "progress") status(m.text, "busy");
    else if (m.type === "ready") {
      ready = true;
      busy(false);
      $("pg-versions").textContent = `scalargrad ${m.versions.scalargrad}, Pyodide ` +
        `${m.versions.pyodide} (Python in WebAssembly), Graphviz ${m.versions.viz}`;
      status(`Ready (loaded in ${m.seconds.toFixed(1)} s).`, "ok");
      if (queued) { const q = queued; queued = null; q(); }
    } else if (m.type === "failed") {
      status("The playground could not load: " + m.message +
             ". Serve the site over http (make serve) — it does not work from file://.", "error");
    } else if (m.type === "answer" && pending && m.id === pending.id) {
      const p = pending;
      pending = null;
      clearTimeout(p.timer);
      busy(false);
      p.resolve(m.answer);
    }
  };
  worker.onerror = (event) => {
    status("The playground could not load: " + (event.message || "the worker failed to start") +
           ". It needs WebAssembly and must be served over http(s), not opened from file://.",
           "error");
  };
}

function restart(message) {
  if (worker) worker.terminate();
  const p = pending;
  pending = null;
  if (p) {
    clearTimeout(p.timer);
    p.resolve({ status: 2, stdout: "", stderr: message + "\n", variables: [], svg: "",
                latex: "", html: "", stopped: true });
  }
  startWorker();
  status(message + " Python is being restarted (a few seconds) …", "error");
}

// One request at a time: a request made while another runs waits for it (a change of the
// preset or of the explained variable during a computation is not lost, and no answer is
// taken for another's).
let chain = Promise.resolve();

function ask(request, what) {
  const run = () => new Promise((resolve) => {
    const go = () => {
      const id = nextId++;
      const budget = BUDGET[request.kind];
      busy(true);
      status(what + " …", "busy");
      const timer = setTimeout(() => {
        restart(`Stopped: ${what} ran past its ${budget} s time budget.`);
      }, budget * 1000);
      pending = { id, resolve, timer };
      worker.postMessage({ id, request });
    };
    if (ready) go(); else queued = go;
  });
  const answer = chain.then(run);
  chain = answer.catch(() => {});
  return answer;
}

function show(el, answer) {
  el.textContent = (answer.stdout || "") + (answer.stderr || "");
  el.dataset.status = String(answer.status);
}

function text() { return $("pg-args").value.trim(); }

async function compute() {
  const explain = $("pg-explain").value;
  const answer = await ask({ kind: "grad", text: text(), explain, hessian: $("pg-hessian").checked },
                           "computing the gradients");
  if (answer.stopped) return answer; // the status says it was stopped
  show($("pg-out"), answer);
  $("pg-drawing").innerHTML = answer.svg || "";
  const tex = $("pg-explain-tex");
  tex.replaceChildren();
  if (answer.latex && window.katex) {
    katex.render(answer.latex, tex, { displayMode: true, throwOnError: false });
  }
  const select = $("pg-explain");
  const keep = select.value;
  if (answer.variables.length) {
    select.replaceChildren(new Option("(none)", ""), ...answer.variables.map((v) => new Option(v, v)));
    select.value = answer.variables.includes(keep) ? keep : "";
    const wrt = $("pg-wrt");
    const keepWrt = wrt.value;
    wrt.replaceChildren(...answer.variables.map((v) => new Option(v, v)));
    if (answer.variables.includes(keepWrt)) wrt.value = keepWrt;
  }
  status(answer.status === 0 ? "Done: the gradients below are scalargrad's." :
         "scalargrad refused the input (see the message below).", answer.status === 0 ? "ok" : "error");
  return answer;
}

async function stepPage(practice) {
  const answer = await ask({ kind: "steps", text: text(), practice },
                           practice ? "making the practice page" : "making the step-through page");
  if (answer.stopped) return;
  const frame = $("pg-steps");
  if (answer.status === 0) {
    frame.srcdoc = answer.html;
    frame.hidden = false;
    $("pg-steps-msg").textContent = "";
    status("Click into the page, then use → and ← (or Next / Back).", "ok");
  } else {
    frame.hidden = true;
    $("pg-steps-msg").textContent = answer.stderr;
    status("scalargrad refused the input (see the message below).", "error");
  }
}

async function check() {
  status("checking (importing Hypothesis takes 2–4 s the first time) …", "busy");
  const answer = await ask({ kind: "check", text: text(), wrt: $("pg-wrt").value,
                             claim: $("pg-claim").value, ranges: $("pg-ranges").value },
                           "checking your derivative with Hypothesis");
  if (answer.stopped) return;
  show($("pg-check-out"), answer);
  status(answer.status === 0 ? "Your formula holds at every point drawn." :
         answer.status === 1 ? "Your formula has a counterexample (below)." :
         "The check could not run (see below).", answer.status === 0 ? "ok" : "error");
}

function fromHash() {
  const found = /^#grad=(.*)$/.exec(location.hash);
  if (!found) return false;
  try {
    $("pg-args").value = decodeURIComponent(found[1].replace(/\+/g, "%2B"));
  } catch (err) {
    status("The link's #grad= part is not valid URL encoding.", "error");
    return false;
  }
  return true;
}

function link() {
  const url = new URL(location.href);
  url.hash = "grad=" + encodeURIComponent(text());
  $("pg-link").href = url.href;
  $("pg-link").textContent = url.href;
}

function init() {
  const presets = JSON.parse($("pg-presets").textContent);
  $("pg-preset").addEventListener("change", (e) => {
    if (e.target.value) { $("pg-args").value = presets[e.target.value]; link(); compute(); }
  });
  $("pg-form").addEventListener("submit", (e) => { e.preventDefault(); link(); compute(); });
  $("pg-explain").addEventListener("change", compute);
  $("pg-hessian").addEventListener("change", compute);
  $("pg-step").addEventListener("click", () => stepPage(false));
  $("pg-practice").addEventListener("click", () => stepPage(true));
  $("pg-check").addEventListener("click", check);
  for (const id of ["pg-claim", "pg-ranges"]) {
    $(id).addEventListener("keydown", (e) => {
      if (e.key === "Enter" && ready && !pending) { e.preventDefault(); check(); }
    });
  }
  $("pg-stop").addEventListener("click", () => restart("Stopped."));
  $("pg-args").addEventListener("input", link);
  window.addEventListener("hashchange", () => { if (fromHash()) compute(); });
  startWorker();
  if (!fromHash()) $("pg-args").value = presets.chain;
  link();
  compute();
}

init();
