// Web Push on the settings page: subscribe this browser with the server's VAPID key, or stop.
// The service worker (sw.js) shows the pushes; the server keeps the subscription as a channel.
(function () {
  "use strict";
  var box = document.querySelector("[data-push]");
  if (!box) { return; }
  var status = box.querySelector("[data-push-status]");
  var button = box.querySelector("[data-push-toggle]");
  var d = box.dataset;

  function say(text) { status.textContent = text; }
  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }
  function post(url, body) {
    return window.fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok && response.status !== 404) { throw new Error("HTTP " + response.status); }
      return response;
    });
  }
  function keyBytes(text) {
    var raw = window.atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function show(subscription) {
    box.dataset.state = subscription ? "on" : "off";
    say(subscription ? d.textOn : d.textOff);
    button.textContent = subscription ? d.labelOff : d.labelOn;
    button.classList.toggle("primary", !subscription);
    button.hidden = false;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) {
    box.dataset.state = "unsupported";
    say(d.textUnsupported);
    return;
  }
  navigator.serviceWorker.ready.then(function (registration) {
    function turnOn() {
      return window.Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") { box.dataset.state = "denied"; say(d.textDenied); return null; }
        return window.fetch(d.keyUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.json(); })
          .then(function (key) {
            return registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key.public_key) });
          })
          .then(function (subscription) {
            return post(d.subscribeUrl, subscription.toJSON()).then(function () { return subscription; });
          });
      });
    }
    function turnOff(subscription) {
      return post(d.unsubscribeUrl, { endpoint: subscription.endpoint })
        .then(function () { return subscription.unsubscribe(); })
        .then(function () { return null; });
    }
    registration.pushManager.getSubscription().then(function (subscription) {
      show(subscription);
      button.addEventListener("click", function () {
        button.disabled = true;
        registration.pushManager.getSubscription()
          .then(function (current) { return current ? turnOff(current) : turnOn(); })
          .then(function (result) { if (box.dataset.state !== "denied") { show(result); } })
          .catch(function () { say(d.textFailed); })
          .then(function () { button.disabled = false; });
      });
    });
  });
})();
