/* alliancesim: when a front-end file of the dashboard fails to load, say so on the page
   instead of leaving it white.  Solara embeds this file in every page (assets/custom.js). */
(function () {
  var CDN = "/_solara/cdn/";
  var failed = [];
  function show() {
    if (!failed.length) { return; }
    var box = document.getElementById("alliancesim-asset-error");
    if (!box) {
      box = document.createElement("div");
      box.id = "alliancesim-asset-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:2147483647;padding:16px 24px;" +
        "background:#fff3cd;color:#3b2f00;font:18px/1.5 sans-serif;border-bottom:3px solid #b58900";
      (document.body || document.documentElement).appendChild(box);
    }
    box.textContent = "alliancesim: the dashboard could not load " + failed.length +
      " of its front-end files (" + failed.slice(0, 3).join(", ") + (failed.length > 3 ? ", ..." : "") +
      "), so parts of the page will stay blank. Stop the dashboard, run " +
      "'python -m alliancesim.dashboard.assets' with the Python that runs alliancesim " +
      "(or reinstall alliancesim), and start it again.";
  }
  function note(url) {
    var at = String(url).indexOf(CDN);
    if (at === -1) { return; }
    var name = String(url).slice(at + CDN.length).split("?")[0];
    if (failed.indexOf(name) === -1) { failed.push(name); }
    if (document.body) { show(); } else { document.addEventListener("DOMContentLoaded", show); }
  }
  // files that failed before this script ran, and later ones (responseStatus: HTTP status)
  if (window.PerformanceObserver) {
    try {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (e) { if (e.responseStatus >= 400) { note(e.name); } });
      }).observe({ type: "resource", buffered: true });
    } catch (e) { /* an old browser: the error listener below still catches later failures */ }
  }
  // scripts and stylesheets added later (mermaid, katex, vega, the grid layout) fire "error"
  window.addEventListener("error", function (ev) {
    var el = ev.target;
    if (el && el !== window && (el.src || el.href)) { note(el.src || el.href); }
  }, true);
})();
