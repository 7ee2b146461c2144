// Small behaviours any page may ask for with a data attribute, instead of inline handlers
// (onclick= attributes, script URLs in links), which the Content-Security-Policy refuses
// (app/headers.py):
//   data-autosubmit on a field: submit its form when the choice changes;
//   data-print on a button: open the print dialog;
//   data-back on a link: go back in history (the link's href is where it goes without JS);
//   data-stepper on a − n + group (ui.html's stepper): the buttons step the number within its
//     min and max and tell the form (an "input" event), so totals can follow;
//   data-toast on a message: a success fades after a few seconds (errors stay to be read).
(function () {
  "use strict";
  document.querySelectorAll("[data-autosubmit]").forEach(function (field) {
    field.addEventListener("change", function () {
      if (field.form) { field.form.submit(); }
    });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-back]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
  document.querySelectorAll("[data-stepper]").forEach(function (group) {
    var input = group.querySelector("input");
    var buttons = group.querySelectorAll("[data-step]");
    var bound = function (name, fallback) {
      var v = parseInt(input.getAttribute(name), 10);
      return isNaN(v) ? fallback : v;
    };
    var sync = function () {
      var value = parseInt(input.value, 10) || 0;
      buttons.forEach(function (button) {
        var step = parseInt(button.dataset.step, 10);
        button.disabled = step < 0 ? value <= bound("min", 0) : value >= bound("max", 9999);
      });
    };
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var value = (parseInt(input.value, 10) || 0) + parseInt(button.dataset.step, 10);
        input.value = String(Math.min(bound("max", 9999), Math.max(bound("min", 0), value)));
        input.dispatchEvent(new Event("input", { bubbles: true }));
        sync();
      });
    });
    input.addEventListener("input", sync);
    sync();
  });
  document.querySelectorAll("[data-toast]").forEach(function (toast) {
    if (!toast.classList.contains("ui-toast--success")) { return; }
    window.setTimeout(function () {
      toast.setAttribute("data-leaving", "");
      window.setTimeout(function () { toast.hidden = true; }, 500);
    }, 6000);
  });
})();
