// GroupBuy service worker (one for the whole app: scanner and leader pages).
// App shell: cache-first, replaced as a whole when its version changes. Pages listed in
// OFFLINE_PAGES: network-first, the last good copy kept for when the network drops. API calls
// are never cached here: the scanner keeps its own offline manifest and queue.
"use strict";
const VERSION = {{ version|tojson }};
const SHELL = "gb-shell-" + VERSION;
const PAGES = "gb-pages";
const PRECACHE = {{ precache|tojson }};
const OFFLINE_URL = {{ url_for("pwa.offline")|tojson }};
const OFFLINE_PAGES = {{ offline_pages|tojson }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) {
    return cache.addAll(PRECACHE);
  }).then(function () {
    // The first worker takes over at once. A new version waits until the user taps "Reload"
    // (pwa.js), so a page is never switched to new code in the middle of a hand-over.
    if (!self.registration.active) { return self.skipWaiting(); }
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      return key.indexOf("gb-shell-") === 0 && key !== SHELL;
    }).map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function keepsOffline(url) {
  return OFFLINE_PAGES.some(function (path) { return url.pathname === path; });
}

async function page(request) {
  const url = new URL(request.url);
  try {
    const response = await fetch(request);
    // Only a real page of the signed-in user is kept, never the login page it redirects to.
    if (response.ok && !response.redirected && keepsOffline(url)) {
      const cache = await caches.open(PAGES);
      await cache.put(url.pathname, response.clone());
    }
    return response;
  } catch (error) {
    const cached = keepsOffline(url) ? await caches.match(url.pathname, { cacheName: PAGES }) : null;
    return cached || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) { return; }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
    return;
  }
  if (PRECACHE.indexOf(url.pathname) !== -1) {
    event.respondWith(caches.match(url.pathname, { cacheName: SHELL }).then(function (hit) {
      return hit || fetch(request);
    }));
  }
});

// The page asks the worker to keep the page it is on (its first load was not yet controlled).
self.addEventListener("message", function (event) {
  const data = event.data || {};
  if (data.type === "keep-page" && typeof data.path === "string" && keepsOffline(new URL(data.path, self.location.origin))) {
    event.waitUntil(fetch(data.path, { credentials: "same-origin" }).then(function (response) {
      if (response.ok && !response.redirected) {
        return caches.open(PAGES).then(function (cache) { return cache.put(data.path, response); });
      }
    }).catch(function () {}));
  }
  if (data.type === "forget-pages") {
    event.waitUntil(caches.delete(PAGES));
  }
  if (data.type === "skip-waiting") {
    self.skipWaiting();
  }
});

// Web Push: show what the server sent (services/notify/push.py payload) and open its page on a tap.
self.addEventListener("push", function (event) {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (error) { data = { title: event.data.text() }; }
  const title = data.title || "GroupBuy";
  event.waitUntil(self.registration.showNotification(title, {
    body: data.body || "",
    tag: data.tag || undefined,
    icon: {{ url_for("pwa.icon", size=192)|tojson }},
    badge: {{ url_for("pwa.icon", size=192)|tojson }},
    data: { url: data.url || "/" },
  }));
});

// Tapping a notification opens its page: in a window of ours if one is open, else a new one.
// A named function so the browser test can run it on a shown notification (CDP cannot tap).
function openFromNotification(notification) {
  notification.close();
  const target = new URL((notification.data || {}).url || "/", self.location.origin);
  if (target.origin !== self.location.origin) { return Promise.resolve(null); }  // only ever our own pages
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
    for (const client of windows) {
      if ("focus" in client) {
        return client.navigate(target.href).then(function (c) {
          // focus() is only allowed during a real tap; the navigation is what matters.
          return (c || client).focus().catch(function () { return c || client; });
        });
      }
    }
    return self.clients.openWindow(target.href);
  }).then(function () { return target.pathname + target.search; });
}

self.addEventListener("notificationclick", function (event) {
  event.waitUntil(openFromNotification(event.notification));
});
