// Pickup counter: keep the code input focused for USB/Bluetooth scanners (they "type" the code
// and press Enter, which submits the form by itself), and never submit a confirm twice.
(function () {
  "use strict";
  var input = document.querySelector("[data-counter-input]");

  function refocus() {
    if (input && document.activeElement !== input && !document.querySelector("dialog[open]")) {
      input.focus();
    }
  }

  if (input) {
    // After a successful hand-over the next customer's code starts from an empty input.
    if (document.querySelector("[data-redeem-ok]")) {
      input.value = "";
    }
    input.focus();
    input.select();
    // A click on empty space (or coming back to the tab) must not strand the scanner's keystrokes.
    document.addEventListener("click", function (event) {
      if (!event.target.closest("a, button, input, select, textarea, label")) {
        refocus();
      }
    });
    window.addEventListener("focus", refocus);
    var select = document.querySelector(".counter-form select");
    if (select) {
      select.addEventListener("change", function () { input.focus(); });
    }
  }

  // The preview's confirm: one submit only; Escape goes back for the next code.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
    });
  });
  // On the preview nothing is focused, so a scanner's keystrokes arrive at the document. A scanner
  // ends every scan with Enter: a bare Enter confirms this bag, while characters followed by Enter
  // are the NEXT bag's code and are looked up instead — never a hand-over of the previewed bag.
  // On the preview the focused "next code" input takes the scanner's keystrokes. A scanner ends
  // every scan with Enter: characters then Enter are the NEXT bag's code and are looked up (the
  // form's own submit); a bare Enter confirms this bag instead.
  var rescan = document.querySelector("form[data-rescan]");
  if (rescan) {
    rescan.addEventListener("submit", function (event) {
      if (rescan.elements.code.value.trim()) { return; }
      event.preventDefault();
      var confirmForm = document.querySelector("form[data-once]");
      if (confirmForm) { confirmForm.requestSubmit(); }
    });
  }

  var cancel = document.querySelector("[data-cancel]");
  if (cancel) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        window.location.href = cancel.href;
      }
    });
  }
})();
