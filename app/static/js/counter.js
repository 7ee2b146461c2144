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
  // On the preview the focused "next code" input takes the scanner's keystrokes. A scanner ends
  // every scan with Enter: characters then Enter are the NEXT bag's code and are looked up (the
  // form's own submit); a bare Enter confirms this bag instead.
  var rescan = document.querySelector("form[data-rescan]");
  if (rescan) {
    rescan.addEventListener("submit", function (event) {
      if (rescan.elements.code.value.trim()) { return; }
      event.preventDefault();
      // With the "only some items" panel open, Enter sends the quantities shown there.
      var panel = document.querySelector("details[data-partial][open] form[data-partial-form]");
      var confirmForm = panel || document.querySelector("form[data-once]");
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
  // Tells tests (and anyone curious) that the keyboard handlers are in place.
  document.documentElement.dataset.counterReady = "1";
})();
