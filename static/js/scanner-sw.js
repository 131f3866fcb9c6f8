// Service worker of the staff scanner, served at /scan-sw.js with scope /scan (planner/tickets/scanner_web.py
// fills in VERSION, made from the files it keeps, and ASSETS). It keeps the scanner page and its files so
// that /scan opens with no network. The page keeps its own data (pack, queue) in localStorage; the JSON API
// is never cached here.
"use strict";

var VERSION = "__VERSION__";
var CACHE = "planner-scanner-" + VERSION;
var ASSETS = ["__ASSETS__"];
var PAGE = "/scan";
var PAGE_WAIT_MS = 4000;

// The page is kept as /scan and, for another day (/scan?day=...), under its own address too, so that an
// offline reload of that address shows that day's list.
function keepPage(cache, response, url) {
  // Only a real page: after an expired login the answer is the login form, reached by a redirect.
  if (!response || !response.ok || response.redirected || response.type !== "basic") return Promise.resolve();
  var own = url && new URL(url).search ? cache.put(url, response.clone()) : Promise.resolve();
  return Promise.all([own, cache.put(PAGE, response)]);
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return cache.addAll(ASSETS).then(function () {
        return fetch(PAGE, { credentials: "same-origin" }).then(function (r) { return keepPage(cache, r); }, function () {});
      });
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) { return k.indexOf("planner-scanner-") === 0 && k !== CACHE; })
        .map(function (k) { return caches.delete(k); }));
    }).then(function () { return self.clients.claim(); })
  );
});

// The page: from the network when it answers in time (and kept for later), else the kept copy.
function page(request) {
  return caches.open(CACHE).then(function (cache) {
    var network = fetch(request).then(function (r) {
      keepPage(cache, r.clone(), request.url);
      return r;
    });
    var late = new Promise(function (resolve) { setTimeout(resolve, PAGE_WAIT_MS); });
    return Promise.race([network.catch(function () { return null; }), late]).then(function (r) {
      if (r) return r;
      return cache.match(request.url).then(function (own) { return own || cache.match(PAGE); })
        .then(function (kept) { return kept || network; });
    });
  });
}

// The page's files: the kept copy (the version above changes whenever one of them does), else the network.
function asset(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (kept) {
      return kept || fetch(request).then(function (r) {
        if (r.ok) cache.put(request, r.clone());
        return r;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(page(request));
  } else if (ASSETS.indexOf(url.pathname) !== -1) {
    event.respondWith(asset(request));
  }
});
