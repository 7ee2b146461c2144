// Window documents: poll each unfinished document's progress and show its download when done.
(function () {
  "use strict";
  function watch(item) {
    var bar = item.querySelector("progress");
    var text = item.querySelector("[data-progress-text]");
    var link = item.querySelector("[data-download]");
    function tick() {
      window.fetch(item.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (job) {
          item.dataset.status = job.status;
          bar.value = job.percent;
          text.textContent = job.percent + "%";
          if (job.status === "done") {
            link.hidden = false;
            link.classList.remove("hidden");
            return;
          }
          if (job.status !== "failed") { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    tick();
  }
  document.querySelectorAll("[data-progress-url]").forEach(function (item) {
    if (item.dataset.status !== "done" && item.dataset.status !== "failed") { watch(item); }
  });
})();
