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

// The running total and item count in the sticky submit bar, following the steppers (page.js
// sends an "input" event when a − or + is pressed). The server computes the real total.
(function () {
  "use strict";
  var total = document.querySelector("[data-cart-total]");
  var count = document.querySelector("[data-cart-count]");
  var form = total && total.closest("form");
  if (!form) { return; }
  var yuan = function (fen) {
    var zero = total.getAttribute("data-currency");  // the formatted ¥0.00 of this locale
    return zero.replace(/0[.,]00/, (fen / 100).toLocaleString(document.documentElement.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  };
  var update = function () {
    var fen = 0, units = 0;
    form.querySelectorAll("[data-price]").forEach(function (row) {
      var input = row.querySelector("input[type=number]");
      var qty = input ? Math.max(0, parseInt(input.value, 10) || 0) : 0;
      fen += qty * parseInt(row.getAttribute("data-price"), 10);
      units += qty;
    });
    total.textContent = yuan(fen);
    var words = units === 0 ? count.getAttribute("data-empty") : count.getAttribute(units === 1 ? "data-one" : "data-many");
    count.textContent = words.replace("{n}", String(units));
  };
  form.addEventListener("input", update);
  update();
})();
