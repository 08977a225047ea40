// PageFree web push: subscribe this browser with the server's VAPID key, or unsubscribe it.
// Loaded only on the profile page, and only when the server has push configured.
"use strict";
(function () {
  const box = document.getElementById("push");
  const key = box && box.dataset.vapidKey;
  if (!key) return;
  const csrf = document.body.dataset.csrf || "";
  const status = document.getElementById("push-status");
  const enable = document.getElementById("push-enable");
  const disable = document.getElementById("push-disable");

  function say(text) { status.textContent = text; }

  // The VAPID key is base64url; PushManager wants its raw bytes.
  function keyBytes(base64url) {
    const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    if (!response.ok) {
      let detail = `the server answered ${response.status}`;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* an HTML error page */ }
      throw new Error(detail);
    }
    return response;
  }

  function deviceName() {
    const platform = (navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "";
    return `Browser${platform ? " on " + platform : ""}`.slice(0, 100);
  }

  async function show(registration) {
    const subscription = await registration.pushManager.getSubscription();
    enable.hidden = Boolean(subscription);
    disable.hidden = !subscription;
    say(subscription ? "Push is on for this browser." : "Push is off for this browser.");
  }

  async function start() {
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      say("This browser cannot receive push notifications.");
      return;
    }
    const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" })
      .then(() => navigator.serviceWorker.ready);
    await show(registration);

    enable.addEventListener("click", async () => {
      enable.disabled = true;
      try {
        if ((await Notification.requestPermission()) !== "granted") {
          say("Notifications are blocked for this site: allow them in the browser's settings.");
          return;
        }
        const subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(key),
        });
        await post("/profile/push", { subscription: subscription.toJSON(), label: deviceName() });
        window.location.assign("/profile?done=push-on#push");
      } catch (error) {
        say(`Could not enable push: ${error.message}`);
      } finally {
        enable.disabled = false;
      }
    });

    disable.addEventListener("click", async () => {
      disable.disabled = true;
      try {
        const subscription = await registration.pushManager.getSubscription();
        if (subscription) {
          await post("/profile/push/off", { endpoint: subscription.endpoint });
          await subscription.unsubscribe();
        }
        window.location.assign("/profile?done=push-off#push");
      } catch (error) {
        say(`Could not disable push: ${error.message}`);
      } finally {
        disable.disabled = false;
      }
    });
  }

  start().catch((error) => say(`Push is unavailable: ${error.message}`));
})();
