// Draw the flow diagrams of a page with mermaid, loaded only on pages that have one.
// Runs on a full page load and after every htmx swap (hx-boost replaces the body,
// so scripts inside it would run before mermaid has loaded).
(function () {
  "use strict";
  function draw() {
    var blocks = document.querySelectorAll("pre.mermaid:not([data-processed])");
    if (!blocks.length) return;
    function run() {
      window.mermaid.initialize({startOnLoad: false, securityLevel: "strict", flowchart: {htmlLabels: false}});
      window.mermaid.run({nodes: blocks});
    }
    if (window.mermaid) { run(); return; }
    var script = document.createElement("script");
    script.src = "/static/mermaid.min.js";
    script.onload = run;
    document.head.appendChild(script);
  }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:afterSettle", draw);
})();
