// Installable app: register the one service worker. Signed out, forget what was kept for
// offline use (pages and the scanner's manifest), so a shared phone keeps nothing of the last user.
(function () {
  "use strict";
  var signedOut = document.body.hasAttribute("data-signed-out");
  if (signedOut) {
    try {
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf("gb.") === 0 && key !== "gb.device") { window.localStorage.removeItem(key); }
      });
    } catch (error) { /* storage disabled: nothing kept */ }
    if (window.caches) { window.caches.delete("gb-pages"); }
  }
  // A page kept for offline use says, while the phone is offline, how old its figures are.
  var stale = document.querySelector("[data-stale]");
  if (stale) {
    var showStale = function () {
      if (navigator.onLine !== false) { stale.removeAttribute("data-shown"); return; }
      var at = new Date(stale.getAttribute("data-rendered-at"));
      var time = at.toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
      stale.textContent = stale.getAttribute("data-text").replace("{time}", time);
      stale.setAttribute("data-shown", "");
    };
    window.addEventListener("offline", showStale);
    window.addEventListener("online", showStale);
    showStale();
  }
  if (!("serviceWorker" in navigator) || !document.querySelector('link[rel="manifest"]')) { return; }
  // A new worker waits (sw.js): offer a reload, and reload once it has taken over.
  var reloading = false;
  function offerUpdate(worker) {
    if (!navigator.serviceWorker.controller || document.querySelector("[data-update]")) { return; }
    var bar = document.createElement("div");
    bar.className = "update-banner";
    bar.setAttribute("role", "status");
    bar.setAttribute("data-update", "");
    var text = document.createElement("span");
    text.textContent = document.body.dataset.updateText || "A new version is ready.";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "primary";
    button.textContent = document.body.dataset.updateButton || "Reload";
    button.addEventListener("click", function () {
      reloading = true;
      button.disabled = true;
      worker.postMessage({ type: "skip-waiting" });
    });
    bar.appendChild(text);
    bar.appendChild(button);
    document.body.appendChild(bar);
  }
  function watch(registration) {
    if (registration.waiting) { offerUpdate(registration.waiting); }
    registration.addEventListener("updatefound", function () {
      var worker = registration.installing;
      if (!worker) { return; }
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed") { offerUpdate(worker); }
      });
    });
  }
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (reloading) { window.location.reload(); }
  });
  navigator.serviceWorker.register(document.body.dataset.sw || "/sw.js", { scope: "/" }).then(function (registration) {
    watch(registration);
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    if (!signedOut && document.body.hasAttribute("data-keep-offline") && registration.active) {
      registration.active.postMessage({ type: "keep-page", path: window.location.pathname });
    }
    listCached();
  }).catch(function () { /* not installable here (plain http on a LAN address): pages still work */ });

  // The offline page lists the pages this device kept, so the user can open one of them.
  function listCached() {
    var list = document.querySelector("[data-cached-pages]");
    if (!list || !window.caches) { return; }
    var names = {};
    try { names = JSON.parse(list.dataset.names || "{}"); } catch (error) { names = {}; }
    window.caches.open("gb-pages").then(function (cache) { return cache.keys(); }).then(function (requests) {
      requests.forEach(function (request) {
        var path = new URL(request.url).pathname;
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = path;
        link.textContent = names[path] || path;
        item.appendChild(link);
        list.appendChild(item);
      });
      list.hidden = requests.length === 0;
    });
  }
})();
