// PageFree service worker: caches the app shell, keeps the last incident list for offline use,
// and shows pages sent by web push.
"use strict";
const SHELL = "pagefree-shell-v1";
const PAGES = "pagefree-pages-v1";
const SHELL_FILES = ["/static/app.css", "/static/app.js", "/static/responder.js", "/static/icons/icon-192.png", "/offline"];

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

// Web push: a page arrives as a notification; tapping it opens the incident, and its
// "Acknowledge" action uses the signed single-use link, so it works without a session.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  const options = {
    body: data.body || "",
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    data: { url: data.url || "/", ackUrl: data.ack_url || null },
  };
  if (data.tag) {
    options.tag = data.tag;
    options.renotify = true; // a new page about the same incident alerts again
  }
  if (data.ack_url) options.actions = [{ action: "acknowledge", title: "Acknowledge" }];
  event.waitUntil(self.registration.showNotification(data.title || "PageFree", options));
});

async function openIncident(url) {
  const target = new URL(url, self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => w.url === target);
  if (open) return open.focus();
  return self.clients.openWindow(target);
}

async function acknowledge(data) {
  const link = new URL(data.ackUrl, self.location.origin);
  // Only our own origin is POSTed to; a link elsewhere opens its confirm page instead.
  if (link.origin !== self.location.origin) return self.clients.openWindow(link.href);
  try {
    const response = await fetch(link.href, { method: "POST", credentials: "omit" });
    if (response.ok) {
      return self.registration.showNotification("Acknowledged", {
        body: "Escalation stopped.", icon: "/static/icons/icon-192.png", data: { url: data.url },
      });
    }
  } catch (e) { /* offline: the incident page says what happened */ }
  // Used already, expired, or resolved meanwhile: show the incident as it is now.
  return openIncident(data.url);
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  event.notification.close();
  if (event.action === "acknowledge" && data.ackUrl) {
    event.waitUntil(acknowledge(data));
  } else {
    event.waitUntil(openIncident(data.url || "/"));
  }
});
