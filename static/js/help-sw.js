// Keeps the help pages a guest has visited, and what they need, for when the network is gone.
// Network first (numbers can change), the kept copy when offline; an unvisited country falls back to
// the index, which lists every country's emergency number.
"use strict";
var CACHE = "planner-help-v1";
var SHELL = ["/help", "/static/css/planner.css", "/static/css/help.css", "/static/js/help.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); }).catch(function () {}));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("planner-help-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  var mine = url.pathname === "/help" || url.pathname.indexOf("/help/") === 0 || SHELL.indexOf(url.pathname) !== -1;
  if (!mine) { return; }
  event.respondWith(fetch(req).then(function (res) {
    if (res.ok) {
      var copy = res.clone();
      caches.open(CACHE).then(function (cache) { cache.put(req, copy); });
    }
    return res;
  }).catch(function () {
    return caches.match(req).then(function (hit) {
      return hit || caches.match(req, { ignoreSearch: true });
    }).then(function (hit) {
      return hit || (req.mode === "navigate" ? caches.match("/help", { ignoreSearch: true }) : undefined);
    }).then(function (hit) {
      return hit || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
    });
  }));
});
