// The playground's Web Worker: Pyodide running the scalargrad wheel built from this
// checkout, and Graphviz compiled to WebAssembly (@viz-js/viz) for the drawings.
// Every file comes from the site itself (manifest.json lists the wheels). The page sends
// {id, request}; the worker answers {id, answer} with scalargrad.playground.handle's JSON.
import { loadPyodide } from "./pyodide/pyodide.mjs";
import { instance } from "./viz.js";

const here = new URL("./", import.meta.url);
let handle = null;
let viz = null;

function say(type, fields) {
  self.postMessage({ type, ...fields });
}

function renderSvg(dot) {
  return viz.renderString(dot, { format: "svg" });
}

async function start() {
  const t0 = performance.now();
  if (typeof WebAssembly !== "object") {
    throw new Error("this browser has no WebAssembly, which Pyodide (Python in the browser) needs");
  }
  const manifest = await (await fetch(new URL("manifest.json", here))).json();
  say("progress", { text: `loading Python (Pyodide ${manifest.pyodide}) …` });
  const pyodide = await loadPyodide({ indexURL: new URL("pyodide/", here).href });
  say("progress", { text: "loading scalargrad " + manifest.scalargrad + " …" });
  await pyodide.loadPackage(manifest.wheels.map((w) => new URL("wheels/" + w, here).href),
                            { messageCallback: () => {} });
  viz = await instance();
  const module = pyodide.pyimport("scalargrad.playground");
  handle = module.handle;
  say("ready", { seconds: (performance.now() - t0) / 1000, versions: manifest });
}

const started = start().catch((err) => {
  say("failed", { message: String(err && err.message ? err.message : err) });
  throw err;
});

self.onmessage = async (event) => {
  const { id, request } = event.data;
  try {
    await started;
    const answer = JSON.parse(handle(JSON.stringify(request), renderSvg));
    say("answer", { id, answer });
  } catch (err) {
    say("answer", { id, answer: { status: 2, stdout: "", stderr: "playground: " + String(err) } });
  }
};
