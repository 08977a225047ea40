// PageFree service worker: caches the app shell, and keeps the last incident list for offline use.
"use strict";
const SHELL = "pagefree-shell-v1";
const PAGES = "pagefree-pages-v1";
const SHELL_FILES = ["/static/app.css", "/static/app.js", "/static/icons/icon-192.png", "/offline"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n !== SHELL && n !== PAGES).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // Our own CSS, JS and icons: answer from the cache at once, refresh it in the background,
  // so a bad network never blocks a page and a new release is picked up on the next load.
  if (url.pathname.startsWith("/static/")) {
    const refreshed = fetch(request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(SHELL).then((cache) => cache.put(request, copy));
      }
      return response;
    });
    event.respondWith(caches.match(request).then((hit) => hit || refreshed));
    event.waitUntil(refreshed.then(() => undefined, () => undefined));
    return;
  }
  // The dashboard: network first; the last good answer is kept for when the network is gone.
  if (request.mode === "navigate" && url.pathname === "/") {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && !response.redirected) {
            const copy = response.clone();
            caches.open(PAGES).then((cache) => cache.put("/", copy));
          }
          return response;
        })
        .catch(() => caches.match("/", { cacheName: PAGES }).then((hit) => hit || caches.match("/offline")))
    );
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline")));
  }
});
