// Leader pages: live countdowns to each window's cut-off, copy buttons, and "select all" boxes.
(function () {
  "use strict";

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  document.querySelectorAll("[data-closes-at]").forEach(function (el) {
    var end = Date.parse(el.getAttribute("data-closes-at"));
    if (isNaN(end)) {
      return;
    }
    function tick() {
      var left = Math.floor((end - Date.now()) / 1000);
      if (!(left > 0)) {
        el.textContent = el.getAttribute("data-closed") || "";
        return;
      }
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60);
      el.textContent = (d ? d + (el.getAttribute("data-day") || "d") + " " : "") + pad(h) + ":" + pad(m) + ":" + pad(left % 60);
      window.setTimeout(tick, 1000);
    }
    tick();
  });

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var target = document.getElementById(button.dataset.copyTarget);
    if (!target) {
      return;
    }
    var label = button.textContent;
    function done() {
      button.textContent = button.dataset.copied || label;
      window.setTimeout(function () { button.textContent = label; }, 2000);
    }
    function fallback() {
      target.focus();
      target.select();
      document.execCommand("copy");
      done();
    }
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(target.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });

  // A box with data-select-all="name" ticks or clears every checkbox of that name in its form.
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    var form = all.form;
    var name = all.getAttribute("data-select-all");
    if (!form) {
      return;
    }
    all.addEventListener("change", function () {
      form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
