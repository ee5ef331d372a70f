/* Service worker of the reporter page: the page opens with no connection, and queued
   reports are sent by Background Sync when the connection returns, even after the page
   was closed (where the browser supports it).

   Scope "/report" (served with Service-Worker-Allowed: /report) so that the page URL
   itself is controlled. __SHELL_VERSION__ is replaced by the server with a hash of the
   shell, so every release installs a fresh cache and drops the old one. */
"use strict";

importScripts("/report/queue.js");

var CACHE = "deadzone-report-__SHELL_VERSION__";
var SHELL = [
  "/report",
  "/report/app.css",
  "/report/strings.js",
  "/report/queue.js",
  "/report/app.js",
  "/report/nearby.js",
  "/report/icon.svg",
  "/report/manifest.webmanifest",
  "/report/leaflet/leaflet.js",
  "/report/leaflet/leaflet.css"
];
// Data the page reads, network first and the last copy offline: the server's limits and
// the offline base map (commune outlines, villages). Fetched at install too, so that a
// phone that never opened the map still has it the first time it is offline.
var DATA = ["/report/config.json", "/v1/areas/outlines"];

function keepData(cache) {
  return Promise.all(DATA.map(function (url) {
    return fetch(url, { cache: "no-store" }).then(function (response) {
      if (response.ok) return cache.put(url, response);
    }).catch(function () { /* a missing copy is not worth failing the install for */ });
  }));
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) {
        // "reload" bypasses the HTTP cache, so the new shell is really the new one.
        return cache.addAll(SHELL.map(function (url) { return new Request(url, { cache: "reload" }); }))
          .then(function () { return keepData(cache); });
      })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) {
        return Promise.all(keys.filter(function (key) {
          return key.indexOf("deadzone-report-") === 0 && key !== CACHE;
        }).map(function (key) { return caches.delete(key); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

/* Cache first for the shell (it is versioned, see above), network first for DATA;
   everything else, including POST /v1/readings, goes to the network untouched. */
self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var path = url.pathname === "/report/" ? "/report" : url.pathname;
  if (DATA.indexOf(path) >= 0) {
    event.respondWith(networkFirst(request, path));
    return;
  }
  if (SHELL.indexOf(path) < 0) return;
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      return cache.match(path).then(function (hit) { return hit || fetch(request); });
    })
  );
});

function networkFirst(request, path) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(path, copy); });
    }
    return response;
  }, function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(path); })
      .then(function (hit) { return hit || Response.error(); });
  });
}

function tellPages(message) {
  return self.clients.matchAll({ includeUncontrolled: true }).then(function (pages) {
    pages.forEach(function (page) { page.postMessage(message); });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag !== DZQueue.SYNC_TAG) return;
  // A rejection tells the browser to retry this sync later, with its own backoff.
  event.waitUntil(
    DZQueue.sendAll().then(function (totals) {
      return tellPages({ type: "queue-changed", totals: totals });
    })
  );
});
