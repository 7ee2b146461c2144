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
  if (!("serviceWorker" in navigator) || !document.querySelector('link[rel="manifest"]')) { return; }
  navigator.serviceWorker.register(document.body.dataset.sw || "/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    if (!signedOut && document.body.hasAttribute("data-keep-offline") && registration.active) {
      registration.active.postMessage({ type: "keep-page", path: window.location.pathname });
    }
  }).catch(function () { /* not installable here (plain http on a LAN address): pages still work */ });
})();
