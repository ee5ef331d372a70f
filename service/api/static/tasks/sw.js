/* Service worker of the task page (/tasks): a village team opens its list where it has
   signal and walks to places that have none, so the page and the last list it showed must
   open again with no connection.

   Network first for everything the page reads (its shell, Leaflet, its list from
   /v1/tasks, the QR code), the last copy when the network fails: the list a team sees is
   the newest it could get. A copy is marked (X-Deadzone-Offline-Copy) so that the page
   says how old it is. Scope "/tasks" (served with Service-Worker-Allowed: /tasks) so that
   the page URL itself, with any ?village=, is controlled. */
"use strict";

var CACHE = "deadzone-tasks-1";
var SHELL = [
  "/tasks",
  "/tasks/tasks.js",
  "/tasks/tasks.css",
  "/maps/assets/leaflet/leaflet.js",
  "/maps/assets/leaflet/leaflet.css",
  "/report/icon.svg"
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) {
        return cache.addAll(SHELL.map(function (url) { return new Request(url, { cache: "reload" }); }));
      })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) {
        return Promise.all(keys.filter(function (key) {
          return key.indexOf("deadzone-tasks-") === 0 && key !== CACHE;
        }).map(function (key) { return caches.delete(key); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

/* The cache key of a request, or null for one this worker leaves alone. The page is one
   copy whatever its query (its script reads the query); data keep theirs. */
function keyOf(request) {
  if (request.method !== "GET") return null;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  if (url.pathname === "/tasks" || url.pathname === "/tasks/") return "/tasks";
  if (SHELL.indexOf(url.pathname) >= 0) return url.pathname;
  if (url.pathname === "/v1/tasks" || url.pathname === "/tasks/qr.svg") return url.pathname + url.search;
  return null;
}

self.addEventListener("fetch", function (event) {
  var key = keyOf(event.request);
  if (key === null) return;
  event.respondWith(
    fetch(event.request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { return cache.put(key, copy); });
      }
      return response;
    }, function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(key); }).then(function (hit) {
        if (!hit) return Response.error();
        var headers = new Headers(hit.headers);
        headers.set("X-Deadzone-Offline-Copy", "1");
        return hit.blob().then(function (body) {
          return new Response(body, { status: hit.status, statusText: hit.statusText, headers: headers });
        });
      });
    })
  );
});
