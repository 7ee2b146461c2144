// The shop's countdown to the window's cut-off (a file, not an inline script: the
// Content-Security-Policy allows scripts from this origin only, app/headers.py).
(function () {
  "use strict";
  var el = document.querySelector("[data-closes-at]");
  if (!el) { return; }
  var end = Date.parse(el.getAttribute("data-closes-at"));
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var left = Math.floor((end - Date.now()) / 1000);
    if (!(left > 0)) { el.textContent = el.getAttribute("data-closed"); return; }
    var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60);
    el.textContent = el.getAttribute("data-label") + " " + (d ? d + el.getAttribute("data-day") + " " : "") +
      pad(h) + ":" + pad(m) + ":" + pad(left % 60);
    window.setTimeout(tick, 1000);
  }
  tick();
})();
