// Typesets every formula on the page with the site's own KaTeX (no CDN).
// The Markdown pages' formulas come from pymdownx.arithmatex (generic: \( \) and \[ \]);
// the lessons' Markdown cells (rendered by mkdocs-jupyter) keep the notebooks' $ and $$.
function typeset() {
  renderMathInElement(document.body, {
    delimiters: [
      { left: "$$", right: "$$", display: true },
      { left: "\\[", right: "\\]", display: true },
      { left: "\\(", right: "\\)", display: false },
      { left: "$", right: "$", display: false },
    ],
    ignoredClasses: ["highlight"],
    throwOnError: false,
  });
}
if (typeof document$ !== "undefined") document$.subscribe(typeset);
else document.addEventListener("DOMContentLoaded", typeset);
