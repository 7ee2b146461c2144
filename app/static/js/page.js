// Small behaviours any page may ask for with a data attribute, instead of inline handlers
// (onclick= attributes, script URLs in links), which the Content-Security-Policy refuses
// (app/headers.py):
//   data-autosubmit on a field: submit its form when the choice changes;
//   data-print on a button: open the print dialog;
//   data-back on a link: go back in history (the link's href is where it goes without JS).
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
})();
